//! Request limits checked by the HTTP handler on the parsed document, before async-graphql runs
//! it: the length of the document, the operations of allow-list mode, the number of aliases, a
//! field selected over and over (also through fragments), fragment expansion, introspection
//! when it is off, and mutations sent over GET. Depth, complexity and directives are
//! async-graphql's own limits (see `http::schema`); `error_codes` gives their errors codes.
//! The same walk estimates how many values the response may hold ([`Checked::nodes`]), which
//! decides whether the operation takes a turn among the large ones (`http::execute`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_graphql::parser::types::{
    DocumentOperations, Field, FragmentDefinition, OperationType, Selection, SelectionSet,
};
use async_graphql::{Name, Positioned, Request, ServerError, Value, Variables};

use super::documents::Documents;
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
    /// Documents parsed before, by their text (see `documents`).
    pub documents: Documents,
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
    variables: &'a Variables,
    introspection: bool,
    visited: usize,
    /// The response's values so far, at most (see [`Checked::nodes`]).
    nodes: usize,
}

/// What a request that passed the checks is estimated to cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// How many values (fields, and the items of the pages that hold them) the response holds
    /// at most: each field counts once for every item of every page around it, a page being a
    /// field with a `first` argument (its value, or the variable's) or one that selects `edges`
    /// or `nodes` (the default page size). The nested page of 50 partnerships with 10 members
    /// and 10 allocations each is about 6,300; a filtered list of 20 with five fields, 141. Of a
    /// document of several operations, the largest.
    pub nodes: usize,
    /// The response keys of the root fields of the operation that runs, in the order the
    /// document selects them (fragments spread into place), when it selects more than one:
    /// async-graphql orders the root fields by the part of the merged query root that answers
    /// them, and the response is put back in the document's order (`Checked::order_root`).
    pub root_keys: Vec<Name>,
}

impl Checked {
    /// Puts the root fields of `data` in the order the document selected them; keys the
    /// document does not name (none, in practice) keep their order after them.
    pub fn order_root(&self, data: &mut Value) {
        let Value::Object(map) = data else {
            return;
        };
        if self.root_keys.len() < 2 || map.len() < 2 {
            return;
        }
        let mut ordered = async_graphql::indexmap::IndexMap::with_capacity(map.len());
        for key in &self.root_keys {
            if let Some((key, value)) = map.swap_remove_entry(key) {
                ordered.insert(key, value);
            }
        }
        ordered.extend(map.drain(..));
        *map = ordered;
    }
}

/// The response keys of a selection set in the order the document selects them, with the
/// fields of its fragments (inline or named) in their place, each key once. A fragment met
/// again is not spread again (the document is not validated yet: a cycle must end).
fn response_keys(
    set: &SelectionSet,
    fragments: &HashMap<Name, Positioned<FragmentDefinition>>,
    spread: &mut HashSet<Name>,
    keys: &mut Vec<Name>,
) {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                let key = &field.node.response_key().node;
                if !keys.contains(key) {
                    keys.push(key.clone());
                }
            }
            Selection::InlineFragment(fragment) => {
                response_keys(&fragment.node.selection_set.node, fragments, spread, keys);
            }
            Selection::FragmentSpread(name) => {
                let name = &name.node.fragment_name.node;
                if spread.insert(name.clone())
                    && let Some(fragment) = fragments.get(name)
                {
                    response_keys(&fragment.node.selection_set.node, fragments, spread, keys);
                }
            }
        }
    }
}

/// The items a field's value may hold: a page's `first` (bounded as `page_request` bounds it),
/// the default page size for a connection without it, else one.
fn page_items(field: &Field, variables: &Variables) -> usize {
    use super::connection::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
    // A literal, or the variable's value (a number in either case; anything else is refused
    // when the operation runs).
    let first = field
        .get_argument("first")
        .and_then(|v| {
            v.node
                .clone()
                .into_const_with(|name| variables.get(&name).cloned().ok_or(()))
                .ok()
        })
        .and_then(|v| match v {
            Value::Number(n) => n.as_i64(),
            _ => None,
        });
    let is_page = first.is_some()
        || field.selection_set.node.items.iter().any(|item| {
            matches!(&item.node, Selection::Field(f) if matches!(f.node.name.node.as_str(), "edges" | "nodes"))
        });
    if !is_page {
        return 1;
    }
    let first = first.unwrap_or(i64::from(DEFAULT_PAGE_SIZE));
    usize::try_from(first.clamp(1, i64::from(MAX_PAGE_SIZE))).unwrap_or(1)
}

/// Deeper than any document the depth limit lets run; the walk stops there rather than
/// recursing as deep as a hostile document nests.
const MAX_WALK_DEPTH: usize = 64;

