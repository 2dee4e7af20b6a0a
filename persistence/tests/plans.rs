//! An index behind every filter and ordering, on SQLite and PostgreSQL: every list the API
//! offers is run with each of its filters (and each ordering), the statements it sends are
//! recorded (with the counts behind `totalCount`), and their query plans are read. No plan may
//! read a table whole; the unfiltered lists must come in their order from an index, not from a
//! sort of every row. A plan may walk the ordering index and test a filter row by row (the
//! planner's choice when the filter matches much); that the filter could seek instead is
//! checked on the schema: every filtered column leads an index.
//!
//! PostgreSQL plans with `enable_seqscan = off`: on a test database of a few thousand rows a
//! sequential scan is the cheapest plan whatever the indexes, and the question here is whether
//! an index can serve the statement at all (if none can, the planner still scans the table).

use chrono::NaiveDate;
use domain::actor::ActorKind;
use domain::funding::AllocationStatus;
use domain::money::Euros;
use domain::partnership::{PartnershipKind, PartnershipStatus, Theme};
use domain::territory::CountryCode;
use persistence::audit::AuditFilter;
use persistence::repo::{
    ActorFilter, AllocationFilter, DraftVisibility, PartnershipFilter, PartnershipOrder,
    ProgrammeFilter,
};
use persistence::{Backend, Database, PageRequest, SortDirection};
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};

persistence::on_both_databases!(
    every_filter_and_ordering_has_an_index,
    every_filtered_column_leads_an_index,
    substring_filters_can_seek_on_postgresql,
);

/// The columns the lists filter on, each of which must lead an index: a plan may still walk
/// the ordering index when a filter matches much, but it must be able to seek when it matches
/// little. Not here: `name_folded` and `title_folded`, matched by substring (no B-tree serves
/// `LIKE '%x%'`): on PostgreSQL a trigram index serves them
/// (`substring_filters_can_seek_on_postgresql`); on SQLite they are walked along the name and
/// title indexes, which they order.
const FILTERED: &[(&str, &str)] = &[
    ("actor", "kind"),
    ("actor", "country"),
    ("actor", "nuts_code"),
    ("actor", "parent_id"),
    ("actor", "archived_at"),
    ("partnership", "status"),
    ("partnership", "kind"),
    ("partnership", "start_date"),
    ("partnership_theme", "theme"),
    ("membership", "actor_id"),
    ("membership", "partnership_id"),
    ("allocation", "partnership_id"),
    ("allocation", "stream_id"),
    ("allocation", "programme_id"),
    ("allocation", "status"),
    ("allocation", "decision_year"),
    ("allocation", "eu_contribution_cents"),
    ("programme", "stream_id"),
    ("programme", "country"),
    ("programme", "nuts_code"),
    ("audit_event", "entity_id"),
    ("audit_event", "entity_type"),
    ("audit_event", "subject"),
    ("audit_event", "actor_id"),
    ("audit_event", "operation"),
    ("audit_event", "occurred_at"),
];

async fn every_filtered_column_leads_an_index(db: &Database) {
    let sql = match db.backend() {
        Backend::Sqlite => {
            "SELECT m.name, i.name FROM sqlite_master m, pragma_index_list(m.name) l, \
             pragma_index_info(l.name) i WHERE m.type = 'table' AND i.seqno = 0"
        }
        Backend::Postgres => {
            "SELECT t.relname::text, a.attname::text FROM pg_index x \
             JOIN pg_class t ON t.oid = x.indrelid \
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.indkey[0] \
             JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = 'public'"
        }
    };
    let leading: Vec<(String, String)> = db
        .connection()
        .query_all_raw(Statement::from_string(
            db.connection().get_database_backend(),
            sql,
        ))
        .await
        .expect("indexes")
        .iter()
        .map(|row| {
            (
                row.try_get_by_index::<String>(0).expect("table"),
                row.try_get_by_index::<String>(1).expect("column"),
            )
        })
        .collect();
    assert!(
        leading.contains(&("actor".to_owned(), "name_folded".to_owned())),
        "the query reads the indexes: {leading:?}"
    );
    let missing: Vec<_> = FILTERED
        .iter()
        .filter(|(table, column)| !leading.iter().any(|(t, c)| t == table && c == column))
        .collect();
    assert!(
        missing.is_empty(),
        "filtered columns that lead no index: {missing:?}"
    );
}

