//! Bulk import: actors, partnerships, memberships and allocations written by multi-row
//! INSERTs inside one write transaction, each row checked by the same domain rules as the
//! API's create mutations, the whole import audited as one event.
//!
//! The caller (the `registry import` command) parses each line into domain values and hands
//! them over one at a time; a row that breaks a rule is refused with an [`ImportError`] naming
//! its line and field and is not written. Rules that span rows are checked in memory (the
//! uniqueness of allocation references, against the stored ones read once per stream) and at
//! [`Import::finish`] (the set of a partnership's members). Nothing is visible to readers
//! before `finish` commits; dropping an `Import` rolls everything back.
//!
//! A full batch is written by a task of its own while the caller parses and checks the next
//! one: the database writes on one core (PostgreSQL's backend, SQLite's worker thread) and the
//! parsing would otherwise leave it idle. One batch at most is in flight, so memory stays
//! bounded; statements on the transaction take its connection in turn.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::NaiveDate;
use domain::ValidationError;
use domain::actor::{ActorKind, ActorProfile, HierarchyNode, check_parent};
use domain::funding::{
    AllocationStatus, AllocationTerms, AllocationTermsParts, BudgetKind, CeilingRule, case_for,
};
use domain::ids::{ActorId, AllocationId, PartnershipId, ProgrammeId};
use domain::membership::{Role, RoleSet, check_members, check_membership_dates};
use domain::partnership::{PartnershipDetails, PartnershipKind, PartnershipStatus};
use domain::territory::CountryCode;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect,
};

use crate::database::WriteTx;
use crate::entities::{
    actor, allocation, allocation_budget, membership, partnership, partnership_theme, programme,
};
use crate::repo::NewAllocation;
use crate::{Database, RepoError};

/// Rows per INSERT: 14 columns x 1,000 rows stays under SQLite's 32,766 bound parameters.
const BATCH: usize = 1_000;
/// Ids per `IN (...)` list when checking against stored rows.
const IDS_PER_QUERY: usize = 1_000;

/// A refused row: its line in the file and the rule it broke (or a database failure, which
/// has no line).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("line {line}: {error}")]
    Line { line: u64, error: RepoError },
    #[error(transparent)]
    Database(#[from] RepoError),
}

impl ImportError {
    pub fn at(line: u64, error: impl Into<RepoError>) -> Self {
        Self::Line {
            line,
            error: error.into(),
        }
    }
}

impl From<sea_orm::DbErr> for ImportError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Database(e.into())
    }
}

/// How many rows of each kind an import wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportCounts {
    pub actors: u64,
    pub partnerships: u64,
    pub memberships: u64,
    pub allocations: u64,
}

/// What the import knows of an actor: enough for the hierarchy rule.
#[derive(Clone, Copy)]
struct ActorFacts {
    kind: ActorKind,
    country: CountryCode,
}

/// What the import knows of a partnership: enough for the member and allocation rules.
#[derive(Clone, Copy)]
struct PartnershipFacts {
    kind: PartnershipKind,
    status: PartnershipStatus,
    /// Created by this import (no stored members to check against).
    new: bool,
}

/// A programme with its stream's ceiling rules, read once per import.
struct ProgrammeFacts {
    programme: domain::funding::Programme,
    rules: Vec<CeilingRule>,
}

/// An import in progress: one write transaction and the rows not yet written.
pub struct Import {
    /// Shared with the batch in flight; `finish` takes it back once the batch is written.
    tx: Arc<WriteTx>,
    /// The batch being written, if any.
    in_flight: Option<tokio::task::JoinHandle<Result<(), sea_orm::DbErr>>>,
    now: chrono::DateTime<chrono::Utc>,
    counts: ImportCounts,
    actors: HashMap<ActorId, Option<ActorFacts>>,
    partnerships: HashMap<PartnershipId, Option<PartnershipFacts>>,
    programmes: HashMap<ProgrammeId, Option<ProgrammeFacts>>,
    programme_codes: HashMap<String, Option<ProgrammeId>>,
    /// PICs and Wikidata ids of the imported actors, which must be unique.
    pics: HashSet<String>,
    wikidata_ids: HashSet<String>,
    /// (partnership, actor) pairs of the imported memberships.
    member_pairs: HashSet<(PartnershipId, ActorId)>,
    /// Partnerships whose members changed, with the line to blame if their set breaks a rule.
    touched: HashMap<PartnershipId, u64>,
    /// (stream, reference) of the stored allocations of the streams met so far, and of the
    /// imported ones: a new reference must not be among them.
    references: HashSet<(uuid::Uuid, String)>,
    /// The streams whose stored references are in `references`.
    streams_loaded: HashSet<uuid::Uuid>,
    pending: Batch,
}

