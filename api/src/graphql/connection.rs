//! Relay connections: `first`/`after` arguments (1 to 100, default 20), opaque cursors over
//! the repositories' keyset cursors, and a `totalCount` that is computed only when a client
//! asks for it, with exactly the filters of the page.

use async_graphql::connection::{Connection, CursorType, Edge};
use async_graphql::{ContainerType, Context, Object};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::ids::{ActorId, AllocationId, PartnershipId};
use persistence::repo::{
    ActorFilter, AllocationFilter, DraftVisibility, PartnershipFilter, ProgrammeFilter,
};
use persistence::{Cursor, Page, PageRequest, SortDirection};

use super::in_place::{InPlace, InPlaceConnection};
use crate::error::{ApiError, ApiResult};

pub const DEFAULT_PAGE_SIZE: i32 = 20;
pub const MAX_PAGE_SIZE: i32 = 100;

/// The complexity of a connection field (GitHub's node limit): its selection counts once per
/// item it may return, so `first: 100` of a list of `first: 100` costs 10,000 times a leaf.
pub fn cost(first: Option<i32>, child_complexity: usize) -> usize {
    let n = first.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE);
    1 + usize::try_from(n).unwrap_or(1) * child_complexity
}

/// Reads `first` and `after` into a page request.
pub fn page_request(
    first: Option<i32>,
    after: Option<String>,
    direction: SortDirection,
) -> ApiResult<PageRequest> {
    let first = first.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&first) {
        return Err(ApiError::bad_input(
            "first",
            format!("must be between 1 and {MAX_PAGE_SIZE} (was {first})"),
        ));
    }
    let after = after.map(|text| decode_cursor(&text)).transpose()?;
    Ok(PageRequest {
        first: u64::try_from(first).unwrap_or(1),
        after,
        direction,
    })
}

fn decode_cursor(text: &str) -> ApiResult<Cursor> {
    let bad = || ApiError::bad_input("after", "is not a cursor returned by this list");
    if text.len() > 1024 {
        return Err(bad());
    }
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
    let plain = String::from_utf8(bytes).map_err(|_| bad())?;
    Cursor::decode(&plain).ok_or_else(bad)
}

pub(crate) fn encode_cursor(cursor: &Cursor) -> String {
    URL_SAFE_NO_PAD.encode(cursor.encode())
}

/// What `totalCount` counts; a loader key, so that the counts of a nested list for every
/// parent of a page are one statement (`super::loaders`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Count {
    Actors(ActorFilter),
    Partnerships(PartnershipFilter),
    MembersOfPartnership(PartnershipId, bool),
    MembershipsOfActor(ActorId, bool, DraftVisibility),
    Allocations(AllocationFilter),
    Programmes(ProgrammeFilter),
    PaymentsOfAllocation(AllocationId),
}

/// The connection field that counts; flattened into every connection type.
pub struct TotalCount(Count);

#[Object]
impl TotalCount {
    /// How many items match the same filters as the page (each counted once). Computed only
    /// when asked for.
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        let count = super::load(ctx, self.0.clone()).await?;
        Ok(count.map_or(0, |n| i64::try_from(n).unwrap_or(i64::MAX)))
    }
}

/// A connection of `N` with `totalCount`; it, its edges and its nodes resolve in place
/// ([`super::in_place`]), since a page repeats them.
pub type CountedConnection<N> = InPlaceConnection<PageCursor, N, TotalCount>;

/// An edge's cursor, encoded only if the client selects it (or `pageInfo`'s cursors): a page
/// of 100 edges would otherwise format and encode 100 strings that most clients never read.
pub struct PageCursor(Cursor);

impl CursorType for PageCursor {
    type Error = &'static str;

    // `after` is read by `page_request`, which names the argument in its error; this is here
    // for the trait only.
    fn decode_cursor(text: &str) -> Result<Self, Self::Error> {
        decode_cursor(text)
            .map(PageCursor)
            .map_err(|_| "is not a cursor returned by this list")
    }

    fn encode_cursor(&self) -> String {
        encode_cursor(&self.0)
    }
}

/// The id after which a nested list continues, from a cursor of that list (`order` is the
/// list's order key, such as `memberships.added.asc`).
pub fn nested_after(page: &PageRequest, order: &str) -> ApiResult<Option<uuid::Uuid>> {
    match &page.after {
        None => Ok(None),
        Some(cursor) if cursor.order == order && cursor.sort == persistence::SortValue::None => {
            Ok(Some(cursor.id))
        }
        Some(_) => Err(ApiError::bad_input(
            "after",
            "is not a cursor returned by this list in this order",
        )),
    }
}

/// Turns a repository page into a connection of `N`.
pub fn connection<T, N: ContainerType>(
    page: Page<T>,
    had_cursor: bool,
    count: Count,
    node: impl Fn(T) -> N,
) -> CountedConnection<N> {
    let mut conn =
        Connection::with_additional_fields(had_cursor, page.has_next_page, TotalCount(count));
    conn.edges.extend(
        page.items
            .into_iter()
            .map(|(cursor, item)| Edge::new(PageCursor(cursor), InPlace(Box::new(node(item))))),
    );
    InPlaceConnection(Box::new(conn))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_is_bounded() {
        assert_eq!(
            page_request(None, None, SortDirection::Asc)
                .map(|p| p.first)
                .ok(),
            Some(20)
        );
        for bad in [0, -1, 101] {
            let err = page_request(Some(bad), None, SortDirection::Asc).expect_err("bounds");
            assert!(matches!(err, ApiError::BadInput { ref field, .. } if field == "first"));
        }
        assert!(page_request(Some(100), None, SortDirection::Asc).is_ok());
    }

    #[test]
    fn cursors_are_opaque_and_checked() {
        let cursor = Cursor {
            order: "actors.name.asc".into(),
            sort: persistence::SortValue::Text("bilbao".into()),
            id: uuid::Uuid::now_v7(),
        };
        let text = encode_cursor(&cursor);
        assert!(!text.contains("bilbao"));
        assert_eq!(decode_cursor(&text).ok(), Some(cursor));
        assert!(decode_cursor("not a cursor").is_err());
    }
}
