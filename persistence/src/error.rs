//! The persistence error, and the one place where database constraint violations become user
//! errors, by constraint name (PostgreSQL) or by the columns SQLite names in its message.

use std::ops::Deref;

use domain::ValidationError;
use sea_orm::{DbErr, RuntimeErr, sqlx};

/// What went wrong in a repository call.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// The record addressed by the call does not exist.
    #[error("no {entity} with id {id}")]
    NotFound { entity: &'static str, id: String },
    /// The input broke a rule (checked in the domain, or caught by a database constraint).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The input clashes with what is stored (a duplicate, a second LEAD).
    #[error("{field}: {message}")]
    Conflict { field: String, message: String },
    /// A concurrent create under the same idempotency key committed first; this one was
    /// rolled back. The caller replays the first result.
    #[error("a concurrent request with the same idempotency key was first")]
    IdempotencyRace,
    /// The update named a version the record has moved on from.
    #[error("the record is at version {current_version}")]
    Stale { current_version: i64 },
    /// A stored row does not make a valid domain value: a bug or a hand edit of the database.
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    /// The database failed or could not be reached.
    #[error("database error: {0}")]
    Database(DbErr),
}

impl RepoError {
    /// Refuses an update whose expected version is not the record's current one.
    pub(crate) fn check_version(expected: Option<i64>, current: i64) -> Result<(), Self> {
        match expected {
            Some(v) if v != current => Err(Self::Stale {
                current_version: current,
            }),
            _ => Ok(()),
        }
    }

    pub(crate) fn not_found(entity: &'static str, id: impl ToString) -> Self {
        Self::NotFound {
            entity,
            id: id.to_string(),
        }
    }

    pub(crate) fn conflict(field: &str, message: impl Into<String>) -> Self {
        Self::Conflict {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    /// True when the database could not be reached (as opposed to refusing a statement).
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Self::Database(DbErr::ConnectionAcquire(_) | DbErr::Conn(_))
        ) || matches!(self, Self::Database(DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)))
            if matches!(e.deref(), sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed)
                || is_disconnect(e))
    }
}

/// PostgreSQL's own word that the connection is gone or cannot be served: class 08
/// (connection exception), or the server shutting down or starting (57P01 to 57P03). A pooled
/// connection that sat idle through a restart or a failover answers its next statement so
/// (the pool pings only connections idle for a while, `database.rs`), and the pool closes it.
fn is_disconnect(error: &sqlx::Error) -> bool {
    let sqlx::Error::Database(error) = error else {
        return false;
    };
    error
        .code()
        .is_some_and(|code| code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03"))
}

#[derive(Clone, Copy)]
enum Outcome {
    Conflict,
    Invalid,
}

/// Constraint name, SQLite's rendering of it, what it becomes, the field, the message.
const CONSTRAINTS: &[(&str, &str, Outcome, &str, &str)] = &[
    (
        "uq_actor_pic",
        "actor.pic",
        Outcome::Conflict,
        "pic",
        "another actor already has this PIC",
    ),
    (
        "uq_actor_wikidata_id",
        "actor.wikidata_id",
        Outcome::Conflict,
        "wikidataId",
        "another actor already has this Wikidata id",
    ),
    (
        "uq_membership_actor",
        "membership.partnership_id, membership.actor_id",
        Outcome::Conflict,
        "actorId",
        "the actor is already a member of this partnership",
    ),
    (
        "uq_membership_one_lead",
        "membership.partnership_id",
        // The same outcome as the domain rule that normally catches it first; the index only
        // decides races.
        Outcome::Invalid,
        "roles",
        "a partnership has at most one LEAD",
    ),
    (
        "uq_allocation_reference",
        "allocation.stream_id, allocation.reference",
        Outcome::Conflict,
        "reference",
        "another allocation of this stream already has this reference",
    ),
    (
        "uq_programme_code",
        "programme.code",
        Outcome::Conflict,
        "code",
        "another programme has this code",
    ),
    (
        "uq_stream_code",
        "funding_stream.code",
        Outcome::Conflict,
        "code",
        "a funding stream with this code exists",
    ),
    (
        "uq_rule_case",
        "ceiling_rule.stream_id, ceiling_rule.case_code",
        Outcome::Conflict,
        "ceilingCase",
        "the stream already has a rule for this case",
    ),
    (
        "ck_partnership_dates",
        "ck_partnership_dates",
        Outcome::Invalid,
        "endDate",
        "a partnership cannot end before it starts",
    ),
    (
        "ck_membership_dates",
        "ck_membership_dates",
        Outcome::Invalid,
        "leftOn",
        "a member cannot leave before joining",
    ),
    (
        "ck_allocation_amounts",
        "ck_allocation_amounts",
        Outcome::Invalid,
        "euContribution",
        "the EU contribution must be between zero and the eligible cost, which must be positive",
    ),
    (
        "ck_actor_not_own_parent",
        "ck_actor_not_own_parent",
        Outcome::Invalid,
        "parentId",
        "an actor cannot be its own parent",
    ),
];

impl From<DbErr> for RepoError {
    fn from(err: DbErr) -> Self {
        classify(&err).unwrap_or(Self::Database(err))
    }
}

fn classify(err: &DbErr) -> Option<RepoError> {
    let (DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e))) = err
    else {
        return None;
    };
    let sqlx::Error::Database(db) = e.deref() else {
        return None;
    };
    let name = db.constraint().unwrap_or_default();
    let message = db.message();
    let sqlite_detail = message
        .split_once("constraint failed: ")
        .map(|(_, detail)| detail.trim())
        .unwrap_or_default();
    let found = CONSTRAINTS.iter().find(|(constraint, sqlite, ..)| {
        *constraint == name || (!sqlite_detail.is_empty() && *sqlite == sqlite_detail)
    });
    if let Some((_, _, outcome, field, text)) = found {
        return Some(match outcome {
            Outcome::Conflict => RepoError::conflict(field, *text),
            Outcome::Invalid => RepoError::Invalid(ValidationError::new(*field, *text)),
        });
    }
    match db.kind() {
        sqlx::error::ErrorKind::ForeignKeyViolation => Some(RepoError::Invalid(
            ValidationError::new("input", "refers to a record that does not exist"),
        )),
        _ => None,
    }
}