/// A selection set to walk, with the fragments spread on the way to it (a fragment already on
/// the path is not spread again: that is a cycle, which validation refuses), and how many times
/// the response may repeat it.
type Pending<'a> = (&'a SelectionSet, Vec<&'a str>, usize);

/// One level of the walk: how often each response key is selected, and the selection sets
/// below it.
#[derive(Default)]
struct Level<'a> {
    keys: HashMap<&'a str, usize>,
    children: Vec<Pending<'a>>,
}

impl<'a> Walk<'a> {
    fn level(
        &mut self,
        set: &'a SelectionSet,
        path: Vec<&'a str>,
        depth: usize,
        repeats: usize,
    ) -> Result<(), ServerError> {
        if depth > MAX_WALK_DEPTH {
            return Err(refuse(
                codes::DEPTH_LIMIT_EXCEEDED,
                format!("the document nests deeper than {MAX_WALK_DEPTH} levels"),
            ));
        }
        let mut level = Level::default();
        let mut path = path;
        self.collect(set, &mut level, &mut path, repeats)?;
        if let Some((key, _)) = level.keys.iter().find(|(_, n)| **n > MAX_DUPLICATES) {
            return Err(refuse(
                codes::GRAPHQL_VALIDATION_FAILED,
                format!(
                    "the field `{key}` is selected more than {MAX_DUPLICATES} times in one selection set"
                ),
            ));
        }
        for (child, path, repeats) in level.children {
            self.level(child, path, depth + 1, repeats)?;
        }
        Ok(())
    }