/// Rows checked and not yet written, of every table the import writes.
#[derive(Default)]
struct Batch {
    actors: Vec<actor::ActiveModel>,
    partnerships: Vec<partnership::ActiveModel>,
    themes: Vec<partnership_theme::ActiveModel>,
    members: Vec<membership::ActiveModel>,
    allocations: Vec<allocation::ActiveModel>,
    budgets: Vec<allocation_budget::ActiveModel>,
}

impl Batch {
    /// True when a table has a full INSERT's worth of rows.
    fn is_full(&self) -> bool {
        [
            self.actors.len(),
            self.partnerships.len(),
            self.themes.len(),
            self.members.len(),
            self.allocations.len(),
            self.budgets.len(),
        ]
        .iter()
        .any(|n| *n >= BATCH)
    }

    /// The multi-row INSERTs of the rows (at most [`BATCH`] rows each), parents before
    /// children so that every foreign key holds. Without `RETURNING`: the ids are ours
    /// already, and reading them back cost PostgreSQL a result row per inserted row. Built by
    /// the reading side, so that the writer only sends them.
    fn statements(self, backend: sea_orm::DbBackend) -> Vec<sea_orm::Statement> {
        let mut statements = Vec::new();
        inserts(&mut statements, backend, self.actors);
        inserts(&mut statements, backend, self.partnerships);
        inserts(&mut statements, backend, self.themes);
        inserts(&mut statements, backend, self.members);
        inserts(&mut statements, backend, self.allocations);
        inserts(&mut statements, backend, self.budgets);
        statements
    }
}

/// Appends the INSERTs of `rows`, at most [`BATCH`] rows each.
fn inserts<A: sea_orm::ActiveModelTrait>(
    statements: &mut Vec<sea_orm::Statement>,
    backend: sea_orm::DbBackend,
    mut rows: Vec<A>,
) {
    use sea_orm::QueryTrait;
    while !rows.is_empty() {
        let rest = rows.split_off(rows.len().min(BATCH));
        statements.push(A::Entity::insert_many(rows).build(backend));
        rows = rest;
    }
}

impl Database {
    /// Starts an import: takes the writer (SQLite) and opens its transaction.
    pub async fn begin_import(&self) -> Result<Import, RepoError> {
        let tx = self.begin_write().await?;
        if tx.backend == crate::Backend::Postgres {
            // The planner's statistics do not count the rows this transaction has written, so
            // as the import grows it would keep choosing sequential scans for the per-batch
            // lookups (references, members), which makes a large import quadratic. Every
            // lookup of the import has an index.
            tx.txn
                .execute_unprepared("SET LOCAL enable_seqscan = off")
                .await?;
        }
        Ok(Import {
            tx: Arc::new(tx),
            in_flight: None,
            now: crate::repo_now(),
            counts: ImportCounts::default(),
            actors: HashMap::new(),
            partnerships: HashMap::new(),
            programmes: HashMap::new(),
            programme_codes: HashMap::new(),
            pics: HashSet::new(),
            wikidata_ids: HashSet::new(),
            member_pairs: HashSet::new(),
            touched: HashMap::new(),
            references: HashSet::new(),
            streams_loaded: HashSet::new(),
            pending: Batch::default(),
        })
    }
}

impl Import {
    pub fn counts(&self) -> ImportCounts {
        self.counts
    }

