//! Funding streams and their co-financing ceiling rules (read side; the rows are seeded by the
//! core migration).

use std::collections::HashMap;

use domain::ValidationError;
use domain::funding::{CeilingCase, CeilingRule, FundingStream};
use domain::ids::{ActorId, CeilingRuleId, StreamId};
use domain::money::Rate;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use tracing::instrument;

use crate::entities::{actor, ceiling_rule, funding_stream, stream_manager};
use crate::{Database, RepoError};

/// A new or corrected ceiling rule row.
#[derive(Debug, Clone)]
pub struct RuleText {
    pub description: String,
    pub max_rate: Rate,
    pub legal_reference: String,
    pub verified: bool,
    pub note: Option<String>,
}

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
            .filter(super::any_of(
                self.db.backend(),
                funding_stream::Column::Id,
                ids.iter().map(StreamId::as_uuid),
            ))
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
            .filter(super::any_of(
                self.db.backend(),
                ceiling_rule::Column::StreamId,
                ids.iter().map(StreamId::as_uuid),
            ))
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
            .filter(super::any_of(
                self.db.backend(),
                ceiling_rule::Column::Id,
                ids.iter().map(CeilingRuleId::as_uuid),
            ))
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

    /// The actors that manage a stream.
    #[instrument(name = "repo.funding.managers", skip_all, fields(stream = %stream))]
    pub async fn managers(&self, stream: StreamId) -> Result<Vec<ActorId>, RepoError> {
        Ok(self
            .managers_of(&[stream])
            .await?
            .remove(&stream)
            .unwrap_or_default())
    }

    /// The current managers of each of these streams, in one statement (a stream without
    /// managers is absent).
    #[instrument(name = "repo.funding.managers_of", skip_all, fields(n = streams.len()))]
    pub async fn managers_of(
        &self,
        streams: &[StreamId],
    ) -> Result<HashMap<StreamId, Vec<ActorId>>, RepoError> {
        let rows = stream_manager::Entity::find()
            .filter(super::any_of(
                self.db.backend(),
                stream_manager::Column::StreamId,
                streams.iter().map(StreamId::as_uuid),
            ))
            .filter(stream_manager::Column::EndedAt.is_null())
            .order_by_asc(stream_manager::Column::StreamId)
            .order_by_asc(stream_manager::Column::ActorId)
            .select_only()
            .column(stream_manager::Column::StreamId)
            .column(stream_manager::Column::ActorId)
            .into_tuple::<(uuid::Uuid, uuid::Uuid)>()
            .all(self.db.connection())
            .await?;
        let mut out: HashMap<StreamId, Vec<ActorId>> = HashMap::new();
        for (stream, actor) in rows {
            out.entry(StreamId::from_uuid(stream))
                .or_default()
                .push(ActorId::from_uuid(actor));
        }
        Ok(out)
    }

    /// How many streams an actor manages (a funder must manage at least one).
    #[instrument(name = "repo.funding.streams_managed_by", skip_all, fields(actor = %actor))]
    pub async fn count_managed_by(&self, actor: ActorId) -> Result<u64, RepoError> {
        Ok(stream_manager::Entity::find()
            .filter(stream_manager::Column::ActorId.eq(actor.as_uuid()))
            .filter(stream_manager::Column::EndedAt.is_null())
            .count(self.db.connection())
            .await?)
    }

    /// Makes `actor` a manager of `stream`; doing it twice changes nothing.
    #[instrument(name = "repo.funding.add_manager", skip_all)]
    pub async fn add_manager(&self, stream: StreamId, manager: ActorId) -> Result<(), RepoError> {
        let tx = self.db.begin_write().await?;
        if funding_stream::Entity::find_by_id(stream.as_uuid())
            .count(&tx.txn)
            .await?
            == 0
        {
            return Err(ValidationError::new("streamId", "refers to no funding stream").into());
        }
        if actor::Entity::find_by_id(manager.as_uuid())
            .count(&tx.txn)
            .await?
            == 0
        {
            return Err(ValidationError::new("actorId", "refers to no actor").into());
        }
        let existing = stream_manager::Entity::find()
            .filter(stream_manager::Column::StreamId.eq(stream.as_uuid()))
            .filter(stream_manager::Column::ActorId.eq(manager.as_uuid()))
            .one(&tx.txn)
            .await?;
        match existing {
            Some(row) if row.ended_at.is_none() => {}
            Some(before) => {
                // A mandate that ended starts again: the same row, reopened and audited.
                let row = stream_manager::ActiveModel {
                    stream_id: sea_orm::Unchanged(before.stream_id),
                    actor_id: sea_orm::Unchanged(before.actor_id),
                    ended_at: Set(None),
                    ..Default::default()
                }
                .update(&tx.txn)
                .await?;
                tx.record("StreamManager", row.actor_id, Some(&before), Some(&row));
            }
            None => {
                let row = stream_manager::ActiveModel {
                    stream_id: Set(stream.as_uuid()),
                    actor_id: Set(manager.as_uuid()),
                    ended_at: Set(None),
                    created_at: Set(super::now()),
                }
                .insert(&tx.txn)
                .await?;
                tx.record(
                    "StreamManager",
                    row.stream_id,
                    None::<&stream_manager::Model>,
                    Some(&row),
                );
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Ends `actor`'s management of `stream`.
    #[instrument(name = "repo.funding.remove_manager", skip_all)]
    pub async fn remove_manager(
        &self,
        stream: StreamId,
        manager: ActorId,
    ) -> Result<(), RepoError> {
        let tx = self.db.begin_write().await?;
        let before = stream_manager::Entity::find()
            .filter(stream_manager::Column::StreamId.eq(stream.as_uuid()))
            .filter(stream_manager::Column::ActorId.eq(manager.as_uuid()))
            .filter(stream_manager::Column::EndedAt.is_null())
            .one(&tx.txn)
            .await?;
        if let Some(before) = before {
            // The registry never deletes: the mandate ends, the row stays.
            let row = stream_manager::ActiveModel {
                stream_id: sea_orm::Unchanged(before.stream_id),
                actor_id: sea_orm::Unchanged(before.actor_id),
                ended_at: Set(Some(super::now())),
                ..Default::default()
            }
            .update(&tx.txn)
            .await?;
            tx.record("StreamManager", row.actor_id, Some(&before), Some(&row));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Adds a ceiling rule row for a new case of a stream.
    #[instrument(name = "repo.funding.create_rule", skip_all)]
    pub async fn create_rule(
        &self,
        stream: StreamId,
        case: CeilingCase,
        text: RuleText,
    ) -> Result<CeilingRule, RepoError> {
        let tx = self.db.begin_write().await?;
        if funding_stream::Entity::find_by_id(stream.as_uuid())
            .count(&tx.txn)
            .await?
            == 0
        {
            return Err(ValidationError::new("streamId", "refers to no funding stream").into());
        }
        let row = ceiling_rule::ActiveModel {
            id: Set(CeilingRuleId::generate().as_uuid()),
            stream_id: Set(stream.as_uuid()),
            case_code: Set(case.as_str().to_owned()),
            description: Set(text.description),
            max_rate_bp: Set(i32::from(text.max_rate.basis_points())),
            legal_reference: Set(text.legal_reference),
            verified: Set(text.verified),
            note: Set(text.note),
            created_at: Set(super::now()),
            version: Set(1),
        }
        .insert(&tx.txn)
        .await?;
        tx.record(
            "CeilingRule",
            row.id,
            None::<&ceiling_rule::Model>,
            Some(&row),
        );
        tx.commit().await?;
        super::rows::rule(row)
    }

    /// Corrects a ceiling rule row. Allocations already recorded keep their amounts; a breach
    /// the correction reveals is for the funders' audit to show, not for this call to refuse.
    #[instrument(name = "repo.funding.update_rule", skip_all, fields(rule = %id))]
    pub async fn update_rule(
        &self,
        id: CeilingRuleId,
        text: RuleText,
        expected_version: Option<i64>,
    ) -> Result<CeilingRule, RepoError> {
        let tx = self.db.begin_write().await?;
        let mut query = ceiling_rule::Entity::find_by_id(id.as_uuid());
        if tx.backend == crate::Backend::Postgres {
            query = query.lock_exclusive();
        }
        let before = query
            .one(&tx.txn)
            .await?
            .ok_or_else(|| RepoError::not_found("ceiling rule", id))?;
        RepoError::check_version(expected_version, before.version)?;
        let row = ceiling_rule::ActiveModel {
            id: sea_orm::Unchanged(id.as_uuid()),
            description: Set(text.description),
            max_rate_bp: Set(i32::from(text.max_rate.basis_points())),
            legal_reference: Set(text.legal_reference),
            verified: Set(text.verified),
            note: Set(text.note),
            version: Set(before.version + 1),
            ..Default::default()
        }
        .update(&tx.txn)
        .await?;
        tx.record("CeilingRule", row.id, Some(&before), Some(&row));
        tx.commit().await?;
        super::rows::rule(row)
    }
}
