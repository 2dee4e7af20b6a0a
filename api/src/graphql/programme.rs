//! Programmes in GraphQL: the `Programme` type with its utilisation, the `programme` and
//! `programmes` queries, and the mutations that create and change programmes (funders that
//! manage the stream, administrators).

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Utc};
use domain::access::can_manage_programme;
use domain::funding::{self as model, CeilingCase, ProgrammeDetails, ProgrammeParts};
use domain::ids::{ActorId, ProgrammeId, StreamId};
use domain::money::{Euros, cents_to_decimal};
use domain::territory::{CountryCode, NutsRegion};
use persistence::SortDirection as Direction;
use persistence::repo::ProgrammeFilter;

use super::actor::{Actor, patch};
use super::connection::{Count, CountedConnection, connection, page_request};
use super::funding::{Allocation, FundingStream};
use super::in_place::InPlace;
use super::scalars::Decimal;
use super::{db, load, principal, related};
use crate::error::{ApiError, ApiResult};
use crate::ids::{self, NodeType};

/// A national or regional programme of a funding stream for 2021-2027.
pub struct Programme(pub model::Programme);

/// What a programme's awards hold, what was paid, and what is left of its envelope. The
/// envelope is shared by all its allocations, so these figures include the awards of DRAFT
/// partnerships a caller may not see.
#[derive(SimpleObject)]
pub struct Utilisation {
    pub envelope: Decimal,
    /// EU contributions of AWARDED and CLOSED allocations.
    pub awarded: Decimal,
    pub paid: Decimal,
    /// Envelope less awarded; negative when the envelope is overdrawn.
    pub remaining: Decimal,
}

