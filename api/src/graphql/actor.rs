//! Actors in GraphQL: the `Actor` type, the `actor`/`actors` queries, and the `createActor` and
//! `updateActor` mutations. Inputs become domain values only through the domain's parsers.

use std::borrow::Cow;

use async_graphql::parser::types::{Field, Selection};
use async_graphql::registry::Registry;
use async_graphql::resolver_utils::enum_value;
use async_graphql::{
    Context, ContextSelectionSet, ID, InputObject, MaybeUndefined, Object, OutputType, Positioned,
    ServerError, ServerResult, SimpleObject, Value,
};
use chrono::{DateTime, Utc};
use domain::access::{
    ActorFacts, can_archive_actor, can_create_actor, can_edit_actor, can_verify_actor,
};
use domain::actor::{self as model, ActorBrief, ActorProfile, ActorProfileParts};
use domain::identifiers::{Email, Pic, VatNumber, Website, WikidataId};
use domain::ids::ActorId;
use domain::territory::{CountryCode, LauUnit, NutsRegion};
use persistence::SortDirection;
use persistence::repo::{ActorFilter, AllocationFilter, DraftVisibility, PartnershipFilter};

use super::connection::{Count, CountedConnection, connection, page_request};
use super::enums::ActorKind;
use super::in_place::{InPlace, is_plain};
use super::loaders::BriefOf;
use super::partnership::{Membership, Partnership};
use super::{db, drafts, load, principal, related};
use crate::error::{ApiError, ApiResult};
use crate::ids::{self, NodeType};

/// An organisation: a municipality, region, national authority, NGO, community group,
/// network, EU institution or international organisation.
pub struct Actor(pub model::Actor);

