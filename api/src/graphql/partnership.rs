//! Partnerships and memberships in GraphQL: the `Partnership` and `Membership` types, the
//! `partnership`/`partnerships` queries, and the mutations that create and change
//! partnerships, their status and their members.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use domain::access::{
    PartnershipFacts, can_add_member, can_create_partnership, can_end_membership,
    can_manage_partnership,
};
use domain::ids::{ActorId, MembershipId, PartnershipId, StreamId};
use domain::membership::{self as members, RoleSet};
use domain::partnership::{self as model, PartnershipDetails, PartnershipDetailsParts, unique_set};
use domain::territory::CountryCode;
use persistence::SortDirection as Direction;
use persistence::repo::{
    AllocationFilter, DraftVisibility, MembershipChange, PartnershipFilter, PartnershipOrder,
};

use super::actor::patch;
use super::connection::{Count, CountedConnection, connection, page_request};
use super::enums::{
    GovernanceLevel, PartnershipKind, PartnershipOrderField, PartnershipStatus, Role,
    SortDirection, Theme,
};
use super::funding::Allocation;
use super::in_place::InPlace;
use super::{db, drafts, load, partnership_for_change, principal, related, visible_partnership};
use crate::error::{ApiError, ApiResult};
use crate::ids::{self, NodeType};

/// A multistakeholder, multilevel partnership: city-to-city mentoring, a regional sponsorship
/// programme, a platform, a network, a project consortium.
pub struct Partnership(pub model::Partnership);

