//! The demo data set, built only from the public facts in `shared/design/DOMAIN.md`: the
//! IncluCities mentoring pairs, the three Spanish regional community-sponsorship programmes,
//! the SHARE Network and the Cities and Regions for Integration initiative.
//!
//! Loading is idempotent: actors are matched by kind, country and name, partnerships by title,
//! members by actor, the programme by code, allocations by partnership and programme, so a
//! second run creates nothing. Where the public record gives only years, dates are the first
//! (and last) day of those years, and the description says so. The public record names the
//! funds (AMIF for IncluCities and the SHARE projects) but not the amounts: the demo's AMIF
//! programme and allocations carry demo figures, marked as such in the programme's title and
//! the allocations' references (`DEMO-FIGURES-...`). The Basque Government's EUR 300,000 is
//! regional money, not an EU stream, and stays in Auzolana II's description.

use std::collections::HashMap;

use chrono::NaiveDate;
use domain::actor::{ActorKind, ActorProfile, ActorProfileParts};
use domain::ids::ActorId;
use domain::membership::{Role, RoleSet};
use domain::partnership::{
    GovernanceLevel, PartnershipDetails, PartnershipDetailsParts, PartnershipKind,
    PartnershipStatus, Theme,
};
use domain::territory::{CountryCode, NutsRegion};
use persistence::repo::{ActorFilter, PartnershipFilter};
use persistence::{Database, PageRequest, RepoError};

struct DemoActor {
    key: &'static str,
    kind: ActorKind,
    name: &'static str,
    country: &'static str,
    nuts: Option<&'static str>,
    parent: Option<&'static str>,
}

const fn actor(
    key: &'static str,
    kind: ActorKind,
    name: &'static str,
    country: &'static str,
) -> DemoActor {
    DemoActor {
        key,
        kind,
        name,
        country,
        nuts: None,
        parent: None,
    }
}

const fn region(key: &'static str, name: &'static str, nuts: &'static str) -> DemoActor {
    DemoActor {
        key,
        kind: ActorKind::Region,
        name,
        country: "ES",
        nuts: Some(nuts),
        parent: None,
    }
}

const fn town(
    key: &'static str,
    name: &'static str,
    country: &'static str,
    parent: Option<&'static str>,
) -> DemoActor {
    DemoActor {
        key,
        kind: ActorKind::Municipality,
        name,
        country,
        nuts: None,
        parent,
    }
}

use ActorKind::{
    CommunityGroup, EuInstitution, InternationalOrganisation, NationalAuthority, Network, Ngo,
};

/// Parents come before their children.
const ACTORS: &[DemoActor] = &[
    actor(
        "cemr",
        Network,
        "Council of European Municipalities and Regions (CEMR)",
        "BE",
    ),
    town("brussels", "Brussels", "BE", None),
    town("saint-jean", "Saint-Jean-de-la-Ruelle", "FR", None),
    town("mechelen", "Mechelen", "BE", None),
    town("capaci", "Capaci", "IT", None),
    town("fuenlabrada", "Fuenlabrada", "ES", None),
    town("livadia", "Livadia", "EL", None),
    town("schaerbeek", "Schaerbeek", "BE", None),
    town("jelgava", "Jelgava", "LV", None),
    region("basque", "Basque Government", "ES21"),
    actor(
        "ssm",
        NationalAuthority,
        "Spanish State Secretariat for Migration",
        "ES",
    ),
    actor("unhcr", InternationalOrganisation, "UNHCR", "CH"),
    actor("caritas", Ngo, "Caritas", "ES"),
    actor("jesuits", Ngo, "Jesuits", "ES"),
    town("bilbao", "Bilbao", "ES", Some("basque")),
    town("donostia", "Donostia", "ES", Some("basque")),
    town("vitoria", "Vitoria", "ES", Some("basque")),
    actor(
        "basque-sponsors",
        CommunityGroup,
        "Local sponsor groups (Auzolana II)",
        "ES",
    ),
    region("valencia-region", "Generalitat Valenciana", "ES52"),
    actor("sjm", Ngo, "Servicio Jesuita a Migrantes", "ES"),
    actor(
        "caritas-valencia",
        Ngo,
        "Diocesan Caritas of the Comunitat Valenciana (three dioceses)",
        "ES",
    ),
    town("valencia", "Valencia", "ES", Some("valencia-region")),
    town("alaquas", "Alaquas", "ES", Some("valencia-region")),
    town("calp", "Calp", "ES", Some("valencia-region")),
    town("almassora", "Almassora", "ES", Some("valencia-region")),
    town("cocentaina", "Cocentaina", "ES", Some("valencia-region")),
    region("navarre", "Government of Navarre", "ES22"),
    actor(
        "padre-lasa",
        Ngo,
        "Fundacion San Francisco Javier - Centro Padre Lasa",
        "ES",
    ),
    actor("icmc", Ngo, "ICMC Europe", "BE"),
    actor(
        "cor",
        EuInstitution,
        "European Committee of the Regions",
        "BE",
    ),
    actor("aer", Network, "Assembly of European Regions (AER)", "BE"),
    actor(
        "cpmr",
        Network,
        "Conference of Peripheral Maritime Regions (CPMR)",
        "FR",
    ),
    actor("eurocities", Network, "Eurocities", "BE"),
    actor(
        "commission",
        EuInstitution,
        "European Commission (DG HOME)",
        "BE",
    ),
];