#[Object]
impl Actor {
    /// Opaque global id.
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::Actor, self.0.id.as_uuid())
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

    async fn kind(&self) -> ActorKind {
        self.0.profile.parts().kind.into()
    }

    async fn name(&self) -> &str {
        &self.0.profile.parts().name
    }

    /// ISO 3166-1 alpha-2, with `EL` for Greece as NUTS writes it.
    async fn country(&self) -> &str {
        self.0.profile.parts().country.as_str()
    }

    /// NUTS code of the actor's region (`ES21`), valid within `nutsVersion`.
    async fn nuts_code(&self) -> Option<&str> {
        self.0.profile.parts().nuts.as_ref().map(NutsRegion::code)
    }

    async fn nuts_version(&self) -> Option<i32> {
        self.0
            .profile
            .parts()
            .nuts
            .as_ref()
            .map(|n| i32::from(n.version()))
    }

    /// LAU code of a municipality in the GISCO form (`ES_48020`), valid in `lauYear`'s list.
    async fn lau_code(&self) -> Option<&str> {
        self.0.profile.parts().lau.as_ref().map(LauUnit::code)
    }

    async fn lau_year(&self) -> Option<i32> {
        self.0
            .profile
            .parts()
            .lau
            .as_ref()
            .map(|l| i32::from(l.year()))
    }

    async fn population(&self) -> Option<i64> {
        self.0.profile.parts().population.map(i64::from)
    }

    /// A municipality of at most 150,000 inhabitants (the SHARE Network's definition); null
    /// for a municipality whose population is not known, false for other kinds.
    async fn is_smaller_community(&self) -> Option<bool> {
        self.0.profile.is_smaller_community()
    }

    /// EU participant identification code.
    async fn pic(&self) -> Option<&str> {
        self.0.profile.parts().pic.as_ref().map(Pic::as_str)
    }

    async fn vat_number(&self) -> Option<&str> {
        self.0
            .profile
            .parts()
            .vat_number
            .as_ref()
            .map(VatNumber::as_str)
    }

    async fn wikidata_id(&self) -> Option<&str> {
        self.0
            .profile
            .parts()
            .wikidata_id
            .as_ref()
            .map(WikidataId::as_str)
    }

    async fn website(&self) -> Option<&str> {
        self.0.profile.parts().website.as_ref().map(Website::as_str)
    }

    async fn email(&self) -> Option<&str> {
        self.0.profile.parts().email.as_ref().map(Email::as_str)
    }

    /// The actor this one lies in or belongs to (a municipality's region).
    async fn parent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Actor>> {
        match self.0.parent_id {
            Some(id) => Ok(load(ctx, id).await?.map(Actor)),
            None => Ok(None),
        }
    }

    /// The actors that lie in or belong to this one, by name.
    #[graphql(complexity = "super::connection::cost(first, child_complexity)")]
    async fn children(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<CountedConnection<Actor>> {
        let page = page_request(first, after, SortDirection::Asc)?;
        let had_cursor = page.after.is_some();
        let parent = super::loaders::ChildrenOf(self.0.id);
        // Actors have no drafts: one visibility keeps every reader's keys in one batch.
        let result = super::nested_page(ctx, parent, DraftVisibility::All, page).await?;
        let filter = ActorFilter {
            parent_id: Some(self.0.id),
            ..Default::default()
        };
        Ok(connection(result, had_cursor, Count::Actors(filter), Actor))
    }

    /// The actor's memberships of partnerships, in the order they were added.
    #[graphql(complexity = "super::connection::cost(first, child_complexity)")]
    async fn memberships(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        #[graphql(default = false, desc = "Also list partnerships the actor has left.")]
        include_former: bool,
    ) -> async_graphql::Result<CountedConnection<Membership>> {
        let page = page_request(first, after, SortDirection::Asc)?;
        let drafts = drafts(ctx)?;
        let key = super::loaders::ActorMembershipsPage {
            actor: self.0.id,
            include_former,
            drafts,
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
            Count::MembershipsOfActor(self.0.id, include_former, drafts),
            Membership,
        ))
    }

    /// The partnerships the actor currently belongs to, newest first.
    #[graphql(complexity = "super::connection::cost(first, child_complexity)")]
    async fn partnerships(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<CountedConnection<Partnership>> {
        let page = page_request(first, after, SortDirection::Desc)?;
        let had_cursor = page.after.is_some();
        let drafts = drafts(ctx)?;
        let parent = super::loaders::PartnershipsOf(self.0.id);
        let result = super::nested_page(ctx, parent, drafts, page).await?;
        let filter = PartnershipFilter {
            member_actor: Some(self.0.id),
            drafts,
            ..Default::default()
        };
        Ok(connection(
            result,
            had_cursor,
            Count::Partnerships(filter),
            super::partnership::Partnership,
        ))
    }

    /// What the awards (AWARDED and CLOSED allocations) of the partnerships this actor leads,
    /// and of those it is a current member of, hold and what was paid.
    async fn funding_received(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<super::audit::FundingReceived> {
        let as_lead = AllocationFilter {
            lead_actor: Some(self.0.id),
            drafts: drafts(ctx)?,
            ..Default::default()
        };
        let as_member = AllocationFilter {
            actor: Some(self.0.id),
            drafts: drafts(ctx)?,
            ..Default::default()
        };
        // Together, so that both wait in the same batch.
        let (as_lead, as_member) = futures_util::future::try_join(
            super::audit::awarded_totals(ctx, as_lead),
            super::audit::awarded_totals(ctx, as_member),
        )
        .await?;
        Ok(super::audit::FundingReceived { as_lead, as_member })
    }

    /// Raised by every change; give it as `expectedVersion` to update safely.
    async fn version(&self) -> i64 {
        self.0.version
    }

    /// When an administrator archived the actor; null while it is active. Archived actors
    /// are kept (the registry never deletes) and left out of lists unless asked for.
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }

    /// Checked by a registry administrator.
    async fn verified(&self) -> bool {
        self.0.verified
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// An actor as a field of type `Actor` answers it: whole, or, when the selection asks only for
/// fields of its brief, from its brief (see [`member_actor`]). The schema sees `Actor` either way.
pub enum ActorNode {
    Full(InPlace<Actor>),
    Brief(Box<ActorBrief>),
}

/// The fields of `Actor` a brief answers.
const BRIEF_FIELDS: [&str; 4] = ["id", "kind", "name", "country"];

/// A member's actor: its brief when the selection is plain (`in_place::is_plain`) and asks only
/// for [`BRIEF_FIELDS`], else the whole actor. Why: a page of 50 partnerships shows about 250
/// members' actors, most often by id, name and country; reading their brief (4 columns)
/// instead of the whole row (21 columns, each checked) took the nested page from about 11.4 to
/// 9.0 million instructions (`bench/RESULTS.md`). A brief is loaded in a batch of its own, so
/// a request that asks for both kinds costs one statement more, and when one membership
/// selects `actor` twice, once brief and once not, the merged object's keys follow whichever
/// copy's statement finished first (see ARCHITECTURE.md).
pub(crate) async fn member_actor(
    ctx: &Context<'_>,
    id: ActorId,
) -> async_graphql::Result<ActorNode> {
    let selection = ctx.with_selection_set(&ctx.item.node.selection_set);
    let brief_enough = is_plain(&selection)
        && selection
            .item
            .node
            .items
            .iter()
            .all(|item| match &item.node {
                Selection::Field(field) => {
                    field.node.arguments.is_empty()
                        && BRIEF_FIELDS.contains(&field.node.name.node.as_str())
                }
                _ => false,
            });
    if brief_enough {
        match load(ctx, BriefOf(id)).await? {
            Some(brief) => Ok(ActorNode::Brief(Box::new(brief))),
            None => Err(ApiError::internal("membership without actor").into()),
        }
    } else {
        Ok(ActorNode::Full(
            related(ctx, id, Actor, "membership without actor").await?,
        ))
    }
}

impl OutputType for ActorNode {
    fn type_name() -> Cow<'static, str> {
        <Actor as OutputType>::type_name()
    }

    fn qualified_type_name() -> String {
        <Actor as OutputType>::qualified_type_name()
    }

    fn introspection_type_name(&self) -> Cow<'static, str> {
        <Actor as OutputType>::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <Actor as OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        match self {
            Self::Full(actor) => actor.resolve(ctx, field).await,
            Self::Brief(brief) => brief_value(ctx, brief),
        }
    }
}

