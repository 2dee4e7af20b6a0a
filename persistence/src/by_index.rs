//! Rows of the hot read paths decoded by column position instead of by name.
//!
//! Why: sea-orm's derived `FromQueryResult` formats every column's name for every row and
//! sqlx then looks the name up twice (once for the raw value, once to decode it); for a page
//! of partnerships with their members, actors and allocations that is thousands of string
//! searches per request. [`ByIndex<M>`] reads column `i` as the model's field `i`, which holds
//! for `Entity::find()` (it selects every column in the order of the model's fields) and for
//! statements built to select them in that order (`pagination::ranked_by_parent`). Extra
//! columns after the model's (a rank) are ignored. The tests check each model's field order
//! against its entity's columns and decode the same rows both ways.

use sea_orm::{DbErr, FromQueryResult, QueryResult, sqlx};

use crate::entities::{actor, allocation, membership, partnership};

/// A model decoded by position (see the module's documentation).
pub(crate) struct ByIndex<M>(pub M);

/// A model whose fields can be read by position.
pub(crate) trait Positional: Sized + FromQueryResult {
    /// The model's fields, in the order they are read (checked by the tests).
    #[cfg(test)]
    const FIELDS: &'static [&'static str];

    fn from_positions(row: &QueryResult) -> Result<Self, DbErr>;
}

impl<M: Positional> FromQueryResult for ByIndex<M> {
    fn from_query_result(row: &QueryResult, pre: &str) -> Result<Self, DbErr> {
        // A prefix means columns of several models in one row (a join): by name, then.
        if pre.is_empty() {
            M::from_positions(row).map(Self)
        } else {
            M::from_query_result(row, pre).map(Self)
        }
    }
}

/// A column decoded by sqlx itself. Why not through sea-orm's `try_get_by_index`: for a NULL
/// in an `Option` field it builds an error with a formatted message (then turned into `None`),
/// and an actor row has a dozen optional columns, mostly NULL: thousands of formatted strings
/// for the 249 actors of a scale-1 page. Decoding through sqlx directly took the nested page of
/// `bench/instructions.sh` from 16.6 to 14.8 million instructions (-11%). sea-orm reads each
/// of these types as the same sqlx `Option<T>`; the by-name decoding in the tests checks that
/// both ways agree.
///
/// On PostgreSQL without sqlx's per-value type check (`try_get_unchecked`), which compared the
/// column's type with the field's for every value: 14.8 -> 13.5 million instructions a page
/// (-9%). What the
/// check guards is checked once, by the tests: the by-name decoding goes through the checked
/// path and must give the same rows, so a field whose type stopped matching its column fails
/// there. sqlx's decoders check the lengths they read, so a mismatch errs rather than panics.
/// SQLite keeps the check: its columns take values of any type.
fn decoded<T>(value: Result<T, sqlx::Error>) -> Result<T, DbErr> {
    value.map_err(|e| DbErr::Type(format!("decoding a row by position: {e}")))
}

/// A field type read from a PostgreSQL row by position, without the per-value type check (see
/// [`decoded`]).
trait PgColumn: Sized {
    fn read(row: &sqlx::postgres::PgRow, index: usize) -> Result<Self, sqlx::Error>;
}

/// Types read by sqlx's own decoder.
macro_rules! pg_column_by_sqlx {
    ($($ty:ty),* $(,)?) => {
        $(impl PgColumn for $ty {
            fn read(row: &sqlx::postgres::PgRow, index: usize) -> Result<Self, sqlx::Error> {
                sqlx::Row::try_get_unchecked(row, index)
            }
        })*
    };
}

pg_column_by_sqlx!(
    bool,
    i32,
    i64,
    String,
    uuid::Uuid,
    Option<i32>,
    Option<i64>,
    Option<String>,
    Option<uuid::Uuid>,
);

