//! The repositories against SQLite and PostgreSQL: every test runs once on each, on a fresh
//! database.

use chrono::NaiveDate;
use domain::actor::{ActorBrief, ActorKind, ActorProfile, ActorProfileParts};
use domain::funding::{
    AllocationStatus, BudgetKind, CeilingCase, ProgrammeDetails, ProgrammeParts,
};
use domain::identifiers::{Email, Pic, Website};
use domain::ids::{ActorId, ProgrammeId};
use domain::membership::{Role, RoleSet};
use domain::money::Euros;
use domain::partnership::{
    GovernanceLevel, PartnershipDetails, PartnershipDetailsParts, PartnershipKind,
    PartnershipStatus, Theme,
};
use domain::territory::{CountryCode, NutsRegion};
use persistence::repo::{
    ActorFilter, AllocationChange, AllocationFilter, DraftVisibility, MembershipChange,
    NewAllocation, PartnershipFilter, PartnershipOrder, RuleText,
};
use persistence::{Database, PageRequest, RepoError};

persistence::on_both_databases!(
    actors_round_trip_and_filter,
    hierarchy_refuses_cycles_and_wrong_levels,
    unique_pic_is_a_conflict,
    partnerships_with_members_and_status_rules,
    partnership_pages_and_counts_agree,
    allocations_respect_ceilings_and_lifecycle,
    streams_and_rules_are_seeded,
    drafts_are_seen_by_members_only,
    stream_managers_and_rule_corrections,
    stored_contact_details_read_back_and_a_malformed_one_is_corrupt,
    actor_briefs_match_the_actors_and_a_corrupt_one_is_reported,
);

/// A programme of `stream` with a managing authority of its own.
async fn programme(
    db: &Database,
    stream: &str,
    category: Option<&str>,
    envelope: &str,
) -> ProgrammeId {
    let authority = actor(
        db,
        profile(
            ActorKind::NationalAuthority,
            &format!("{stream} authority"),
            "ES",
        ),
        None,
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
                code: format!(
                    "2021ES{}{}",
                    stream.code.replace('_', ""),
                    uuid::Uuid::now_v7().simple().to_string()[20..].to_uppercase()
                ),
                title: format!("{} Spain", stream.code),
                stream_id: stream.id,
                managing_authority: authority,
                country: CountryCode::parse("ES").expect("ES"),
                nuts: None,
                category: category.map(|c| CeilingCase::parse(c).expect("case")),
                envelope: Euros::parse("envelope", envelope).expect("envelope"),
            })
            .expect("details"),
        )
        .await
        .expect("programme")
        .id
}

fn date(s: &str) -> NaiveDate {
    s.parse().expect("date")
}

fn profile(kind: ActorKind, name: &str, country: &str) -> ActorProfileParts {
    ActorProfileParts {
        kind,
        name: name.into(),
        country: CountryCode::parse(country).expect("country"),
        nuts: None,
        lau: None,
        population: None,
        pic: None,
        vat_number: None,
        wikidata_id: None,
        website: None,
        email: None,
    }
}

async fn actor(db: &Database, parts: ActorProfileParts, parent: Option<ActorId>) -> ActorId {
    db.actors()
        .create(ActorProfile::new(parts).expect("profile"), parent)
        .await
        .expect("create actor")
        .id
}

fn details(kind: PartnershipKind, title: &str, start: &str) -> PartnershipDetails {
    PartnershipDetails::new(PartnershipDetailsParts {
        title: title.into(),
        description: String::new(),
        kind,
        themes: [Theme::CommunitySponsorship, Theme::Housing].into(),
        governance_levels: [GovernanceLevel::Regional, GovernanceLevel::Local].into(),
        start_date: date(start),
        end_date: None,
    })
    .expect("details")
}

fn roles(r: &[Role]) -> RoleSet {
    RoleSet::parse(r).expect("roles")
}

