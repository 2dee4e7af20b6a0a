//! Funding rules against SQLite and PostgreSQL: the envelope under concurrent awards, the
//! payments ledger, `funding_summary` checked against an independent computation, and audit
//! findings after a rule row is corrected; and (PostgreSQL) an import that meets a reference
//! stored meanwhile by another writer.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use domain::actor::{ActorKind, ActorProfile, ActorProfileParts};
use domain::funding::{
    AllocationStatus, CeilingCase, FindingRule, PaymentKind, ProgrammeDetails, ProgrammeParts,
};
use domain::ids::{ActorId, AllocationId, PartnershipId, ProgrammeId};
use domain::membership::{Role, RoleSet};
use domain::money::{Euros, Rate};
use domain::partnership::{
    GovernanceLevel, PartnershipDetails, PartnershipDetailsParts, PartnershipKind,
    PartnershipStatus, Theme,
};
use domain::territory::CountryCode;
use persistence::import::ImportError;
use persistence::repo::{AllocationFilter, Dimension, NewAllocation, RuleText};
use persistence::{Database, PageRequest, RepoError};

persistence::on_both_databases!(
    programmes_keep_their_category_and_code,
    concurrent_awards_never_overdraw_the_envelope,
    the_payments_ledger_stays_within_the_award,
    funding_summary_matches_an_independent_computation,
    audit_findings_name_the_rule_the_record_and_the_figures,
);

fn eur(s: &str) -> Euros {
    Euros::parse("amount", s).expect("euros")
}

fn date(s: &str) -> NaiveDate {
    s.parse().expect("date")
}

