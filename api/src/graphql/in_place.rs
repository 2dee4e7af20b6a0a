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
//!
//! [`InPlaceConnection`] does the same for a connection and also for its `edges`: each edge
//! (async-graphql's `Edge`, an object of its own) resolves in place too, instead of through
//! a list of tasks each resolving a container of tasks.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use async_graphql::connection::{Connection, CursorType, Edge, EmptyFields};
use async_graphql::parser::types::{Field, Selection};
use async_graphql::registry::Registry;
use async_graphql::{
    ContainerType, Context, ContextSelectionSet, ObjectType, OutputType, Positioned, ServerResult,
    Value,
};
use futures_util::future::join_all;

/// `T`, resolved in place (see the module's documentation). Boxed: a field future holds the
/// value it returns while the value resolves, and a page builds and moves a field future for
/// every field of every node; an actor inline made each of its siblings' futures 300 bytes
/// larger.
pub struct InPlace<T>(pub Box<T>);

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
        resolve_object(ctx, field, &*self.0, &*self.0).await
    }
}

/// A connection of `N`, resolved in place with its edges (see the module's documentation).
/// Boxed, as [`InPlace`] is.
pub struct InPlaceConnection<C, N, F>(pub Box<Connection<C, InPlace<N>, F>>)
where
    C: CursorType + Send + Sync,
    N: ContainerType,
    F: ObjectType;

type Inner<C, N, F> = Connection<C, InPlace<N>, F>;

impl<C, N, F> OutputType for InPlaceConnection<C, N, F>
where
    C: CursorType + Send + Sync,
    N: ContainerType,
    F: ObjectType,
{
    fn type_name() -> Cow<'static, str> {
        Inner::<C, N, F>::type_name()
    }

    fn qualified_type_name() -> String {
        Inner::<C, N, F>::qualified_type_name()
    }

    fn introspection_type_name(&self) -> Cow<'static, str> {
        self.0.introspection_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        Inner::<C, N, F>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        resolve_object(ctx, field, &*self.0, self).await
    }
}

/// The connection's fields, for [`resolve_in_place`]: `edges` in place when its selection is
/// plain, every other field (and `edges` otherwise) as async-graphql resolves it.
impl<C, N, F> ContainerType for InPlaceConnection<C, N, F>
where
    C: CursorType + Send + Sync,
    N: ContainerType,
    F: ObjectType,
{
    async fn resolve_field(&self, ctx: &Context<'_>) -> ServerResult<Option<Value>> {
        if ctx.item.node.name.node == "edges" {
            let ctx_list = ctx.with_selection_set(&ctx.item.node.selection_set);
            if is_plain(&ctx_list) {
                let edges: Pin<Box<dyn Future<Output = ServerResult<Value>> + Send + '_>> =
                    Box::pin(edges_in_place(&ctx_list, &self.0.edges));
                return edges.await.map(Some);
            }
        }
        self.0.resolve_field(ctx).await
    }
}

/// The list of edges as async-graphql's `resolve_list` gives it (each item at its index in
/// error paths; an item's error is the list's), each edge resolved in place.
async fn edges_in_place<C, N>(
    ctx: &ContextSelectionSet<'_>,
    edges: &[Edge<C, InPlace<N>, EmptyFields>],
) -> ServerResult<Value>
where
    C: CursorType + Send + Sync,
    N: ContainerType,
{
    let items = join_all(edges.iter().enumerate().map(|(index, edge)| {
        let ctx_item = ctx.with_index(index);
        async move {
            resolve_in_place(&ctx_item, edge)
                .await
                .map_err(|error| ctx_item.set_error_path(error))
        }
    }))
    .await;
    Ok(Value::List(items.into_iter().collect::<ServerResult<_>>()?))
}

/// An object's fields in place when the selection is plain, else `T` as async-graphql
/// resolves it.
async fn resolve_object<T: OutputType, F: ContainerType>(
    ctx: &ContextSelectionSet<'_>,
    field: &Positioned<Field>,
    itself: &T,
    fields: &F,
) -> ServerResult<Value> {
    // Boxed (once per object), either way: nodes and connections nest in cycles (an actor's
    // memberships' partnerships' members' actors), and a future that held its fields' futures
    // inline would be of infinite size. The fallback is boxed too although it is rare: inline,
    // async-graphql's own resolution made every field future that returns one of these types
    // about 1 KB, and a page builds and moves thousands of them (`join_all`).
    let resolved: Pin<Box<dyn Future<Output = ServerResult<Value>> + Send + '_>> = if is_plain(ctx)
    {
        Box::pin(resolve_in_place(ctx, fields))
    } else {
        Box::pin(itself.resolve(ctx, field))
    };
    resolved.await
}

/// Whether every selection is a field this path resolves as async-graphql would: no
/// fragments (their type conditions), no `__typename`, no directives (`@skip`, `@include`),
/// no response key twice (async-graphql merges those). Extensions, which would wrap each
/// field, are not looked at: async-graphql does not say whether a schema has any, and this
/// schema registers none (`crate::http::schema`).
pub(crate) fn is_plain(ctx: &ContextSelectionSet<'_>) -> bool {
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
    // Mapped from the slice, not filtered: `join_all` then allocates its futures once, at their
    // exact count (a filtered iterator has no lower bound, and the vector would grow and shrink,
    // moving every field future each time). `is_plain` let only fields through.
    let results = join_all(ctx.item.node.items.iter().map(|selection| {
        let ctx = ctx.clone();
        async move {
            let Selection::Field(field) = &selection.node else {
                return None;
            };
            let ctx_field = ctx.with_field(field);
            let value = root.resolve_field(&ctx_field).await;
            Some((field.node.response_key().node.clone(), value))
        }
    }))
    .await;
    let mut object = super::response_map::Object::with_capacity(results.len());
    for (name, value) in results.into_iter().flatten() {
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
        object.into_value()
    })
}