async fn actors_round_trip_and_filter(db: &Database) {
    let mut basque = profile(ActorKind::Region, "Basque Government", "ES");
    basque.nuts = Some(NutsRegion::parse("ES21", 2021).expect("nuts"));
    basque.population = Some(2_200_000);
    let basque_id = actor(db, basque.clone(), None).await;
    let mut bilbao = profile(ActorKind::Municipality, "Bilbao", "ES");
    bilbao.population = Some(345_000);
    let bilbao_id = actor(db, bilbao, Some(basque_id)).await;
    actor(db, profile(ActorKind::Ngo, "Caritas", "ES"), None).await;
    actor(db, profile(ActorKind::Municipality, "Mechelen", "BE"), None).await;

    let stored = db.actors().get(basque_id).await.expect("get");
    assert_eq!(stored.profile.parts(), &basque);
    assert_eq!(stored.parent_id, None);
    let city = db.actors().get(bilbao_id).await.expect("get");
    assert_eq!(city.parent_id, Some(basque_id));
    assert_eq!(city.profile.is_smaller_community(), Some(false));

    let names = |page: persistence::Page<domain::actor::Actor>| -> Vec<String> {
        page.items
            .into_iter()
            .map(|(_, a)| a.profile.parts().name.clone())
            .collect()
    };
    let all = db
        .actors()
        .list(&ActorFilter::default(), &PageRequest::first(10))
        .await
        .expect("list");
    assert_eq!(
        names(all),
        ["Basque Government", "Bilbao", "Caritas", "Mechelen"]
    );

    let spanish_cities = ActorFilter {
        kinds: vec![ActorKind::Municipality],
        countries: vec![CountryCode::parse("ES").expect("ES")],
        ..Default::default()
    };
    let page = db
        .actors()
        .list(&spanish_cities, &PageRequest::first(10))
        .await
        .expect("list");
    assert_eq!(names(page), ["Bilbao"]);
    assert_eq!(db.actors().count(&spanish_cities).await.expect("count"), 1);

    let by_nuts = ActorFilter {
        nuts_prefix: Some("ES2".into()),
        ..Default::default()
    };
    assert_eq!(db.actors().count(&by_nuts).await.expect("count"), 1);
    let by_name = ActorFilter {
        name_contains: Some("CARIT".into()),
        ..Default::default()
    };
    assert_eq!(db.actors().count(&by_name).await.expect("count"), 1);
    let wildcard = ActorFilter {
        name_contains: Some("%".into()),
        ..Default::default()
    };
    assert_eq!(
        db.actors().count(&wildcard).await.expect("count"),
        0,
        "% is literal"
    );
    let children = ActorFilter {
        parent_id: Some(basque_id),
        ..Default::default()
    };
    assert_eq!(db.actors().count(&children).await.expect("count"), 1);

    // Keyset paging: two pages of two, no repeats, nothing skipped.
    let first = db
        .actors()
        .list(&ActorFilter::default(), &PageRequest::first(2))
        .await
        .expect("page 1");
    assert!(first.has_next_page);
    let after = first.items.last().map(|(c, _)| c.clone());
    let second = db
        .actors()
        .list(
            &ActorFilter::default(),
            &PageRequest {
                first: 2,
                after,
                direction: Default::default(),
            },
        )
        .await
        .expect("page 2");
    assert!(!second.has_next_page);
    assert_eq!(names(first), ["Basque Government", "Bilbao"]);
    assert_eq!(names(second), ["Caritas", "Mechelen"]);
}

