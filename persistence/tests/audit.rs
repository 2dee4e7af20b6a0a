//! The audit trail against SQLite and PostgreSQL: every write leaves an event in its own
//! transaction, refused writes leave none, and the hash chain shows any rewrite.

use domain::actor::{ActorKind, ActorProfile, ActorProfileParts};
use domain::territory::CountryCode;
use persistence::audit::{AuditContext, AuditFilter};
use persistence::{Database, PageRequest};
use sea_orm::ConnectionTrait;

persistence::on_both_databases!(
    writes_leave_chained_events_and_refusals_none,
    a_rewritten_event_breaks_the_chain,
    concurrent_writers_keep_one_chain,
    concurrent_rule_corrections_with_one_version_let_one_through,
    histories_of_many_records_read_as_one_by_one,
);

fn profile(name: &str) -> ActorProfile {
    ActorProfile::new(ActorProfileParts {
        kind: ActorKind::Ngo,
        name: name.into(),
        country: CountryCode::parse("ES").expect("ES"),
        nuts: None,
        lau: None,
        population: None,
        pic: None,
        vat_number: None,
        wikidata_id: None,
        website: None,
        email: None,
    })
    .expect("profile")
}

fn context(operation: &str) -> AuditContext {
    AuditContext {
        subject: "maria@caritas.example".into(),
        role: "ngo".into(),
        actor_id: None,
        request_id: "req-1".into(),
        operation: operation.into(),
    }
}

async fn writes_leave_chained_events_and_refusals_none(db: &Database) {
    let audited = db.with_audit(context("createActor"));
    let actor = audited
        .actors()
        .create(profile("Caritas"), None)
        .await
        .expect("create");
    let renamed = db
        .with_audit(context("updateActor"))
        .actors()
        .update(actor.id, profile("Caritas Valencia"), None, true, None)
        .await
        .expect("update");
    // Refused: a missing parent. No event.
    let refused = audited
        .actors()
        .create(profile("Orphan"), Some(domain::ids::ActorId::generate()))
        .await;
    assert!(refused.is_err());
    let page = db
        .audit_events(
            &AuditFilter {
                entity_id: Some(actor.id.as_uuid()),
                ..Default::default()
            },
            &PageRequest::first(10),
        )
        .await
        .expect("events");
    let events: Vec<_> = page.items.iter().map(|(_, e)| e).collect();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].operation, "createActor");
    assert_eq!(events[0].subject, "maria@caritas.example");
    assert_eq!(events[0].role, "ngo");
    assert_eq!(events[0].request_id, "req-1");
    assert_eq!(events[0].entity_type, "Actor");
    assert!(events[0].before.is_none());
    assert!(
        events[0]
            .after
            .as_deref()
            .is_some_and(|a| a.contains("\"Caritas\""))
    );
    assert_eq!(events[1].operation, "updateActor");
    assert!(
        events[1]
            .before
            .as_deref()
            .is_some_and(|b| b.contains("\"Caritas\""))
    );
    assert!(
        events[1]
            .after
            .as_deref()
            .is_some_and(|a| a.contains("\"Caritas Valencia\""))
    );
    assert_eq!(events[1].prev_hash, events[0].hash, "chained");
    assert_eq!(renamed.profile.parts().name, "Caritas Valencia");
    let all = db
        .audit_events(&AuditFilter::default(), &PageRequest::first(100))
        .await
        .expect("all");
    assert_eq!(all.items.len(), 2, "the refused create wrote nothing");
    let report = db.verify_chain().await.expect("verify");
    assert_eq!(report.events_checked, 2);
    assert_eq!(report.first_broken, None);
    // Filters and paging.
    let by_operation = db
        .audit_events(
            &AuditFilter {
                operation: Some("updateActor".into()),
                ..Default::default()
            },
            &PageRequest::first(10),
        )
        .await
        .expect("filtered");
    assert_eq!(by_operation.items.len(), 1);
    let first = db
        .audit_events(&AuditFilter::default(), &PageRequest::first(1))
        .await
        .expect("page");
    assert!(first.has_next_page);
    let next = db
        .audit_events(
            &AuditFilter::default(),
            &PageRequest {
                first: 1,
                after: first.items.last().map(|(c, _)| c.clone()),
                direction: Default::default(),
            },
        )
        .await
        .expect("page 2");
    assert_eq!(next.items[0].1.seq, 2);
}

async fn a_rewritten_event_breaks_the_chain(db: &Database) {
    let audited = db.with_audit(context("createActor"));
    for name in ["A", "B", "C"] {
        audited
            .actors()
            .create(profile(name), None)
            .await
            .expect("create");
    }
    assert_eq!(db.verify_chain().await.expect("verify").first_broken, None);
    db.connection()
        .execute_unprepared("UPDATE audit_event SET subject = 'someone-else' WHERE seq = 2")
        .await
        .expect("tamper");
    let report = db.verify_chain().await.expect("verify");
    assert_eq!(report.first_broken, Some(2));
    assert_eq!(report.events_checked, 1);
    db.connection()
        .execute_unprepared(
            "UPDATE audit_event SET subject = 'maria@caritas.example' WHERE seq = 2",
        )
        .await
        .expect("restore");
    assert_eq!(db.verify_chain().await.expect("verify").first_broken, None);
    db.connection()
        .execute_unprepared("DELETE FROM audit_event WHERE seq = 2")
        .await
        .expect("delete");
    let report = db.verify_chain().await.expect("verify");
    assert_eq!(report.first_broken, Some(2), "a deleted event is named too");
}

