//! Object resolution without a task per field: the types a page repeats (its nodes and
//! connections) resolve their selected fields in place, in one joined future per object.
//!
//! Why: async-graphql resolves every field of every object as a boxed future in a
//! `FuturesUnordered` (an `Arc` task per field). A page of 50 partnerships with their members
//! and allocations has thousands of fields, nearly all of them plain reads of a struct, and
//! that machinery was the largest part of the server's CPU per request. Here the fields of
//! one object are polled together ([`futures_util::future::join_all`]: one allocation for
//! all of them), so a field that is ready at once costs no task, and a field that waits on a
//! load still waits, with its siblings, in the same batch as before.
//!
//! [`InPlace<T>`] is `T` to the schema: same name, same fields, same introspection. Only
//! plain selections take this path (fields without directives, no fragments, no
//! `__typename`, no response key twice); anything else is resolved by `T` itself, exactly as
//! async-graphql would. Results keep the selection's order.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use async_graphql::parser::types::{Field, Selection};
use async_graphql::registry::Registry;
use async_graphql::{
    ContainerType, ContextSelectionSet, OutputType, Positioned, ServerResult, Value,
};
use futures_util::future::join_all;

/// `T`, resolved in place (see the module's documentation).
pub struct InPlace<T>(pub T);

impl<T: ContainerType> OutputType for InPlace<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::qualified_type_name()
    }

    fn introspection_type_name(&self) -> Cow<'static, str> {
        self.0.introspection_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        if !is_plain(ctx) {
            return self.0.resolve(ctx, field).await;
        }
        // Boxed (once per object): nodes and connections nest in cycles (an actor's
        // memberships' partnerships' members' actors), and a future that held its fields'
        // futures inline would be of infinite size.
        let fields: Pin<Box<dyn Future<Output = ServerResult<Value>> + Send + '_>> =
            Box::pin(resolve_in_place(ctx, &self.0));
        fields.await
    }
}

/// Whether every selection is a field this path resolves as async-graphql would: no
/// fragments (their type conditions), no `__typename`, no directives (`@skip`, `@include`),
/// no response key twice (async-graphql merges those). Extensions, which would wrap each
/// field, are not looked at: async-graphql does not say whether a schema has any, and this
/// schema registers none (`crate::http::schema`).
fn is_plain(ctx: &ContextSelectionSet<'_>) -> bool {
    let items = &ctx.item.node.items;
    items.iter().enumerate().all(|(i, selection)| {
        let Selection::Field(field) = &selection.node else {
            return false;
        };
        let key = &field.node.response_key().node;
        field.node.directives.is_empty()
            && field.node.name.node != "__typename"
            && !items[..i].iter().any(|earlier| {
                matches!(&earlier.node, Selection::Field(f) if f.node.response_key().node == *key)
            })
    })
}

async fn resolve_in_place<T: ContainerType>(
    ctx: &ContextSelectionSet<'_>,
    root: &T,
) -> ServerResult<Value> {
    let fields = ctx.item.node.items.iter().filter_map(|s| match &s.node {
        Selection::Field(field) => Some(field),
        _ => None,
    });
    let results = join_all(fields.map(|field| {
        let ctx = ctx.clone();
        async move {
            let ctx_field = ctx.with_field(field);
            let value = root.resolve_field(&ctx_field).await;
            (field.node.response_key().node.clone(), value)
        }
    }))
    .await;
    let mut object = async_graphql::indexmap::IndexMap::with_capacity(results.len());
    for (name, value) in results {
        match value {
            Ok(value) => {
                object.insert(name, value.unwrap_or_default());
            }
            // As async-graphql does: the error is the response's, the field is left out.
            Err(error) => ctx.add_error(error),
        }
    }
    Ok(if object.is_empty() {
        Value::Null
    } else {
        Value::Object(object)
    })
}