async fn hierarchy_refuses_cycles_and_wrong_levels(db: &Database) {
    let nuts1 = actor(db, profile(ActorKind::Region, "Noreste", "ES"), None).await;
    let basque = actor(
        db,
        profile(ActorKind::Region, "Basque Country", "ES"),
        Some(nuts1),
    )
    .await;
    let city = actor(
        db,
        profile(ActorKind::Municipality, "Bilbao", "ES"),
        Some(basque),
    )
    .await;

    // Making the NUTS 1 region a child of its own child is a cycle.
    let err = db
        .actors()
        .update(
            nuts1,
            ActorProfile::new(profile(ActorKind::Region, "Noreste", "ES")).expect("profile"),
            Some(basque),
            false,
            None,
        )
        .await
        .expect_err("cycle");
    assert!(
        matches!(&err, RepoError::Invalid(e) if e.field == "parentId" && e.message.contains("cycle")),
        "{err:?}"
    );
    assert_eq!(
        db.actors().get(nuts1).await.expect("get").parent_id,
        None,
        "unchanged"
    );

    // A municipality cannot contain a municipality.
    let err = db
        .actors()
        .create(
            ActorProfile::new(profile(ActorKind::Municipality, "Getxo", "ES")).expect("p"),
            Some(city),
        )
        .await
        .expect_err("municipality in municipality");
    assert!(
        matches!(&err, RepoError::Invalid(e) if e.field == "parentId"),
        "{err:?}"
    );

    // A missing parent names the field.
    let err = db
        .actors()
        .create(
            ActorProfile::new(profile(ActorKind::Ngo, "X", "ES")).expect("p"),
            Some(ActorId::generate()),
        )
        .await
        .expect_err("no parent");
    assert!(
        matches!(&err, RepoError::Invalid(e) if e.field == "parentId"),
        "{err:?}"
    );

    // A region with municipalities cannot move to another country.
    let err = db
        .actors()
        .update(
            basque,
            ActorProfile::new(profile(ActorKind::Region, "Basque Country", "FR")).expect("p"),
            None,
            false,
            None,
        )
        .await
        .expect_err("country");
    assert!(
        matches!(&err, RepoError::Invalid(e) if e.field == "country"),
        "{err:?}"
    );
    let ancestors = db.actors().ancestors(city).await.expect("ancestors");
    assert_eq!(ancestors, [basque, nuts1]);
}

async fn unique_pic_is_a_conflict(db: &Database) {
    let mut first = profile(ActorKind::Ngo, "ICMC Europe", "BE");
    first.pic = Some(Pic::parse("999999999").expect("pic"));
    actor(db, first.clone(), None).await;
    first.name = "Another".into();
    let err = db
        .actors()
        .create(ActorProfile::new(first).expect("p"), None)
        .await
        .expect_err("duplicate PIC");
    assert!(
        matches!(&err, RepoError::Conflict { field, .. } if field == "pic"),
        "{err:?}"
    );
    assert_eq!(
        db.actors()
            .count(&ActorFilter::default())
            .await
            .expect("count"),
        1
    );
}

async fn partnerships_with_members_and_status_rules(db: &Database) {
    let brussels = actor(db, profile(ActorKind::Municipality, "Brussels", "BE"), None).await;
    let saint_jean = actor(
        db,
        profile(ActorKind::Municipality, "Saint-Jean-de-la-Ruelle", "FR"),
        None,
    )
    .await;
    let cemr = actor(db, profile(ActorKind::Network, "CEMR", "BE"), None).await;
    let p = db
        .partnerships()
        .create(
            details(
                PartnershipKind::CityToCityMentoring,
                "IncluCities",
                "2020-01-01",
            ),
            cemr,
            roles(&[Role::Lead]),
            date("2020-01-01"),
        )
        .await
        .expect("create");
    assert_eq!(p.status, PartnershipStatus::Draft);
    assert_eq!(p.details.parts().themes.len(), 2);

    // Mentoring cannot become ACTIVE without a mentor and a mentee.
    let err = db
        .partnerships()
        .change_status(p.id, PartnershipStatus::Active, None)
        .await
        .expect_err("no pair");
    assert!(
        matches!(&err, RepoError::Invalid(e) if e.message.contains("MENTOR")),
        "{err:?}"
    );

    db.memberships()
        .add(p.id, brussels, roles(&[Role::Mentor]), date("2020-01-01"))
        .await
        .expect("mentor");
    let mentee = db
        .memberships()
        .add(p.id, saint_jean, roles(&[Role::Mentee]), date("2020-01-01"))
        .await
        .expect("mentee");
    // A second LEAD is refused.
    let err = db
        .memberships()
        .change(
            mentee.id,
            MembershipChange {
                roles: Some(roles(&[Role::Mentee, Role::Lead])),
                ..Default::default()
            },
        )
        .await
        .expect_err("two leads");
    assert!(
        matches!(&err, RepoError::Invalid(e) if e.message.contains("at most one LEAD")),
        "{err:?}"
    );
    // The same actor twice is a conflict.
    let err = db
        .memberships()
        .add(p.id, brussels, roles(&[Role::Partner]), date("2020-01-01"))
        .await
        .expect_err("twice");
    assert!(
        matches!(&err, RepoError::Conflict { field, .. } if field == "actorId"),
        "{err:?}"
    );

    let active = db
        .partnerships()
        .change_status(p.id, PartnershipStatus::Active, None)
        .await
        .expect("activate");
    assert_eq!(active.status, PartnershipStatus::Active);

    // While ACTIVE, the only mentee cannot leave.
    let err = db
        .memberships()
        .change(
            mentee.id,
            MembershipChange {
                left_on: Some(Some(date("2021-01-01"))),
                ..Default::default()
            },
        )
        .await
        .expect_err("last mentee");
    assert!(
        matches!(&err, RepoError::Invalid(e) if e.field == "leftOn"),
        "{err:?}"
    );

    let members = db
        .memberships()
        .of_partnership(p.id, false, &PageRequest::first(10))
        .await
        .expect("members");
    assert_eq!(members.items.len(), 3);
    assert_eq!(
        db.memberships()
            .count_of_actor(brussels, false, DraftVisibility::All)
            .await
            .expect("count"),
        1
    );

    // Status lifecycle: ACTIVE -> COMPLETED, then nothing.
    db.partnerships()
        .change_status(p.id, PartnershipStatus::Completed, None)
        .await
        .expect("complete");
    let err = db
        .partnerships()
        .change_status(p.id, PartnershipStatus::Active, None)
        .await
        .expect_err("reopen");
    assert!(
        matches!(&err, RepoError::Invalid(e) if e.field == "status"),
        "{err:?}"
    );
    let err = db
        .memberships()
        .add(
            p.id,
            ActorId::generate(),
            roles(&[Role::Partner]),
            date("2020-01-01"),
        )
        .await
        .expect_err("closed");
    assert!(matches!(&err, RepoError::Conflict { .. }), "{err:?}");
}