#[Object]
impl Partnership {
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::Partnership, self.0.id.as_uuid())
    }

    /// The record's versions over time, from the audit trail, oldest first (funders and
    /// administrators).
    #[graphql(complexity = "super::connection::cost(first, child_complexity)")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<super::history::AuditEventConnection> {
        Ok(super::history::history_of(ctx, self.0.id.as_uuid(), first, after).await?)
    }

    async fn title(&self) -> &str {
        &self.0.details.parts().title
    }

    async fn description(&self) -> &str {
        &self.0.details.parts().description
    }

    async fn kind(&self) -> PartnershipKind {
        self.0.details.parts().kind.into()
    }

    /// The integration themes, in a fixed order; empty when not known.
    async fn themes(&self) -> Vec<Theme> {
        self.0
            .details
            .parts()
            .themes
            .iter()
            .map(|t| (*t).into())
            .collect()
    }

    /// The levels of government the partnership spans; empty when not known.
    async fn governance_levels(&self) -> Vec<GovernanceLevel> {
        self.0
            .details
            .parts()
            .governance_levels
            .iter()
            .map(|l| (*l).into())
            .collect()
    }

    async fn start_date(&self) -> NaiveDate {
        self.0.details.parts().start_date
    }

    /// Null while open-ended.
    async fn end_date(&self) -> Option<NaiveDate> {
        self.0.details.parts().end_date
    }

    async fn status(&self) -> PartnershipStatus {
        self.0.status.into()
    }

    /// Raised by every change; give it as `expectedVersion` to update safely.
    async fn version(&self) -> i64 {
        self.0.version
    }

    /// The members, in the order they were added.
    #[graphql(complexity = "super::connection::cost(first, child_complexity)")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        #[graphql(default = false, desc = "Also list members who have left.")] include_former: bool,
    ) -> async_graphql::Result<CountedConnection<Membership>> {
        let page = page_request(first, after, Direction::Asc)?;
        let key = super::loaders::MembersPage {
            partnership: self.0.id,
            include_former,
            first: page.first,
            after: super::connection::nested_after(&page, "memberships.added.asc")?,
        };
        let result = load(ctx, key).await?.unwrap_or(persistence::Page {
            items: Vec::new(),
            has_next_page: false,
        });
        Ok(connection(
            result,
            page.after.is_some(),
            Count::MembersOfPartnership(self.0.id, include_former),
            Membership,
        ))
    }

    /// The allocations that finance the partnership, in the order they were created.
    #[graphql(complexity = "super::connection::cost(first, child_complexity)")]
    async fn allocations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<CountedConnection<Allocation>> {
        let page = page_request(first, after, Direction::Asc)?;
        let key = super::loaders::AllocationsPage {
            partnership: self.0.id,
            first: page.first,
            after: super::connection::nested_after(&page, "allocations.created.asc")?,
        };
        let result = load(ctx, key).await?.unwrap_or(persistence::Page {
            items: Vec::new(),
            has_next_page: false,
        });
        let filter = AllocationFilter {
            partnership: Some(self.0.id),
            ..Default::default()
        };
        Ok(connection(
            result,
            page.after.is_some(),
            Count::Allocations(filter),
            Allocation,
        ))
    }

    /// What the partnership's awards (AWARDED and CLOSED allocations) hold and what was paid.
    async fn funding(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<super::audit::FundingTotals> {
        let filter = AllocationFilter {
            partnership: Some(self.0.id),
            ..Default::default()
        };
        Ok(super::audit::awarded_totals(ctx, filter).await?)
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// One actor's part in one partnership.
pub struct Membership(pub members::Membership);

#[Object]
impl Membership {
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::Membership, self.0.id.as_uuid())
    }

    /// The record's versions over time, from the audit trail, oldest first (funders and
    /// administrators).
    #[graphql(complexity = "super::connection::cost(first, child_complexity)")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<super::history::AuditEventConnection> {
        Ok(super::history::history_of(ctx, self.0.id.as_uuid(), first, after).await?)
    }

    async fn partnership(&self, ctx: &Context<'_>) -> async_graphql::Result<InPlace<Partnership>> {
        related(
            ctx,
            self.0.partnership_id,
            Partnership,
            "membership without partnership",
        )
        .await
    }

    async fn actor(&self, ctx: &Context<'_>) -> async_graphql::Result<super::actor::ActorNode> {
        super::actor::member_actor(ctx, self.0.actor_id).await
    }

    /// The member's roles, in a fixed order.
    async fn roles(&self) -> super::enums::RoleList<'_> {
        super::enums::RoleList(&self.0.roles)
    }

    async fn joined_on(&self) -> NaiveDate {
        self.0.joined_on
    }

    /// Null while the actor is a member.
    async fn left_on(&self) -> Option<NaiveDate> {
        self.0.left_on
    }

    /// Raised by every change; give it as `expectedVersion` to update safely.
    async fn version(&self) -> i64 {
        self.0.version
    }

    /// True while the actor has not left.
    async fn is_current(&self) -> bool {
        self.0.is_current()
    }
}

/// Which partnerships to list; all given conditions must hold.
#[derive(InputObject, Default)]
pub struct PartnershipFilterInput {
    /// Works on any of these themes.
    #[graphql(validator(max_items = 20))]
    pub themes: Option<Vec<Theme>>,
    #[graphql(validator(max_items = 10))]
    pub kinds: Option<Vec<PartnershipKind>>,
    #[graphql(validator(max_items = 10))]
    pub statuses: Option<Vec<PartnershipStatus>>,
    /// Has a current member in any of these countries.
    #[graphql(validator(max_items = 50))]
    pub countries: Option<Vec<String>>,
    /// Has this actor as a current member.
    pub member_actor_id: Option<ID>,
    /// Is financed by an allocation of this funding stream.
    pub funding_stream_id: Option<ID>,
    /// Runs on this day: started, not yet ended, and ACTIVE or COMPLETED.
    pub active_on: Option<NaiveDate>,
    /// Case-insensitive part of the title.
    pub title_contains: Option<String>,
}