async fn actor(db: &Database, kind: ActorKind, name: &str) -> ActorId {
    let profile = ActorProfile::new(ActorProfileParts {
        kind,
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
    .expect("profile");
    db.actors().create(profile, None).await.expect("actor").id
}

async fn partnership(
    db: &Database,
    lead: ActorId,
    title: &str,
    themes: &[Theme],
    end: Option<&str>,
) -> PartnershipId {
    let details = PartnershipDetails::new(PartnershipDetailsParts {
        title: title.into(),
        description: String::new(),
        kind: PartnershipKind::ProjectConsortium,
        themes: themes.iter().copied().collect(),
        governance_levels: [GovernanceLevel::Local].into(),
        start_date: date("2021-01-01"),
        end_date: end.map(date),
    })
    .expect("details");
    db.partnerships()
        .create(
            details,
            lead,
            RoleSet::parse(&[Role::Lead]).expect("roles"),
            date("2021-01-01"),
        )
        .await
        .expect("partnership")
        .id
}

async fn programme(
    db: &Database,
    stream: &str,
    code: &str,
    category: Option<&str>,
    envelope: &str,
) -> ProgrammeId {
    let authority = actor(
        db,
        ActorKind::NationalAuthority,
        &format!("{code} authority"),
    )
    .await;
    let stream = db
        .funding()
        .stream_by_code(stream)
        .await
        .expect("q")
        .expect("stream");
    db.programmes()
        .create(
            ProgrammeDetails::new(ProgrammeParts {
                code: code.into(),
                title: code.into(),
                stream_id: stream.id,
                managing_authority: authority,
                country: CountryCode::parse("ES").expect("ES"),
                nuts: None,
                category: category.map(|c| CeilingCase::parse(c).expect("case")),
                envelope: eur(envelope),
            })
            .expect("programme"),
        )
        .await
        .expect("programme")
        .id
}

async fn request(
    db: &Database,
    partnership: PartnershipId,
    programme: ProgrammeId,
    case: Option<&str>,
    eligible: &str,
    eu: &str,
) -> AllocationId {
    db.allocations()
        .create(NewAllocation {
            partnership_id: partnership,
            programme_id: programme,
            ceiling_case: case.map(|c| CeilingCase::parse(c).expect("case")),
            eligible_cost: eur(eligible),
            eu_contribution: eur(eu),
            national_contribution: Euros::ZERO,
            reference: None,
        })
        .await
        .expect("allocation")
        .id
}

async fn concurrent_awards_never_overdraw_the_envelope(db: &Database) {
    let lead = actor(db, ActorKind::Ngo, "Caritas").await;
    let p = partnership(db, lead, "Envelope race", &[Theme::Housing], None).await;
    let programme = programme(db, "AMIF", "2021ES65AMPR001", None, "1000").await;
    let mut ids = Vec::new();
    for _ in 0..10 {
        ids.push(request(db, p, programme, Some("STANDARD"), "200", "150").await);
    }
    // Ten awards of 150 at once against an envelope of 1,000: exactly six fit.
    let awards = ids.iter().map(|id| {
        let db = db.clone();
        let id = *id;
        tokio::spawn(async move {
            db.allocations()
                .change_status(
                    id,
                    AllocationStatus::Awarded,
                    Some(date("2024-01-15")),
                    None,
                )
                .await
        })
    });
    let results = futures_join(awards).await;
    let granted = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(granted, 6, "{results:?}");
    for refused in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            matches!(refused, RepoError::Invalid(e) if e.field == "euContribution" && e.message.contains("envelope")),
            "{refused:?}"
        );
    }
    let u = db
        .programmes()
        .utilisation_each(&[programme])
        .await
        .expect("utilisation")[0];
    assert_eq!(u.awarded_cents, 90_000);
    let awarded = AllocationFilter {
        statuses: vec![AllocationStatus::Awarded],
        ..Default::default()
    };
    assert_eq!(db.allocations().count(&awarded).await.expect("count"), 6);
    // A revision that would overdraw is refused too; one that fits is accepted.
    let first_awarded = db
        .allocations()
        .list(&awarded, &PageRequest::first(1))
        .await
        .expect("list")
        .items[0]
        .1
        .id;
    let err = db
        .allocations()
        .change(
            first_awarded,
            persistence::repo::AllocationChange {
                eu_contribution: Some(eur("250.01")),
                eligible_cost: Some(eur("400")),
                ..Default::default()
            },
        )
        .await
        .expect_err("overdraws");
    assert!(
        matches!(&err, RepoError::Invalid(e) if e.message.contains("envelope")),
        "{err:?}"
    );
    db.allocations()
        .change(
            first_awarded,
            persistence::repo::AllocationChange {
                eu_contribution: Some(eur("250")),
                eligible_cost: Some(eur("400")),
                ..Default::default()
            },
        )
        .await
        .expect("fits exactly");
    assert_eq!(
        db.programmes()
            .utilisation_each(&[programme])
            .await
            .expect("u")[0]
            .awarded_cents,
        100_000
    );
}

async fn futures_join<T>(handles: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for handle in handles.collect::<Vec<_>>() {
        out.push(handle.await.expect("task"));
    }
    out
}