/// The brief's answer to a selection that [`member_actor`] found brief enough: the same values,
/// under the same response keys and in the same order, as `Actor`'s own resolvers give.
fn brief_value(ctx: &ContextSelectionSet<'_>, brief: &ActorBrief) -> ServerResult<Value> {
    let items = &ctx.item.node.items;
    let mut object = super::response_map::Object::with_capacity(items.len());
    for item in items {
        let Selection::Field(field) = &item.node else {
            return Err(ServerError::new(
                "an actor's brief met a fragment",
                Some(item.pos),
            ));
        };
        let value = match field.node.name.node.as_str() {
            "id" => Value::String(ids::encode(NodeType::Actor, brief.id.as_uuid()).0),
            "kind" => enum_value(ActorKind::from(brief.kind)),
            "name" => Value::String(brief.name.clone()),
            "country" => Value::String(brief.country.as_str().to_owned()),
            other => {
                return Err(ServerError::new(
                    format!("an actor's brief has no field `{other}`"),
                    Some(field.pos),
                ));
            }
        };
        object.insert(field.node.response_key().node.clone(), value);
    }
    Ok(object.into_value())
}

/// Which actors to list; all given conditions must hold.
#[derive(InputObject, Default)]
pub struct ActorFilterInput {
    /// Any of these kinds.
    #[graphql(validator(max_items = 20))]
    pub kinds: Option<Vec<ActorKind>>,
    /// Any of these countries (ISO 3166-1 alpha-2, EL for Greece).
    #[graphql(validator(max_items = 50))]
    pub countries: Option<Vec<String>>,
    /// NUTS code prefix: `ES2` finds actors in ES21, ES211 and so on.
    pub nuts_prefix: Option<String>,
    /// Case-insensitive part of the name.
    pub name_contains: Option<String>,
    /// Actors that lie in or belong to this actor.
    pub parent_id: Option<ID>,
    /// Also list archived actors (left out by default).
    #[graphql(default)]
    pub include_archived: bool,
}