async fn partnership_pages_and_counts_agree(db: &Database) {
    let es_city = actor(db, profile(ActorKind::Municipality, "Valencia", "ES"), None).await;
    let es_ngo = actor(db, profile(ActorKind::Ngo, "Caritas Valencia", "ES"), None).await;
    let be_city = actor(db, profile(ActorKind::Municipality, "Mechelen", "BE"), None).await;
    for i in 0..7 {
        let lead = if i % 2 == 0 { es_city } else { be_city };
        let p = db
            .partnerships()
            .create(
                details(
                    PartnershipKind::ProjectConsortium,
                    &format!("P{i}"),
                    &format!("2020-01-0{}", i + 1),
                ),
                lead,
                roles(&[Role::Lead]),
                date("2020-01-01"),
            )
            .await
            .expect("create");
        if lead == es_city {
            // A second Spanish member must not count the partnership twice.
            db.memberships()
                .add(p.id, es_ngo, roles(&[Role::Partner]), date("2020-01-01"))
                .await
                .expect("member");
        }
    }
    let spanish = PartnershipFilter {
        countries: vec![CountryCode::parse("ES").expect("ES")],
        ..Default::default()
    };
    assert_eq!(db.partnerships().count(&spanish).await.expect("count"), 4);
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = db
            .partnerships()
            .list(
                &spanish,
                PartnershipOrder::StartDate,
                &PageRequest {
                    first: 3,
                    after: after.clone(),
                    direction: persistence::SortDirection::Desc,
                },
            )
            .await
            .expect("page");
        seen.extend(
            page.items
                .iter()
                .map(|(_, p)| p.details.parts().title.clone()),
        );
        after = page.items.last().map(|(c, _)| c.clone());
        if !page.has_next_page {
            break;
        }
    }
    assert_eq!(seen, ["P6", "P4", "P2", "P0"]);
    let by_member = PartnershipFilter {
        member_actor: Some(be_city),
        themes: vec![Theme::Housing, Theme::Health],
        ..Default::default()
    };
    assert_eq!(db.partnerships().count(&by_member).await.expect("count"), 3);
    let none_active = PartnershipFilter {
        active_on: Some(date("2020-06-01")),
        ..Default::default()
    };
    assert_eq!(
        db.partnerships().count(&none_active).await.expect("count"),
        0,
        "all DRAFT"
    );
}

