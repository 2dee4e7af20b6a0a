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

    // The same scale writes the same rows, in another database too.
    let other = persistence::test_db::TestDatabase::sqlite();
    let other_db = other.connect_migrated().await;
    other_db.seed_synthetic(0.01).await.expect("seed again");
    let first = |page: persistence::Page<domain::actor::Actor>| {
        page.items
            .first()
            .map(|(_, a)| (a.id, a.profile.parts().name.clone()))
    };
    let again = other_db
        .actors()
        .list(&ActorFilter::default(), &PageRequest::first(100))
        .await
        .expect("actors");
    assert_eq!(first(actors), first(again));
}