impl ActorFilterInput {
    fn parse(self) -> ApiResult<ActorFilter> {
        let countries = self
            .countries
            .unwrap_or_default()
            .iter()
            .map(|c| CountryCode::parse(c).map_err(|e| ApiError::from(e.for_field("countries"))))
            .collect::<ApiResult<_>>()?;
        let nuts_prefix = self
            .nuts_prefix
            .map(|p| parse_nuts_prefix(&p))
            .transpose()?;
        let name_contains = self
            .name_contains
            .map(|n| domain::text::single_line("nameContains", &n, 1, 100))
            .transpose()?;
        let parent_id = self
            .parent_id
            .map(|id| ids::decode(NodeType::Actor, &id, "parentId").map(ActorId::from_uuid))
            .transpose()?;
        Ok(ActorFilter {
            kinds: self
                .kinds
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            countries,
            nuts_prefix,
            name_contains,
            parent_id,
            include_archived: self.include_archived,
        })
    }
}

pub(crate) fn parse_nuts_prefix(raw: &str) -> ApiResult<String> {
    let prefix = raw.trim().to_ascii_uppercase();
    let bytes = prefix.as_bytes();
    let ok = (2..=5).contains(&bytes.len())
        && bytes.iter().all(u8::is_ascii_alphanumeric)
        && bytes[..2].iter().all(u8::is_ascii_uppercase);
    if ok {
        Ok(prefix)
    } else {
        Err(ApiError::bad_input(
            "nutsPrefix",
            "must be the start of a NUTS code: two country letters and up to three more letters or digits",
        ))
    }
}

pub(crate) async fn list_actors(
    ctx: &Context<'_>,
    filter: ActorFilter,
    first: Option<i32>,
    after: Option<String>,
) -> ApiResult<CountedConnection<Actor>> {
    let page = page_request(first, after, SortDirection::Asc)?;
    let result = db(ctx)?.actors().list(&filter, &page).await?;
    Ok(connection(
        result,
        page.after.is_some(),
        Count::Actors(filter),
        Actor,
    ))
}

#[derive(Default)]
pub struct ActorQuery;

