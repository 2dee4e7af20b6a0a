//! Keyset pagination: a page is "the `first` rows after this cursor" in a fixed order that
//! always ends with the id, so pages never skip or repeat rows and cost the same at any depth
//! (no OFFSET).

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Condition, SimpleExpr};
use sea_orm::{ColumnTrait, Value};
use uuid::Uuid;

/// Up or down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SortDirection {
    #[default]
    Asc,
    Desc,
}

/// The direction as sea-orm spells it.
pub(crate) fn direction(direction: SortDirection) -> sea_orm::Order {
    match direction {
        SortDirection::Asc => sea_orm::Order::Asc,
        SortDirection::Desc => sea_orm::Order::Desc,
    }
}

/// The value of a row's sort column, as remembered in a cursor.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SortValue {
    /// Ordered by id alone.
    None,
    Text(String),
    Date(NaiveDate),
    Time(DateTime<Utc>),
}

/// Where a page ends: the list and order it belongs to, and the sort value and id of its
/// last row. A cursor is only accepted by the list and order that issued it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor {
    pub order: String,
    pub sort: SortValue,
    pub id: Uuid,
}

/// The name of a list in one order and direction (`partnerships.title.desc`).
pub(crate) fn order_key(list: &str, direction: SortDirection) -> String {
    match direction {
        SortDirection::Asc => format!("{list}.asc"),
        SortDirection::Desc => format!("{list}.desc"),
    }
}

impl Cursor {
    /// A compact text form (`<order>~<tag><value>|<uuid>`); the API wraps it so clients see
    /// it as opaque.
    pub fn encode(&self) -> String {
        let sort = match &self.sort {
            SortValue::None => "n".to_owned(),
            SortValue::Text(t) => format!("t{t}"),
            SortValue::Date(d) => format!("d{d}"),
            SortValue::Time(t) => format!("m{}", t.timestamp_micros()),
        };
        format!("{}~{sort}|{}", self.order, self.id.simple())
    }

    pub fn decode(text: &str) -> Option<Self> {
        let (order, rest) = text.split_once('~')?;
        let (sort, id) = rest.rsplit_once('|')?;
        let id = Uuid::try_parse(id).ok()?;
        let mut chars = sort.chars();
        let tag = chars.next()?;
        let rest = chars.as_str();
        let sort = match tag {
            'n' if rest.is_empty() => SortValue::None,
            't' => SortValue::Text(rest.to_owned()),
            'd' => SortValue::Date(rest.parse().ok()?),
            'm' => SortValue::Time(DateTime::from_timestamp_micros(rest.parse().ok()?)?),
            _ => return None,
        };
        Some(Self {
            order: order.to_owned(),
            sort,
            id,
        })
    }
}

/// What page to read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageRequest {
    pub first: u64,
    pub after: Option<Cursor>,
    pub direction: SortDirection,
}

impl PageRequest {
    pub fn first(first: u64) -> Self {
        Self {
            first,
            after: None,
            direction: SortDirection::Asc,
        }
    }
}

/// A page of rows, each with its cursor.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<(Cursor, T)>,
    pub has_next_page: bool,
}

impl<T> Page<T> {
    pub(crate) fn from_rows(mut rows: Vec<T>, first: u64, cursor: impl Fn(&T) -> Cursor) -> Self {
        let limit = usize::try_from(first).unwrap_or(usize::MAX);
        let has_next_page = rows.len() > limit;
        rows.truncate(limit);
        Self {
            items: rows.into_iter().map(|r| (cursor(&r), r)).collect(),
            has_next_page,
        }
    }

    pub fn map<U>(self, f: impl Fn(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(|(c, t)| (c, f(t))).collect(),
            has_next_page: self.has_next_page,
        }
    }
}

/// A page of `query`'s rows ordered by `id` alone (the creation order of UUIDv7 ids), after the
/// page's cursor, which must come from the list named `list`.
pub(crate) async fn page_by_id<E, T>(
    conn: &impl sea_orm::ConnectionTrait,
    query: sea_orm::Select<E>,
    id: E::Column,
    list: &str,
    page: &PageRequest,
    convert: impl Fn(E::Model) -> Result<T, crate::RepoError>,
    id_of: impl Fn(&T) -> Uuid,
) -> Result<Page<T>, crate::RepoError>
where
    E: sea_orm::EntityTrait,
{
    let rows = id_page_query(query, id, list, page)?.all(conn).await?;
    id_page(rows, list, page, convert, id_of)
}