impl PartnershipFilterInput {
    fn parse(self) -> ApiResult<PartnershipFilter> {
        let countries = self
            .countries
            .unwrap_or_default()
            .iter()
            .map(|c| CountryCode::parse(c).map_err(|e| ApiError::from(e.for_field("countries"))))
            .collect::<ApiResult<_>>()?;
        Ok(PartnershipFilter {
            themes: self
                .themes
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            kinds: self
                .kinds
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            statuses: self
                .statuses
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            countries,
            member_actor: self
                .member_actor_id
                .map(|id| {
                    ids::decode(NodeType::Actor, &id, "memberActorId").map(ActorId::from_uuid)
                })
                .transpose()?,
            funding_stream: self
                .funding_stream_id
                .map(|id| {
                    ids::decode(NodeType::FundingStream, &id, "fundingStreamId")
                        .map(StreamId::from_uuid)
                })
                .transpose()?,
            active_on: self
                .active_on
                .map(|d| domain::dates::check_date("activeOn", d))
                .transpose()?,
            title_contains: self
                .title_contains
                .map(|t| domain::text::single_line("titleContains", &t, 1, 100))
                .transpose()?,
            // Set from the principal by `list_partnerships`.
            drafts: DraftVisibility::All,
        })
    }
}

/// The order of a list of partnerships.
#[derive(InputObject, Default)]
pub struct PartnershipOrderInput {
    #[graphql(default)]
    pub field: PartnershipOrderField,
    #[graphql(default)]
    pub direction: SortDirection,
}

pub(crate) async fn list_partnerships(
    ctx: &Context<'_>,
    mut filter: PartnershipFilter,
    order: PartnershipOrder,
    direction: Direction,
    first: Option<i32>,
    after: Option<String>,
) -> ApiResult<CountedConnection<Partnership>> {
    filter.drafts = drafts(ctx)?;
    let page = page_request(first, after, direction)?;
    let result = db(ctx)?.partnerships().list(&filter, order, &page).await?;
    Ok(connection(
        result,
        page.after.is_some(),
        Count::Partnerships(filter),
        Partnership,
    ))
}

#[derive(Default)]
pub struct PartnershipQuery;

#[Object]
impl PartnershipQuery {
    /// One partnership by id; null when there is none.
    async fn partnership(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Partnership>> {
        let id = ids::decode(NodeType::Partnership, &id, "id")?;
        Ok(visible_partnership(ctx, PartnershipId::from_uuid(id))
            .await?
            .map(Partnership))
    }

    /// Partnerships, newest first unless `orderBy` says otherwise.
    #[graphql(complexity = "super::connection::cost(first, child_complexity)")]
    async fn partnerships(
        &self,
        ctx: &Context<'_>,
        filter: Option<PartnershipFilterInput>,
        order_by: Option<PartnershipOrderInput>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page.")] after: Option<String>,
    ) -> async_graphql::Result<CountedConnection<Partnership>> {
        let filter = filter
            .unwrap_or_default()
            .parse()
            .map_err(|e| e.within("filter"))?;
        let (order, direction) = match order_by {
            Some(o) => (o.field.into(), o.direction.into()),
            None => (PartnershipOrder::Created, Direction::Desc),
        };
        Ok(list_partnerships(ctx, filter, order, direction, first, after).await?)
    }
}

/// A new partnership. It starts as DRAFT, with `leadActorId` as its LEAD member.
#[derive(InputObject)]
pub struct CreatePartnershipInput {
    /// Makes a retry safe: the same key with the same input returns the first result and
    /// creates nothing; the same key with another input is refused.
    pub idempotency_key: Option<String>,
    pub title: String,
    #[graphql(default)]
    pub description: String,
    pub kind: PartnershipKind,
    #[graphql(default)]
    pub themes: Vec<Theme>,
    #[graphql(default)]
    pub governance_levels: Vec<GovernanceLevel>,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    /// The actor that leads the partnership; a partner's own actor when omitted.
    pub lead_actor_id: Option<ID>,
    /// Roles of the lead besides LEAD (MENTOR, FUNDING...).
    #[graphql(default)]
    pub lead_roles: Vec<Role>,
}

/// A change of a partnership's details: omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdatePartnershipInput {
    pub id: ID,
    /// The `version` the change was made against; a stale one is refused with CONFLICT.
    pub expected_version: Option<i64>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub kind: Option<PartnershipKind>,
    pub themes: Option<Vec<Theme>>,
    pub governance_levels: Option<Vec<GovernanceLevel>>,
    pub start_date: Option<NaiveDate>,
    /// `null` makes the partnership open-ended.
    pub end_date: MaybeUndefined<NaiveDate>,
}

