//! Programmes: the national and regional programmes of a stream, with their envelopes, and
//! their utilisation (awarded, paid, remaining).

use domain::ValidationError;
use domain::funding::{AllocationStatus, Programme, ProgrammeDetails};

use super::allocations::AllocationFilter;
use domain::ids::{ProgrammeId, StreamId};
use domain::territory::CountryCode;
use sea_orm::sea_query::Condition;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use tracing::instrument;

use crate::entities::{actor, allocation, ceiling_rule, funding_stream, programme};
use crate::pagination::{Cursor, Page, PageRequest, SortDirection, SortValue, after, order_key};
use crate::{Database, RepoError};

/// Which programmes to list. Empty lists mean "any".
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ProgrammeFilter {
    pub streams: Vec<StreamId>,
    pub countries: Vec<CountryCode>,
    pub nuts_prefix: Option<String>,
}

/// What a programme's awards hold and what has been paid, in cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utilisation {
    pub awarded_cents: i64,
    pub paid_cents: i64,
}

pub struct Programmes<'a> {
    pub(crate) db: &'a Database,
}

impl Programmes<'_> {
    #[instrument(name = "repo.programmes.create", skip_all)]
    pub async fn create(&self, details: ProgrammeDetails) -> Result<Programme, RepoError> {
        let tx = self.db.begin_write().await?;
        check_references(&tx.txn, &details).await?;
        let now = super::now();
        let mut model = active_model(&details);
        model.id = Set(ProgrammeId::generate().as_uuid());
        model.created_at = Set(now);
        model.updated_at = Set(now);
        let row = model.insert(&tx.txn).await?;
        tx.record("Programme", row.id, None::<&programme::Model>, Some(&row));
        tx.commit().await?;
        super::rows::programme(row)
    }

    /// Replaces a programme's details. Lowering the envelope below what is awarded is
    /// allowed (budgets are cut); the funders' audit reports it as an overdrawn envelope.
    #[instrument(name = "repo.programmes.update", skip_all, fields(programme = %id))]
    pub async fn update(
        &self,
        id: ProgrammeId,
        details: ProgrammeDetails,
        expected_version: Option<i64>,
    ) -> Result<Programme, RepoError> {
        let tx = self.db.begin_write().await?;
        let mut query = programme::Entity::find_by_id(id.as_uuid());
        if tx.backend == crate::Backend::Postgres {
            query = query.lock_exclusive();
        }
        let current = query
            .one(&tx.txn)
            .await?
            .ok_or_else(|| RepoError::not_found("programme", id))?;
        RepoError::check_version(expected_version, current.version)?;
        if current.stream_id != details.parts().stream_id.as_uuid() {
            return Err(
                ValidationError::new("streamId", "a programme's stream cannot change").into(),
            );
        }
        let new_category = details.parts().category.as_ref().map(|c| c.as_str());
        if current.category_case.as_deref() != new_category {
            let allocations = allocation::Entity::find()
                .filter(allocation::Column::ProgrammeId.eq(id.as_uuid()))
                .count(&tx.txn)
                .await?;
            if allocations > 0 {
                return Err(RepoError::conflict(
                    "categoryOfRegion",
                    format!(
                        "the programme has {allocations} allocations under its category of region, which therefore cannot change"
                    ),
                ));
            }
        }
        check_references(&tx.txn, &details).await?;
        let mut model = active_model(&details);
        model.id = sea_orm::Unchanged(id.as_uuid());
        model.version = Set(current.version + 1);
        model.updated_at = Set(super::now());
        let row = model.update(&tx.txn).await?;
        tx.record("Programme", row.id, Some(&current), Some(&row));
        tx.commit().await?;
        super::rows::programme(row)
    }

    pub async fn get(&self, id: ProgrammeId) -> Result<Programme, RepoError> {
        self.find_by_ids(&[id])
            .await?
            .pop()
            .ok_or_else(|| RepoError::not_found("programme", id))
    }

    #[instrument(name = "repo.programmes.find_by_ids", skip_all, fields(n = ids.len()))]
    pub async fn find_by_ids(&self, ids: &[ProgrammeId]) -> Result<Vec<Programme>, RepoError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        programme::Entity::find()
            .filter(super::any_of(
                self.db.backend(),
                programme::Column::Id,
                ids.iter().map(ProgrammeId::as_uuid),
            ))
            .all(self.db.connection())
            .await?
            .into_iter()
            .map(super::rows::programme)
            .collect()
    }

    /// A page of programmes by code.
    #[instrument(name = "repo.programmes.list", skip_all)]
    pub async fn list(
        &self,
        filter: &ProgrammeFilter,
        page: &PageRequest,
    ) -> Result<Page<Programme>, RepoError> {
        let key = order_key("programmes.code", page.direction);
        let mut query = programme::Entity::find().filter(condition(filter));
        if let Some(cursor) = &page.after {
            query = query.filter(after(
                &key,
                SortValue::Text(String::new()),
                Some(programme::Column::Code),
                programme::Column::Id,
                cursor,
                page.direction,
            )?);
        }
        let order = match page.direction {
            SortDirection::Asc => sea_orm::Order::Asc,
            SortDirection::Desc => sea_orm::Order::Desc,
        };
        let rows = query
            .order_by(programme::Column::Code, order.clone())
            .order_by(programme::Column::Id, order)
            .limit(page.first + 1)
            .all(self.db.connection())
            .await?;
        let page = Page::from_rows(rows, page.first, |row| Cursor {
            order: key.clone(),
            sort: SortValue::Text(row.code.clone()),
            id: row.id,
        });
        let items = page
            .items
            .into_iter()
            .map(|(c, row)| super::rows::programme(row).map(|p| (c, p)))
            .collect::<Result<_, _>>()?;
        Ok(Page {
            items,
            has_next_page: page.has_next_page,
        })
    }

    pub async fn count(&self, filter: &ProgrammeFilter) -> Result<u64, RepoError> {
        Ok(programme::Entity::find()
            .filter(condition(filter))
            .count(self.db.connection())
            .await?)
    }

    /// The utilisation of each of `ids`, in their order, in one statement for up to 250
    /// programmes: what the awards (AWARDED and CLOSED allocations) hold, and what was paid on
    /// any of the programme's allocations.
    #[instrument(name = "repo.programmes.utilisation_each", skip_all)]
    pub async fn utilisation_each(
        &self,
        ids: &[ProgrammeId],
    ) -> Result<Vec<Utilisation>, RepoError> {
        let filters: Vec<AllocationFilter> = ids
            .iter()
            .flat_map(|id| {
                let all = AllocationFilter {
                    programmes: vec![*id],
                    ..Default::default()
                };
                let awarded = AllocationFilter {
                    statuses: vec![AllocationStatus::Awarded, AllocationStatus::Closed],
                    ..all.clone()
                };
                [awarded, all]
            })
            .collect();
        let totals = self.db.allocation_totals_each(&filters).await?;
        Ok(totals
            .chunks_exact(2)
            .map(|pair| Utilisation {
                awarded_cents: pair[0].eu_contribution_cents,
                paid_cents: pair[1].paid_cents,
            })
            .collect())
    }
}