async fn the_payments_ledger_stays_within_the_award(db: &Database) {
    let lead = actor(db, ActorKind::Ngo, "Caritas").await;
    let p = partnership(db, lead, "Ledger", &[], None).await;
    let programme = programme(db, "AMIF", "2021ES65AMPR002", None, "100000").await;
    let a = request(db, p, programme, Some("STANDARD"), "1000", "750").await;
    let allocations = db.allocations();
    let pay = |kind, amount: &str| {
        allocations.record_payment(a, kind, eur(amount), date("2024-02-01"), None)
    };
    let err = pay(PaymentKind::PreFinancing, "100")
        .await
        .expect_err("not awarded");
    assert!(
        matches!(&err, RepoError::Invalid(e) if e.field == "kind"),
        "{err:?}"
    );
    db.allocations()
        .change_status(a, AllocationStatus::Awarded, Some(date("2024-01-15")), None)
        .await
        .expect("award");
    pay(PaymentKind::PreFinancing, "300")
        .await
        .expect("pre-financing");
    pay(PaymentKind::Interim, "400").await.expect("interim");
    let err = db
        .allocations()
        .change_status(
            a,
            AllocationStatus::Cancelled,
            Some(date("2024-05-01")),
            None,
        )
        .await
        .expect_err("paid money is recovered before a cancellation");
    assert!(
        matches!(&err, RepoError::Invalid(e) if e.field == "status"),
        "{err:?}"
    );
    let err = pay(PaymentKind::Balance, "50.01")
        .await
        .expect_err("over the award");
    assert!(
        matches!(&err, RepoError::Invalid(e) if e.field == "amount"),
        "{err:?}"
    );
    pay(PaymentKind::Recovery, "100")
        .await
        .expect("a correction is a new, negative entry");
    pay(PaymentKind::Balance, "150").await.expect("balance");
    let ledger = db.allocations().payments(a).await.expect("ledger");
    let amounts: Vec<i64> = ledger.iter().map(|p| p.amount_cents).collect();
    assert_eq!(amounts, [30_000, 40_000, -10_000, 15_000]);
    let totals = db.allocations().paid_totals(&[a]).await.expect("totals");
    assert_eq!(totals.get(&a), Some(&75_000));
    // The EU contribution cannot be revised below what was paid.
    let err = db
        .allocations()
        .change(
            a,
            persistence::repo::AllocationChange {
                eu_contribution: Some(eur("749.99")),
                ..Default::default()
            },
        )
        .await
        .expect_err("below paid");
    assert!(
        matches!(&err, RepoError::Invalid(e) if e.field == "euContribution"),
        "{err:?}"
    );
    db.allocations()
        .change_status(a, AllocationStatus::Closed, None, None)
        .await
        .expect("close");
    let err = pay(PaymentKind::Interim, "1").await.expect_err("closed");
    assert!(
        matches!(&err, RepoError::Invalid(e) if e.field == "kind"),
        "{err:?}"
    );
}

/// Partnership, programme, claimed case, eligible cost, EU contribution, award date.
type Planned<'a> = (
    PartnershipId,
    ProgrammeId,
    Option<&'a str>,
    &'a str,
    &'a str,
    Option<&'a str>,
);

