//! Funding streams and their co-financing ceiling rules (read side; the rows are seeded by the
//! core migration).

use domain::funding::{CeilingCase, CeilingRule, FundingStream};
use domain::ids::{CeilingRuleId, StreamId};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use tracing::instrument;

use crate::entities::{ceiling_rule, funding_stream};
use crate::{Database, RepoError};

pub struct Funding<'a> {
    pub(crate) db: &'a Database,
}

impl Funding<'_> {
    /// Every stream, by code.
    #[instrument(name = "repo.funding.streams", skip_all)]
    pub async fn streams(&self) -> Result<Vec<FundingStream>, RepoError> {
        Ok(funding_stream::Entity::find()
            .order_by_asc(funding_stream::Column::Code)
            .all(self.db.connection())
            .await?
            .into_iter()
            .map(super::rows::stream)
            .collect())
    }

    #[instrument(name = "repo.funding.streams_by_ids", skip_all, fields(n = ids.len()))]
    pub async fn streams_by_ids(&self, ids: &[StreamId]) -> Result<Vec<FundingStream>, RepoError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(funding_stream::Entity::find()
            .filter(funding_stream::Column::Id.is_in(ids.iter().map(StreamId::as_uuid)))
            .all(self.db.connection())
            .await?
            .into_iter()
            .map(super::rows::stream)
            .collect())
    }

    #[instrument(name = "repo.funding.stream_by_code", skip_all)]
    pub async fn stream_by_code(&self, code: &str) -> Result<Option<FundingStream>, RepoError> {
        Ok(funding_stream::Entity::find()
            .filter(funding_stream::Column::Code.eq(code))
            .one(self.db.connection())
            .await?
            .map(super::rows::stream))
    }

    /// The ceiling rules of these streams, by stream then case.
    #[instrument(name = "repo.funding.rules_of_streams", skip_all, fields(n = ids.len()))]
    pub async fn rules_of_streams(&self, ids: &[StreamId]) -> Result<Vec<CeilingRule>, RepoError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        ceiling_rule::Entity::find()
            .filter(ceiling_rule::Column::StreamId.is_in(ids.iter().map(StreamId::as_uuid)))
            .order_by_asc(ceiling_rule::Column::StreamId)
            .order_by_asc(ceiling_rule::Column::CaseCode)
            .all(self.db.connection())
            .await?
            .into_iter()
            .map(super::rows::rule)
            .collect()
    }

    #[instrument(name = "repo.funding.rules_by_ids", skip_all, fields(n = ids.len()))]
    pub async fn rules_by_ids(&self, ids: &[CeilingRuleId]) -> Result<Vec<CeilingRule>, RepoError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        ceiling_rule::Entity::find()
            .filter(ceiling_rule::Column::Id.is_in(ids.iter().map(CeilingRuleId::as_uuid)))
            .all(self.db.connection())
            .await?
            .into_iter()
            .map(super::rows::rule)
            .collect()
    }

    /// The rule of `case` for `stream`, if the stream has one.
    pub async fn rule_for_case(
        &self,
        stream: StreamId,
        case: &CeilingCase,
    ) -> Result<Option<CeilingRule>, RepoError> {
        ceiling_rule::Entity::find()
            .filter(ceiling_rule::Column::StreamId.eq(stream.as_uuid()))
            .filter(ceiling_rule::Column::CaseCode.eq(case.as_str()))
            .one(self.db.connection())
            .await?
            .map(super::rows::rule)
            .transpose()
    }
}
