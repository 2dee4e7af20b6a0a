//! Loaders: every relation field resolves through one batched `find_by_ids` per key type, so
//! a page of 100 costs as many statements as a page of 10 (batching: `super::batcher`). One
//! batcher per request, so no request is ever answered with another's rows.

use std::hash::Hash;

use domain::actor::{Actor, ActorBrief};
use domain::funding::{Allocation, BudgetEntry, CeilingRule, FundingStream, Payment, Programme};
use domain::ids::{
    ActorId, AllocationId, CeilingRuleId, MembershipId, PartnershipId, PaymentId, ProgrammeId,
    StreamId,
};
use domain::membership::Membership;
use domain::partnership::Partnership;
use persistence::repo::{
    ActorFilter, AllocationFilter, DraftVisibility, PartnershipFilter, PartnershipOrder,
    SummaryRow, Utilisation,
};
use persistence::{Database, Page, PageRequest, RepoError};

// The batcher's foldhash map, under the name the loaders' code reads best with.
use super::batcher::{Loader, Map as HashMap};
use super::connection::Count;
use crate::error::ApiError;

pub struct RepoLoader {
    db: Database,
}

pub type Loaders = super::batcher::Batcher<RepoLoader>;

/// The loaders of one request; its execution must run inside [`Loaders::run`]. `delay` is
/// waited before each batch is read (`batch_window_ms`, 0 by default: batching needs none).
pub fn loaders(db: Database, delay: std::time::Duration) -> Loaders {
    super::batcher::Batcher::new(RepoLoader { db }, delay)
}

impl From<super::batcher::BatchDropped> for ApiError {
    fn from(_: super::batcher::BatchDropped) -> Self {
        ApiError::internal("a load was dropped before its batch answered")
    }
}

/// The paid total (ledger sum, in cents) of one allocation, as a loader key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PaidOf(pub AllocationId);

impl Loader<PaidOf> for RepoLoader {
    type Value = i64;
    type Error = ApiError;

    async fn load(&self, keys: &[PaidOf]) -> Result<HashMap<PaidOf, i64>, ApiError> {
        let ids: Vec<AllocationId> = keys.iter().map(|k| k.0).collect();
        let totals = self.db.allocations().paid_totals(&ids).await?;
        Ok(keys
            .iter()
            .map(|k| (*k, totals.get(&k.0).copied().unwrap_or(0)))
            .collect())
    }
}

/// The first page of a partnership's members, as a loader key: the pages of all partnerships
/// of a response load in one statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MembersPage {
    pub partnership: PartnershipId,
    pub include_former: bool,
    pub first: u64,
    pub after: Option<uuid::Uuid>,
}

impl Loader<MembersPage> for RepoLoader {
    type Value = Page<Membership>;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[MembersPage],
    ) -> Result<HashMap<MembersPage, Page<Membership>>, ApiError> {
        let mut groups: HashMap<(bool, u64, Option<uuid::Uuid>), Vec<PartnershipId>> =
            HashMap::default();
        for k in keys {
            groups
                .entry((k.include_former, k.first, k.after))
                .or_default()
                .push(k.partnership);
        }
        let mut out = HashMap::default();
        for ((include_former, first, after), ids) in groups {
            let pages = self
                .db
                .memberships()
                .pages_of_partnerships(&ids, include_former, first, after)
                .await?;
            for (partnership, page) in pages {
                out.insert(
                    MembersPage {
                        partnership,
                        include_former,
                        first,
                        after,
                    },
                    page,
                );
            }
        }
        Ok(out)
    }
}

/// The first page of an actor's memberships, as seen by the reader, as a loader key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ActorMembershipsPage {
    pub actor: ActorId,
    pub include_former: bool,
    pub drafts: persistence::repo::DraftVisibility,
    pub first: u64,
    pub after: Option<uuid::Uuid>,
}

type ActorPageGroup = (
    bool,
    persistence::repo::DraftVisibility,
    u64,
    Option<uuid::Uuid>,
);

impl Loader<ActorMembershipsPage> for RepoLoader {
    type Value = Page<Membership>;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[ActorMembershipsPage],
    ) -> Result<HashMap<ActorMembershipsPage, Page<Membership>>, ApiError> {
        let mut groups: HashMap<ActorPageGroup, Vec<ActorId>> = HashMap::default();
        for k in keys {
            groups
                .entry((k.include_former, k.drafts, k.first, k.after))
                .or_default()
                .push(k.actor);
        }
        let mut out = HashMap::default();
        for ((include_former, drafts, first, after), ids) in groups {
            let pages = self
                .db
                .memberships()
                .pages_of_actors(&ids, include_former, drafts, first, after)
                .await?;
            for (actor, page) in pages {
                let key = ActorMembershipsPage {
                    actor,
                    include_former,
                    drafts,
                    first,
                    after,
                };
                out.insert(key, page);
            }
        }
        Ok(out)
    }
}