/// 2000-01-01T00:00:00Z, PostgreSQL's epoch, in Unix microseconds.
const PG_EPOCH_UNIX_MICROS: i64 = 946_684_800_000_000;
/// 2000-01-01 as chrono's days from the Common Era (`NaiveDate::num_days_from_ce`).
const PG_EPOCH_DAYS_FROM_CE: i32 = 730_120;

/// A `timestamptz` from its binary value, microseconds since PostgreSQL's epoch. Why not sqlx's
/// decoder: it builds 2000-01-01 with `from_ymd_opt` and adds the microseconds as a duration,
/// day by day through chrono's calendar arithmetic, for every value: about 3% of the nested
/// page's instructions (2,600 timestamps and dates a page). Here it is one conversion from Unix
/// time. Out of chrono's range (`infinity` is `i64::MAX`) it errs, as sqlx's decoder does.
fn timestamp(micros: i64) -> Result<chrono::DateTime<chrono::Utc>, sqlx::Error> {
    micros
        .checked_add(PG_EPOCH_UNIX_MICROS)
        .and_then(chrono::DateTime::from_timestamp_micros)
        .ok_or_else(|| sqlx::Error::Decode(format!("timestamp out of range: {micros}").into()))
}

/// A `date` from its binary value, days since PostgreSQL's epoch (see [`timestamp`]).
fn date(days: i32) -> Result<chrono::NaiveDate, sqlx::Error> {
    days.checked_add(PG_EPOCH_DAYS_FROM_CE)
        .and_then(chrono::NaiveDate::from_num_days_from_ce_opt)
        .ok_or_else(|| sqlx::Error::Decode(format!("date out of range: {days}").into()))
}

// Read as the integer of their binary form: sqlx's integer decoders check the value's length
// (8 and 4 bytes), and results come in binary (extended protocol), so a value of another form
// errs rather than decodes wrong; the tests compare with sqlx's own decoding.
impl PgColumn for chrono::DateTime<chrono::Utc> {
    fn read(row: &sqlx::postgres::PgRow, index: usize) -> Result<Self, sqlx::Error> {
        timestamp(sqlx::Row::try_get_unchecked(row, index)?)
    }
}

impl PgColumn for Option<chrono::DateTime<chrono::Utc>> {
    fn read(row: &sqlx::postgres::PgRow, index: usize) -> Result<Self, sqlx::Error> {
        sqlx::Row::try_get_unchecked::<Option<i64>, _>(row, index)?
            .map(timestamp)
            .transpose()
    }
}

impl PgColumn for chrono::NaiveDate {
    fn read(row: &sqlx::postgres::PgRow, index: usize) -> Result<Self, sqlx::Error> {
        date(sqlx::Row::try_get_unchecked(row, index)?)
    }
}

impl PgColumn for Option<chrono::NaiveDate> {
    fn read(row: &sqlx::postgres::PgRow, index: usize) -> Result<Self, sqlx::Error> {
        sqlx::Row::try_get_unchecked::<Option<i32>, _>(row, index)?
            .map(date)
            .transpose()
    }
}

/// Implements [`Positional`] for a model: its fields listed in the order of the model (the
/// struct literal makes the compiler check that none is missing).
macro_rules! positional {
    ($module:ident { $($field:ident),* $(,)? }) => {
        positional!(@impl $module::Model { $($field),* });
    };
    (@impl $model:ty { $($field:ident),* $(,)? }) => {
        impl Positional for $model {
            #[cfg(test)]
            const FIELDS: &'static [&'static str] = &[$(stringify!($field)),*];

            fn from_positions(row: &QueryResult) -> Result<Self, DbErr> {
                let mut position = 0_usize..;
                let mut next = || position.next().unwrap_or(usize::MAX);
                if let Some(row) = row.try_as_pg_row() {
                    return Ok(Self {
                        $($field: decoded(PgColumn::read(row, next()))?,)*
                    });
                }
                if let Some(row) = row.try_as_sqlite_row() {
                    return Ok(Self {
                        $($field: decoded(sqlx::Row::try_get(row, next()))?,)*
                    });
                }
                Ok(Self {
                    $($field: row.try_get_by_index(next())?,)*
                })
            }
        }
    };
}

