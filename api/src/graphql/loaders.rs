//! DataLoaders: every relation field resolves through one batched `find_by_ids` per key type,
//! so a page of 100 costs as many statements as a page of 10. One loader per request: its
//! cache never serves one request's rows to another.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};
use domain::actor::Actor;
use domain::funding::{Allocation, CeilingRule, FundingStream, Payment, Programme};
use domain::ids::{
    ActorId, AllocationId, CeilingRuleId, MembershipId, PartnershipId, PaymentId, ProgrammeId,
    StreamId,
};
use domain::membership::Membership;
use domain::partnership::Partnership;
use persistence::Database;

use crate::error::ApiError;

pub struct RepoLoader {
    db: Database,
}

pub type Loaders = DataLoader<RepoLoader>;

pub fn loaders(db: Database) -> Loaders {
    DataLoader::new(RepoLoader { db }, tokio::spawn)
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