/// The first page of a partnership's allocations, as a loader key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AllocationsPage {
    pub partnership: PartnershipId,
    pub first: u64,
    pub after: Option<uuid::Uuid>,
}

impl Loader<AllocationsPage> for RepoLoader {
    type Value = Page<Allocation>;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[AllocationsPage],
    ) -> Result<HashMap<AllocationsPage, Page<Allocation>>, ApiError> {
        let mut groups: HashMap<(u64, Option<uuid::Uuid>), Vec<PartnershipId>> = HashMap::default();
        for k in keys {
            groups
                .entry((k.first, k.after))
                .or_default()
                .push(k.partnership);
        }
        let mut out = HashMap::default();
        for ((first, after), ids) in groups {
            for (partnership, page) in self
                .db
                .allocations()
                .pages_of_partnerships(&ids, first, after)
                .await?
            {
                out.insert(
                    AllocationsPage {
                        partnership,
                        first,
                        after,
                    },
                    page,
                );
            }
        }
        Ok(out)
    }
}

/// An actor's brief (the fields a list of members shows), as a loader key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BriefOf(pub ActorId);

impl Loader<BriefOf> for RepoLoader {
    type Value = ActorBrief;
    type Error = ApiError;

    async fn load(&self, keys: &[BriefOf]) -> Result<HashMap<BriefOf, ActorBrief>, ApiError> {
        let ids: Vec<ActorId> = keys.iter().map(|k| k.0).collect();
        Ok(self
            .db
            .actors()
            .briefs_by_ids(&ids)
            .await?
            .into_iter()
            .map(|brief| (BriefOf(brief.id), brief))
            .collect())
    }
}

/// The ceiling rules of one stream, as a loader key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RulesOfStream(pub StreamId);

macro_rules! by_id_loader {
    ($key:ty, $value:ty, $repo:ident, $method:ident) => {
        impl Loader<$key> for RepoLoader {
            type Value = $value;
            type Error = ApiError;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, $value>, ApiError> {
                Ok(self
                    .db
                    .$repo()
                    .$method(keys)
                    .await?
                    .into_iter()
                    .map(|v| (v.id, v))
                    .collect())
            }
        }
    };
}

by_id_loader!(ActorId, Actor, actors, find_by_ids);
by_id_loader!(PartnershipId, Partnership, partnerships, find_by_ids);
by_id_loader!(MembershipId, Membership, memberships, find_by_ids);
by_id_loader!(StreamId, FundingStream, funding, streams_by_ids);
by_id_loader!(CeilingRuleId, CeilingRule, funding, rules_by_ids);
by_id_loader!(AllocationId, Allocation, allocations, find_by_ids);
by_id_loader!(ProgrammeId, Programme, programmes, find_by_ids);
by_id_loader!(PaymentId, Payment, allocations, payments_by_ids);

impl Loader<RulesOfStream> for RepoLoader {
    type Value = Vec<CeilingRule>;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[RulesOfStream],
    ) -> Result<HashMap<RulesOfStream, Vec<CeilingRule>>, ApiError> {
        let ids: Vec<StreamId> = keys.iter().map(|k| k.0).collect();
        let mut out: HashMap<RulesOfStream, Vec<CeilingRule>> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for rule in self.db.funding().rules_of_streams(&ids).await? {
            out.entry(RulesOfStream(rule.stream_id))
                .or_default()
                .push(rule);
        }
        Ok(out)
    }
}

/// `totalCount`s, by what they count: those of one kind load in one statement for all the
/// lists of a response that ask (a nested list's count for every parent of a page).
impl Loader<Count> for RepoLoader {
    type Value = u64;
    type Error = ApiError;