/// The statement behind one page of [`page_by_id`].
pub(crate) fn id_page_query<E>(
    query: sea_orm::Select<E>,
    id: E::Column,
    list: &str,
    page: &PageRequest,
) -> Result<sea_orm::Select<E>, crate::RepoError>
where
    E: sea_orm::EntityTrait,
{
    use sea_orm::{QueryFilter, QueryOrder, QuerySelect};
    let key = order_key(list, page.direction);
    let mut query = query;
    if let Some(cursor) = &page.after {
        query = query.filter(after(
            &key,
            SortValue::None,
            None,
            id,
            cursor,
            page.direction,
        )?);
    }
    Ok(query
        .order_by(id, direction(page.direction))
        .limit(page.first + 1))
}

/// The rows of one page of [`page_by_id`], in its order, as a page with cursors.
pub(crate) fn id_page<M, T>(
    rows: Vec<M>,
    list: &str,
    page: &PageRequest,
    convert: impl Fn(M) -> Result<T, crate::RepoError>,
    id_of: impl Fn(&T) -> Uuid,
) -> Result<Page<T>, crate::RepoError> {
    let key = order_key(list, page.direction);
    let rows = rows
        .into_iter()
        .map(convert)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(rows, page.first, |item| Cursor {
        order: key.clone(),
        sort: SortValue::None,
        id: id_of(item),
    }))
}

/// The page of [`page_by_id`] for each of `queries` (one per parent, each filtered), in one
/// statement per 500 parents ([`rows_of_each`]).
pub(crate) async fn id_pages_of_each<E, T>(
    conn: &impl sea_orm::ConnectionTrait,
    queries: Vec<sea_orm::Select<E>>,
    id: E::Column,
    list: &str,
    page: &PageRequest,
    convert: impl Fn(E::Model) -> Result<T, crate::RepoError>,
    id_of: impl Fn(&T) -> Uuid,
) -> Result<Vec<Page<T>>, crate::RepoError>
where
    E: sea_orm::EntityTrait,
{
    let queries = queries
        .into_iter()
        .map(|query| id_page_query(query, id, list, page))
        .collect::<Result<Vec<_>, _>>()?;
    let order = [("id", direction(page.direction))];
    rows_of_each(conn, queries, &order)
        .await?
        .into_iter()
        .map(|rows| id_page(rows, list, page, &convert, &id_of))
        .collect()
}

/// The most branches one statement of [`union_each`] holds: SQLite refuses a compound SELECT
/// of more than 500 terms. A page has at most 100 parents, but a nested list's parents can
/// be more (the actors of a page's members), and two branches per parent are common
/// (an actor's totals as lead and as member).
const BRANCHES_PER_STATEMENT: usize = 500;