    /// A new actor under `parent` (an actor stored or imported earlier).
    pub async fn actor(
        &mut self,
        line: u64,
        profile: ActorProfile,
        parent: Option<ActorId>,
    ) -> Result<ActorId, ImportError> {
        let id = ActorId::generate();
        let parts = profile.parts();
        if let Some(parent_id) = parent {
            let facts = self
                .actor_facts(parent_id)
                .await?
                .ok_or_else(|| ImportError::at(line, invalid("parentId", "refers to no actor")))?;
            let node = |id, kind, country| HierarchyNode { id, kind, country };
            // A new actor cannot be among its parent's ancestors: no cycle to look for.
            check_parent(
                node(id, parts.kind, parts.country),
                node(parent_id, facts.kind, facts.country),
                &[],
            )
            .map_err(|e| ImportError::at(line, e))?;
        }
        if let Some(pic) = &parts.pic {
            self.check_unique(line, "pic", pic.as_str(), actor::Column::Pic)
                .await?;
        }
        if let Some(wikidata) = &parts.wikidata_id {
            self.check_unique(
                line,
                "wikidataId",
                wikidata.as_str(),
                actor::Column::WikidataId,
            )
            .await?;
        }
        let mut model = crate::repo::actors::active_model(&profile, parent);
        model.id = Set(id.as_uuid());
        model.verified = Set(false);
        model.created_at = Set(self.now);
        model.updated_at = Set(self.now);
        self.pending.actors.push(model);
        self.actors.insert(
            id,
            Some(ActorFacts {
                kind: parts.kind,
                country: parts.country,
            }),
        );
        self.counts.actors += 1;
        self.flush_if_full().await?;
        Ok(id)
    }

    /// A new partnership in `status` (DRAFT or ACTIVE) with its LEAD member; an ACTIVE one
    /// must satisfy the member rules once the whole file is read.
    pub async fn partnership(
        &mut self,
        line: u64,
        details: PartnershipDetails,
        status: PartnershipStatus,
        lead: ActorId,
        lead_roles: RoleSet,
    ) -> Result<PartnershipId, ImportError> {
        if !matches!(status, PartnershipStatus::Draft | PartnershipStatus::Active) {
            return Err(ImportError::at(
                line,
                invalid("status", "an imported partnership is DRAFT or ACTIVE"),
            ));
        }
        if !lead_roles.contains(Role::Lead) {
            return Err(ImportError::at(
                line,
                invalid("leadRoles", "must include LEAD"),
            ));
        }
        let parts = details.parts();
        check_membership_dates(parts.start_date, None).map_err(|e| ImportError::at(line, e))?;
        if self.actor_facts(lead).await?.is_none() {
            return Err(ImportError::at(
                line,
                invalid("leadActorId", "refers to no actor"),
            ));
        }
        let id = PartnershipId::generate();
        self.pending
            .partnerships
            .push(crate::repo::partnerships::new_row(
                id, parts, status, self.now,
            ));
        self.pending
            .themes
            .extend(crate::repo::partnerships::theme_rows(id, &parts.themes));
        self.partnerships.insert(
            id,
            Some(PartnershipFacts {
                kind: parts.kind,
                status,
                new: true,
            }),
        );
        self.counts.partnerships += 1;
        self.push_member(line, id, lead, lead_roles, parts.start_date);
        self.flush_if_full().await?;
        Ok(id)
    }

    /// A new member of a partnership stored or imported earlier.
    pub async fn membership(
        &mut self,
        line: u64,
        partnership_id: PartnershipId,
        actor_id: ActorId,
        roles: RoleSet,
        joined_on: NaiveDate,
    ) -> Result<(), ImportError> {
        check_membership_dates(joined_on, None).map_err(|e| ImportError::at(line, e))?;
        let facts = self
            .partnership_facts(partnership_id)
            .await?
            .ok_or_else(|| {
                ImportError::at(line, invalid("partnershipId", "refers to no partnership"))
            })?;
        if facts.status.is_closed() {
            return Err(ImportError::at(
                line,
                RepoError::conflict(
                    "partnershipId",
                    format!(
                        "the partnership is {}: its members can no longer change",
                        facts.status.code()
                    ),
                ),
            ));
        }
        if self.actor_facts(actor_id).await?.is_none() {
            return Err(ImportError::at(
                line,
                invalid("actorId", "refers to no actor"),
            ));
        }
        let duplicate = self.member_pairs.contains(&(partnership_id, actor_id))
            || (!facts.new
                && membership::Entity::find()
                    .filter(membership::Column::PartnershipId.eq(partnership_id.as_uuid()))
                    .filter(membership::Column::ActorId.eq(actor_id.as_uuid()))
                    .count(&self.tx.txn)
                    .await?
                    > 0);
        if duplicate {
            return Err(ImportError::at(
                line,
                RepoError::conflict(
                    "actorId",
                    "the actor is already a member of this partnership",
                ),
            ));
        }
        self.push_member(line, partnership_id, actor_id, roles, joined_on);
        self.flush_if_full().await?;
        Ok(())
    }