/// The synthetic data at scale 0.01 (100 actors, 500 partnerships), with PostgreSQL's
/// statistics of it.
async fn seed(db: &Database) {
    db.seed_synthetic(0.01).await.expect("seed");
    if db.backend() == Backend::Postgres {
        db.connection()
            .execute_unprepared("ANALYZE")
            .await
            .expect("analyze");
    }
}

/// `nameContains` and `titleContains` (`LIKE '%x%'` on the folded name and title): on
/// PostgreSQL each can seek a trigram index (pg_trgm, migration 10) instead of walking the
/// ordering index when the string matches little. On SQLite, which has no such index, the lists
/// still answer by walking (checked by `every_filter_and_ordering_has_an_index`); both
/// databases must find the same rows.
async fn substring_filters_can_seek_on_postgresql(db: &Database) {
    seed(db).await;
    let page = PageRequest::first(20);
    let by_name = ActorFilter {
        name_contains: Some("NETWORK 0000".into()),
        ..Default::default()
    };
    let by_title = PartnershipFilter {
        title_contains: Some("Partnership 00001".into()),
        ..Default::default()
    };
    db.record_statements();
    let actors = db.actors().list(&by_name, &page).await.expect("actors");
    let actor_statements = db.recorded_statements();
    db.record_statements();
    let partnerships = db
        .partnerships()
        .list(&by_title, PartnershipOrder::Title, &page)
        .await
        .expect("partnerships");
    let partnership_statements = db.recorded_statements();
    let names: Vec<&str> = actors
        .items
        .iter()
        .map(|(_, a)| a.profile.parts().name.as_str())
        .collect();
    assert!(
        !names.is_empty(),
        "the seed names networks 'Synthetic network 0000..'"
    );
    assert!(
        names
            .iter()
            .all(|n| n.to_lowercase().contains("network 0000")),
        "{names:?}"
    );
    let titles: Vec<String> = partnerships
        .items
        .iter()
        .map(|(_, p)| p.details.parts().title.clone())
        .collect();
    assert_eq!(
        titles,
        (10..20)
            .map(|i| format!("Synthetic partnership {i:06}"))
            .collect::<Vec<_>>(),
        "partnerships 000010-000019, in title order"
    );
    if db.backend() != Backend::Postgres {
        return;
    }
    // Planned for a string that matches nothing, as on a large registry (20 and 47 ms at scale
    // 10 by walking, 0.1 ms by the trigram indexes).
    let actor_statements = rare(actor_statements);
    let partnership_statements = rare(partnership_statements);
    // On a test database of a hundred rows a bitmap of every live actor from a B-tree is as
    // cheap as anything, so the B-trees that order the lists are dropped for the EXPLAIN
    // (inside a transaction rolled back after it): what is left is a scan of the table, turned
    // off, or an index that serves the pattern.
    for (statements, index, btrees) in [
        (
            &actor_statements,
            "ix_actor_name_trgm",
            "DROP INDEX ix_actor_live_name; DROP INDEX ix_actor_name",
        ),
        (
            &partnership_statements,
            "ix_partnership_title_trgm",
            "DROP INDEX ix_partnership_title",
        ),
    ] {
        let listing = statements
            .iter()
            .find(|s| s.sql.contains(" LIKE "))
            .expect("the list's statement");
        let lines = plan_after(db, listing, btrees).await;
        let plan = lines.join("\n");
        assert!(
            plan.contains(&format!("Bitmap Index Scan on {index}")),
            "{index} serves {}:\n{plan}",
            listing.sql
        );
    }
}

/// The statements with every string parameter (the `LIKE` pattern) made `%zzq%`.
fn rare(statements: Vec<Statement>) -> Vec<Statement> {
    statements
        .into_iter()
        .map(|mut statement| {
            if let Some(values) = statement.values.as_mut() {
                for value in values.0.iter_mut() {
                    if matches!(value, sea_orm::Value::String(Some(_))) {
                        *value = sea_orm::Value::String(Some("%zzq%".into()));
                    }
                }
            }
            statement
        })
        .collect()
}