async fn funding_summary_matches_an_independent_computation(db: &Database) {
    let city = actor(db, ActorKind::Municipality, "Valencia").await;
    let ngo = actor(db, ActorKind::Ngo, "Caritas").await;
    let p1 = partnership(db, city, "P1", &[Theme::Housing, Theme::Employment], None).await;
    let p2 = partnership(db, ngo, "P2", &[Theme::Housing], None).await;
    let p3 = partnership(db, ngo, "P3", &[], None).await;
    // A second member of P1 must not double-count its allocations.
    db.memberships()
        .add(
            p1,
            ngo,
            RoleSet::parse(&[Role::Partner]).expect("roles"),
            date("2021-01-01"),
        )
        .await
        .expect("member");
    let amif = programme(db, "AMIF", "2021ES65AMPR003", None, "10000000").await;
    let esf = programme(
        db,
        "ESF_PLUS",
        "2021ES05SFPR001",
        Some("TRANSITION_REGION"),
        "10000000",
    )
    .await;
    let mut made = Vec::new();
    let plan: [Planned; 7] = [
        (
            p1,
            amif,
            Some("STANDARD"),
            "1000",
            "750",
            Some("2023-05-01"),
        ),
        (
            p1,
            amif,
            Some("SPECIFIC_ACTION"),
            "2000",
            "1800",
            Some("2024-05-01"),
        ),
        (p1, esf, None, "1000", "700", None),
        (p2, amif, Some("STANDARD"), "400", "300", Some("2024-02-01")),
        (p2, esf, None, "999.99", "699.99", Some("2024-03-01")),
        (p3, amif, Some("STANDARD"), "100", "75", None),
        (
            p3,
            esf,
            Some("TRANSITION_REGION"),
            "10",
            "7",
            Some("2023-01-01"),
        ),
    ];
    for (p, prog, case, eligible, eu, award) in plan {
        let id = request(db, p, prog, case, eligible, eu).await;
        if let Some(day) = award {
            db.allocations()
                .change_status(id, AllocationStatus::Awarded, Some(date(day)), None)
                .await
                .expect("award");
            db.allocations()
                .record_payment(id, PaymentKind::PreFinancing, eur("5.50"), date(day), None)
                .await
                .expect("payment");
        }
        made.push(id);
    }
    // Independent computation: read every allocation and group in Rust.
    let all = db
        .allocations()
        .find_by_ids(&made)
        .await
        .expect("allocations");
    let partnerships = db
        .partnerships()
        .find_by_ids(&[p1, p2, p3])
        .await
        .expect("partnerships");
    let streams = db.funding().streams().await.expect("streams");
    let paid = db.allocations().paid_totals(&made).await.expect("paid");
    let mut expected: BTreeMap<(String, String), (i64, i64, i64, i64)> = BTreeMap::new();
    for a in &all {
        let stream = streams
            .iter()
            .find(|s| s.id == a.stream_id)
            .expect("stream")
            .code
            .clone();
        let p = partnerships
            .iter()
            .find(|p| p.id == a.partnership_id)
            .expect("p");
        let themes = p
            .details
            .parts()
            .themes
            .iter()
            .map(|t| t.code())
            .collect::<Vec<_>>()
            .join(",");
        let e = expected.entry((stream, themes)).or_default();
        e.0 += 1;
        e.1 += a.eligible_cost.cents();
        e.2 += a.eu_contribution.cents();
        e.3 += paid.get(&a.id).copied().unwrap_or(0);
    }
    let (rows, totals) = db
        .funding_summary(
            &[Dimension::Stream, Dimension::Theme],
            &AllocationFilter::default(),
        )
        .await
        .expect("summary");
    let got: BTreeMap<(String, String), (i64, i64, i64, i64)> = rows
        .iter()
        .map(|r| {
            (
                (
                    r.keys[0].clone().unwrap_or_default(),
                    r.keys[1].clone().unwrap_or_default(),
                ),
                (
                    r.count,
                    r.eligible_cost_cents,
                    r.eu_contribution_cents,
                    r.paid_cents,
                ),
            )
        })
        .collect();
    assert_eq!(got, expected);
    assert_eq!(totals.count, 7, "each allocation once");
    assert_eq!(totals.count, rows.iter().map(|r| r.count).sum::<i64>());
    assert_eq!(
        totals.eu_contribution_cents,
        rows.iter().map(|r| r.eu_contribution_cents).sum::<i64>()
    );
    assert_eq!(
        totals.eu_contribution_cents,
        75_000 + 180_000 + 70_000 + 30_000 + 69_999 + 7_500 + 700
    );
    assert_eq!(totals.paid_cents, 5 * 550);

    // Grouping by year, status and lead kind, with a filter: the same totals as the rows.
    let awarded = AllocationFilter {
        statuses: vec![AllocationStatus::Awarded],
        ..Default::default()
    };
    let (rows, totals) = db
        .funding_summary(&[Dimension::Year, Dimension::ActorKind], &awarded)
        .await
        .expect("summary");
    let keys: Vec<(Option<String>, Option<String>, i64)> = rows
        .iter()
        .map(|r| (r.keys[0].clone(), r.keys[1].clone(), r.count))
        .collect();
    assert_eq!(
        keys,
        [
            (Some("2023".into()), Some("MUNICIPALITY".into()), 1),
            (Some("2023".into()), Some("NGO".into()), 1),
            (Some("2024".into()), Some("MUNICIPALITY".into()), 1),
            (Some("2024".into()), Some("NGO".into()), 2),
        ]
    );
    assert_eq!(totals.count, 5);
    // Missing keys (no decision yet) sort last on both databases.
    let (rows, _) = db
        .funding_summary(&[Dimension::Year], &AllocationFilter::default())
        .await
        .expect("summary");
    let years: Vec<Option<String>> = rows.iter().map(|r| r.keys[0].clone()).collect();
    assert_eq!(years, [Some("2023".into()), Some("2024".into()), None]);
    let (rows, _) = db
        .funding_summary(
            &[Dimension::Programme, Dimension::Status],
            &AllocationFilter::default(),
        )
        .await
        .expect("summary");
    assert_eq!(rows.len(), 4, "{rows:?}");

    // The batched totals (a page's `funding` fields) agree with the summary's, filter by
    // filter, in one statement.
    let mut filters = vec![AllocationFilter::default(), awarded];
    for p in &partnerships {
        filters.push(AllocationFilter {
            partnership: Some(p.id),
            ..Default::default()
        });
    }
    for a in [city, ngo] {
        filters.push(AllocationFilter {
            lead_actor: Some(a),
            statuses: vec![AllocationStatus::Awarded, AllocationStatus::Closed],
            ..Default::default()
        });
        filters.push(AllocationFilter {
            actor: Some(a),
            ..Default::default()
        });
    }
    let before = db.statement_count();
    let batched = db.allocation_totals_each(&filters).await.expect("totals");
    assert_eq!(db.statement_count() - before, 1);
    assert_eq!(batched.len(), filters.len());
    for (filter, got) in filters.iter().zip(&batched) {
        let (_, alone) = db.funding_summary(&[], filter).await.expect("summary");
        assert_eq!(got, &alone, "{filter:?}");
    }
    assert_eq!(batched[0].count, 7);
    assert_eq!(batched[0].paid_cents, 5 * 550);
}