async fn allocations_respect_ceilings_and_lifecycle(db: &Database) {
    let navarre = actor(
        db,
        profile(ActorKind::Region, "Government of Navarre", "ES"),
        None,
    )
    .await;
    let p = db
        .partnerships()
        .create(
            details(
                PartnershipKind::RegionalSponsorshipProgramme,
                "SOMOS",
                "2021-01-01",
            ),
            navarre,
            roles(&[Role::Lead]),
            date("2021-01-01"),
        )
        .await
        .expect("partnership");
    let amif = db
        .funding()
        .stream_by_code("AMIF")
        .await
        .expect("query")
        .expect("AMIF seeded");
    let eur = |s: &str| Euros::parse("amount", s).expect("euros");
    let programme = programme(db, "AMIF", None, "10000000").await;
    let new = |eu: &str| NewAllocation {
        partnership_id: p.id,
        programme_id: programme,
        ceiling_case: Some(CeilingCase::parse("STANDARD").expect("case")),
        eligible_cost: eur("400000.00"),
        eu_contribution: eur(eu),
        national_contribution: Euros::ZERO,
        reference: Some("AMIF-2024-001".into()),
    };
    let err = db
        .allocations()
        .create(new("300000.01"))
        .await
        .expect_err("over 75%");
    assert!(
        matches!(&err, RepoError::Invalid(e) if e.field == "euContribution"),
        "{err:?}"
    );
    let a = db
        .allocations()
        .create(new("300000.00"))
        .await
        .expect("at 75%");
    assert_eq!(a.eu_contribution, eur("300000"));
    assert_eq!(a.co_financing_rate().to_string(), "0.7500");
    assert_eq!(a.status, AllocationStatus::Requested);
    let err = db
        .allocations()
        .create(new("1"))
        .await
        .expect_err("same reference");
    assert!(
        matches!(&err, RepoError::Conflict { field, .. } if field == "reference"),
        "{err:?}"
    );

    // A specific action allows 90%.
    let raised = db
        .allocations()
        .change(
            a.id,
            AllocationChange {
                ceiling_case: Some(CeilingCase::parse("SPECIFIC_ACTION").expect("case")),
                eu_contribution: Some(eur("360000")),
                ..Default::default()
            },
        )
        .await
        .expect("90%");
    assert_eq!(raised.co_financing_rate().to_string(), "0.9000");
    let err = db
        .allocations()
        .change(
            a.id,
            AllocationChange {
                ceiling_case: Some(CeilingCase::parse("LESS_DEVELOPED_REGION").expect("case")),
                ..Default::default()
            },
        )
        .await
        .expect_err("not an AMIF case");
    assert!(
        matches!(&err, RepoError::Invalid(e) if e.field == "ceilingCase" && e.message.contains("STANDARD")),
        "{err:?}"
    );

    let err = db
        .allocations()
        .change_status(a.id, AllocationStatus::Awarded, None, None)
        .await
        .expect_err("no date");
    assert!(
        matches!(&err, RepoError::Invalid(e) if e.field == "decisionDate"),
        "{err:?}"
    );
    let awarded = db
        .allocations()
        .change_status(
            a.id,
            AllocationStatus::Awarded,
            Some(date("2024-03-01")),
            None,
        )
        .await
        .expect("award");
    assert_eq!(awarded.decision_date, Some(date("2024-03-01")));
    // An awarded budget is revised, and every budget is kept.
    let revised = db
        .allocations()
        .change(
            a.id,
            AllocationChange {
                eu_contribution: Some(eur("350000")),
                reason: Some("reprogramming".into()),
                ..Default::default()
            },
        )
        .await
        .expect("revise");
    assert_eq!(revised.eu_contribution, eur("350000"));
    let budgets = db.allocations().budgets(a.id).await.expect("budgets");
    let eus: Vec<_> = budgets
        .iter()
        .map(|b| (b.kind, b.eu_contribution))
        .collect();
    assert_eq!(
        eus,
        [
            (BudgetKind::Original, eur("300000")),
            (BudgetKind::Revised, eur("360000")),
            (BudgetKind::Revised, eur("350000")),
        ]
    );
    assert_eq!(budgets[2].reason.as_deref(), Some("reprogramming"));
    db.allocations()
        .change_status(
            a.id,
            AllocationStatus::Cancelled,
            Some(date("2024-06-01")),
            None,
        )
        .await
        .expect("cancel");
    let err = db
        .allocations()
        .change(a.id, AllocationChange::default())
        .await
        .expect_err("a cancelled budget is closed");
    assert!(matches!(&err, RepoError::Conflict { .. }), "{err:?}");
    let by_partnership = AllocationFilter {
        partnership: Some(p.id),
        ..Default::default()
    };
    let page = db
        .allocations()
        .list(&by_partnership, &PageRequest::first(10))
        .await
        .expect("list");
    assert_eq!(page.items.len(), 1);
    let by_stream = AllocationFilter {
        streams: vec![amif.id],
        ..Default::default()
    };
    assert_eq!(db.allocations().count(&by_stream).await.expect("count"), 1);
    let funded = PartnershipFilter {
        funding_stream: Some(amif.id),
        ..Default::default()
    };
    assert_eq!(db.partnerships().count(&funded).await.expect("count"), 1);
}