/// The demo's AMIF programme: the Commission's Union actions, which financed IncluCities and
/// the SHARE projects. Its envelope and every amount below are demo figures, not public ones:
/// the public record names the fund, not the amounts.
const DEMO_PROGRAMME_CODE: &str = "DEMOAMIFUNIONACTIONS";

struct DemoAllocation {
    partnership: &'static str,
    case: &'static str,
    eligible: &'static str,
    eu: &'static str,
    awarded_on: (i32, u32, u32),
    closed: bool,
    reference: &'static str,
}

const ALLOCATIONS: &[DemoAllocation] = &[
    DemoAllocation {
        partnership: "IncluCities: Brussels mentoring Saint-Jean-de-la-Ruelle",
        case: "SPECIFIC_ACTION",
        eligible: "125000.00",
        eu: "112500.00",
        awarded_on: (2020, 1, 15),
        closed: true,
        reference: "DEMO-FIGURES-INCLUCITIES-1",
    },
    DemoAllocation {
        partnership: "IncluCities: Mechelen mentoring Capaci",
        case: "SPECIFIC_ACTION",
        eligible: "125000.00",
        eu: "112500.00",
        awarded_on: (2020, 1, 15),
        closed: true,
        reference: "DEMO-FIGURES-INCLUCITIES-2",
    },
    DemoAllocation {
        partnership: "IncluCities: Fuenlabrada mentoring Livadia",
        case: "SPECIFIC_ACTION",
        eligible: "125000.00",
        eu: "112500.00",
        awarded_on: (2020, 1, 15),
        closed: true,
        reference: "DEMO-FIGURES-INCLUCITIES-3",
    },
    DemoAllocation {
        partnership: "IncluCities: Schaerbeek mentoring Jelgava",
        case: "SPECIFIC_ACTION",
        eligible: "125000.00",
        eu: "112500.00",
        awarded_on: (2020, 1, 15),
        closed: true,
        reference: "DEMO-FIGURES-INCLUCITIES-4",
    },
    DemoAllocation {
        partnership: "SHARE Network",
        case: "STANDARD",
        eligible: "1000000.00",
        eu: "750000.00",
        awarded_on: (2021, 6, 1),
        closed: false,
        reference: "DEMO-FIGURES-SHARE-QSN-PLUS",
    },
];

struct DemoPartnership {
    title: &'static str,
    description: &'static str,
    kind: PartnershipKind,
    themes: &'static [Theme],
    levels: &'static [GovernanceLevel],
    start: (i32, u32, u32),
    end: Option<(i32, u32, u32)>,
    status: PartnershipStatus,
    /// Actor key and roles; the first member is the LEAD.
    members: &'static [(&'static str, &'static [Role])],
}

use GovernanceLevel::{Eu, Local, National, Regional};
use PartnershipKind::{CityToCityMentoring, NetworkInitiative, RegionalSponsorshipProgramme};
use PartnershipStatus::{Active, Completed};
use Role::{Lead, Mentee, Mentor, Partner, SponsorGroup};
use Theme::{CommunitySponsorship, ResettlementAndComplementaryPathways};

const INCLUCITIES: &str = "IncluCities (2020-2022), city-to-city mentoring on migrant integration led by CEMR, funded by AMIF. Each pair worked with its national association of local governments. Dates are the first and last day of the years the public record gives.";

const SPONSORSHIP: &[Theme] = &[CommunitySponsorship, ResettlementAndComplementaryPathways];

