//! Synthetic data on SQLite and PostgreSQL: the counts of the scale, rows the repositories
//! read back as valid values, one audit event, and the same rows for the same scale.

use domain::partnership::Theme;
use persistence::repo::{ActorFilter, AllocationFilter, PartnershipFilter};
use persistence::{Database, PageRequest};
use sea_orm::{ConnectionTrait, Statement};

persistence::on_both_databases!(synthetic_data_has_the_scale_and_reads_back_valid);

async fn synthetic_data_has_the_scale_and_reads_back_valid(db: &Database) {
    let counts = db.seed_synthetic(0.01).await.expect("seed");
    assert_eq!(
        (counts.actors, counts.partnerships, counts.memberships),
        (100, 500, 2500)
    );
    assert_eq!(counts.allocations, 1000);
    assert_eq!(
        db.actors().count(&ActorFilter::default()).await.expect("c"),
        100
    );
    assert_eq!(
        db.partnerships()
            .count(&PartnershipFilter::default())
            .await
            .expect("c"),
        500
    );
    assert_eq!(
        db.allocations()
            .count(&AllocationFilter::default())
            .await
            .expect("c"),
        1000
    );
    // Every row makes a valid domain value: whole pages read back without a corrupt row.
    let actors = db
        .actors()
        .list(&ActorFilter::default(), &PageRequest::first(100))
        .await
        .expect("actors");
    assert_eq!(actors.items.len(), 100);
    let partnerships = db
        .partnerships()
        .list(
            &PartnershipFilter::default(),
            Default::default(),
            &PageRequest::first(100),
        )
        .await
        .expect("partnerships");
    assert_eq!(partnerships.items.len(), 100);
    // Each partnership's stored theme key is its theme rows in the domain's order, as the
    // API's writers store it (fundingSummary groups by the key).
    let conn = db.connection();
    let backend = conn.get_database_backend();
    let mut rows_of: std::collections::HashMap<uuid::Uuid, std::collections::BTreeSet<Theme>> =
        Default::default();
    for row in conn
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT partnership_id AS id, theme FROM partnership_theme",
        ))
        .await
        .expect("theme rows")
    {
        let id: uuid::Uuid = row.try_get("", "id").expect("id");
        let theme: String = row.try_get("", "theme").expect("theme");
        rows_of
            .entry(id)
            .or_default()
            .insert(Theme::from_code(&theme).expect("a theme code"));
    }
    let keys = conn
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT id, themes_key FROM partnership",
        ))
        .await
        .expect("keys");
    assert_eq!(keys.len(), 500);
    for row in keys {
        let id: uuid::Uuid = row.try_get("", "id").expect("id");
        let key: String = row.try_get("", "themes_key").expect("key");
        let expected: Vec<&str> = rows_of
            .get(&id)
            .map(|set| set.iter().map(|t| t.code()).collect())
            .unwrap_or_default();
        assert_eq!(key, expected.join(","), "partnership {id}");
    }
    let allocations = db
        .allocations()
        .list(&AllocationFilter::default(), &PageRequest::first(100))
        .await
        .expect("allocations");
    assert!(
        allocations
            .items
            .iter()
            .all(|(_, a)| a.eu_contribution <= a.eligible_cost)
    );
    let report = db.verify_chain().await.expect("chain");
    assert_eq!(
        (report.events_checked, report.first_broken),
        (1, None),
        "one import event"
    );
    // A second run refuses: the registry is no longer empty.
    assert!(db.seed_synthetic(0.01).await.is_err());

    // The same scale writes the same rows, in another database too: every row the scale
    // decides (not the clock), compared whole.
    let other = persistence::test_db::TestDatabase::sqlite();
    let other_db = other.connect_migrated().await;
    other_db.seed_synthetic(0.01).await.expect("seed again");
    let rows = synthetic_rows(db).await;
    assert_eq!(rows.len(), 100 + 500 + 2500 + 1000);
    assert_eq!(rows, synthetic_rows(&other_db).await);
}

/// The actors, partnerships, memberships and allocations, each as text without its
/// timestamps, sorted.
async fn synthetic_rows(db: &Database) -> Vec<String> {
    let mut rows = Vec::new();
    let next = |cursor: Option<&persistence::Cursor>| PageRequest {
        after: cursor.cloned(),
        ..PageRequest::first(100)
    };
    let mut page = next(None);
    loop {
        let got = db
            .actors()
            .list(&ActorFilter::default(), &page)
            .await
            .expect("actors");
        for (_, a) in &got.items {
            rows.push(format!(
                "actor {:?} {:?} {:?} {}",
                a.id, a.profile, a.parent_id, a.verified
            ));
        }
        match got.items.last() {
            Some((cursor, _)) if got.has_next_page => page = next(Some(cursor)),
            _ => break,
        }
    }
    let mut partnerships = Vec::new();
    let mut page = next(None);
    loop {
        let got = db
            .partnerships()
            .list(&PartnershipFilter::default(), Default::default(), &page)
            .await
            .expect("partnerships");
        for (_, p) in &got.items {
            rows.push(format!(
                "partnership {:?} {:?} {:?}",
                p.id, p.details, p.status
            ));
            partnerships.push(p.id);
        }
        match got.items.last() {
            Some((cursor, _)) if got.has_next_page => page = next(Some(cursor)),
            _ => break,
        }
    }
    let members = db
        .memberships()
        .pages_of_partnerships(&partnerships, true, 100, None)
        .await
        .expect("members");
    for m in members
        .values()
        .flat_map(|page| &page.items)
        .map(|(_, m)| m)
    {
        rows.push(format!(
            "membership {:?} {:?} {:?} {:?} {} {:?}",
            m.id, m.partnership_id, m.actor_id, m.roles, m.joined_on, m.left_on
        ));
    }
    let mut page = next(None);
    loop {
        let got = db
            .allocations()
            .list(&AllocationFilter::default(), &page)
            .await
            .expect("allocations");
        for (_, a) in &got.items {
            rows.push(format!(
                "allocation {:?} {:?} {:?} {:?} {} {} {} {:?} {:?} {:?} {:?}",
                a.id,
                a.partnership_id,
                a.stream_id,
                a.ceiling_rule_id,
                a.eligible_cost,
                a.eu_contribution,
                a.national_contribution,
                a.status,
                a.decision_date,
                a.reference,
                a.programme_id
            ));
        }
        match got.items.last() {
            Some((cursor, _)) if got.has_next_page => page = next(Some(cursor)),
            _ => break,
        }
    }
    rows.sort();
    rows
}