positional!(actor {
    id,
    kind,
    name,
    name_folded,
    country,
    nuts_code,
    nuts_version,
    lau_code,
    lau_year,
    population,
    parent_id,
    pic,
    vat_number,
    wikidata_id,
    website,
    email,
    verified,
    archived_at,
    version,
    created_at,
    updated_at,
});

positional!(partnership {
    id,
    title,
    title_folded,
    description,
    kind,
    governance_levels,
    themes_key,
    start_date,
    end_date,
    status,
    version,
    created_at,
    updated_at,
});

positional!(membership {
    id,
    partnership_id,
    actor_id,
    roles,
    is_lead,
    joined_on,
    left_on,
    version,
    created_at,
    updated_at,
});

positional!(allocation {
    id,
    partnership_id,
    stream_id,
    ceiling_rule_id,
    programme_id,
    eligible_cost_cents,
    eu_contribution_cents,
    national_contribution_cents,
    status,
    decision_date,
    decision_year,
    reference,
    version,
    created_at,
    updated_at,
});

/// The columns of an actor's brief (`Actors::briefs_by_ids`), in the order they are selected.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub(crate) struct ActorBriefRow {
    pub id: uuid::Uuid,
    pub kind: String,
    pub name: String,
    pub country: String,
}

impl ActorBriefRow {
    /// The columns to select, in the order of the fields.
    pub const COLUMNS: [actor::Column; 4] = [
        actor::Column::Id,
        actor::Column::Kind,
        actor::Column::Name,
        actor::Column::Country,
    ];
}

positional!(@impl ActorBriefRow { id, kind, name, country });

#[cfg(test)]
mod tests {
    use sea_orm::{EntityTrait, Iterable, PrimaryKeyToColumn, QueryOrder, QuerySelect};

    use super::*;
    use crate::Database;

    fn columns<E: EntityTrait>() -> Vec<String> {
        E::Column::iter()
            .map(|c| sea_orm::IdenStatic::as_str(&c).to_owned())
            .collect()
    }

    #[test]
    fn fields_are_listed_in_the_order_of_the_columns() {
        let brief: Vec<&str> = ActorBriefRow::COLUMNS
            .iter()
            .map(sea_orm::IdenStatic::as_str)
            .collect();
        assert_eq!(ActorBriefRow::FIELDS, brief);
        assert_eq!(actor::Model::FIELDS, columns::<actor::Entity>());
        assert_eq!(partnership::Model::FIELDS, columns::<partnership::Entity>());
        assert_eq!(membership::Model::FIELDS, columns::<membership::Entity>());
        assert_eq!(allocation::Model::FIELDS, columns::<allocation::Entity>());
    }

    /// The rows of `query`, read by name and by position.
    async fn both_ways<E, M>(db: &Database, query: sea_orm::Select<E>) -> (Vec<M>, Vec<M>)
    where
        E: EntityTrait,
        M: Positional,
    {
        let conn = db.connection();
        let by_name = query
            .clone()
            .into_model::<M>()
            .all(conn)
            .await
            .expect("by name");
        let by_position = query
            .into_model::<ByIndex<M>>()
            .all(conn)
            .await
            .expect("by position")
            .into_iter()
            .map(|row| row.0)
            .collect();
        (by_name, by_position)
    }

    /// The same rows, read by name and by position, are the same models.
    async fn same_both_ways<E>(db: &Database)
    where
        E: EntityTrait,
        E::Model: Positional + PartialEq + std::fmt::Debug,
    {
        // In key order, so that the first rows (those given edge values) are among them.
        let mut query = E::find();
        for key in E::PrimaryKey::iter() {
            query = query.order_by_asc(key.into_column());
        }
        let (by_name, by_position) = both_ways::<E, E::Model>(db, query.limit(500)).await;
        assert!(!by_name.is_empty(), "rows to compare");
        assert_eq!(by_name, by_position);
    }