const PARTNERSHIPS: &[DemoPartnership] = &[
    DemoPartnership {
        title: "IncluCities: Brussels mentoring Saint-Jean-de-la-Ruelle",
        description: INCLUCITIES,
        kind: CityToCityMentoring,
        themes: &[],
        levels: &[Local, Eu],
        start: (2020, 1, 1),
        end: Some((2022, 12, 31)),
        status: Completed,
        members: &[
            ("cemr", &[Lead]),
            ("brussels", &[Mentor]),
            ("saint-jean", &[Mentee]),
        ],
    },
    DemoPartnership {
        title: "IncluCities: Mechelen mentoring Capaci",
        description: INCLUCITIES,
        kind: CityToCityMentoring,
        themes: &[],
        levels: &[Local, Eu],
        start: (2020, 1, 1),
        end: Some((2022, 12, 31)),
        status: Completed,
        members: &[
            ("cemr", &[Lead]),
            ("mechelen", &[Mentor]),
            ("capaci", &[Mentee]),
        ],
    },
    DemoPartnership {
        title: "IncluCities: Fuenlabrada mentoring Livadia",
        description: INCLUCITIES,
        kind: CityToCityMentoring,
        themes: &[],
        levels: &[Local, Eu],
        start: (2020, 1, 1),
        end: Some((2022, 12, 31)),
        status: Completed,
        members: &[
            ("cemr", &[Lead]),
            ("fuenlabrada", &[Mentor]),
            ("livadia", &[Mentee]),
        ],
    },
    DemoPartnership {
        title: "IncluCities: Schaerbeek mentoring Jelgava",
        description: INCLUCITIES,
        kind: CityToCityMentoring,
        themes: &[],
        levels: &[Local, Eu],
        start: (2020, 1, 1),
        end: Some((2022, 12, 31)),
        status: Completed,
        members: &[
            ("cemr", &[Lead]),
            ("schaerbeek", &[Mentor]),
            ("jelgava", &[Mentee]),
        ],
    },
    DemoPartnership {
        title: "Auzolana II",
        description: "Regional community-sponsorship programme of the Basque Country (2019), financed by the Basque Government with EUR 300,000 over 27 months. The start date is the first day of the year the public record gives.",
        kind: RegionalSponsorshipProgramme,
        themes: SPONSORSHIP,
        levels: &[Local, Regional, National],
        start: (2019, 1, 1),
        end: None,
        status: Active,
        members: &[
            ("basque", &[Lead]),
            ("ssm", &[Partner]),
            ("unhcr", &[Partner]),
            ("caritas", &[Partner]),
            ("jesuits", &[Partner]),
            ("bilbao", &[Partner]),
            ("donostia", &[Partner]),
            ("vitoria", &[Partner]),
            ("basque-sponsors", &[SponsorGroup]),
        ],
    },
    DemoPartnership {
        title: "Agermanament Comunitari Valencia",
        description: "Regional community-sponsorship programme of the Comunitat Valenciana (2020-), with the Servicio Jesuita a Migrantes and three diocesan Caritas; regional funding. The start date is the first day of the year the public record gives.",
        kind: RegionalSponsorshipProgramme,
        themes: SPONSORSHIP,
        levels: &[Local, Regional],
        start: (2020, 1, 1),
        end: None,
        status: Active,
        members: &[
            ("valencia-region", &[Lead]),
            ("sjm", &[Partner]),
            ("caritas-valencia", &[Partner]),
            ("valencia", &[Partner]),
            ("alaquas", &[Partner]),
            ("calp", &[Partner]),
            ("almassora", &[Partner]),
            ("cocentaina", &[Partner]),
        ],
    },
    DemoPartnership {
        title: "SOMOS (Navarra, Tudela)",
        description: "Regional community-sponsorship programme of Navarre in Tudela (2021-), funded by AMIF through the SHARE QSN+ project. The start date is the first day of the year the public record gives.",
        kind: RegionalSponsorshipProgramme,
        themes: SPONSORSHIP,
        levels: &[Local, Regional],
        start: (2021, 1, 1),
        end: None,
        status: Active,
        members: &[("navarre", &[Lead]), ("padre-lasa", &[Partner])],
    },
    DemoPartnership {
        title: "SHARE Network",
        description: "Network initiative led by ICMC Europe since 2012: 4,000+ stakeholders in 27 countries, with a focus on towns under 150,000 people and rural areas; AMIF-funded projects SHARE Integration (2018-19), QSN and QSN+. The start date is the first day of the year the public record gives.",
        kind: NetworkInitiative,
        themes: &[],
        levels: &[Local, Regional, National, Eu],
        start: (2012, 1, 1),
        end: None,
        status: Active,
        members: &[("icmc", &[Lead])],
    },
    DemoPartnership {
        title: "Cities and Regions for Integration",
        description: "EU initiative of the European Committee of the Regions (2019-) with AER, CPMR, CEMR and Eurocities. The start date is the first day of the year the public record gives.",
        kind: NetworkInitiative,
        themes: &[],
        levels: &[Local, Regional, Eu],
        start: (2019, 1, 1),
        end: None,
        status: Active,
        members: &[
            ("cor", &[Lead]),
            ("aer", &[Partner]),
            ("cpmr", &[Partner]),
            ("cemr", &[Partner]),
            ("eurocities", &[Partner]),
        ],
    },
];

