//! Request limits checked by the HTTP handler on the parsed document, before async-graphql runs
//! it: the length of the document, the operations of allow-list mode, the number of aliases, a
//! field selected over and over (also through fragments), fragment expansion, introspection
//! when it is off, and mutations sent over GET. Depth, complexity and directives are
//! async-graphql's own limits (see `http::schema`); `error_codes` gives their errors codes.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_graphql::parser::types::{FragmentDefinition, OperationType, Selection, SelectionSet};
use async_graphql::{Name, Positioned, Request, ServerError};

use crate::error::codes;

#[derive(Clone)]
pub struct RequestLimits {
    pub max_aliases: usize,
    pub max_query_bytes: usize,
    /// Allow-list mode: the SHA-256 of every document allowed to run.
    pub allowed: Option<Arc<HashSet<String>>>,
    /// Whether `__schema` and `__type` may be asked for; refused with an error otherwise
    /// (async-graphql alone would answer null).
    pub introspection: bool,
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

/// The most selections a document may expand to (fragments spread into place): a small
/// document whose fragments spread each other twice over doubles at every level.
const MAX_EXPANDED: usize = 50_000;

/// Aliased fields written in a selection set and its inline fragments (named fragments are
/// counted once each, by the caller): the aliases of the document as written.
fn aliases(set: &Positioned<SelectionSet>) -> usize {
    set.node
        .items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(field) => {
                usize::from(field.node.alias.is_some()) + aliases(&field.node.selection_set)
            }
            Selection::InlineFragment(fragment) => aliases(&fragment.node.selection_set),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

/// Walks a document with its fragments spread into place: the response keys of each level
/// (through inline fragments and spreads) are counted for repeats, introspection fields are
/// found, and the expansion is bounded.
struct Walk<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    introspection: bool,
    visited: usize,
}

/// Deeper than any document the depth limit lets run; the walk stops there rather than
/// recursing as deep as a hostile document nests.
const MAX_WALK_DEPTH: usize = 64;

/// A selection set to walk, with the fragments spread on the way to it (a fragment already on
/// the path is not spread again: that is a cycle, which validation refuses).
type Pending<'a> = (&'a SelectionSet, Vec<&'a str>);

impl<'a> Walk<'a> {
    fn level(
        &mut self,
        set: &'a SelectionSet,
        path: Vec<&'a str>,
        depth: usize,
    ) -> Result<(), ServerError> {
        if depth > MAX_WALK_DEPTH {
            return Err(refuse(
                codes::DEPTH_LIMIT_EXCEEDED,
                format!("the document nests deeper than {MAX_WALK_DEPTH} levels"),
            ));
        }
        let mut keys: HashMap<&'a str, usize> = HashMap::new();
        let mut children: Vec<Pending<'a>> = Vec::new();
        let mut path = path;
        self.collect(set, &mut keys, &mut children, &mut path)?;
        if let Some((key, _)) = keys.iter().find(|(_, n)| **n > MAX_DUPLICATES) {
            return Err(refuse(
                codes::GRAPHQL_VALIDATION_FAILED,
                format!(
                    "the field `{key}` is selected more than {MAX_DUPLICATES} times in one selection set"
                ),
            ));
        }
        for (child, path) in children {
            self.level(child, path, depth + 1)?;
        }
        Ok(())
    }

    /// The fields of one level, through inline fragments and fragment spreads.
    fn collect(
        &mut self,
        set: &'a SelectionSet,
        keys: &mut HashMap<&'a str, usize>,
        children: &mut Vec<Pending<'a>>,
        path: &mut Vec<&'a str>,
    ) -> Result<(), ServerError> {
        for item in &set.items {
            self.visited += 1;
            if self.visited > MAX_EXPANDED {
                return Err(refuse(
                    codes::COMPLEXITY_LIMIT_EXCEEDED,
                    format!("the document expands to more than {MAX_EXPANDED} selections"),
                ));
            }
            match &item.node {
                Selection::Field(field) => {
                    let name = field.node.name.node.as_str();
                    if !self.introspection && (name == "__schema" || name == "__type") {
                        return Err(refuse(
                            codes::GRAPHQL_VALIDATION_FAILED,
                            "introspection is turned off on this server",
                        ));
                    }
                    let key = field.node.alias.as_ref().map_or(name, |a| a.node.as_str());
                    *keys.entry(key).or_default() += 1;
                    if !field.node.selection_set.node.items.is_empty() {
                        children.push((&field.node.selection_set.node, path.clone()));
                    }
                }
                Selection::InlineFragment(fragment) => {
                    self.collect(&fragment.node.selection_set.node, keys, children, path)?;
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    if path.contains(&name) {
                        continue;
                    }
                    if let Some(fragment) = self.fragments.get(&spread.node.fragment_name.node) {
                        path.push(name);
                        self.collect(&fragment.node.selection_set.node, keys, children, path)?;
                        path.pop();
                    }
                }
            }
        }
        Ok(())
    }
}

impl RequestLimits {
    /// Checks a request before it runs, parsing its document once (async-graphql then runs the
    /// parsed document as it is). `via_get`: the request came by GET, so it may only read.
    pub fn check(&self, request: &mut Request, via_get: bool) -> Result<(), ServerError> {
        let query = request.query.as_str();
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
        // Walked with a budget before async-graphql sees it, because its own checks of
        // recursion depth and directives spread every fragment into place, which a fragment
        // bomb makes exponential.
        let document = request
            .parsed_query()
            .map_err(|e| super::error_codes::parse_failed(e.clone()))?;
        let mut count: usize = document
            .fragments
            .values()
            .map(|f| aliases(&f.node.selection_set))
            .sum();
        let mut has_mutation = false;
        let mut walk = Walk {
            fragments: &document.fragments,
            introspection: self.introspection,
            visited: 0,
        };
        for (_, operation) in document.operations.iter() {
            count += aliases(&operation.node.selection_set);
            has_mutation |= operation.node.ty == OperationType::Mutation;
            walk.level(&operation.node.selection_set.node, Vec::new(), 0)?;
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
        if has_mutation && via_get {
            return Err(refuse(
                codes::METHOD_NOT_ALLOWED,
                "mutations are sent by POST; GET only reads",
            ));
        }
        Ok(())
    }
}