async fn streams_and_rules_are_seeded(db: &Database) {
    let streams = db.funding().streams().await.expect("streams");
    let codes: Vec<_> = streams.iter().map(|s| s.code.as_str()).collect();
    assert_eq!(codes, ["AMIF", "ERDF", "ESF_PLUS"]);
    let ids: Vec<_> = streams.iter().map(|s| s.id).collect();
    let rules = db.funding().rules_of_streams(&ids).await.expect("rules");
    assert_eq!(rules.len(), 12);
    let standard = rules
        .iter()
        .find(|r| r.case.as_str() == "STANDARD")
        .expect("AMIF standard");
    assert_eq!(standard.max_rate.basis_points(), 7500);
    assert!(standard.verified);
    let less_developed: Vec<_> = rules
        .iter()
        .filter(|r| r.case.as_str() == "LESS_DEVELOPED_REGION")
        .collect();
    assert_eq!(less_developed.len(), 2);
    assert!(
        less_developed
            .iter()
            .all(|r| r.max_rate.basis_points() == 8500 && !r.verified)
    );
    assert!(db.pending_migrations().await.expect("pending").is_empty());
}

async fn drafts_are_seen_by_members_only(db: &Database) {
    let lead = actor(db, profile(ActorKind::Ngo, "Caritas", "ES"), None).await;
    let member = actor(db, profile(ActorKind::Ngo, "Jesuits", "ES"), None).await;
    let outsider = actor(db, profile(ActorKind::Ngo, "Elsewhere", "BE"), None).await;
    let draft = db
        .partnerships()
        .create(
            details(PartnershipKind::ProjectConsortium, "Draft", "2024-01-01"),
            lead,
            roles(&[Role::Lead]),
            date("2024-01-01"),
        )
        .await
        .expect("draft");
    let open = db
        .partnerships()
        .create(
            details(PartnershipKind::ProjectConsortium, "Open", "2024-01-01"),
            lead,
            roles(&[Role::Lead]),
            date("2024-01-01"),
        )
        .await
        .expect("open");
    db.partnerships()
        .change_status(open.id, PartnershipStatus::Active, None)
        .await
        .expect("activate");
    for p in [draft.id, open.id] {
        db.memberships()
            .add(p, member, roles(&[Role::Partner]), date("2024-01-01"))
            .await
            .expect("member");
    }
    let amif = db
        .funding()
        .stream_by_code("AMIF")
        .await
        .expect("q")
        .expect("AMIF");
    let programme = programme(db, "AMIF", None, "1000").await;
    for p in [draft.id, open.id] {
        db.allocations()
            .create(NewAllocation {
                partnership_id: p,
                programme_id: programme,
                ceiling_case: Some(CeilingCase::parse("STANDARD").expect("case")),
                eligible_cost: Euros::parse("a", "100").expect("eur"),
                eu_contribution: Euros::parse("a", "75").expect("eur"),
                national_contribution: Euros::ZERO,
                reference: None,
            })
            .await
            .expect("allocation");
    }
    let seen_by = |viewer: Option<ActorId>| PartnershipFilter {
        drafts: DraftVisibility::MembersOnly(viewer),
        ..Default::default()
    };
    assert_eq!(
        db.partnerships()
            .count(&seen_by(Some(member)))
            .await
            .expect("c"),
        2
    );
    assert_eq!(
        db.partnerships()
            .count(&seen_by(Some(outsider)))
            .await
            .expect("c"),
        1
    );
    assert_eq!(db.partnerships().count(&seen_by(None)).await.expect("c"), 1);
    assert_eq!(
        db.partnerships()
            .count(&PartnershipFilter::default())
            .await
            .expect("c"),
        2
    );
    // The member's own memberships, as an outsider sees them: only the open partnership.
    let as_outsider = DraftVisibility::MembersOnly(Some(outsider));
    let page = db
        .memberships()
        .of_actor(member, false, as_outsider, &PageRequest::first(10))
        .await
        .expect("memberships");
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].1.partnership_id, open.id);
    assert_eq!(
        db.memberships()
            .count_of_actor(member, false, as_outsider)
            .await
            .expect("c"),
        1
    );
    let of_stream = |drafts| AllocationFilter {
        streams: vec![amif.id],
        drafts,
        ..Default::default()
    };
    assert_eq!(
        db.allocations()
            .count(&of_stream(as_outsider))
            .await
            .expect("c"),
        1
    );
    let page = db
        .allocations()
        .list(
            &of_stream(DraftVisibility::MembersOnly(Some(member))),
            &PageRequest::first(10),
        )
        .await
        .expect("allocations");
    assert_eq!(page.items.len(), 2);
    assert_eq!(
        db.memberships().lead_of(draft.id).await.expect("lead"),
        Some(lead)
    );
    assert!(
        db.memberships()
            .current_of(draft.id, member)
            .await
            .expect("m")
            .is_some()
    );
    assert!(
        db.memberships()
            .current_of(draft.id, outsider)
            .await
            .expect("m")
            .is_none()
    );
}