    /// A new REQUESTED allocation, checked as `createAllocation` checks it: the partnership
    /// is not WITHDRAWN, the case is one of the programme's stream, the terms are within the
    /// ceiling. Its ORIGINAL budget is recorded beside it.
    pub async fn allocation(&mut self, line: u64, new: NewAllocation) -> Result<(), ImportError> {
        let at = |e: RepoError| ImportError::at(line, e);
        let facts = self
            .partnership_facts(new.partnership_id)
            .await?
            .ok_or_else(|| at(invalid("partnershipId", "refers to no partnership")))?;
        if facts.status == PartnershipStatus::Withdrawn {
            return Err(at(invalid(
                "partnershipId",
                "the partnership is WITHDRAWN and can receive no allocation",
            )));
        }
        let programme = self
            .programme_facts(new.programme_id)
            .await?
            .ok_or_else(|| at(invalid("programmeId", "refers to no programme")))?;
        let parts = programme.programme.details.parts();
        let stream_id = parts.stream_id;
        let case = case_for(parts, new.ceiling_case.clone()).map_err(|e| at(e.into()))?;
        let Some(rule) = programme.rules.iter().find(|r| r.case == case) else {
            let cases: Vec<&str> = programme.rules.iter().map(|r| r.case.as_str()).collect();
            return Err(at(invalid(
                "ceilingCase",
                format!(
                    "the programme's stream has no ceiling case {} (its cases: {})",
                    case.as_str(),
                    cases.join(", ")
                ),
            )));
        };
        let terms = AllocationTerms::new(AllocationTermsParts {
            eligible_cost: new.eligible_cost,
            eu_contribution: new.eu_contribution,
            national_contribution: new.national_contribution,
            ceiling_case: rule.case.clone(),
            ceiling: rule.max_rate,
            status: AllocationStatus::Requested,
            decision_date: None,
            reference: new.reference.clone(),
        })
        .map_err(|e| at(e.into()))?;
        let rule_id = rule.id;
        let terms = terms.parts();
        if let Some(reference) = &terms.reference {
            self.load_references(stream_id.as_uuid()).await?;
            let key = (stream_id.as_uuid(), reference.clone());
            if !self.references.insert(key) {
                return Err(at(duplicate_reference()));
            }
        }
        let id = AllocationId::generate();
        self.pending
            .allocations
            .push(crate::repo::allocations::new_row(
                id, &new, stream_id, rule_id, terms, self.now,
            ));
        self.pending
            .budgets
            .push(crate::repo::allocations::budget_row(
                id,
                BudgetKind::Original,
                terms,
                None,
                self.now,
            ));
        self.counts.allocations += 1;
        self.flush_if_full().await?;
        Ok(())
    }

    /// The id of the programme with this code, if there is one.
    pub async fn programme_by_code(
        &mut self,
        code: &str,
    ) -> Result<Option<ProgrammeId>, RepoError> {
        if let Some(known) = self.programme_codes.get(code) {
            return Ok(*known);
        }
        let id = programme::Entity::find()
            .filter(programme::Column::Code.eq(code))
            .one(&self.tx.txn)
            .await?
            .map(|p| ProgrammeId::from_uuid(p.id));
        self.programme_codes.insert(code.to_owned(), id);
        Ok(id)
    }