#[Object]
impl ActorQuery {
    /// One actor by id; null when there is none.
    async fn actor(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Actor>> {
        let id = ids::decode(NodeType::Actor, &id, "id")?;
        Ok(load(ctx, ActorId::from_uuid(id)).await?.map(Actor))
    }

    /// Actors, by name (case-insensitive), then id.
    #[graphql(complexity = "super::connection::cost(first, child_complexity)")]
    async fn actors(
        &self,
        ctx: &Context<'_>,
        filter: Option<ActorFilterInput>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page.")] after: Option<String>,
    ) -> async_graphql::Result<CountedConnection<Actor>> {
        let filter = filter
            .unwrap_or_default()
            .parse()
            .map_err(|e| e.within("filter"))?;
        Ok(list_actors(ctx, filter, first, after).await?)
    }
}

/// A new actor.
#[derive(InputObject)]
pub struct CreateActorInput {
    /// Makes a retry safe: the same key with the same input returns the first result and
    /// creates nothing; the same key with another input is refused.
    pub idempotency_key: Option<String>,
    pub kind: ActorKind,
    pub name: String,
    /// ISO 3166-1 alpha-2 (GR is stored as EL, as NUTS writes Greece).
    pub country: String,
    /// With `nutsVersion`.
    pub nuts_code: Option<String>,
    pub nuts_version: Option<i32>,
    /// Municipalities only, with `lauYear`.
    pub lau_code: Option<String>,
    pub lau_year: Option<i32>,
    pub population: Option<i64>,
    pub parent_id: Option<ID>,
    pub pic: Option<String>,
    pub vat_number: Option<String>,
    pub wikidata_id: Option<String>,
    pub website: Option<String>,
    pub email: Option<String>,
}

/// A change of an actor: omitted fields stay as they are, `null` clears an optional field.
/// The kind of an actor cannot change.
#[derive(InputObject)]
pub struct UpdateActorInput {
    pub id: ID,
    /// The `version` the change was made against; a stale one is refused with CONFLICT.
    pub expected_version: Option<i64>,
    pub name: Option<String>,
    pub country: Option<String>,
    pub nuts_code: MaybeUndefined<String>,
    pub nuts_version: MaybeUndefined<i32>,
    pub lau_code: MaybeUndefined<String>,
    pub lau_year: MaybeUndefined<i32>,
    pub population: MaybeUndefined<i64>,
    pub parent_id: MaybeUndefined<ID>,
    pub pic: MaybeUndefined<String>,
    pub vat_number: MaybeUndefined<String>,
    pub wikidata_id: MaybeUndefined<String>,
    pub website: MaybeUndefined<String>,
    pub email: MaybeUndefined<String>,
}

/// An actor's fields as text, before parsing: the one shape that both create and update
/// (current values patched with the input) go through.
struct RawActor {
    kind: model::ActorKind,
    name: String,
    country: String,
    nuts_code: Option<String>,
    nuts_version: Option<i32>,
    lau_code: Option<String>,
    lau_year: Option<i32>,
    population: Option<i64>,
    parent_id: Option<ActorId>,
    pic: Option<String>,
    vat_number: Option<String>,
    wikidata_id: Option<String>,
    website: Option<String>,
    email: Option<String>,
}

impl CreateActorInput {
    /// The actor's profile and parent, each field checked as the API checks it. Shared with
    /// `registry import`.
    pub(crate) fn parse_profile(self) -> ApiResult<(ActorProfile, Option<ActorId>)> {
        let parent_id = self
            .parent_id
            .map(|id| ids::decode(NodeType::Actor, &id, "parentId").map(ActorId::from_uuid))
            .transpose()?;
        RawActor {
            kind: self.kind.into(),
            name: self.name,
            country: self.country,
            nuts_code: self.nuts_code,
            nuts_version: self.nuts_version,
            lau_code: self.lau_code,
            lau_year: self.lau_year,
            population: self.population,
            parent_id,
            pic: self.pic,
            vat_number: self.vat_number,
            wikidata_id: self.wikidata_id,
            website: self.website,
            email: self.email,
        }
        .parse()
    }
}

fn optional<T>(
    value: Option<String>,
    parse: impl Fn(&str) -> Result<T, domain::ValidationError>,
) -> ApiResult<Option<T>> {
    Ok(value.map(|v| parse(&v)).transpose()?)
}

impl RawActor {
    fn from_actor(actor: &model::Actor) -> Self {
        let p = actor.profile.parts();
        Self {
            kind: p.kind,
            name: p.name.clone(),
            country: p.country.as_str().to_owned(),
            nuts_code: p.nuts.as_ref().map(|n| n.code().to_owned()),
            nuts_version: p.nuts.as_ref().map(|n| i32::from(n.version())),
            lau_code: p.lau.as_ref().map(|l| l.code().to_owned()),
            lau_year: p.lau.as_ref().map(|l| i32::from(l.year())),
            population: p.population.map(i64::from),
            parent_id: actor.parent_id,
            pic: p.pic.as_ref().map(|v| v.as_str().to_owned()),
            vat_number: p.vat_number.as_ref().map(|v| v.as_str().to_owned()),
            wikidata_id: p.wikidata_id.as_ref().map(|v| v.as_str().to_owned()),
            website: p.website.as_ref().map(|v| v.as_str().to_owned()),
            email: p.email.as_ref().map(|v| v.as_str().to_owned()),
        }
    }