    async fn load(&self, keys: &[Count]) -> Result<HashMap<Count, u64>, ApiError> {
        let mut actors = Vec::new();
        let mut partnerships = Vec::new();
        let mut allocations = Vec::new();
        let mut payments = Vec::new();
        let mut memberships: HashMap<(bool, DraftVisibility), Vec<ActorId>> = HashMap::default();
        let mut members: HashMap<bool, Vec<PartnershipId>> = HashMap::default();
        let mut out = HashMap::default();
        for key in keys {
            match key {
                Count::Actors(filter) => actors.push(filter.clone()),
                Count::Partnerships(filter) => partnerships.push(filter.clone()),
                Count::Allocations(filter) => allocations.push(filter.clone()),
                Count::PaymentsOfAllocation(id) => payments.push(*id),
                Count::MembershipsOfActor(id, former, drafts) => {
                    memberships.entry((*former, *drafts)).or_default().push(*id)
                }
                // Top-level lists only, one a response: no batch to make.
                Count::Programmes(filter) => {
                    let n = self.db.programmes().count(filter).await?;
                    out.insert(key.clone(), n);
                }
                Count::MembersOfPartnership(id, former) => {
                    members.entry(*former).or_default().push(*id)
                }
            }
        }
        if !actors.is_empty() {
            let counts = self.db.actors().count_many(&actors).await?;
            out.extend(actors.into_iter().map(Count::Actors).zip(counts));
        }
        if !partnerships.is_empty() {
            let counts = self.db.partnerships().count_many(&partnerships).await?;
            out.extend(
                partnerships
                    .into_iter()
                    .map(Count::Partnerships)
                    .zip(counts),
            );
        }
        if !allocations.is_empty() {
            let counts = self.db.allocations().count_many(&allocations).await?;
            out.extend(allocations.into_iter().map(Count::Allocations).zip(counts));
        }
        if !payments.is_empty() {
            let counts = self.db.allocations().payment_counts(&payments).await?;
            out.extend(
                payments
                    .into_iter()
                    .map(Count::PaymentsOfAllocation)
                    .zip(counts),
            );
        }
        for (former, ids) in members {
            let counts = self
                .db
                .memberships()
                .counts_of_partnerships(&ids, former)
                .await?;
            out.extend(ids.into_iter().map(|id| {
                let n = counts.get(&id).copied().unwrap_or(0);
                (Count::MembersOfPartnership(id, former), n)
            }));
        }
        for ((former, drafts), ids) in memberships {
            let counts = self
                .db
                .memberships()
                .counts_of_actors(&ids, former, drafts)
                .await?;
            out.extend(
                ids.into_iter()
                    .map(|id| Count::MembershipsOfActor(id, former, drafts))
                    .zip(counts),
            );
        }
        Ok(out)
    }
}

/// A loader of the rows of each parent, keyed by `$key(parent id)`, from a repository method
/// that returns them by parent id (a parent without rows gets none).
macro_rules! of_parent_loader {
    ($key:ident, $value:ty, $repo:ident, $method:ident) => {
        impl Loader<$key> for RepoLoader {
            type Value = $value;
            type Error = ApiError;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, $value>, ApiError> {
                let ids: Vec<_> = keys.iter().map(|k| k.0).collect();
                let mut found = self.db.$repo().$method(&ids).await?;
                Ok(keys
                    .iter()
                    .map(|k| (*k, found.remove(&k.0).unwrap_or_default()))
                    .collect())
            }
        }
    };
}

/// The budgets of one allocation, oldest first, as a loader key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BudgetsOf(pub AllocationId);

of_parent_loader!(BudgetsOf, Vec<BudgetEntry>, allocations, budgets_of);

/// The actors that currently manage one stream, as a loader key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ManagersOf(pub StreamId);

of_parent_loader!(ManagersOf, Vec<ActorId>, funding, managers_of);

/// A nested list of one parent (an actor's children, a stream's allocations...) as seen by
/// one reader, as a loader key: the pages of all parents of a response load in one
/// statement (a UNION ALL of the single-parent page queries, see
/// `persistence::pagination::rows_of_each`), with the cursors and filters of the top-level
/// lists.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListOf<P> {
    pub parent: P,
    pub drafts: DraftVisibility,
    pub page: PageRequest,
}

/// A parent whose nested list loads through [`ListOf`].
pub trait NestedList: std::fmt::Debug + Copy + Eq + Hash + Send + Sync + 'static {
    type Item: Clone + Send + Sync + 'static;

    /// One page per parent, in the order of `parents`.
    fn pages(
        db: &Database,
        parents: &[Self],
        drafts: DraftVisibility,
        page: &PageRequest,
    ) -> impl Future<Output = Result<Vec<Page<Self::Item>>, RepoError>> + Send;
}

impl<P: NestedList> Loader<ListOf<P>> for RepoLoader {
    type Value = Page<P::Item>;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[ListOf<P>],
    ) -> Result<HashMap<ListOf<P>, Page<P::Item>>, ApiError> {
        let mut groups: HashMap<(DraftVisibility, &PageRequest), Vec<P>> = HashMap::default();
        for k in keys {
            groups
                .entry((k.drafts, &k.page))
                .or_default()
                .push(k.parent);
        }
        let mut out = HashMap::default();
        for ((drafts, page), parents) in groups {
            let pages = P::pages(&self.db, &parents, drafts, page).await?;
            for (parent, result) in parents.into_iter().zip(pages) {
                let key = ListOf {
                    parent,
                    drafts,
                    page: page.clone(),
                };
                out.insert(key, result);
            }
        }
        Ok(out)
    }
}

/// The actors that lie in or belong to an actor, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChildrenOf(pub ActorId);

impl NestedList for ChildrenOf {
    type Item = Actor;