async fn stream_managers_and_rule_corrections(db: &Database) {
    let ministry = actor(
        db,
        profile(ActorKind::NationalAuthority, "Ministry", "ES"),
        None,
    )
    .await;
    let amif = db
        .funding()
        .stream_by_code("AMIF")
        .await
        .expect("q")
        .expect("AMIF");
    assert_eq!(db.funding().count_managed_by(ministry).await.expect("c"), 0);
    db.funding()
        .add_manager(amif.id, ministry)
        .await
        .expect("add");
    db.funding()
        .add_manager(amif.id, ministry)
        .await
        .expect("add twice is a no-op");
    assert_eq!(db.funding().managers(amif.id).await.expect("m"), [ministry]);
    assert_eq!(db.funding().count_managed_by(ministry).await.expect("c"), 1);
    let err = db
        .funding()
        .add_manager(amif.id, ActorId::generate())
        .await
        .expect_err("unknown actor");
    assert!(
        matches!(&err, RepoError::Invalid(e) if e.field == "actorId"),
        "{err:?}"
    );
    db.funding()
        .remove_manager(amif.id, ministry)
        .await
        .expect("remove");
    assert!(db.funding().managers(amif.id).await.expect("m").is_empty());

    let text = |bp: i64| RuleText {
        description: "Outermost regions".into(),
        max_rate: domain::money::Rate::from_basis_points(bp).expect("rate"),
        legal_reference: "Regulation (EU) 2021/1060, Article 112".into(),
        verified: false,
        note: None,
    };
    let rule = db
        .funding()
        .create_rule(
            amif.id,
            CeilingCase::parse("OUTERMOST").expect("case"),
            text(8500),
        )
        .await
        .expect("create");
    assert_eq!(rule.max_rate.basis_points(), 8500);
    let err = db
        .funding()
        .create_rule(
            amif.id,
            CeilingCase::parse("OUTERMOST").expect("case"),
            text(8500),
        )
        .await
        .expect_err("same case twice");
    assert!(
        matches!(&err, RepoError::Conflict { field, .. } if field == "ceilingCase"),
        "{err:?}"
    );
    let corrected = db
        .funding()
        .update_rule(rule.id, text(8000), None)
        .await
        .expect("update");
    assert_eq!(corrected.max_rate.basis_points(), 8000);
    assert_eq!(corrected.case.as_str(), "OUTERMOST");

    let verified = db
        .actors()
        .set_verified(ministry, true, None)
        .await
        .expect("verify");
    assert!(verified.verified);
    assert!(db.actors().get(ministry).await.expect("get").verified);
}