/// The rows of each of `queries` (each already filtered, ordered and limited, as a list's
/// page query), read in one statement per 500 queries: `SELECT *, i AS batch_key FROM (query
/// i) UNION ALL ... ORDER BY batch_key, <order>`. Each branch keeps its own ORDER BY and
/// LIMIT, so every branch is an index range scan however many rows its parent has (a window
/// function would rank them all), and cursors and filters are exactly those of the
/// single-parent list. `order` repeats the branches' order (column names) because a UNION
/// ALL does not promise to keep it; the database sorts, so text sorts by its collation.
pub(crate) async fn rows_of_each<E>(
    conn: &impl sea_orm::ConnectionTrait,
    queries: Vec<sea_orm::Select<E>>,
    order: &[(&'static str, sea_orm::Order)],
) -> Result<Vec<Vec<E::Model>>, crate::RepoError>
where
    E: sea_orm::EntityTrait,
{
    use sea_orm::{FromQueryResult, QueryTrait};
    let queries = queries.into_iter().map(QueryTrait::into_query).collect();
    let rows = all_rows_of_each(conn, queries, order).await?;
    rows.into_iter()
        .map(|rows| {
            rows.iter()
                .map(|row| Ok(E::Model::from_query_result(row, "")?))
                .collect()
        })
        .collect()
}

/// How many rows each of `queries` (each filtered, not limited) matches, in one statement per
/// 500 queries: `SELECT COUNT(*), i FROM (query i) UNION ALL ...`. The counts of a nested list
/// for every parent of a page cost one statement, not one per parent.
pub(crate) async fn count_each<E>(
    conn: &impl sea_orm::ConnectionTrait,
    queries: Vec<sea_orm::Select<E>>,
) -> Result<Vec<u64>, crate::RepoError>
where
    E: sea_orm::EntityTrait,
{
    use sea_orm::QueryTrait;
    use sea_orm::sea_query::{Alias, Expr};
    let queries = queries.into_iter().map(QueryTrait::into_query).collect();
    let rows = union_each(
        conn,
        queries,
        |branch| {
            branch.expr_as(Expr::cust("COUNT(*)"), Alias::new("n"));
        },
        &[],
    )
    .await?;
    rows.into_iter()
        .map(|rows| match rows.first() {
            Some(row) => Ok(u64::try_from(row.try_get::<i64>("", "n")?).unwrap_or_default()),
            None => Ok(0),
        })
        .collect()
}

/// The whole rows of each of `queries` (page queries, each filtered, ordered and limited), as
/// [`rows_of_each`] reads them, for rows that are not an entity's model.
pub(crate) async fn all_rows_of_each(
    conn: &impl sea_orm::ConnectionTrait,
    queries: Vec<sea_orm::sea_query::SelectStatement>,
    order: &[(&'static str, sea_orm::Order)],
) -> Result<Vec<Vec<sea_orm::QueryResult>>, crate::RepoError> {
    union_each(
        conn,
        queries,
        |branch| {
            branch.column(sea_orm::sea_query::Asterisk);
        },
        order,
    )
    .await
}

/// The rows of a SELECT over each of `queries`, in one statement per 500 queries: branch `i`
/// is `SELECT <columns>, i AS batch_key FROM (query i)` (`columns` writes its select list:
/// the subquery's `*`, or aggregates over it), the branches are joined by UNION ALL and the
/// rows ordered by `batch_key`, then `order`. Returns the rows of each query in its place.
pub(crate) async fn union_each(
    conn: &impl sea_orm::ConnectionTrait,
    queries: Vec<sea_orm::sea_query::SelectStatement>,
    columns: impl Fn(&mut sea_orm::sea_query::SelectStatement),
    order: &[(&'static str, sea_orm::Order)],
) -> Result<Vec<Vec<sea_orm::QueryResult>>, crate::RepoError> {
    use sea_orm::sea_query::{Alias, Expr, Query, UnionType};
    let mut out: Vec<Vec<sea_orm::QueryResult>> = (0..queries.len()).map(|_| Vec::new()).collect();
    let mut queries = queries.into_iter().enumerate().peekable();
    while queries.peek().is_some() {
        let mut statement: Option<sea_orm::sea_query::SelectStatement> = None;
        for (i, query) in queries.by_ref().take(BRANCHES_PER_STATEMENT) {
            let mut branch = Query::select();
            // The query's own columns first, the key last: `by_index::ByIndex` reads a row's
            // entity columns by position.
            columns(&mut branch);
            branch
                .expr_as(
                    Expr::val(i64::try_from(i).unwrap_or(i64::MAX)),
                    Alias::new("batch_key"),
                )
                .from_subquery(query, Alias::new(format!("b{i}")));
            match statement.as_mut() {
                None => statement = Some(branch),
                Some(s) => {
                    s.union(UnionType::All, branch);
                }
            }
        }
        let Some(mut statement) = statement else {
            break;
        };
        statement.order_by(Alias::new("batch_key"), sea_orm::Order::Asc);
        for (column, direction) in order {
            statement.order_by(Alias::new(*column), direction.clone());
        }
        for row in conn.query_all(&statement).await? {
            let key: i64 = row.try_get("", "batch_key")?;
            let slot = usize::try_from(key)
                .ok()
                .and_then(|k| out.get_mut(k))
                .ok_or_else(|| crate::RepoError::Corrupt(format!("batch key {key}")))?;
            slot.push(row);
        }
    }
    Ok(out)
}

/// The first `first + 1` rows of each partition, ordered by id, in one statement: a window
/// function ranks the rows of each parent (`partition` names the parent column, as
/// `membership.partnership_id`), so the nested pages of a whole page of parents cost one
/// statement instead of one per parent.
pub(crate) fn ranked_by_parent<E: sea_orm::EntityTrait>(
    table: E,
    partition: &str,
    id: &str,
    condition: Condition,
    first: u64,
) -> sea_orm::sea_query::SelectStatement {
    use sea_orm::Iterable;
    use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Query};
    // The entity's columns in its fields' order (not the table's `*`), so that the rows can be
    // read by position (`by_index::ByIndex`); the rank comes last.
    let inner = Query::select()
        .columns(E::Column::iter().map(|column| (table, column)))
        .expr_as(
            Expr::cust(format!(
                "ROW_NUMBER() OVER (PARTITION BY {partition} ORDER BY {id})"
            )),
            Alias::new("rn"),
        )
        .from(table)
        .cond_where(condition)
        .to_owned();
    Query::select()
        .column(Asterisk)
        .from_subquery(inner, Alias::new("ranked"))
        .and_where(Expr::col(Alias::new("rn")).lte(i64::try_from(first + 1).unwrap_or(i64::MAX)))
        .to_owned()
}

fn sort_value(value: &SortValue) -> Option<Value> {
    match value {
        SortValue::None => None,
        SortValue::Text(t) => Some(t.clone().into()),
        SortValue::Date(d) => Some((*d).into()),
        SortValue::Time(t) => Some((*t).into()),
    }
}

/// The condition "after `cursor`" for rows of the list `order` (see [`order_key`]) ordered
/// by `(sort, id)` in `direction`, or by `id` alone when `sort` is `None`; `kind` is a sort
/// value of the column's type (its content is ignored). A cursor issued by another list or
/// order is refused as bad input.
pub(crate) fn after<C: ColumnTrait>(
    order: &str,
    kind: SortValue,
    sort: Option<C>,
    id: C,
    cursor: &Cursor,
    direction: SortDirection,
) -> Result<Condition, crate::RepoError> {
    let foreign = || {
        crate::RepoError::Invalid(domain::ValidationError::new(
            "after",
            "is not a cursor returned by this list in this order",
        ))
    };
    if cursor.order != order {
        return Err(foreign());
    }
    let beyond = |col: C, v: Value| -> SimpleExpr {
        match direction {
            SortDirection::Asc => col.gt(v),
            SortDirection::Desc => col.lt(v),
        }
    };
    let id_value: Value = cursor.id.into();
    // The sort value must be of the column's kind: a forged cursor never reaches SQL as a
    // comparison of a date with text.
    let fits = std::mem::discriminant(&cursor.sort) == std::mem::discriminant(&kind);
    match (sort, sort_value(&cursor.sort)) {
        (None, None) => Ok(Condition::all().add(beyond(id, id_value))),
        (Some(col), Some(v)) if fits => Ok(Condition::any()
            .add(beyond(col, v.clone()))
            .add(Condition::all().add(col.eq(v)).add(beyond(id, id_value)))),
        _ => Err(foreign()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let id = Uuid::now_v7();
        let at = DateTime::from_timestamp_micros(1_700_000_000_123_456).expect("time");
        for sort in [
            SortValue::None,
            SortValue::Text("saint-jean | la ruelle".into()),
            SortValue::Date("2020-01-01".parse().expect("date")),
            SortValue::Time(at),
        ] {
            let cursor = Cursor {
                order: "partnerships.title.asc".into(),
                sort,
                id,
            };
            assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        }
    }

    #[test]
    fn malformed_cursors_are_refused() {
        for bad in [
            "",
            "x|",
            "t|not-a-uuid",
            "a~dnot-a-date|0195a2b0000070008000000000000001",
            "t|0195a2b0000070008000000000000001",
            "a~nx|0195a2b0000070008000000000000001",
        ] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }
}