fn active_model(details: &ProgrammeDetails) -> programme::ActiveModel {
    let p = details.parts();
    programme::ActiveModel {
        id: sea_orm::NotSet,
        stream_id: Set(p.stream_id.as_uuid()),
        code: Set(p.code.clone()),
        title: Set(p.title.clone()),
        managing_authority_id: Set(p.managing_authority.as_uuid()),
        country: Set(p.country.as_str().to_owned()),
        nuts_code: Set(p.nuts.as_ref().map(|n| n.code().to_owned())),
        nuts_version: Set(p.nuts.as_ref().map(|n| i32::from(n.version()))),
        category_case: Set(p.category.as_ref().map(|c| c.as_str().to_owned())),
        envelope_cents: Set(p.envelope.cents()),
        created_at: sea_orm::NotSet,
        updated_at: sea_orm::NotSet,
        version: sea_orm::NotSet,
    }
}

/// The stream, the managing authority and the category's rule row must exist.
async fn check_references(
    conn: &impl sea_orm::ConnectionTrait,
    details: &ProgrammeDetails,
) -> Result<(), RepoError> {
    let p = details.parts();
    let Some(stream) = funding_stream::Entity::find_by_id(p.stream_id.as_uuid())
        .one(conn)
        .await?
    else {
        return Err(ValidationError::new("streamId", "refers to no funding stream").into());
    };
    if stream.category_required && p.category.is_none() {
        return Err(ValidationError::new(
            "categoryOfRegion",
            format!(
                "a {} programme states its category of region (a ceiling case of the stream)",
                stream.code
            ),
        )
        .into());
    }
    if actor::Entity::find_by_id(p.managing_authority.as_uuid())
        .count(conn)
        .await?
        == 0
    {
        return Err(ValidationError::new("managingAuthorityId", "refers to no actor").into());
    }
    if let Some(category) = &p.category {
        let exists = ceiling_rule::Entity::find()
            .filter(ceiling_rule::Column::StreamId.eq(p.stream_id.as_uuid()))
            .filter(ceiling_rule::Column::CaseCode.eq(category.as_str()))
            .count(conn)
            .await?
            > 0;
        if !exists {
            return Err(ValidationError::new(
                "categoryOfRegion",
                format!("the stream has no ceiling case {}", category.as_str()),
            )
            .into());
        }
    }
    Ok(())
}

fn condition(filter: &ProgrammeFilter) -> Condition {
    let mut cond = Condition::all();
    if !filter.streams.is_empty() {
        cond = cond
            .add(programme::Column::StreamId.is_in(filter.streams.iter().map(StreamId::as_uuid)));
    }
    if !filter.countries.is_empty() {
        cond = cond.add(
            programme::Column::Country
                .is_in(filter.countries.iter().map(|c| c.as_str().to_owned())),
        );
    }
    if let Some(prefix) = &filter.nuts_prefix {
        cond = cond.add(super::starts_with(programme::Column::NutsCode, prefix));
    }
    cond
}