    /// Writes what is pending, checks the rules across rows, records one audit event with
    /// `summary` and the counts, and commits.
    pub async fn finish(mut self, summary: serde_json::Value) -> Result<ImportCounts, ImportError> {
        self.flush().await?;
        self.settle().await?;
        self.check_member_sets().await?;
        let mut event = summary;
        if let Some(object) = event.as_object_mut() {
            object.insert(
                "counts".into(),
                serde_json::to_value(self.counts).unwrap_or_default(),
            );
        }
        let counts = self.counts;
        let tx = Arc::try_unwrap(self.tx).map_err(|_| {
            sea_orm::DbErr::Custom("the import's transaction is still shared".into())
        })?;
        tx.record(
            "Import",
            uuid::Uuid::now_v7(),
            None::<&serde_json::Value>,
            Some(&event),
        );
        tx.commit().await?;
        Ok(counts)
    }

    fn push_member(
        &mut self,
        line: u64,
        partnership_id: PartnershipId,
        actor_id: ActorId,
        roles: RoleSet,
        joined_on: NaiveDate,
    ) {
        self.member_pairs.insert((partnership_id, actor_id));
        self.touched.entry(partnership_id).or_insert(line);
        self.pending.members.push(crate::repo::memberships::new_row(
            partnership_id,
            actor_id,
            &roles,
            joined_on,
            self.now,
        ));
        self.counts.memberships += 1;
    }

    async fn flush_if_full(&mut self) -> Result<(), ImportError> {
        if self.pending.is_full() {
            self.flush().await
        } else {
            Ok(())
        }
    }

    /// Builds the pending rows' INSERTs and hands them to a task that sends them, once the
    /// batch before is written.
    async fn flush(&mut self) -> Result<(), ImportError> {
        let statements =
            std::mem::take(&mut self.pending).statements(self.tx.txn.get_database_backend());
        self.settle().await?;
        let tx = Arc::clone(&self.tx);
        self.in_flight = Some(tokio::spawn(async move {
            for statement in statements {
                tx.txn.execute_raw(statement).await?;
            }
            Ok(())
        }));
        Ok(())
    }

    /// Waits for the batch in flight to be written.
    async fn settle(&mut self) -> Result<(), ImportError> {
        let Some(task) = self.in_flight.take() else {
            return Ok(());
        };
        match task.await {
            Ok(written) => Ok(written?),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => {
                Err(sea_orm::DbErr::Custom(format!("the import's writer stopped: {e}")).into())
            }
        }
    }

    /// Reads the references of a stream's stored allocations, once, when the import meets
    /// the stream's first allocation with a reference (before any of its own rows of that
    /// stream are written). Checking each row in memory afterwards keeps a large import
    /// linear; a lookup per batch made PostgreSQL scan the rows the import itself had
    /// written, which its statistics do not count. A reference stored by a concurrent writer
    /// meanwhile is still refused, by the unique index, with the import rolled back.
    async fn load_references(&mut self, stream: uuid::Uuid) -> Result<(), RepoError> {
        if !self.streams_loaded.insert(stream) {
            return Ok(());
        }
        let stored: Vec<Option<String>> = allocation::Entity::find()
            .select_only()
            .column(allocation::Column::Reference)
            .filter(allocation::Column::StreamId.eq(stream))
            .filter(allocation::Column::Reference.is_not_null())
            .into_tuple()
            .all(&self.tx.txn)
            .await?;
        self.references
            .extend(stored.into_iter().flatten().map(|r| (stream, r)));
        Ok(())
    }

