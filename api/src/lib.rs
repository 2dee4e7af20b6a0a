//! The partnership registry's API: axum HTTP server, async-graphql schema, configuration and
//! the `registry` command line. The only crate that knows HTTP and GraphQL.

pub mod auth;
pub mod cli;
pub mod config;
pub mod demo;
pub mod error;
pub mod export;
pub mod graphql;
pub mod http;
pub mod ids;
pub mod import;
pub mod metrics;
pub mod ratelimit;
pub mod telemetry;