    fn parse(self) -> ApiResult<(ActorProfile, Option<ActorId>)> {
        let nuts = match (self.nuts_code, self.nuts_version) {
            (Some(code), Some(version)) => Some(NutsRegion::parse(&code, version)?),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ApiError::bad_input(
                    "nutsVersion",
                    "is required with nutsCode",
                ));
            }
            (None, Some(_)) => {
                return Err(ApiError::bad_input(
                    "nutsCode",
                    "is required with nutsVersion",
                ));
            }
        };
        let lau = match (self.lau_code, self.lau_year) {
            (Some(code), Some(year)) => Some(LauUnit::parse(&code, year)?),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ApiError::bad_input("lauYear", "is required with lauCode"));
            }
            (None, Some(_)) => {
                return Err(ApiError::bad_input("lauCode", "is required with lauYear"));
            }
        };
        let parts = ActorProfileParts {
            kind: self.kind,
            name: model::parse_actor_name(&self.name)?,
            country: CountryCode::parse(&self.country)?,
            nuts,
            lau,
            population: self.population.map(model::parse_population).transpose()?,
            pic: optional(self.pic, Pic::parse)?,
            vat_number: optional(self.vat_number, VatNumber::parse)?,
            wikidata_id: optional(self.wikidata_id, WikidataId::parse)?,
            website: optional(self.website, Website::parse)?,
            email: optional(self.email, Email::parse)?,
        };
        Ok((ActorProfile::new(parts)?, self.parent_id))
    }
}

/// `Undefined` keeps the current value, `null` clears it, a value replaces it.
pub(crate) fn patch<T>(current: Option<T>, change: MaybeUndefined<T>) -> Option<T> {
    match change {
        MaybeUndefined::Undefined => current,
        MaybeUndefined::Null => None,
        MaybeUndefined::Value(v) => Some(v),
    }
}

/// An administrator's archiving of an actor.
#[derive(InputObject)]
pub struct ArchiveActorInput {
    pub id: ID,
    /// False brings an archived actor back.
    #[graphql(default = true)]
    pub archived: bool,
    /// The `version` the change was made against; a stale one is refused with CONFLICT.
    pub expected_version: Option<i64>,
}

/// An administrator's check of an actor.
#[derive(InputObject)]
pub struct VerifyActorInput {
    pub id: ID,
    /// The `version` the change was made against; a stale one is refused with CONFLICT.
    pub expected_version: Option<i64>,
    #[graphql(default = true)]
    pub verified: bool,
}

/// The actor a mutation created or changed.
#[derive(SimpleObject)]
pub struct ActorPayload {
    pub actor: Actor,
}

#[derive(Default)]
pub struct ActorMutation;

#[Object]
impl ActorMutation {
    /// Registers an organisation.
    async fn create_actor(
        &self,
        ctx: &Context<'_>,
        input: CreateActorInput,
    ) -> async_graphql::Result<ActorPayload> {
        let key = input.idempotency_key.clone();
        let created = async {
            let (profile, parent) = input.parse_profile()?;
            can_create_actor(principal(ctx)?, profile.parts().kind, parent)?;
            super::create_once(
                ctx,
                key.as_deref(),
                |db| async move { Ok(db.actors().create(profile, parent).await?) },
                |db, id| async move { Ok(db.actors().get(ActorId::from_uuid(id)).await?) },
            )
            .await
        }
        .await
        .map_err(|e| e.within("input"))?;
        Ok(ActorPayload {
            actor: Actor(created),
        })
    }