fn date((y, m, d): (i32, u32, u32)) -> Result<NaiveDate, String> {
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| format!("bad demo date {y}-{m}-{d}"))
}

fn repo(e: RepoError) -> String {
    e.to_string()
}

/// Loads the demo data; returns a one-line summary of what it created.
pub async fn seed(db: &Database) -> Result<String, String> {
    let mut ids: HashMap<&str, ActorId> = HashMap::new();
    let (mut actors_created, mut partnerships_created, mut members_added) = (0, 0, 0);
    for a in ACTORS {
        let country = CountryCode::parse(a.country).map_err(|e| e.to_string())?;
        let existing = db
            .actors()
            .list(
                &ActorFilter {
                    kinds: vec![a.kind],
                    countries: vec![country],
                    name_contains: Some(a.name.to_owned()),
                    include_archived: true,
                    ..Default::default()
                },
                &PageRequest::first(100),
            )
            .await
            .map_err(repo)?
            .items
            .into_iter()
            .map(|(_, actor)| actor)
            .find(|actor| actor.profile.parts().name == a.name);
        let id = match existing {
            Some(actor) => actor.id,
            None => {
                let profile = ActorProfile::new(ActorProfileParts {
                    kind: a.kind,
                    name: a.name.to_owned(),
                    country,
                    nuts: a
                        .nuts
                        .map(|code| NutsRegion::parse(code, 2021))
                        .transpose()
                        .map_err(|e| e.to_string())?,
                    lau: None,
                    population: None,
                    pic: None,
                    vat_number: None,
                    wikidata_id: None,
                    website: None,
                    email: None,
                })
                .map_err(|e| e.to_string())?;
                let parent = a.parent.and_then(|key| ids.get(key).copied());
                actors_created += 1;
                db.actors().create(profile, parent).await.map_err(repo)?.id
            }
        };
        ids.insert(a.key, id);
    }
    let mut partnership_ids: HashMap<&str, domain::ids::PartnershipId> = HashMap::new();
    for p in PARTNERSHIPS {
        let existing = db
            .partnerships()
            .list(
                &PartnershipFilter {
                    title_contains: Some(p.title.to_owned()),
                    ..Default::default()
                },
                Default::default(),
                &PageRequest::first(100),
            )
            .await
            .map_err(repo)?
            .items
            .into_iter()
            .map(|(_, partnership)| partnership)
            .find(|partnership| partnership.details.parts().title == p.title);
        let start = date(p.start)?;
        let key_id = |key: &str| {
            ids.get(key)
                .copied()
                .ok_or_else(|| format!("unknown demo actor {key}"))
        };
        let partnership = match existing {
            Some(partnership) => partnership,
            None => {
                let details = PartnershipDetails::new(PartnershipDetailsParts {
                    title: p.title.to_owned(),
                    description: p.description.to_owned(),
                    kind: p.kind,
                    themes: p.themes.iter().copied().collect(),
                    governance_levels: p.levels.iter().copied().collect(),
                    start_date: start,
                    end_date: p.end.map(date).transpose()?,
                })
                .map_err(|e| e.to_string())?;
                let (lead_key, lead_roles) = p
                    .members
                    .first()
                    .ok_or("a demo partnership without members")?;
                let roles = RoleSet::parse(lead_roles).map_err(|e| e.to_string())?;
                partnerships_created += 1;
                db.partnerships()
                    .create(details, key_id(lead_key)?, roles, start)
                    .await
                    .map_err(repo)?
            }
        };
        for (key, roles) in p.members.iter().skip(1) {
            let roles = RoleSet::parse(roles).map_err(|e| e.to_string())?;
            match db
                .memberships()
                .add(partnership.id, key_id(key)?, roles, start)
                .await
            {
                Ok(_) => members_added += 1,
                // Already a member (a second run), or the partnership is closed already.
                Err(RepoError::Conflict { .. }) => {}
                Err(e) => return Err(repo(e)),
            }
        }
        partnership_ids.insert(p.title, partnership.id);
        let mut status = partnership.status;
        while status != p.status {
            let next = match status {
                PartnershipStatus::Draft => PartnershipStatus::Active,
                PartnershipStatus::Active => PartnershipStatus::Completed,
                _ => break,
            };
            status = db
                .partnerships()
                .change_status(partnership.id, next, None)
                .await
                .map_err(repo)?
                .status;
        }
    }
    let commission = ids
        .get("commission")
        .copied()
        .ok_or("the demo has no Commission")?;
    let allocations_created = seed_funding(db, commission, &partnership_ids).await?;
    Ok(format!(
        "{actors_created} actors, {partnerships_created} partnerships, {members_added} memberships and {allocations_created} allocations created"
    ))
}

