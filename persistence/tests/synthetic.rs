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
    // Contact details as most organisations have them, which a page of actors reads too.
    let with = |has: fn(&domain::actor::ActorProfileParts) -> bool| {
        actors
            .items
            .iter()
            .filter(|(_, a)| has(a.profile.parts()))
            .count()
    };
    assert_eq!(with(|p| p.website.is_some()), 90);
    assert_eq!(with(|p| p.email.is_some()), 60);
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
    // Distributions: each municipality lies in a region of its country, with a NUTS 3 code
    // inside the region's (and they spread over several regions); about half of the
    // allocations of ACTIVE partnerships are decided, none of a draft's, each decided one with
    // its date; national co-financing is drawn.
    let one = |sql: &str| {
        let statement = Statement::from_string(backend, sql.to_owned());
        async move {
            conn.query_one_raw(statement)
                .await
                .expect("query")
                .expect("row")
                .try_get_by_index::<i64>(0)
                .expect("count")
        }
    };
    assert_eq!(
        one(
            "SELECT COUNT(*) FROM actor m JOIN actor r ON r.id = m.parent_id \
             WHERE m.kind <> 'MUNICIPALITY' OR r.kind <> 'REGION' OR r.country <> m.country \
             OR m.nuts_code IS NULL OR r.nuts_code IS NULL \
             OR SUBSTR(m.nuts_code, 1, 4) <> r.nuts_code OR LENGTH(m.nuts_code) <> 5"
        )
        .await,
        0
    );
    let parented =
        one("SELECT COUNT(*) FROM actor WHERE kind = 'MUNICIPALITY' AND parent_id IS NOT NULL")
            .await;
    let countries = one("SELECT COUNT(DISTINCT country) FROM actor WHERE kind = 'MUNICIPALITY' AND parent_id IS NOT NULL").await;
    let parents =
        one("SELECT COUNT(DISTINCT parent_id) FROM actor WHERE kind = 'MUNICIPALITY'").await;
    assert!(
        parented > 0 && parents > countries,
        "{parented} {parents} {countries}"
    );
    assert_eq!(
        one(
            "SELECT COUNT(*) FROM allocation a JOIN partnership p ON p.id = a.partnership_id \
             WHERE a.status <> 'REQUESTED' AND (p.status <> 'ACTIVE' OR a.decision_date IS NULL \
             OR a.decision_year < 2021 OR a.decision_year > 2025)"
        )
        .await,
        0
    );
    for (status, low, high) in [
        ("REQUESTED", 550, 750),
        ("AWARDED", 150, 270),
        ("CLOSED", 40, 100),
        ("REJECTED", 40, 100),
    ] {
        let n = one(&format!(
            "SELECT COUNT(*) FROM allocation WHERE status = '{status}'"
        ))
        .await;
        assert!((low..=high).contains(&n), "{status}: {n}");
    }
    assert!(
        one("SELECT COUNT(*) FROM allocation WHERE national_contribution_cents > 0").await > 900
    );
    // And the data breaks none of the rules a funder checks.
    let findings = db.audit_findings(&[], 10).await.expect("findings");
    assert!(findings.is_empty(), "{findings:?}");
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
    // References, which the page closures copy into each page's future.
    let (actors, partnerships, allocations) = (
        &ActorFilter::default(),
        &PartnershipFilter::default(),
        &AllocationFilter::default(),
    );
    for a in every_page(|page| async move { db.actors().list(actors, &page).await }).await {
        rows.push(format!(
            "actor {:?} {:?} {:?} {}",
            a.id, a.profile, a.parent_id, a.verified
        ));
    }
    let all_partnerships = every_page(|page| async move {
        db.partnerships()
            .list(partnerships, Default::default(), &page)
            .await
    })
    .await;
    for p in &all_partnerships {
        rows.push(format!(
            "partnership {:?} {:?} {:?}",
            p.id, p.details, p.status
        ));
    }
    let ids: Vec<_> = all_partnerships.iter().map(|p| p.id).collect();
    let members = db
        .memberships()
        .pages_of_partnerships(&ids, true, 100, None)
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
    for a in every_page(|page| async move { db.allocations().list(allocations, &page).await }).await
    {
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
    rows.sort();
    rows
}

/// Every item of a list, page after page of 100 along its cursors.
async fn every_page<T, F, Fut>(mut list: F) -> Vec<T>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: std::future::Future<Output = Result<persistence::Page<T>, persistence::RepoError>>,
{
    let mut items = Vec::new();
    let mut page = PageRequest::first(100);
    loop {
        let got = list(page).await.expect("page");
        let next = got.items.last().map(|(cursor, _)| cursor.clone());
        let more = got.has_next_page;
        items.extend(got.items.into_iter().map(|(_, item)| item));
        match next {
            Some(cursor) if more => {
                page = PageRequest {
                    after: Some(cursor),
                    ..PageRequest::first(100)
                }
            }
            _ => return items,
        }
    }
}
