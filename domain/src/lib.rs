//! The partnership registry's language: actors, partnerships, memberships, funding streams and
//! allocations, with the rules that make a value valid. Pure: no IO, no async, no database, no
//! GraphQL. A value of these types that exists is valid ("parse, don't validate").

pub mod access;
pub mod actor;
pub mod dates;
pub mod error;
pub mod funding;
pub mod identifiers;
pub mod ids;
pub mod membership;
pub mod money;
pub mod partnership;
pub mod territory;
pub mod text;

pub use error::ValidationError;