    async fn pages(
        db: &Database,
        parents: &[Self],
        _drafts: DraftVisibility,
        page: &PageRequest,
    ) -> Result<Vec<Page<Actor>>, RepoError> {
        let filters: Vec<ActorFilter> = parents
            .iter()
            .map(|p| ActorFilter {
                parent_id: Some(p.0),
                ..Default::default()
            })
            .collect();
        db.actors().list_many(&filters, page).await
    }
}

/// The payments ledger of an allocation, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PaymentsOf(pub AllocationId);

impl NestedList for PaymentsOf {
    type Item = Payment;

    async fn pages(
        db: &Database,
        parents: &[Self],
        _drafts: DraftVisibility,
        page: &PageRequest,
    ) -> Result<Vec<Page<Payment>>, RepoError> {
        let ids: Vec<AllocationId> = parents.iter().map(|p| p.0).collect();
        db.allocations().payment_pages(&ids, page).await
    }
}

/// The partnerships an actor currently belongs to, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PartnershipsOf(pub ActorId);

impl NestedList for PartnershipsOf {
    type Item = Partnership;

    async fn pages(
        db: &Database,
        parents: &[Self],
        drafts: DraftVisibility,
        page: &PageRequest,
    ) -> Result<Vec<Page<Partnership>>, RepoError> {
        let filters: Vec<PartnershipFilter> = parents
            .iter()
            .map(|p| PartnershipFilter {
                member_actor: Some(p.0),
                drafts,
                ..Default::default()
            })
            .collect();
        db.partnerships()
            .list_many(&filters, PartnershipOrder::Created, page)
            .await
    }
}

/// The allocations of a funding stream, in the order they were created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AllocationsOfStream(pub StreamId);

/// The allocations of a programme, in the order they were created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AllocationsOfProgramme(pub ProgrammeId);

impl AllocationsOfStream {
    pub fn filter(self, drafts: DraftVisibility) -> AllocationFilter {
        AllocationFilter {
            streams: vec![self.0],
            drafts,
            ..Default::default()
        }
    }
}

impl AllocationsOfProgramme {
    pub fn filter(self, drafts: DraftVisibility) -> AllocationFilter {
        AllocationFilter {
            programmes: vec![self.0],
            drafts,
            ..Default::default()
        }
    }
}

macro_rules! allocations_of {
    ($parent:ty) => {
        impl NestedList for $parent {
            type Item = Allocation;

            async fn pages(
                db: &Database,
                parents: &[Self],
                drafts: DraftVisibility,
                page: &PageRequest,
            ) -> Result<Vec<Page<Allocation>>, RepoError> {
                let filters: Vec<AllocationFilter> =
                    parents.iter().map(|p| p.filter(drafts)).collect();
                db.allocations().list_many(&filters, page).await
            }
        }
    };
}

allocations_of!(AllocationsOfStream);
allocations_of!(AllocationsOfProgramme);

/// The audit events of one record (any type: the trail keys events by the record's id),
/// oldest first: its history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HistoryOf(pub uuid::Uuid);

impl NestedList for HistoryOf {
    type Item = persistence::audit::AuditEvent;

    async fn pages(
        db: &Database,
        parents: &[Self],
        _drafts: DraftVisibility,
        page: &PageRequest,
    ) -> Result<Vec<Page<Self::Item>>, RepoError> {
        let filters: Vec<persistence::audit::AuditFilter> = parents
            .iter()
            .map(|p| persistence::audit::AuditFilter {
                entity_id: Some(p.0),
                ..Default::default()
            })
            .collect();
        db.audit_events_each(&filters, page).await
    }
}

/// The totals (count, eligible cost, EU contribution, paid) of the allocations a filter
/// matches, as a loader key: a page of partnerships' `funding` (or actors' `fundingReceived`,
/// programmes' `utilisation`) costs one statement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TotalsOf(pub AllocationFilter);

impl Loader<TotalsOf> for RepoLoader {
    type Value = SummaryRow;
    type Error = ApiError;

    async fn load(&self, keys: &[TotalsOf]) -> Result<HashMap<TotalsOf, SummaryRow>, ApiError> {
        let filters: Vec<AllocationFilter> = keys.iter().map(|k| k.0.clone()).collect();
        let totals = self.db.allocation_totals_each(&filters).await?;
        Ok(keys.iter().cloned().zip(totals).collect())
    }
}

/// What one programme's awards hold and what was paid on its allocations, as a loader key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UtilisationOf(pub ProgrammeId);

impl Loader<UtilisationOf> for RepoLoader {
    type Value = Utilisation;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[UtilisationOf],
    ) -> Result<HashMap<UtilisationOf, Utilisation>, ApiError> {
        let ids: Vec<ProgrammeId> = keys.iter().map(|k| k.0).collect();
        let found = self.db.programmes().utilisation_each(&ids).await?;
        Ok(keys.iter().copied().zip(found).collect())
    }
}
