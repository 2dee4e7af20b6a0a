//! Repositories: one per aggregate, each a thin view over the [`Database`]. They take and
//! return domain types, run every multi-row write in one transaction, and check the rules that
//! need stored rows (hierarchy, membership) inside that transaction.

pub(crate) mod actors;
pub(crate) mod allocations;
mod funding;
pub(crate) mod memberships;
pub(crate) mod partnerships;
mod programmes;
pub(crate) mod rows;
mod summary;

pub use actors::{ActorFilter, Actors};
pub use allocations::{AllocationChange, AllocationFilter, Allocations, NewAllocation};
pub use funding::{Funding, RuleText};
pub use memberships::{MembershipChange, Memberships};
pub use partnerships::{DraftVisibility, PartnershipFilter, PartnershipOrder, Partnerships};
pub use programmes::{ProgrammeFilter, Programmes, Utilisation};
pub use summary::{Dimension, SummaryRow};

use crate::Database;

impl Database {
    pub fn actors(&self) -> Actors<'_> {
        Actors { db: self }
    }

    pub fn partnerships(&self) -> Partnerships<'_> {
        Partnerships { db: self }
    }

    pub fn memberships(&self) -> Memberships<'_> {
        Memberships { db: self }
    }

    pub fn funding(&self) -> Funding<'_> {
        Funding { db: self }
    }

    pub fn allocations(&self) -> Allocations<'_> {
        Allocations { db: self }
    }

    pub fn programmes(&self) -> Programmes<'_> {
        Programmes { db: self }
    }
}

/// Current time, truncated to microseconds: what both databases store, so a value read back
/// equals the value written.
pub(crate) fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}

/// `%`, `_` and `\` escaped for a `LIKE ... ESCAPE '\'` pattern.
pub(crate) fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `column IN (ids)`. On PostgreSQL it is written `column = ANY($1)`, one array parameter:
/// the statement is the same for any number of ids, and PostgreSQL settles on a generic plan
/// after a few executions. With one parameter per id it planned every execution anew,
/// estimating each id, and that planning was most of a nested page's database time.
pub(crate) fn any_of<C: sea_orm::ColumnTrait>(
    backend: crate::Backend,
    column: C,
    ids: impl IntoIterator<Item = uuid::Uuid>,
) -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::sea_query::{Expr, ExprTrait, PgFunc};
    match backend {
        crate::Backend::Postgres => {
            let ids: Vec<uuid::Uuid> = ids.into_iter().collect();
            Expr::col(column.as_column_ref()).eq(PgFunc::any(Expr::val(ids)))
        }
        crate::Backend::Sqlite => column.is_in(ids),
    }
}