    crate::on_both_databases!(rows_read_by_position_equal_rows_read_by_name);

    async fn rows_read_by_position_equal_rows_read_by_name(db: &Database) {
        db.seed_synthetic(0.01).await.expect("seed");
        if db.backend() == crate::Backend::Postgres {
            // Timestamps and dates at the edges of PostgreSQL's epoch and of Unix time, with
            // microseconds, and a leap day, which PostgreSQL rows are decoded through
            // `timestamp` and `date` for, not sqlx's decoders.
            use sea_orm::ConnectionTrait;
            db.connection()
                .execute_unprepared(
                    "UPDATE actor SET archived_at = '1969-12-31 23:59:59.999999+00', \
                       created_at = '1999-12-31 23:59:59.999999+00', \
                       updated_at = '2000-01-01 00:00:00.000001+00' \
                     WHERE id = (SELECT id FROM actor ORDER BY id LIMIT 1); \
                     UPDATE actor SET archived_at = '0001-01-01 00:00:00+00', \
                       created_at = '2000-01-01 00:00:00+00', \
                       updated_at = '9999-12-31 23:59:59.999999+00' \
                     WHERE id = (SELECT id FROM actor ORDER BY id LIMIT 1 OFFSET 1); \
                     UPDATE membership SET joined_on = '1999-12-31', left_on = '2000-02-29' \
                     WHERE id = (SELECT id FROM membership ORDER BY id LIMIT 1); \
                     UPDATE membership SET joined_on = '1600-02-29', left_on = '2400-02-29' \
                     WHERE id = (SELECT id FROM membership ORDER BY id LIMIT 1 OFFSET 1)",
                )
                .await
                .expect("edge values");
        }
        same_both_ways::<actor::Entity>(db).await;
        same_both_ways::<partnership::Entity>(db).await;
        same_both_ways::<membership::Entity>(db).await;
        same_both_ways::<allocation::Entity>(db).await;

        // The actors' briefs: their four columns, by name and by position.
        let briefs = actor::Entity::find()
            .select_only()
            .columns(ActorBriefRow::COLUMNS)
            .order_by_asc(actor::Column::Id);
        let (by_name, by_position) = both_ways::<_, ActorBriefRow>(db, briefs).await;
        assert_eq!(by_name.len(), 100, "the actors of scale 0.01");
        assert_eq!(by_name, by_position);
    }

    #[test]
    fn the_binary_forms_of_timestamps_and_dates_convert_from_postgresqls_epoch() {
        use chrono::{NaiveDate, TimeZone, Utc};
        assert_eq!(
            timestamp(0).ok(),
            Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).single()
        );
        assert_eq!(
            timestamp(-1).ok().map(|t| t.to_rfc3339()),
            Some("1999-12-31T23:59:59.999999+00:00".to_owned())
        );
        assert_eq!(
            timestamp(-PG_EPOCH_UNIX_MICROS).ok().map(|t| t.timestamp()),
            Some(0)
        );
        assert_eq!(date(0).ok(), NaiveDate::from_ymd_opt(2000, 1, 1));
        assert_eq!(date(59).ok(), NaiveDate::from_ymd_opt(2000, 2, 29));
        assert_eq!(date(-1).ok(), NaiveDate::from_ymd_opt(1999, 12, 31));
        // PostgreSQL's `infinity` and `-infinity`, and days past chrono's range, err.
        assert!(timestamp(i64::MAX).is_err());
        assert!(timestamp(i64::MIN).is_err());
        assert!(date(i32::MAX).is_err());
        assert!(date(i32::MIN).is_err());
    }
}