/// The demo programme and its allocations (demo figures, referenced `DEMO-FIGURES-...`).
async fn seed_funding(
    db: &Database,
    commission: ActorId,
    partnerships: &HashMap<&str, domain::ids::PartnershipId>,
) -> Result<usize, String> {
    use domain::funding::{AllocationStatus, CeilingCase, ProgrammeDetails, ProgrammeParts};
    use domain::money::Euros;
    use persistence::repo::{AllocationFilter, NewAllocation, ProgrammeFilter};

    let amif = db
        .funding()
        .stream_by_code("AMIF")
        .await
        .map_err(repo)?
        .ok_or("the AMIF stream is missing")?;
    let existing = db
        .programmes()
        .list(
            &ProgrammeFilter {
                streams: vec![amif.id],
                ..Default::default()
            },
            &PageRequest::first(100),
        )
        .await
        .map_err(repo)?
        .items
        .into_iter()
        .map(|(_, p)| p)
        .find(|p| p.details.parts().code == DEMO_PROGRAMME_CODE);
    let programme = match existing {
        Some(p) => p.id,
        None => {
            let details = ProgrammeDetails::new(ProgrammeParts {
                code: DEMO_PROGRAMME_CODE.to_owned(),
                title: "AMIF Union actions (demo figures)".to_owned(),
                stream_id: amif.id,
                managing_authority: commission,
                country: CountryCode::parse("BE").map_err(|e| e.to_string())?,
                nuts: None,
                category: None,
                envelope: Euros::parse("envelope", "10000000").map_err(|e| e.to_string())?,
            })
            .map_err(|e| e.to_string())?;
            db.programmes().create(details).await.map_err(repo)?.id
        }
    };
    let mut created = 0;
    for a in ALLOCATIONS {
        let partnership = *partnerships
            .get(a.partnership)
            .ok_or_else(|| format!("unknown demo partnership {}", a.partnership))?;
        let already = db
            .allocations()
            .count(&AllocationFilter {
                partnership: Some(partnership),
                programmes: vec![programme],
                ..Default::default()
            })
            .await
            .map_err(repo)?;
        if already > 0 {
            continue;
        }
        let allocation = db
            .allocations()
            .create(NewAllocation {
                partnership_id: partnership,
                programme_id: programme,
                ceiling_case: Some(CeilingCase::parse(a.case).map_err(|e| e.to_string())?),
                eligible_cost: Euros::parse("eligibleCost", a.eligible)
                    .map_err(|e| e.to_string())?,
                eu_contribution: Euros::parse("euContribution", a.eu).map_err(|e| e.to_string())?,
                national_contribution: Euros::ZERO,
                reference: Some(a.reference.to_owned()),
            })
            .await
            .map_err(repo)?;
        db.allocations()
            .change_status(
                allocation.id,
                AllocationStatus::Awarded,
                Some(date(a.awarded_on)?),
                None,
            )
            .await
            .map_err(repo)?;
        if a.closed {
            db.allocations()
                .change_status(allocation.id, AllocationStatus::Closed, None, None)
                .await
                .map_err(repo)?;
        }
        created += 1;
    }
    Ok(created)
}