    /// Checks the current members of every partnership the import created or added to
    /// against the member rules of its kind and status (one LEAD, mentors and mentees...).
    async fn check_member_sets(&mut self) -> Result<(), ImportError> {
        let touched: Vec<(PartnershipId, u64)> =
            self.touched.iter().map(|(p, l)| (*p, *l)).collect();
        for chunk in touched.chunks(IDS_PER_QUERY) {
            let mut members: HashMap<uuid::Uuid, Vec<RoleSet>> = HashMap::new();
            for row in membership::Entity::find()
                .filter(
                    membership::Column::PartnershipId.is_in(chunk.iter().map(|(p, _)| p.as_uuid())),
                )
                .filter(membership::Column::LeftOn.is_null())
                .all(&self.tx.txn)
                .await?
            {
                let m = crate::repo::rows::membership(row)?;
                members
                    .entry(m.partnership_id.as_uuid())
                    .or_default()
                    .push(m.roles);
            }
            for (id, line) in chunk {
                let Some(facts) = self.partnership_facts(*id).await? else {
                    continue;
                };
                let sets = members.remove(&id.as_uuid()).unwrap_or_default();
                check_members(facts.kind, facts.status, sets.iter())
                    .map_err(|e| ImportError::at(*line, e))?;
            }
        }
        Ok(())
    }

    async fn check_unique(
        &mut self,
        line: u64,
        field: &'static str,
        value: &str,
        column: actor::Column,
    ) -> Result<(), ImportError> {
        let seen = match field {
            "pic" => &mut self.pics,
            _ => &mut self.wikidata_ids,
        };
        let stored = || async {
            actor::Entity::find()
                .filter(column.eq(value))
                .count(&self.tx.txn)
                .await
        };
        if seen.contains(value) || stored().await? > 0 {
            return Err(ImportError::at(
                line,
                RepoError::conflict(field, "another actor already has this value"),
            ));
        }
        match field {
            "pic" => self.pics.insert(value.to_owned()),
            _ => self.wikidata_ids.insert(value.to_owned()),
        };
        Ok(())
    }

    async fn actor_facts(&mut self, id: ActorId) -> Result<Option<ActorFacts>, RepoError> {
        if let Some(known) = self.actors.get(&id) {
            return Ok(*known);
        }
        let facts = match actor::Entity::find_by_id(id.as_uuid())
            .one(&self.tx.txn)
            .await?
        {
            Some(row) => {
                let a = crate::repo::rows::actor(row)?;
                let parts = a.profile.parts();
                Some(ActorFacts {
                    kind: parts.kind,
                    country: parts.country,
                })
            }
            None => None,
        };
        self.actors.insert(id, facts);
        Ok(facts)
    }

    async fn partnership_facts(
        &mut self,
        id: PartnershipId,
    ) -> Result<Option<PartnershipFacts>, RepoError> {
        if let Some(known) = self.partnerships.get(&id) {
            return Ok(*known);
        }
        let facts = match partnership::Entity::find_by_id(id.as_uuid())
            .one(&self.tx.txn)
            .await?
        {
            Some(row) => {
                let corrupt = || RepoError::Corrupt(format!("partnership {id}"));
                Some(PartnershipFacts {
                    kind: PartnershipKind::from_code(&row.kind).ok_or_else(corrupt)?,
                    status: PartnershipStatus::from_code(&row.status).ok_or_else(corrupt)?,
                    new: false,
                })
            }
            None => None,
        };
        self.partnerships.insert(id, facts);
        Ok(facts)
    }

    async fn programme_facts(
        &mut self,
        id: ProgrammeId,
    ) -> Result<Option<&ProgrammeFacts>, RepoError> {
        if !self.programmes.contains_key(&id) {
            let facts = match programme::Entity::find_by_id(id.as_uuid())
                .one(&self.tx.txn)
                .await?
            {
                Some(row) => {
                    let programme = crate::repo::rows::programme(row)?;
                    let stream = programme.details.parts().stream_id;
                    let rules = crate::entities::ceiling_rule::Entity::find()
                        .filter(
                            crate::entities::ceiling_rule::Column::StreamId.eq(stream.as_uuid()),
                        )
                        .all(&self.tx.txn)
                        .await?
                        .into_iter()
                        .map(crate::repo::rows::rule)
                        .collect::<Result<Vec<_>, _>>()?;
                    Some(ProgrammeFacts { programme, rules })
                }
                None => None,
            };
            self.programmes.insert(id, facts);
        }
        Ok(self.programmes.get(&id).and_then(Option::as_ref))
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> RepoError {
    ValidationError::new(field, message).into()
}

fn duplicate_reference() -> RepoError {
    RepoError::conflict(
        "reference",
        "another allocation of this stream already has this reference",
    )
}