    /// Archives an actor (administrators). Nothing is deleted: the actor, its memberships and
    /// its history stay, and the archiving is audited.
    async fn archive_actor(
        &self,
        ctx: &Context<'_>,
        input: ArchiveActorInput,
    ) -> async_graphql::Result<ActorPayload> {
        let archived = async {
            can_archive_actor(principal(ctx)?)?;
            let id = ActorId::from_uuid(ids::decode(NodeType::Actor, &input.id, "id")?);
            Ok::<_, ApiError>(
                db(ctx)?
                    .actors()
                    .archive(id, input.archived, input.expected_version)
                    .await?,
            )
        }
        .await
        .map_err(|e| e.within("input"))?;
        Ok(ActorPayload {
            actor: Actor(archived),
        })
    }

    /// Marks an actor as checked (or not) by a registry administrator.
    async fn verify_actor(
        &self,
        ctx: &Context<'_>,
        input: VerifyActorInput,
    ) -> async_graphql::Result<ActorPayload> {
        let verified = async {
            can_verify_actor(principal(ctx)?)?;
            let id = ActorId::from_uuid(ids::decode(NodeType::Actor, &input.id, "id")?);
            Ok::<_, ApiError>(
                db(ctx)?
                    .actors()
                    .set_verified(id, input.verified, input.expected_version)
                    .await?,
            )
        }
        .await
        .map_err(|e| e.within("input"))?;
        Ok(ActorPayload {
            actor: Actor(verified),
        })
    }

    /// Changes an actor's profile or place in the hierarchy.
    async fn update_actor(
        &self,
        ctx: &Context<'_>,
        input: UpdateActorInput,
    ) -> async_graphql::Result<ActorPayload> {
        let updated = async {
            let id = ActorId::from_uuid(ids::decode(NodeType::Actor, &input.id, "id")?);
            let current = db(ctx)?.actors().get(id).await?;
            let mut raw = RawActor::from_actor(&current);
            let parent_id = match input.parent_id {
                MaybeUndefined::Undefined => MaybeUndefined::Undefined,
                MaybeUndefined::Null => MaybeUndefined::Null,
                MaybeUndefined::Value(pid) => MaybeUndefined::Value(ActorId::from_uuid(
                    ids::decode(NodeType::Actor, &pid, "parentId")?,
                )),
            };
            if let Some(name) = input.name {
                raw.name = name;
            }
            if let Some(country) = input.country {
                raw.country = country;
            }
            raw.nuts_code = patch(raw.nuts_code, input.nuts_code);
            raw.nuts_version = patch(raw.nuts_version, input.nuts_version);
            raw.lau_code = patch(raw.lau_code, input.lau_code);
            raw.lau_year = patch(raw.lau_year, input.lau_year);
            raw.population = patch(raw.population, input.population);
            raw.parent_id = patch(raw.parent_id, parent_id);
            raw.pic = patch(raw.pic, input.pic);
            raw.vat_number = patch(raw.vat_number, input.vat_number);
            raw.wikidata_id = patch(raw.wikidata_id, input.wikidata_id);
            raw.website = patch(raw.website, input.website);
            raw.email = patch(raw.email, input.email);
            let (profile, parent) = raw.parse()?;
            let target = ActorFacts {
                id,
                kind: current.profile.parts().kind,
                parent_id: current.parent_id,
            };
            can_edit_actor(principal(ctx)?, &target, parent)?;
            let by_admin = principal(ctx)?.role == domain::access::Role::Admin;
            Ok::<_, ApiError>(
                db(ctx)?
                    .actors()
                    .update(id, profile, parent, !by_admin, input.expected_version)
                    .await?,
            )
        }
        .await
        .map_err(|e| e.within("input"))?;
        Ok(ActorPayload {
            actor: Actor(updated),
        })
    }
}

impl From<model::Actor> for Actor {
    fn from(actor: model::Actor) -> Self {
        Self(actor)
    }
}