#[derive(InputObject)]
pub struct ChangePartnershipStatusInput {
    pub id: ID,
    /// The `version` the change was made against; a stale one is refused with CONFLICT.
    pub expected_version: Option<i64>,
    pub status: PartnershipStatus,
}

#[derive(InputObject)]
pub struct AddMemberInput {
    /// Makes a retry safe: the same key with the same input returns the first result and
    /// creates nothing; the same key with another input is refused.
    pub idempotency_key: Option<String>,
    pub partnership_id: ID,
    pub actor_id: ID,
    pub roles: Vec<Role>,
    /// Defaults to today (UTC).
    pub joined_on: Option<NaiveDate>,
}

/// A change of a membership: omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateMemberInput {
    pub id: ID,
    /// The `version` the change was made against; a stale one is refused with CONFLICT.
    pub expected_version: Option<i64>,
    pub roles: Option<Vec<Role>>,
    pub joined_on: Option<NaiveDate>,
    /// `null` records that a former member rejoined.
    pub left_on: MaybeUndefined<NaiveDate>,
}

#[derive(InputObject)]
pub struct LeavePartnershipInput {
    /// The membership that ends.
    pub id: ID,
    /// The `version` the change was made against; a stale one is refused with CONFLICT.
    pub expected_version: Option<i64>,
    /// Defaults to today (UTC).
    pub left_on: Option<NaiveDate>,
}

#[derive(SimpleObject)]
pub struct PartnershipPayload {
    pub partnership: Partnership,
}

#[derive(SimpleObject)]
pub struct MembershipPayload {
    pub membership: Membership,
}

pub(crate) fn details_from(
    title: &str,
    description: &str,
    kind: PartnershipKind,
    themes: &[Theme],
    levels: &[GovernanceLevel],
    start_date: NaiveDate,
    end_date: Option<NaiveDate>,
) -> ApiResult<PartnershipDetails> {
    let themes: Vec<model::Theme> = themes.iter().map(|t| (*t).into()).collect();
    let levels: Vec<model::GovernanceLevel> = levels.iter().map(|l| (*l).into()).collect();
    Ok(PartnershipDetails::new(PartnershipDetailsParts {
        title: model::parse_title(title)?,
        description: model::parse_description(description)?,
        kind: kind.into(),
        themes: unique_set("themes", &themes, model::Theme::code)?,
        governance_levels: unique_set("governanceLevels", &levels, model::GovernanceLevel::code)?,
        start_date,
        end_date,
    })?)
}

/// The lead's roles: LEAD and those given.
pub(crate) fn lead_roles(mut roles: Vec<Role>) -> ApiResult<RoleSet> {
    if !roles.contains(&Role::Lead) {
        roles.insert(0, Role::Lead);
    }
    role_set(&roles).map_err(|e| match e {
        ApiError::BadInput { message, .. } => ApiError::bad_input("leadRoles", message),
        other => other,
    })
}

pub(crate) fn role_set(roles: &[Role]) -> ApiResult<RoleSet> {
    let roles: Vec<members::Role> = roles.iter().map(|r| (*r).into()).collect();
    Ok(RoleSet::parse(&roles)?)
}

