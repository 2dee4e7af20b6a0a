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

use sea_orm::sea_query::LikeExpr;
use sea_orm::{ColumnTrait, Condition};

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

/// `column` starts with `prefix` (a NUTS code's start): `LIKE 'prefix%'`, and for a prefix of
/// upper-case ASCII letters and digits also the range of codes it spans, which the column's
/// index can seek (neither database serves this `LIKE` from an index: SQLite not with an
/// escape, PostgreSQL not outside the C collation). Codes are upper-case letters and digits,
/// which sort digits first in every collation, so the range holds every match; the `LIKE`
/// keeps the answer exact whatever else a column holds.
pub(crate) fn starts_with<C: ColumnTrait>(column: C, prefix: &str) -> Condition {
    let mut cond = Condition::all()
        .add(column.like(LikeExpr::new(format!("{}%", like_escape(prefix))).escape('\\')));
    let code_like = |b: &u8| b.is_ascii_digit() || b.is_ascii_uppercase();
    if !prefix.is_empty() && prefix.bytes().all(|b| code_like(&b)) {
        cond = cond.add(column.gte(prefix));
        if let Some(end) = prefix_end(prefix) {
            cond = cond.add(column.lt(end));
        }
    }
    cond
}

/// The first code after every code that starts with `prefix` (upper-case letters and digits):
/// its last character raised (`ES2` -> `ES3`, `ES9` -> `ESA`), carrying past `Z`; `None` when
/// every character is `Z`.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut bytes = prefix.as_bytes().to_vec();
    while let Some(last) = bytes.pop() {
        let next = match last {
            b'0'..=b'8' | b'A'..=b'Y' => last + 1,
            b'9' => b'A',
            _ => continue,
        };
        bytes.push(next);
        return String::from_utf8(bytes).ok();
    }
    None
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

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn a_prefix_ends_at_the_next_code() {
        assert_eq!(prefix_end("ES2").as_deref(), Some("ES3"));
        assert_eq!(prefix_end("ES9").as_deref(), Some("ESA"));
        assert_eq!(prefix_end("ES0").as_deref(), Some("ES1"));
        assert_eq!(prefix_end("ESY").as_deref(), Some("ESZ"));
        assert_eq!(prefix_end("ESZ").as_deref(), Some("ET"));
        assert_eq!(prefix_end("EZZZ").as_deref(), Some("F"));
        assert_eq!(prefix_end("ZZ"), None);
        // Every code that starts with the prefix lies in [prefix, end), by byte order.
        for code in [
            "ES2", "ES21", "ES2Z", "ES299", "ES9", "ES9Z9", "ESZ", "ESZZZ",
        ] {
            let prefix = &code[..3];
            let end = prefix_end(prefix).unwrap_or_default();
            assert!(
                prefix <= code && (end.is_empty() || code < end.as_str()),
                "{code}"
            );
        }
        // And nothing that does not start with it: the codes around it fall outside.
        for (prefix, outside) in [
            ("ES2", "ES3"),
            ("ES2", "ES1Z"),
            ("ES9", "ESA"),
            ("ESZ", "ET"),
        ] {
            let end = prefix_end(prefix).unwrap_or_default();
            assert!(
                outside < prefix || outside >= end.as_str(),
                "{prefix} {outside}"
            );
        }
    }
}