/// The plan of `statement`, one line per node (PostgreSQL) or step (SQLite).
async fn plan(db: &Database, statement: &Statement) -> Vec<String> {
    plan_after(db, statement, "").await
}

/// The plan of `statement`; on PostgreSQL after `setup` (statements, which may change the
/// schema: the transaction is rolled back).
async fn plan_after(db: &Database, statement: &Statement, setup: &str) -> Vec<String> {
    let explain = |prefix: &str| Statement {
        sql: format!("{prefix} {}", statement.sql),
        ..statement.clone()
    };
    match db.backend() {
        Backend::Postgres => {
            let txn = db.connection().begin().await.expect("begin");
            txn.execute_unprepared("SET LOCAL enable_seqscan = off")
                .await
                .expect("enable_seqscan");
            if !setup.is_empty() {
                txn.execute_unprepared(setup).await.expect("setup");
            }
            let rows = txn
                .query_all_raw(explain("EXPLAIN"))
                .await
                .expect("explain");
            txn.rollback().await.expect("rollback");
            rows.iter()
                .map(|row| row.try_get_by_index::<String>(0).expect("plan line"))
                .collect()
        }
        Backend::Sqlite => {
            let rows = db
                .connection()
                .query_all_raw(explain("EXPLAIN QUERY PLAN"))
                .await
                .expect("explain");
            rows.iter()
                .map(|row| row.try_get_by_index::<String>(3).expect("plan detail"))
                .collect()
        }
    }
}

/// The tables of the schema (SQLite's plan names a subquery's rows like a table).
async fn tables(db: &Database) -> Vec<String> {
    let sql = match db.backend() {
        Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table'",
        Backend::Postgres => "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
    };
    db.connection()
        .query_all_raw(Statement::from_string(
            db.connection().get_database_backend(),
            sql,
        ))
        .await
        .expect("tables")
        .iter()
        .map(|row| row.try_get_by_index::<String>(0).expect("name"))
        .collect()
}

/// What is wrong with the plans of the statements `run` sent, if anything: a table read whole,
/// or (when `ordered`) every matching row sorted.
async fn check<F: Future>(
    db: &Database,
    tables: &[String],
    case: &str,
    ordered: bool,
    run: F,
) -> Vec<String> {
    db.record_statements();
    run.await;
    let statements = db.recorded_statements();
    assert!(!statements.is_empty(), "{case}: no statement recorded");
    let mut faults = Vec::new();
    for statement in &statements {
        let lines = plan(db, statement).await;
        let text = lines.join("\n");
        for line in &lines {
            let step = line.trim().trim_start_matches("->").trim();
            let full_scan = match db.backend() {
                Backend::Postgres => step.starts_with("Seq Scan "),
                // `SCAN t` reads the table; `SCAN t USING INDEX` walks an index in order.
                Backend::Sqlite => step
                    .strip_prefix("SCAN ")
                    .is_some_and(|rest| tables.iter().any(|t| rest == t)),
            };
            let sorted = match db.backend() {
                // An `Incremental Sort` has its leading key from an index and sorts only ties
                // (programmes by code, a unique column, then id).
                Backend::Postgres => step.starts_with("Sort ") && step.contains("(cost="),
                Backend::Sqlite => step.starts_with("USE TEMP B-TREE FOR ORDER BY"),
            };
            if full_scan || (ordered && sorted) {
                faults.push(format!("{case}: {step}\n  in {}\n{text}", statement.sql));
            }
        }
    }
    faults
}