/// A membership and its partnership's facts, for a change; NOT_FOUND when the partnership
/// is hidden from the principal.
async fn membership_for_change(
    ctx: &Context<'_>,
    id: MembershipId,
) -> ApiResult<(members::Membership, PartnershipFacts)> {
    let membership = db(ctx)?.memberships().get(id).await?;
    let (_, facts) = partnership_for_change(ctx, membership.partnership_id)
        .await
        .map_err(|e| match e {
            ApiError::NotFound { .. } => ApiError::not_found("no membership has this id"),
            other => other,
        })?;
    Ok((membership, facts))
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

#[derive(Default)]
pub struct PartnershipMutation;

#[Object]
impl PartnershipMutation {
    /// Creates a DRAFT partnership led by `leadActorId`.
    async fn create_partnership(
        &self,
        ctx: &Context<'_>,
        input: CreatePartnershipInput,
    ) -> async_graphql::Result<PartnershipPayload> {
        let created = async {
            let details = details_from(
                &input.title,
                &input.description,
                input.kind,
                &input.themes,
                &input.governance_levels,
                input.start_date,
                input.end_date,
            )?;
            let lead = match &input.lead_actor_id {
                Some(id) => ActorId::from_uuid(ids::decode(NodeType::Actor, id, "leadActorId")?),
                None => principal(ctx)?.actor_id.ok_or_else(|| {
                    ApiError::bad_input("leadActorId", "is required when the token has no actor")
                })?,
            };
            can_create_partnership(principal(ctx)?, lead)?;
            let roles = lead_roles(input.lead_roles)?;
            let start = input.start_date;
            super::create_once(
                    ctx,
                    input.idempotency_key.as_deref(),
                    |db| async move {
                        Ok(db
                            .partnerships()
                            .create(details, lead, roles, start)
                            .await?)
                    },
                    |db, id| async move {
                        Ok(db.partnerships().get(PartnershipId::from_uuid(id)).await?)
                    },
                )
                .await
        }
        .await
        .map_err(|e| e.within("input"))?;
        Ok(PartnershipPayload {
            partnership: Partnership(created),
        })
    }

    /// Changes a partnership's details (not its status or members).
    async fn update_partnership(
        &self,
        ctx: &Context<'_>,
        input: UpdatePartnershipInput,
    ) -> async_graphql::Result<PartnershipPayload> {
        let updated = async {
            let id = PartnershipId::from_uuid(ids::decode(NodeType::Partnership, &input.id, "id")?);
            let (current, facts) = partnership_for_change(ctx, id).await?;
            can_manage_partnership(principal(ctx)?, &facts)?;
            let parts = current.details.into_parts();
            let themes: Vec<Theme> = match input.themes {
                Some(t) => t,
                None => parts.themes.iter().map(|t| (*t).into()).collect(),
            };
            let levels: Vec<GovernanceLevel> = match input.governance_levels {
                Some(l) => l,
                None => parts
                    .governance_levels
                    .iter()
                    .map(|l| (*l).into())
                    .collect(),
            };
            let details = details_from(
                input.title.as_deref().unwrap_or(&parts.title),
                input.description.as_deref().unwrap_or(&parts.description),
                input.kind.unwrap_or_else(|| parts.kind.into()),
                &themes,
                &levels,
                input.start_date.unwrap_or(parts.start_date),
                patch(parts.end_date, input.end_date),
            )?;
            Ok::<_, ApiError>(
                db(ctx)?
                    .partnerships()
                    .update(id, details, input.expected_version)
                    .await?,
            )
        }
        .await
        .map_err(|e| e.within("input"))?;
        Ok(PartnershipPayload {
            partnership: Partnership(updated),
        })
    }

    /// Moves a partnership through DRAFT -> ACTIVE -> COMPLETED, or to WITHDRAWN. Becoming
    /// ACTIVE needs exactly one current LEAD (and, for mentoring, a MENTOR and a MENTEE).
    async fn change_partnership_status(
        &self,
        ctx: &Context<'_>,
        input: ChangePartnershipStatusInput,
    ) -> async_graphql::Result<PartnershipPayload> {
        let changed = async {
            let id = PartnershipId::from_uuid(ids::decode(NodeType::Partnership, &input.id, "id")?);
            let (_, facts) = partnership_for_change(ctx, id).await?;
            can_manage_partnership(principal(ctx)?, &facts)?;
            Ok::<_, ApiError>(
                db(ctx)?
                    .partnerships()
                    .change_status(id, input.status.into(), input.expected_version)
                    .await?,
            )
        }
        .await
        .map_err(|e| e.within("input"))?;
        Ok(PartnershipPayload {
            partnership: Partnership(changed),
        })
    }

    /// Adds an actor to a partnership in the given roles.
    async fn add_member(
        &self,
        ctx: &Context<'_>,
        input: AddMemberInput,
    ) -> async_graphql::Result<MembershipPayload> {
        let added = async {
            let partnership = PartnershipId::from_uuid(ids::decode(
                NodeType::Partnership,
                &input.partnership_id,
                "partnershipId",
            )?);
            let actor =
                ActorId::from_uuid(ids::decode(NodeType::Actor, &input.actor_id, "actorId")?);
            let (_, facts) =
                partnership_for_change(ctx, partnership)
                    .await
                    .map_err(|e| match e {
                        ApiError::NotFound { .. } => {
                            ApiError::bad_input("partnershipId", "refers to no partnership")
                        }
                        other => other,
                    })?;
            let roles = role_set(&input.roles)?;
            can_add_member(principal(ctx)?, &facts, actor, &roles)?;
            // An actor joining on its own joins today; the LEAD may record an earlier date.
            let by_lead_or_admin = can_manage_partnership(principal(ctx)?, &facts).is_ok();
            let joined_on = match input.joined_on {
                Some(day) if by_lead_or_admin => day,
                _ => today(),
            };
            super::create_once(
                ctx,
                input.idempotency_key.as_deref(),
                |db| async move { Ok(db.memberships().add(partnership, actor, roles, joined_on).await?) },
                |db, id| async move { Ok(db.memberships().get(MembershipId::from_uuid(id)).await?) },
            )
            .await
        }
        .await
        .map_err(|e| e.within("input"))?;
        Ok(MembershipPayload {
            membership: Membership(added),
        })
    }

    /// Changes a member's roles or dates.
    async fn update_member(
        &self,
        ctx: &Context<'_>,
        input: UpdateMemberInput,
    ) -> async_graphql::Result<MembershipPayload> {
        let changed = async {
            let id = MembershipId::from_uuid(ids::decode(NodeType::Membership, &input.id, "id")?);
            let (_, facts) = membership_for_change(ctx, id).await?;
            can_manage_partnership(principal(ctx)?, &facts)?;
            let change = MembershipChange {
                roles: input.roles.as_deref().map(role_set).transpose()?,
                joined_on: input.joined_on,
                expected_version: input.expected_version,
                left_on: match input.left_on {
                    MaybeUndefined::Undefined => None,
                    MaybeUndefined::Null => Some(None),
                    MaybeUndefined::Value(d) => Some(Some(d)),
                },
            };
            Ok::<_, ApiError>(db(ctx)?.memberships().change(id, change).await?)
        }
        .await
        .map_err(|e| e.within("input"))?;
        Ok(MembershipPayload {
            membership: Membership(changed),
        })
    }

    /// Records that a member left the partnership. The membership stays in the history.
    async fn leave_partnership(
        &self,
        ctx: &Context<'_>,
        input: LeavePartnershipInput,
    ) -> async_graphql::Result<MembershipPayload> {
        let changed = async {
            let id = MembershipId::from_uuid(ids::decode(NodeType::Membership, &input.id, "id")?);
            let (membership, facts) = membership_for_change(ctx, id).await?;
            can_end_membership(
                principal(ctx)?,
                &facts,
                membership.actor_id,
                membership.is_current(),
            )?;
            let change = MembershipChange {
                left_on: Some(Some(input.left_on.unwrap_or_else(today))),
                expected_version: input.expected_version,
                ..Default::default()
            };
            Ok::<_, ApiError>(db(ctx)?.memberships().change(id, change).await?)
        }
        .await
        .map_err(|e| e.within("input"))?;
        Ok(MembershipPayload {
            membership: Membership(changed),
        })
    }
}
