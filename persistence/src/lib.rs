//! Storage of the partnership registry: sea-orm entities, hand-written migrations and the
//! repositories that take and return domain types. The only crate that knows SQL. Works on
//! SQLite (the embedded default) and PostgreSQL (production) alike.

pub mod audit;
mod by_index;
mod database;
mod entities;
mod error;
pub mod import;
pub mod migrations;
pub mod pagination;
pub mod repo;
pub mod synthetic;

/// Current time, truncated to microseconds (see `repo::now`).
pub(crate) fn repo_now() -> chrono::DateTime<chrono::Utc> {
    repo::now()
}
pub mod test_db;

pub use database::{Backend, Database, PoolSettings, PoolStats};
pub use error::RepoError;
pub use pagination::{Cursor, Page, PageRequest, SortDirection, SortValue};

/// The maps the repositories group rows by parent in and answer batches with, and the API's
/// batcher too: foldhash instead of std's SipHash, which was a few percent of a page's CPU on
/// keys that are ids. Its seed is random per process.
pub type Map<K, V> = foldhash::HashMap<K, V>;