async fn audit_findings_name_the_rule_the_record_and_the_figures(db: &Database) {
    let lead = actor(db, ActorKind::Ngo, "Caritas").await;
    let ended = partnership(db, lead, "Ended", &[], Some("2022-12-31")).await;
    let programme_id = programme(db, "AMIF", "2021ES65AMPR004", None, "1000").await;
    let a = request(db, ended, programme_id, Some("STANDARD"), "1000", "750").await;
    db.allocations()
        .change_status(a, AllocationStatus::Awarded, Some(date("2024-01-15")), None)
        .await
        .expect("award");
    let findings = db.audit_findings(&[], 100).await.expect("findings");
    let rules: Vec<FindingRule> = findings.iter().map(|f| f.rule).collect();
    assert_eq!(
        rules,
        [FindingRule::DecidedAfterPartnershipEnded],
        "{findings:?}"
    );

    // The STANDARD ceiling is corrected from 75% to 70%: the award now breaks it.
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
    db.funding()
        .update_rule(
            rule.id,
            RuleText {
                description: rule.description.clone(),
                max_rate: Rate::from_basis_points(7000).expect("rate"),
                legal_reference: rule.legal_reference.clone(),
                verified: true,
                note: Some("corrected".into()),
            },
            None,
        )
        .await
        .expect("correct");
    // The envelope is cut below the award.
    let programme = db.programmes().get(programme_id).await.expect("programme");
    let mut parts = programme.details.into_parts();
    parts.envelope = eur("700");
    db.programmes()
        .update(
            programme_id,
            ProgrammeDetails::new(parts).expect("details"),
            None,
        )
        .await
        .expect("cut");
    let findings = db.audit_findings(&[], 100).await.expect("findings");
    let over_ceiling = findings
        .iter()
        .find(|f| f.rule == FindingRule::RateOverCeiling)
        .expect("rate over ceiling");
    assert_eq!(over_ceiling.entity_type, "Allocation");
    assert_eq!(over_ceiling.entity_id, a.as_uuid());
    assert_eq!(
        over_ceiling.figures,
        [
            ("eligibleCost", "1000.00".to_owned()),
            ("euContribution", "750.00".to_owned()),
            ("ceiling", "0.7000".to_owned()),
        ]
    );
    let overdrawn = findings
        .iter()
        .find(|f| f.rule == FindingRule::EnvelopeOverdrawn)
        .expect("envelope overdrawn");
    assert_eq!(overdrawn.entity_id, programme_id.as_uuid());
    assert_eq!(
        overdrawn.figures,
        [
            ("awarded", "750.00".to_owned()),
            ("envelope", "700.00".to_owned())
        ]
    );
    assert_eq!(findings.len(), 3, "{findings:?}");
    let only = db
        .audit_findings(&[FindingRule::EnvelopeOverdrawn], 100)
        .await
        .expect("filtered");
    assert_eq!(only.len(), 1);

    // An ACTIVE partnership whose LEAD left (written behind the rules' back, as an import
    // might) is reported.
    let active = partnership(db, lead, "Active", &[], None).await;
    db.partnerships()
        .change_status(active, PartnershipStatus::Active, None)
        .await
        .expect("activate");
    use sea_orm::ConnectionTrait;
    db.connection()
        .execute_unprepared("UPDATE membership SET left_on = '2024-01-01' WHERE is_lead")
        .await
        .expect("lead leaves");
    let findings = db
        .audit_findings(&[FindingRule::ActiveWithoutLead], 100)
        .await
        .expect("findings");
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].entity_id, active.as_uuid());
}