async fn every_filter_and_ordering_has_an_index(db: &Database) {
    seed(db).await;
    let tables = tables(db).await;
    let page = PageRequest::first(20);
    let desc = PageRequest {
        direction: SortDirection::Desc,
        ..PageRequest::first(20)
    };
    let actor = db
        .actors()
        .list(&ActorFilter::default(), &PageRequest::first(1))
        .await
        .expect("actor")
        .items[0]
        .1
        .id;
    let partnership = db
        .partnerships()
        .list(
            &PartnershipFilter::default(),
            PartnershipOrder::Created,
            &PageRequest::first(1),
        )
        .await
        .expect("partnership")
        .items[0]
        .1
        .id;
    let stream = db.funding().streams().await.expect("streams")[0].id;
    let programme = db
        .programmes()
        .list(&ProgrammeFilter::default(), &PageRequest::first(1))
        .await
        .expect("programme")
        .items
        .first()
        .map(|(_, p)| p.id);
    let es = || vec![CountryCode::parse("ES").expect("ES")];

    let mut faults = Vec::new();

    // Actors: by name (both ways), each filter.
    let actors: Vec<(&str, ActorFilter)> = vec![
        ("actors", ActorFilter::default()),
        (
            "actors by kind",
            ActorFilter {
                kinds: vec![ActorKind::Municipality],
                ..Default::default()
            },
        ),
        (
            "actors by country",
            ActorFilter {
                countries: es(),
                ..Default::default()
            },
        ),
        (
            "actors by NUTS prefix",
            ActorFilter {
                nuts_prefix: Some("ES2".into()),
                ..Default::default()
            },
        ),
        (
            "actors by name",
            ActorFilter {
                name_contains: Some("bar".into()),
                ..Default::default()
            },
        ),
        (
            "actors by parent",
            ActorFilter {
                parent_id: Some(actor),
                ..Default::default()
            },
        ),
        (
            "actors with the archived",
            ActorFilter {
                include_archived: true,
                ..Default::default()
            },
        ),
    ];
    for (case, filter) in &actors {
        let unfiltered = *case == "actors";
        for p in [&page, &desc] {
            faults.extend(
                check(db, &tables, case, unfiltered, async {
                    db.actors().list(filter, p).await.expect("list");
                    db.actors().count(filter).await.expect("count");
                })
                .await,
            );
        }
    }

    // Partnerships: each ordering, each filter.
    let partnerships: Vec<(&str, PartnershipFilter)> = vec![
        ("partnerships", PartnershipFilter::default()),
        (
            "partnerships by theme",
            PartnershipFilter {
                themes: vec![Theme::Housing],
                ..Default::default()
            },
        ),
        (
            "partnerships by kind",
            PartnershipFilter {
                kinds: vec![PartnershipKind::CityToCityMentoring],
                ..Default::default()
            },
        ),
        (
            "partnerships by status",
            PartnershipFilter {
                statuses: vec![PartnershipStatus::Active],
                ..Default::default()
            },
        ),
        (
            "partnerships by country",
            PartnershipFilter {
                countries: es(),
                ..Default::default()
            },
        ),
        (
            "partnerships by member",
            PartnershipFilter {
                member_actor: Some(actor),
                ..Default::default()
            },
        ),
        (
            "partnerships by stream",
            PartnershipFilter {
                funding_stream: Some(stream),
                ..Default::default()
            },
        ),
        (
            "partnerships active on a day",
            PartnershipFilter {
                active_on: NaiveDate::from_ymd_opt(2024, 6, 1),
                ..Default::default()
            },
        ),
        (
            "partnerships by title",
            PartnershipFilter {
                title_contains: Some("city".into()),
                ..Default::default()
            },
        ),
        (
            "partnerships a reader of no organisation may see",
            PartnershipFilter {
                drafts: DraftVisibility::MembersOnly(None),
                ..Default::default()
            },
        ),
        (
            "partnerships a member may see",
            PartnershipFilter {
                drafts: DraftVisibility::MembersOnly(Some(actor)),
                ..Default::default()
            },
        ),
    ];
    for (case, filter) in &partnerships {
        let unfiltered = *case == "partnerships";
        for order in [
            PartnershipOrder::Created,
            PartnershipOrder::Title,
            PartnershipOrder::StartDate,
        ] {
            for p in [&page, &desc] {
                faults.extend(
                    check(
                        db,
                        &tables,
                        &format!("{case}, {order:?}"),
                        unfiltered,
                        async {
                            db.partnerships()
                                .list(filter, order, p)
                                .await
                                .expect("list");
                            db.partnerships().count(filter).await.expect("count");
                        },
                    )
                    .await,
                );
            }
        }
    }

    // Allocations (by id), each filter.
    let allocations: Vec<(&str, AllocationFilter)> = vec![
        ("allocations", AllocationFilter::default()),
        (
            "allocations by stream",
            AllocationFilter {
                streams: vec![stream],
                ..Default::default()
            },
        ),
        (
            "allocations by programme",
            AllocationFilter {
                programmes: programme.into_iter().collect(),
                ..Default::default()
            },
        ),
        (
            "allocations by country",
            AllocationFilter {
                countries: es(),
                ..Default::default()
            },
        ),
        (
            "allocations by NUTS prefix",
            AllocationFilter {
                nuts_prefix: Some("ES2".into()),
                ..Default::default()
            },
        ),
        (
            "allocations by status",
            AllocationFilter {
                statuses: vec![AllocationStatus::Awarded],
                ..Default::default()
            },
        ),
        (
            "allocations by year",
            AllocationFilter {
                years: vec![2024],
                ..Default::default()
            },
        ),
        (
            "allocations by member",
            AllocationFilter {
                actor: Some(actor),
                ..Default::default()
            },
        ),
        (
            "allocations by lead",
            AllocationFilter {
                lead_actor: Some(actor),
                ..Default::default()
            },
        ),
        (
            "allocations of a partnership",
            AllocationFilter {
                partnership: Some(partnership),
                ..Default::default()
            },
        ),
        (
            "allocations by EU contribution",
            AllocationFilter {
                min_eu_contribution: Euros::from_cents(100_000),
                max_eu_contribution: Euros::from_cents(10_000_000),
                ..Default::default()
            },
        ),
        (
            "allocations a reader of no organisation may see",
            AllocationFilter {
                drafts: DraftVisibility::MembersOnly(None),
                ..Default::default()
            },
        ),
        (
            "allocations a member may see",
            AllocationFilter {
                drafts: DraftVisibility::MembersOnly(Some(actor)),
                ..Default::default()
            },
        ),
    ];
    for (case, filter) in &allocations {
        let unfiltered = *case == "allocations";
        faults.extend(
            check(db, &tables, case, unfiltered, async {
                db.allocations().list(filter, &page).await.expect("list");
                db.allocations().count(filter).await.expect("count");
            })
            .await,
        );
    }

    // Programmes (by code), each filter.
    let programmes: Vec<(&str, ProgrammeFilter)> = vec![
        ("programmes", ProgrammeFilter::default()),
        (
            "programmes by stream",
            ProgrammeFilter {
                streams: vec![stream],
                ..Default::default()
            },
        ),
        (
            "programmes by country",
            ProgrammeFilter {
                countries: es(),
                ..Default::default()
            },
        ),
        (
            "programmes by NUTS prefix",
            ProgrammeFilter {
                nuts_prefix: Some("ES2".into()),
                ..Default::default()
            },
        ),
    ];
    for (case, filter) in &programmes {
        let unfiltered = *case == "programmes";
        faults.extend(
            check(db, &tables, case, unfiltered, async {
                db.programmes().list(filter, &page).await.expect("list");
                db.programmes().count(filter).await.expect("count");
            })
            .await,
        );
    }

    // The audit trail (by sequence), each filter.
    let day = |d| {
        NaiveDate::from_ymd_opt(2026, 1, d)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc())
    };
    let events: Vec<(&str, AuditFilter)> = vec![
        ("audit events", AuditFilter::default()),
        (
            "audit events of an entity",
            AuditFilter {
                entity_id: Some(actor.as_uuid()),
                ..Default::default()
            },
        ),
        (
            "audit events of a type",
            AuditFilter {
                entity_type: Some("Actor".into()),
                ..Default::default()
            },
        ),
        (
            "audit events of a subject",
            AuditFilter {
                subject: Some("seed".into()),
                ..Default::default()
            },
        ),
        (
            "audit events of an actor",
            AuditFilter {
                actor_id: Some(actor.as_uuid()),
                ..Default::default()
            },
        ),
        (
            "audit events of an operation",
            AuditFilter {
                operation: Some("create".into()),
                ..Default::default()
            },
        ),
        (
            "audit events since",
            AuditFilter {
                since: day(1),
                ..Default::default()
            },
        ),
        (
            "audit events until",
            AuditFilter {
                until: day(2),
                ..Default::default()
            },
        ),
    ];
    for (case, filter) in &events {
        let unfiltered = *case == "audit events";
        faults.extend(
            check(db, &tables, case, unfiltered, async {
                db.audit_events(filter, &page).await.expect("list");
            })
            .await,
        );
    }

    // The batched reads behind nested fields: by ids, and the pages of many parents at once.
    let actors_of_page: Vec<_> = db
        .actors()
        .list(&ActorFilter::default(), &PageRequest::first(50))
        .await
        .expect("actors")
        .items
        .into_iter()
        .map(|(_, a)| a.id)
        .collect();
    let partnerships_of_page: Vec<_> = db
        .partnerships()
        .list(
            &PartnershipFilter::default(),
            PartnershipOrder::Created,
            &PageRequest::first(50),
        )
        .await
        .expect("partnerships")
        .items
        .into_iter()
        .map(|(_, p)| p.id)
        .collect();
    let member_view = DraftVisibility::MembersOnly(Some(actor));
    let by_parent = |parent| ActorFilter {
        parent_id: Some(parent),
        ..Default::default()
    };
    let by_member = |member| PartnershipFilter {
        member_actor: Some(member),
        ..Default::default()
    };
    let nested = [
        check(db, &tables, "actors by ids", false, async {
            db.actors()
                .find_by_ids(&actors_of_page)
                .await
                .expect("find");
        })
        .await,
        check(db, &tables, "partnerships by ids", false, async {
            db.partnerships()
                .find_by_ids(&partnerships_of_page)
                .await
                .expect("find");
        })
        .await,
        check(db, &tables, "members of partnerships", false, async {
            db.memberships()
                .pages_of_partnerships(&partnerships_of_page, false, 10, None)
                .await
                .expect("pages");
        })
        .await,
        check(db, &tables, "memberships of actors", false, async {
            db.memberships()
                .pages_of_actors(&actors_of_page, true, member_view, 10, None)
                .await
                .expect("pages");
        })
        .await,
        check(db, &tables, "allocations of partnerships", false, async {
            db.allocations()
                .pages_of_partnerships(&partnerships_of_page, 10, None)
                .await
                .expect("pages");
        })
        .await,
        check(db, &tables, "children of actors", false, async {
            let filters: Vec<_> = actors_of_page.iter().map(|a| by_parent(*a)).collect();
            db.actors().list_many(&filters, &page).await.expect("many");
        })
        .await,
        check(db, &tables, "partnerships of actors", false, async {
            let filters: Vec<_> = actors_of_page.iter().map(|a| by_member(*a)).collect();
            db.partnerships()
                .list_many(&filters, PartnershipOrder::Created, &page)
                .await
                .expect("many");
        })
        .await,
        check(db, &tables, "histories of records", false, async {
            let filters: Vec<_> = actors_of_page
                .iter()
                .map(|a| a.as_uuid())
                .chain(partnerships_of_page.iter().map(|p| p.as_uuid()))
                .map(|id| AuditFilter {
                    entity_id: Some(id),
                    ..Default::default()
                })
                .collect();
            db.audit_events_each(&filters, &page)
                .await
                .expect("histories");
        })
        .await,
        check(
            db,
            &tables,
            "funding totals of partnerships and actors",
            false,
            async {
                let awards = |filter: AllocationFilter| AllocationFilter {
                    statuses: vec![AllocationStatus::Awarded, AllocationStatus::Closed],
                    drafts: member_view,
                    ..filter
                };
                let filters: Vec<_> = partnerships_of_page
                    .iter()
                    .map(|p| AllocationFilter {
                        partnership: Some(*p),
                        ..Default::default()
                    })
                    .chain(actors_of_page.iter().flat_map(|a| {
                        [
                            AllocationFilter {
                                lead_actor: Some(*a),
                                ..Default::default()
                            },
                            AllocationFilter {
                                actor: Some(*a),
                                ..Default::default()
                            },
                        ]
                    }))
                    .map(awards)
                    .collect();
                db.allocation_totals_each(&filters).await.expect("totals");
            },
        )
        .await,
        check(db, &tables, "utilisation of programmes", false, async {
            let ids: Vec<_> = programme.into_iter().collect();
            db.programmes()
                .utilisation_each(&ids)
                .await
                .expect("utilisation");
        })
        .await,
    ];
    for found in nested {
        faults.extend(found);
    }

    assert!(
        faults.is_empty(),
        "{} statements without an index:\n{}",
        faults.len(),
        faults.join("\n\n")
    );
}