    /// The fields of one level, through inline fragments and fragment spreads.
    fn collect(
        &mut self,
        set: &'a SelectionSet,
        level: &mut Level<'a>,
        path: &mut Vec<&'a str>,
        repeats: usize,
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
                    *level.keys.entry(key).or_default() += 1;
                    self.nodes = self.nodes.saturating_add(repeats);
                    if !field.node.selection_set.node.items.is_empty() {
                        let inner = repeats.saturating_mul(page_items(&field.node, self.variables));
                        let child = (&field.node.selection_set.node, path.clone(), inner);
                        level.children.push(child);
                    }
                }
                Selection::InlineFragment(fragment) => {
                    self.collect(&fragment.node.selection_set.node, level, path, repeats)?;
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    if path.contains(&name) {
                        continue;
                    }
                    if let Some(fragment) = self.fragments.get(&spread.node.fragment_name.node) {
                        path.push(name);
                        self.collect(&fragment.node.selection_set.node, level, path, repeats)?;
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
    pub fn check(&self, request: &mut Request, via_get: bool) -> Result<Checked, ServerError> {
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
        // bomb makes exponential. The variables are read for the page sizes while the parsed
        // document borrows the request: taken out meanwhile (not copied), and put back once the
        // walk is done (a request refused on the way does not run).
        let variables = std::mem::take(&mut request.variables);
        let operation_name = request.operation_name.clone();
        // A document sent before is not parsed again (see `documents`).
        let document = match self.documents.get(&request.query) {
            Some(document) => document,
            None => {
                let document = async_graphql::parser::parse_query(&request.query)
                    .map_err(|e| super::error_codes::parse_failed(e.into()))?;
                self.documents.insert(&request.query, &document);
                document
            }
        };
        request.set_parsed_query(document);
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
            variables: &variables,
            introspection: self.introspection,
            visited: 0,
            nodes: 0,
        };
        // One operation of the document runs: the largest is the estimate.
        let mut nodes = 0;
        for (_, operation) in document.operations.iter() {
            count += aliases(&operation.node.selection_set);
            has_mutation |= operation.node.ty == OperationType::Mutation;
            walk.nodes = 0;
            walk.level(&operation.node.selection_set.node, Vec::new(), 0, 1)?;
            nodes = nodes.max(walk.nodes);
        }
        // The operation that runs: the one named, or the only one (async-graphql refuses the
        // request otherwise, and then there is no data to order).
        let operation = match (&document.operations, operation_name.as_deref()) {
            (DocumentOperations::Single(operation), _) => Some(operation),
            (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name),
            (DocumentOperations::Multiple(_), None) => None,
        };
        let mut root_keys = Vec::new();
        if let Some(operation) = operation
            && operation.node.selection_set.node.items.len() > 1
        {
            response_keys(
                &operation.node.selection_set.node,
                &document.fragments,
                &mut HashSet::new(),
                &mut root_keys,
            );
        }
        request.variables = variables;
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
        Ok(Checked { nodes, root_keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> RequestLimits {
        RequestLimits {
            max_aliases: 30,
            max_query_bytes: 32 * 1024,
            allowed: None,
            introspection: true,
            documents: Documents::default(),
        }
    }

    fn nodes(query: &str, variables: serde_json::Value) -> usize {
        let limits = limits();
        let mut request = Request::new(query).variables(Variables::from_json(variables));
        limits
            .check(&mut request, false)
            .map(|c| c.nodes)
            .unwrap_or_else(|e| panic!("{query}: {e:?}"))
    }

    const NESTED_PAGE: &str = "{ partnerships(first: 50) { edges { node { id title \
        members(first: 10) { edges { node { roles actor { id name country } } } } \
        allocations(first: 10) { edges { node { euContribution stream { code } } } } } } } }";

    #[test]
    fn fields_count_once_for_every_item_of_the_pages_around_them() {
        // partnerships 1; edges, node 50 each; id, title, members, allocations 50 each; per
        // nested page (500 items): edges, node, roles, actor, 3 actor fields = 7 x 500, and
        // edges, node, euContribution, stream, code = 5 x 500.
        assert_eq!(
            nodes(NESTED_PAGE, serde_json::json!({})),
            1 + 100 + 200 + 6_000
        );
        assert_eq!(
            nodes(
                "{ partnerships(first: 20, filter: { themes: [HOUSING] }) { edges { node { id title themes status startDate } } } }",
                serde_json::json!({})
            ),
            1 + 40 + 100
        );
        assert_eq!(nodes("{ viewer { role } }", serde_json::json!({})), 2);
    }

    #[test]
    fn page_sizes_come_from_variables_defaults_and_the_bounds() {
        let by_variable = "query($n: Int) { actors(first: $n) { edges { node { id name } } } }";
        assert_eq!(nodes(by_variable, serde_json::json!({ "n": 100 })), 1 + 400);
        // Without `first` a connection holds the default page (20); a value past the bound
        // counts as the bound (it is refused when it runs).
        assert_eq!(
            nodes(
                "{ actors { edges { node { id } } } }",
                serde_json::json!({})
            ),
            1 + 60
        );
        assert_eq!(
            nodes(by_variable, serde_json::json!({ "n": 100_000 })),
            1 + 400
        );
        assert_eq!(nodes(by_variable, serde_json::json!({})), 1 + 80);
    }

    #[test]
    fn a_document_of_several_operations_counts_its_largest() {
        let query = "query Small { viewer { role } } \
            query Large { actors(first: 100) { edges { node { id name } } } }";
        assert_eq!(nodes(query, serde_json::json!({})), 1 + 400);
    }

    #[test]
    fn fragments_count_where_they_are_spread() {
        let query = "{ partnerships(first: 50) { edges { node { ...P } } } } \
            fragment P on Partnership { id members(first: 10) { edges { node { roles } } } }";
        assert_eq!(nodes(query, serde_json::json!({})), 1 + 100 + 100 + 1_500);
    }

    #[test]
    fn a_document_is_parsed_once_and_its_variables_read_each_time() {
        let limits = limits();
        let text = "query($n: Int) { actors(first: $n) { edges { node { id name } } } }";
        let mut counted = Vec::new();
        for n in [100, 5] {
            let mut request =
                Request::new(text).variables(Variables::from_json(serde_json::json!({ "n": n })));
            let checked = limits
                .check(&mut request, false)
                .unwrap_or_else(|e| panic!("{e:?}"));
            counted.push(checked.nodes);
            // The request leaves the check with its text and variables, and the parsed
            // document async-graphql runs.
            assert_eq!(request.query, text);
            assert_eq!(request.variables.get("n"), Some(&Value::Number(n.into())));
            let document = request.parsed_query().map(|d| format!("{d:?}"));
            let fresh = async_graphql::parser::parse_query(text).map(|d| format!("{d:?}"));
            assert_eq!(document.ok(), fresh.ok());
        }
        // The second check ran on the kept document with its own variables.
        assert_eq!(counted, vec![1 + 400, 1 + 20]);
        assert_eq!(limits.documents.len(), 1);
    }

    #[test]
    fn a_document_that_does_not_parse_is_refused_and_not_kept() {
        let limits = limits();
        let text = "{ actors(first: 5) { edges { node { id } }";
        for _ in 0..2 {
            let mut request = Request::new(text);
            let error = limits.check(&mut request, false).err();
            let code = error
                .and_then(|e| e.extensions)
                .and_then(|x| x.get("code").cloned());
            assert_eq!(
                code,
                Some(Value::from(codes::GRAPHQL_PARSE_FAILED)),
                "a parse error, each time"
            );
            assert_eq!(request.query, text);
        }
        assert!(limits.documents.is_empty());
    }
}
