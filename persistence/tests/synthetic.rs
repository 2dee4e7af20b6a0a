//! Synthetic data on SQLite and PostgreSQL: the counts of the scale, rows the repositories
//! read back as valid values, one audit event, and the same rows for the same scale.

use persistence::repo::{ActorFilter, AllocationFilter, PartnershipFilter};
use persistence::{Database, PageRequest};

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