async fn programmes_keep_their_category_and_code(db: &Database) {
    let authority = actor(db, ActorKind::NationalAuthority, "UAFSE").await;
    let esf = db
        .funding()
        .stream_by_code("ESF_PLUS")
        .await
        .expect("q")
        .expect("ESF+");
    let parts = |code: &str, category: Option<&str>| ProgrammeParts {
        code: code.into(),
        title: "ESF+ Comunitat Valenciana".into(),
        stream_id: esf.id,
        managing_authority: authority,
        country: CountryCode::parse("ES").expect("ES"),
        nuts: None,
        category: category.map(|c| CeilingCase::parse(c).expect("case")),
        envelope: eur("1000"),
    };
    let err = db
        .programmes()
        .create(ProgrammeDetails::new(parts("2021ES05SFPR015", None)).expect("details"))
        .await
        .expect_err("ESF+ needs a category");
    assert!(
        matches!(&err, RepoError::Invalid(e) if e.field == "categoryOfRegion"),
        "{err:?}"
    );
    let programme = db
        .programmes()
        .create(
            ProgrammeDetails::new(parts("2021ES05SFPR015", Some("TRANSITION_REGION")))
                .expect("details"),
        )
        .await
        .expect("programme");
    let err = db
        .programmes()
        .create(
            ProgrammeDetails::new(parts("2021ES05SFPR015", Some("TRANSITION_REGION")))
                .expect("details"),
        )
        .await
        .expect_err("same code");
    assert!(
        matches!(&err, RepoError::Conflict { field, .. } if field == "code"),
        "{err:?}"
    );
    // A claimed case other than the programme's category is refused.
    let lead = actor(db, ActorKind::Ngo, "Caritas").await;
    let p = partnership(db, lead, "ESF+ project", &[], None).await;
    let err = db
        .allocations()
        .create(NewAllocation {
            partnership_id: p,
            programme_id: programme.id,
            ceiling_case: Some(CeilingCase::parse("LESS_DEVELOPED_REGION").expect("case")),
            eligible_cost: eur("100"),
            eu_contribution: eur("85"),
            national_contribution: Euros::ZERO,
            reference: None,
        })
        .await
        .expect_err("not the programme's category");
    assert!(
        matches!(&err, RepoError::Invalid(e) if e.field == "ceilingCase"),
        "{err:?}"
    );
    let a = request(db, p, programme.id, None, "100", "70").await;
    // With an allocation under it, the category cannot change.
    let err = db
        .programmes()
        .update(
            programme.id,
            ProgrammeDetails::new(parts("2021ES05SFPR015", Some("LESS_DEVELOPED_REGION")))
                .expect("details"),
            None,
        )
        .await
        .expect_err("category fixed");
    assert!(
        matches!(&err, RepoError::Conflict { field, .. } if field == "categoryOfRegion"),
        "{err:?}"
    );
    // A cut envelope and a lowered ceiling still allow a revision downwards.
    db.allocations()
        .change_status(a, AllocationStatus::Awarded, Some(date("2024-01-01")), None)
        .await
        .expect("award");
    let mut cut = parts("2021ES05SFPR015", Some("TRANSITION_REGION"));
    cut.envelope = eur("50");
    db.programmes()
        .update(
            programme.id,
            ProgrammeDetails::new(cut).expect("details"),
            None,
        )
        .await
        .expect("cut the envelope");
    let rule = db
        .funding()
        .rules_of_streams(&[esf.id])
        .await
        .expect("rules")
        .into_iter()
        .find(|r| r.case.as_str() == "TRANSITION_REGION")
        .expect("rule");
    db.funding()
        .update_rule(
            rule.id,
            RuleText {
                description: rule.description.clone(),
                max_rate: Rate::from_basis_points(6000).expect("rate"),
                legal_reference: rule.legal_reference.clone(),
                verified: false,
                note: None,
            },
            None,
        )
        .await
        .expect("lower the ceiling");
    let revised = db
        .allocations()
        .change(
            a,
            persistence::repo::AllocationChange {
                eu_contribution: Some(eur("65")),
                ..Default::default()
            },
        )
        .await
        .expect("a revision downwards is allowed");
    assert_eq!(revised.eu_contribution, eur("65"));
    let err = db
        .allocations()
        .change(
            a,
            persistence::repo::AllocationChange {
                eu_contribution: Some(eur("66")),
                ..Default::default()
            },
        )
        .await
        .expect_err("upwards is checked");
    assert!(
        matches!(&err, RepoError::Invalid(e) if e.field == "euContribution"),
        "{err:?}"
    );
    // Closing keeps the award's date.
    let closed = db
        .allocations()
        .change_status(a, AllocationStatus::Closed, Some(date("2026-01-01")), None)
        .await
        .expect("close");
    assert_eq!(closed.decision_date, Some(date("2024-01-01")));
}