async fn concurrent_writers_keep_one_chain(db: &Database) {
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let db = db.with_audit(context("createActor"));
            tokio::spawn(async move {
                db.actors()
                    .create(profile(&format!("Actor {i}")), None)
                    .await
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        if task.await.expect("task").is_ok() {
            created += 1;
        }
    }
    assert_eq!(created, 20);
    let report = db.verify_chain().await.expect("verify");
    assert_eq!(
        report.events_checked, 20,
        "one event per acknowledged write"
    );
    assert_eq!(report.first_broken, None);
}

async fn concurrent_rule_corrections_with_one_version_let_one_through(db: &Database) {
    let amif = db
        .funding()
        .stream_by_code("AMIF")
        .await
        .expect("q")
        .expect("AMIF");
    let rule = db
        .funding()
        .rules_of_streams(&[amif.id])
        .await
        .expect("rules")
        .into_iter()
        .find(|r| r.case.as_str() == "STANDARD")
        .expect("standard");
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let db = db.with_audit(context("updateCeilingRule"));
            let rule = rule.clone();
            tokio::spawn(async move {
                db.funding()
                    .update_rule(
                        rule.id,
                        persistence::repo::RuleText {
                            description: rule.description.clone(),
                            max_rate: rule.max_rate,
                            legal_reference: rule.legal_reference.clone(),
                            verified: true,
                            note: Some(format!("note {i}")),
                        },
                        Some(rule.version),
                    )
                    .await
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(updated) => {
                ok += 1;
                assert_eq!(updated.version, rule.version + 1);
            }
            Err(e) => assert!(matches!(e, persistence::RepoError::Stale { .. }), "{e:?}"),
        }
    }
    assert_eq!(ok, 1);
    let events = db
        .audit_events(
            &AuditFilter {
                operation: Some("updateCeilingRule".into()),
                ..Default::default()
            },
            &PageRequest::first(100),
        )
        .await
        .expect("events");
    assert_eq!(events.items.len(), 1, "one event for the one correction");
}

/// The histories of many records at once (a page's `history` fields) are the pages each
/// record's own listing gives, cursors included, in one statement per 500 records.
async fn histories_of_many_records_read_as_one_by_one(db: &Database) {
    let audited = db.with_audit(context("createActor"));
    let mut actors = Vec::new();
    for name in ["Caritas", "Cruz Roja", "Accem"] {
        actors.push(
            audited
                .actors()
                .create(profile(name), None)
                .await
                .expect("create"),
        );
    }
    db.with_audit(context("updateActor"))
        .actors()
        .update(actors[0].id, profile("Caritas Valencia"), None, true, None)
        .await
        .expect("update");
    // 600 records, most without events; the three actors at both ends of each statement.
    let mut filters: Vec<AuditFilter> = (0..600)
        .map(|_| AuditFilter {
            entity_id: Some(uuid::Uuid::now_v7()),
            ..Default::default()
        })
        .collect();
    for (at, actor) in [(0, 0), (499, 1), (500, 0), (599, 2)] {
        filters[at].entity_id = Some(actors[actor].id.as_uuid());
    }
    for page in [PageRequest::first(1), PageRequest::first(10)] {
        let before = db.statement_count();
        let pages = db
            .audit_events_each(&filters, &page)
            .await
            .expect("histories");
        assert_eq!(db.statement_count() - before, 2, "500 records a statement");
        assert_eq!(pages.len(), 600);
        for (filter, got) in filters.iter().zip(&pages) {
            let alone = db.audit_events(filter, &page).await.expect("one");
            assert_eq!(got.items, alone.items);
            assert_eq!(got.has_next_page, alone.has_next_page);
        }
        let operations = |i: usize| -> Vec<&str> {
            pages[i]
                .items
                .iter()
                .map(|(_, e)| e.operation.as_str())
                .collect()
        };
        if page.first == 1 {
            assert_eq!(operations(0), ["createActor"]);
            assert!(pages[0].has_next_page);
        } else {
            assert_eq!(operations(0), ["createActor", "updateActor"]);
            assert_eq!(operations(500), ["createActor", "updateActor"]);
            assert!(!pages[0].has_next_page);
        }
        assert_eq!(operations(499), ["createActor"]);
        assert_eq!(operations(599), ["createActor"]);
        assert!(pages[1].items.is_empty() && !pages[1].has_next_page);
    }
    // The second page, after the first page's cursor.
    let first = db
        .audit_events_each(&filters[..1], &PageRequest::first(1))
        .await
        .expect("first");
    let next = db
        .audit_events_each(
            &filters[..1],
            &PageRequest {
                first: 1,
                after: first[0].items.last().map(|(c, _)| c.clone()),
                direction: Default::default(),
            },
        )
        .await
        .expect("next");
    assert_eq!(next[0].items.len(), 1);
    assert_eq!(next[0].items[0].1.operation, "updateActor");
    assert!(!next[0].has_next_page);
}
