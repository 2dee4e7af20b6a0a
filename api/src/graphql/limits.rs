//! Request limits checked while a document is parsed, before any resolver runs: the length of
//! the document, the operations of allow-list mode, the number of aliases, a field selected
//! over and over, and mutations sent over GET. Depth, complexity and directives are async-graphql's own limits (see
//! `http::schema`); `error_codes` gives their errors codes.

use std::collections::HashSet;
use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use async_graphql::{Positioned, ServerError, ServerResult, Variables};

use crate::error::codes;

/// Marks a request that came by `GET`: it may only read.
#[derive(Debug, Clone, Copy)]
pub struct ViaGet;

pub struct RequestLimits {
    pub max_aliases: usize,
    pub max_query_bytes: usize,
    /// Allow-list mode: the SHA-256 of every document allowed to run.
    pub allowed: Option<Arc<HashSet<String>>>,
}

struct Limits {
    max_aliases: usize,
    max_query_bytes: usize,
    allowed: Option<Arc<HashSet<String>>>,
}

impl ExtensionFactory for RequestLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Limits {
            max_aliases: self.max_aliases,
            max_query_bytes: self.max_query_bytes,
            allowed: self.allowed.clone(),
        })
    }
}

fn refuse(code: &str, message: impl Into<String>) -> ServerError {
    let mut error = ServerError::new(message, None);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", code);
    error
}

/// How often one selection set may select the same response key: a repeat is legal GraphQL
/// (fragments overlap), hundreds of them are a flood that only costs the server.
const MAX_DUPLICATES: usize = 5;

/// Aliased fields in a selection set and its inline fragments (named fragments are counted
/// once each, by the caller); `Err(key)` when a response key is selected too often.
fn aliases(set: &Positioned<SelectionSet>) -> Result<usize, String> {
    let mut count = 0;
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for item in &set.node.items {
        count += match &item.node {
            Selection::Field(field) => {
                let key = field
                    .node
                    .alias
                    .as_ref()
                    .map_or(field.node.name.node.as_str(), |a| a.node.as_str());
                let times = seen.entry(key).or_default();
                *times += 1;
                if *times > MAX_DUPLICATES {
                    return Err(key.to_owned());
                }
                usize::from(field.node.alias.is_some()) + aliases(&field.node.selection_set)?
            }
            Selection::InlineFragment(fragment) => aliases(&fragment.node.selection_set)?,
            Selection::FragmentSpread(_) => 0,
        };
    }
    Ok(count)
}

fn duplicated(key: &str) -> ServerError {
    refuse(
        codes::GRAPHQL_VALIDATION_FAILED,
        format!(
            "the field `{key}` is selected more than {MAX_DUPLICATES} times in one selection set"
        ),
    )
}

#[async_graphql::async_trait::async_trait]
impl Extension for Limits {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        if query.len() > self.max_query_bytes {
            return Err(refuse(
                codes::QUERY_LENGTH_LIMIT_EXCEEDED,
                format!(
                    "the document is {} bytes, over the limit of {}",
                    query.len(),
                    self.max_query_bytes
                ),
            ));
        }
        if let Some(allowed) = &self.allowed
            && !allowed.contains(&crate::http::sha256_hex(query))
        {
            return Err(refuse(
                codes::OPERATION_NOT_ALLOWED,
                "this registry runs registered operations only, and this document is not one",
            ));
        }
        let document = next.run(ctx, query, variables).await?;
        let mut count = 0;
        for fragment in document.fragments.values() {
            count += aliases(&fragment.node.selection_set).map_err(|k| duplicated(&k))?;
        }
        let mut has_mutation = false;
        for (_, operation) in document.operations.iter() {
            count += aliases(&operation.node.selection_set).map_err(|k| duplicated(&k))?;
            has_mutation |= operation.node.ty == OperationType::Mutation;
        }
        if count > self.max_aliases {
            return Err(refuse(
                codes::ALIAS_LIMIT_EXCEEDED,
                format!(
                    "the document has {count} aliases, over the limit of {}",
                    self.max_aliases
                ),
            ));
        }
        if has_mutation && ctx.data_opt::<ViaGet>().is_some() {
            return Err(refuse(
                codes::METHOD_NOT_ALLOWED,
                "mutations are sent by POST; GET only reads",
            ));
        }
        Ok(document)
    }
}