/// PostgreSQL only (SQLite's one writer waits for the import, so nothing can come between):
/// a reference that another writer stores after the import has read its stream's references
/// is refused by the unique index when the import's batch reaches the database, while the
/// batch before it is written or being written, and the import writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reference_stored_during_an_import_fails_the_whole_import() {
    let Some(test_db) = persistence::test_db::TestDatabase::postgres().await else {
        return;
    };
    let db = test_db.connect_migrated().await;
    let lead = actor(&db, ActorKind::Ngo, "Importer").await;
    let p = partnership(&db, lead, "Bulk", &[Theme::Housing], None).await;
    let programme = programme(&db, "AMIF", "2021ES65AMPR009", None, "1000000").await;
    let new = |i: usize| NewAllocation {
        partnership_id: p,
        programme_id: programme,
        ceiling_case: Some(CeilingCase::parse("STANDARD").expect("case")),
        eligible_cost: eur("200"),
        eu_contribution: eur("150"),
        national_contribution: Euros::ZERO,
        reference: Some(format!("BULK-{i:04}")),
    };
    let mut import = db.begin_import().await.expect("import");
    for i in 0..1_500 {
        import
            .allocation(i as u64 + 1, new(i))
            .await
            .expect("each row passes its checks");
    }
    // Rows 0-999 went to the database as one batch; BULK-1200 is still in the import's hands.
    let stored = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        db.allocations().create(new(1_200)),
    )
    .await
    .expect("the import does not block another writer's request")
    .expect("stored");
    let error = import
        .finish(serde_json::json!({ "file": "bulk.jsonl" }))
        .await
        .expect_err("the import's BULK-1200 is refused");
    assert!(
        matches!(&error, ImportError::Database(RepoError::Conflict { field, message })
            if field == "reference" && message.contains("already has this reference")),
        "{error:?}"
    );
    let of_programme = AllocationFilter {
        programmes: vec![programme],
        ..Default::default()
    };
    assert_eq!(
        db.allocations().count(&of_programme).await.expect("count"),
        1,
        "only the other writer's allocation is stored"
    );
    let listed = db
        .allocations()
        .list(&of_programme, &PageRequest::first(5))
        .await
        .expect("list");
    assert_eq!(listed.items[0].1.id, stored.id);
}