/// Websites and addresses are read back by their shape, not parsed again: what the parsers
/// wrote reads back equal, and a stored value of the wrong shape (written around the
/// registry) is a corrupt row, by the actor and the field, on every read path.
async fn stored_contact_details_read_back_and_a_malformed_one_is_corrupt(db: &Database) {
    use sea_orm::ConnectionTrait;
    let mut parts = profile(ActorKind::Ngo, "Contact Details NGO", "DE");
    parts.website = Some(Website::parse(" HTTPS://Beispiel-Verein.DE/Integration ").expect("w"));
    parts.email = Some(Email::parse("kontakt@beispiel-verein.de").expect("e"));
    let id = actor(db, parts.clone(), None).await;
    let stored = db.actors().get(id).await.expect("get");
    assert_eq!(stored.profile.parts(), &parts);
    assert_eq!(
        stored.profile.parts().website.as_ref().map(Website::as_str),
        Some("https://beispiel-verein.de/Integration")
    );

    // A column written around the registry, by raw SQL.
    let set = |column: &str, value: &str| {
        let sql =
            format!("UPDATE actor SET {column} = '{value}' WHERE name = 'Contact Details NGO'");
        async move {
            db.connection()
                .execute_unprepared(&sql)
                .await
                .expect("update around the registry");
        }
    };
    // Each column malformed, then put back as the registry wrote it, for the next one.
    for (column, malformed, kept) in [
        (
            "website",
            "ftp://beispiel-verein.de/",
            "https://beispiel-verein.de/Integration",
        ),
        ("email", "kontakt", "kontakt@beispiel-verein.de"),
    ] {
        set(column, malformed).await;
        for read in [
            db.actors().get(id).await.map(|_| ()),
            db.actors().find_by_ids(&[id]).await.map(|_| ()),
        ] {
            match read {
                Err(RepoError::Corrupt(message)) => {
                    assert!(message.contains(&id.as_uuid().to_string()), "{message}");
                    assert!(message.contains(column), "{message}");
                }
                other => panic!("{column} `{malformed}`: {other:?}"),
            }
        }
        set(column, kept).await;
    }
    assert_eq!(
        db.actors().get(id).await.expect("get").profile.parts(),
        &parts
    );
}

/// A brief (what a list of members shows) is the actor's id, kind, name and country as the
/// whole actor reads them; ids that name no actor are left out; a brief whose country was
/// corrupted around the registry is reported by the actor and the field.
async fn actor_briefs_match_the_actors_and_a_corrupt_one_is_reported(db: &Database) {
    use sea_orm::ConnectionTrait;
    let ngo = actor(db, profile(ActorKind::Ngo, "Brief NGO", "DE"), None).await;
    let region = actor(db, profile(ActorKind::Region, "Brief Region", "EL"), None).await;
    let nobody = ActorId::from_uuid(uuid::Uuid::from_u128(7));
    assert!(
        db.actors()
            .briefs_by_ids(&[])
            .await
            .expect("none")
            .is_empty()
    );

    let mut briefs = db
        .actors()
        .briefs_by_ids(&[region, nobody, ngo])
        .await
        .expect("briefs");
    briefs.sort_by(|a, b| a.name.cmp(&b.name));
    let mut expected = Vec::new();
    for id in [ngo, region] {
        expected.push(ActorBrief::from(&db.actors().get(id).await.expect("get")));
    }
    assert_eq!(briefs, expected);
    assert_eq!(
        (
            briefs[1].kind,
            briefs[1].country.as_str(),
            briefs[1].name.as_str()
        ),
        (ActorKind::Region, "EL", "Brief Region")
    );

    // A country written around the registry, by raw SQL (the kind has a CHECK constraint of the
    // database's own, so it cannot be).
    let set =
        |country: &str| format!("UPDATE actor SET country = '{country}' WHERE name = 'Brief NGO'");
    let conn = db.connection();
    conn.execute_unprepared(&set("XX"))
        .await
        .expect("update around the registry");
    match db.actors().briefs_by_ids(&[ngo, region]).await {
        Err(RepoError::Corrupt(message)) => {
            assert!(message.contains(&ngo.as_uuid().to_string()), "{message}");
            assert!(message.contains("country"), "{message}");
        }
        other => panic!("country `XX`: {other:?}"),
    }
    conn.execute_unprepared(&set("DE")).await.expect("restore");
    assert_eq!(
        db.actors().briefs_by_ids(&[ngo]).await.expect("brief"),
        vec![expected[0].clone()]
    );
}