#[Object]
impl Programme {
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::Programme, self.0.id.as_uuid())
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

    /// The CCI code (`2021ES65AMPR001`) or another unique code.
    async fn code(&self) -> &str {
        &self.0.details.parts().code
    }

    async fn title(&self) -> &str {
        &self.0.details.parts().title
    }

    async fn stream(&self, ctx: &Context<'_>) -> async_graphql::Result<InPlace<FundingStream>> {
        related(
            ctx,
            self.0.details.parts().stream_id,
            FundingStream,
            "programme without stream",
        )
        .await
    }

    async fn managing_authority(&self, ctx: &Context<'_>) -> async_graphql::Result<InPlace<Actor>> {
        related(
            ctx,
            self.0.details.parts().managing_authority,
            Actor,
            "programme without managing authority",
        )
        .await
    }

    async fn country(&self) -> &str {
        self.0.details.parts().country.as_str()
    }

    async fn nuts_code(&self) -> Option<&str> {
        self.0.details.parts().nuts.as_ref().map(NutsRegion::code)
    }

    async fn nuts_version(&self) -> Option<i32> {
        self.0
            .details
            .parts()
            .nuts
            .as_ref()
            .map(|n| i32::from(n.version()))
    }

    /// The ceiling case of its category of region (ESF+, ERDF); null where allocations name
    /// their own case (AMIF).
    async fn category_of_region(&self) -> Option<&str> {
        self.0
            .details
            .parts()
            .category
            .as_ref()
            .map(CeilingCase::as_str)
    }

    /// The most EU money the programme's awards may hold together, in euros.
    async fn envelope(&self) -> Decimal {
        self.0.details.parts().envelope.to_decimal().into()
    }

    async fn utilisation(&self, ctx: &Context<'_>) -> async_graphql::Result<Utilisation> {
        // Through the request's batcher: a page of programmes costs one statement.
        let u = super::load(ctx, super::loaders::UtilisationOf(self.0.id))
            .await?
            .ok_or_else(|| ApiError::internal("a programme's utilisation was not loaded"))?;
        let envelope = self.0.details.parts().envelope.cents();
        Ok(Utilisation {
            envelope: cents_to_decimal(envelope).into(),
            awarded: cents_to_decimal(u.awarded_cents).into(),
            paid: cents_to_decimal(u.paid_cents).into(),
            remaining: cents_to_decimal(envelope - u.awarded_cents).into(),
        })
    }

    /// The programme's allocations, in the order they were created.
    #[graphql(complexity = "super::connection::cost(first, child_complexity)")]
    async fn allocations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<CountedConnection<Allocation>> {
        let parent = super::loaders::AllocationsOfProgramme(self.0.id);
        let page = page_request(first, after, persistence::SortDirection::Asc)?;
        let had_cursor = page.after.is_some();
        let drafts = super::drafts(ctx)?;
        let result = super::nested_page(ctx, parent, drafts, page).await?;
        Ok(connection(
            result,
            had_cursor,
            Count::Allocations(parent.filter(drafts)),
            super::funding::Allocation,
        ))
    }

    /// Raised by every change; give it as `expectedVersion` to update safely.
    async fn version(&self) -> i64 {
        self.0.version
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// Which programmes to list.
#[derive(InputObject, Default)]
pub struct ProgrammeFilterInput {
    #[graphql(validator(max_items = 10))]
    pub stream_ids: Option<Vec<ID>>,
    #[graphql(validator(max_items = 50))]
    pub countries: Option<Vec<String>>,
    pub nuts_prefix: Option<String>,
}

#[derive(Default)]
pub struct ProgrammeQuery;

#[Object]
impl ProgrammeQuery {
    async fn programme(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Programme>> {
        let id = ids::decode(NodeType::Programme, &id, "id")?;
        Ok(load(ctx, ProgrammeId::from_uuid(id)).await?.map(Programme))
    }

    /// Programmes, by code.
    #[graphql(complexity = "super::connection::cost(first, child_complexity)")]
    async fn programmes(
        &self,
        ctx: &Context<'_>,
        filter: Option<ProgrammeFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<CountedConnection<Programme>> {
        let filter = async {
            let f = filter.unwrap_or_default();
            Ok::<_, ApiError>(ProgrammeFilter {
                streams: f
                    .stream_ids
                    .unwrap_or_default()
                    .iter()
                    .map(|id| {
                        ids::decode(NodeType::FundingStream, id, "streamIds")
                            .map(StreamId::from_uuid)
                    })
                    .collect::<ApiResult<_>>()?,
                countries: f
                    .countries
                    .unwrap_or_default()
                    .iter()
                    .map(|c| {
                        CountryCode::parse(c).map_err(|e| ApiError::from(e.for_field("countries")))
                    })
                    .collect::<ApiResult<_>>()?,
                nuts_prefix: f
                    .nuts_prefix
                    .map(|p| super::actor::parse_nuts_prefix(&p))
                    .transpose()?,
            })
        }
        .await
        .map_err(|e| e.within("filter"))?;
        let page = page_request(first, after, Direction::Asc)?;
        let result = db(ctx)?
            .programmes()
            .list(&filter, &page)
            .await
            .map_err(ApiError::from)?;
        Ok(connection(
            result,
            page.after.is_some(),
            Count::Programmes(filter),
            Programme,
        ))
    }
}

/// A new programme.
#[derive(InputObject)]
pub struct CreateProgrammeInput {
    /// Makes a retry safe: the same key with the same input returns the first result and
    /// creates nothing; the same key with another input is refused.
    pub idempotency_key: Option<String>,
    pub stream_id: ID,
    pub code: String,
    pub title: String,
    pub managing_authority_id: ID,
    pub country: String,
    pub nuts_code: Option<String>,
    pub nuts_version: Option<i32>,
    /// A ceiling case of the stream (`LESS_DEVELOPED_REGION`...), for ESF+ and ERDF.
    pub category_of_region: Option<String>,
    /// Euros, as a string.
    pub envelope: Decimal,
}

/// A change of a programme: omitted fields stay as they are. The stream cannot change.
#[derive(InputObject)]
pub struct UpdateProgrammeInput {
    pub id: ID,
    /// The `version` the change was made against; a stale one is refused with CONFLICT.
    pub expected_version: Option<i64>,
    pub code: Option<String>,
    pub title: Option<String>,
    pub managing_authority_id: Option<ID>,
    pub country: Option<String>,
    pub nuts_code: MaybeUndefined<String>,
    pub nuts_version: MaybeUndefined<i32>,
    pub category_of_region: MaybeUndefined<String>,
    pub envelope: Option<Decimal>,
}

#[derive(SimpleObject)]
pub struct ProgrammePayload {
    pub programme: Programme,
}

#[allow(clippy::too_many_arguments)]
fn details(
    stream_id: StreamId,
    code: &str,
    title: &str,
    managing_authority: ActorId,
    country: &str,
    nuts: (Option<String>, Option<i32>),
    category: Option<String>,
    envelope: &str,
) -> ApiResult<ProgrammeDetails> {
    let nuts = match nuts {
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
    Ok(ProgrammeDetails::new(ProgrammeParts {
        code: model::parse_programme_code(code)?,
        title: domain::text::single_line("title", title, 1, 300)?,
        stream_id,
        managing_authority,
        country: CountryCode::parse(country)?,
        nuts,
        category: category
            .map(|c| CeilingCase::parse(&c).map_err(|e| e.for_field("categoryOfRegion")))
            .transpose()?,
        envelope: Euros::parse("envelope", envelope)?,
    })?)
}

async fn may_manage(ctx: &Context<'_>, stream: StreamId) -> ApiResult<()> {
    let managers = db(ctx)?.funding().managers(stream).await?;
    can_manage_programme(principal(ctx)?, &managers)?;
    Ok(())
}

#[derive(Default)]
pub struct ProgrammeMutation;

#[Object]
impl ProgrammeMutation {
    /// Registers a programme (funders that manage its stream, administrators).
    async fn create_programme(
        &self,
        ctx: &Context<'_>,
        input: CreateProgrammeInput,
    ) -> async_graphql::Result<ProgrammePayload> {
        let created = async {
            let stream = StreamId::from_uuid(ids::decode(
                NodeType::FundingStream,
                &input.stream_id,
                "streamId",
            )?);
            let authority = ActorId::from_uuid(ids::decode(
                NodeType::Actor,
                &input.managing_authority_id,
                "managingAuthorityId",
            )?);
            may_manage(ctx, stream).await?;
            let details = details(
                stream,
                &input.code,
                &input.title,
                authority,
                &input.country,
                (input.nuts_code, input.nuts_version),
                input.category_of_region,
                input.envelope.text(),
            )?;
            super::create_once(
                ctx,
                input.idempotency_key.as_deref(),
                |db| async move { Ok(db.programmes().create(details).await?) },
                |db, id| async move { Ok(db.programmes().get(ProgrammeId::from_uuid(id)).await?) },
            )
            .await
        }
        .await
        .map_err(|e| e.within("input"))?;
        Ok(ProgrammePayload {
            programme: Programme(created),
        })
    }

    /// Changes a programme (funders that manage its stream, administrators). Lowering the
    /// envelope below the awards is allowed; the audit then reports it.
    async fn update_programme(
        &self,
        ctx: &Context<'_>,
        input: UpdateProgrammeInput,
    ) -> async_graphql::Result<ProgrammePayload> {
        let updated = async {
            let id = ProgrammeId::from_uuid(ids::decode(NodeType::Programme, &input.id, "id")?);
            let current = db(ctx)?.programmes().get(id).await?;
            let p = current.details.into_parts();
            may_manage(ctx, p.stream_id).await?;
            let authority = match input.managing_authority_id {
                Some(a) => {
                    ActorId::from_uuid(ids::decode(NodeType::Actor, &a, "managingAuthorityId")?)
                }
                None => p.managing_authority,
            };
            let nuts_code = patch(
                p.nuts.as_ref().map(|n| n.code().to_owned()),
                input.nuts_code,
            );
            let nuts_version = patch(
                p.nuts.as_ref().map(|n| i32::from(n.version())),
                input.nuts_version,
            );
            let envelope = match &input.envelope {
                Some(e) => e.text().to_owned(),
                None => p.envelope.to_decimal().to_string(),
            };
            let details = details(
                p.stream_id,
                input.code.as_deref().unwrap_or(&p.code),
                input.title.as_deref().unwrap_or(&p.title),
                authority,
                input.country.as_deref().unwrap_or(p.country.as_str()),
                (nuts_code, nuts_version),
                patch(
                    p.category.map(|c| c.as_str().to_owned()),
                    input.category_of_region,
                ),
                &envelope,
            )?;
            Ok::<_, ApiError>(
                db(ctx)?
                    .programmes()
                    .update(id, details, input.expected_version)
                    .await?,
            )
        }
        .await
        .map_err(|e| e.within("input"))?;
        Ok(ProgrammePayload {
            programme: Programme(updated),
        })
    }
}
