//! Synthetic registry data for benchmarks and load tests: `registry seed-synthetic --scale N`
//! writes, at scale 1, 10,000 actors, 50,000 partnerships, 250,000 memberships and 100,000
//! allocations with plausible distributions: actor kinds and countries, regions with NUTS 2
//! codes and municipalities in them with NUTS 3 codes, websites (90%) and e-mail addresses
//! (60%), one to three themes, 70% of
//! partnerships ACTIVE, allocations over every stream's programmes with national
//! co-financing, about half of an active partnership's decided (awarded, closed, rejected).
//! The data breaks none of the rules `auditFindings` checks. The same scale always writes the
//! same rows (a seeded generator, ids included).
//! Rows go in by multi-row INSERTs in one transaction, audited as one import event.

use chrono::{Datelike, NaiveDate};
use domain::identifiers::{Email, Website};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};
use serde_json::json;

use crate::entities::{
    actor, allocation, ceiling_rule, funding_stream, membership, partnership, partnership_theme,
    programme,
};
use crate::{Database, RepoError};

/// Rows per INSERT: far below SQLite's limit on bound parameters.
const BATCH: usize = 500;

const COUNTRIES: [&str; 12] = [
    "ES", "IT", "FR", "DE", "BE", "EL", "PT", "PL", "NL", "AT", "SE", "LV",
];
const KINDS: [(&str, u32); 8] = [
    ("MUNICIPALITY", 50),
    ("REGION", 5),
    ("NATIONAL_AUTHORITY", 2),
    ("NGO", 25),
    ("COMMUNITY_GROUP", 10),
    ("NETWORK", 5),
    ("EU_INSTITUTION", 1),
    ("INTERNATIONAL_ORGANISATION", 2),
];
const THEMES: [&str; 10] = [
    "EDUCATION_AND_TRAINING",
    "ACCESS_TO_BASIC_SERVICES",
    "HOUSING",
    "EMPLOYMENT",
    "LANGUAGE_LEARNING",
    "HEALTH",
    "ACTIVE_PARTICIPATION_AND_SOCIAL_INCLUSION",
    "COMMUNITY_SPONSORSHIP",
    "RESETTLEMENT_AND_COMPLEMENTARY_PATHWAYS",
    "RECEPTION",
];
const PARTNERSHIP_KINDS: [&str; 5] = [
    "CITY_TO_CITY_MENTORING",
    "REGIONAL_SPONSORSHIP_PROGRAMME",
    "MULTISTAKEHOLDER_PLATFORM",
    "NETWORK_INITIATIVE",
    "PROJECT_CONSORTIUM",
];

/// What a run wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntheticCounts {
    pub actors: u64,
    pub partnerships: u64,
    pub memberships: u64,
    pub allocations: u64,
}

fn uuid(rng: &mut StdRng) -> uuid::Uuid {
    uuid::Builder::from_random_bytes(rng.random()).into_uuid()
}

fn kind(rng: &mut StdRng) -> &'static str {
    let total: u32 = KINDS.iter().map(|(_, w)| w).sum();
    let mut pick = rng.random_range(0..total);
    for (kind, weight) in KINDS {
        if pick < weight {
            return kind;
        }
        pick -= weight;
    }
    "NGO"
}

impl Database {
    /// Writes the synthetic data set of `scale` (0 < scale <= 100) into an empty registry.
    pub async fn seed_synthetic(&self, scale: f64) -> Result<SyntheticCounts, RepoError> {
        if !(scale > 0.0 && scale <= 100.0) {
            return Err(
                domain::ValidationError::new("scale", "must be above 0 and at most 100").into(),
            );
        }
        let count = |n: f64| -> usize { ((n * scale).round() as usize).max(1) };
        let (n_actors, n_partnerships, n_allocations) =
            (count(10_000.0), count(50_000.0), count(100_000.0));
        let tx = self.begin_write().await?;
        if actor::Entity::find().count(&tx.txn).await? > 0 {
            return Err(RepoError::conflict(
                "scale",
                "synthetic data goes into an empty registry (this one has actors)",
            ));
        }
        let mut rng = StdRng::seed_from_u64(0x5EED_2026 ^ scale.to_bits());
        let now = super::repo_now();
        // In a fixed order: the rows drawn from them must not depend on how the database
        // happens to return them.
        let streams = funding_stream::Entity::find()
            .order_by_asc(funding_stream::Column::Code)
            .all(&tx.txn)
            .await?;
        let rules = ceiling_rule::Entity::find()
            .order_by_asc(ceiling_rule::Column::CaseCode)
            .order_by_asc(ceiling_rule::Column::Id)
            .all(&tx.txn)
            .await?;

        // Actors: regions first (parents of municipalities), then everyone else. A region has
        // a NUTS 2 code of its country; a municipality lies in one of its country's regions
        // (drawn), with a NUTS 3 code inside the region's.
        let mut actors = Vec::with_capacity(n_actors);
        let mut regions: Vec<(uuid::Uuid, &str, String)> = Vec::new();
        for i in 0..n_actors {
            let id = uuid(&mut rng);
            let country = COUNTRIES[rng.random_range(0..COUNTRIES.len())];
            let kind = if i < COUNTRIES.len() * 3 {
                "REGION"
            } else {
                kind(&mut rng)
            };
            let (parent, nuts) = match kind {
                "REGION" => {
                    let code = format!(
                        "{country}{}{}",
                        rng.random_range(1..=9),
                        rng.random_range(1..=9)
                    );
                    regions.push((id, country, code.clone()));
                    (None, Some(code))
                }
                "MUNICIPALITY" => {
                    let own: Vec<&(uuid::Uuid, &str, String)> =
                        regions.iter().filter(|(_, c, _)| *c == country).collect();
                    if own.is_empty() {
                        (None, None)
                    } else {
                        let (region, _, code) = own[rng.random_range(0..own.len())];
                        let nuts3 = format!("{code}{}", rng.random_range(1..=9));
                        (Some(*region), Some(nuts3))
                    }
                }
                _ => (None, None),
            };
            let name = format!("Synthetic {} {i:06}", kind.to_lowercase().replace('_', " "));
            // Contact details as most organisations have them (a website for nine in ten, an
            // address for six in ten), in the form the parsers store: a page that shows actors
            // reads them too. Drawn from the index, not the generator, so that the other rows
            // stay those of earlier versions.
            let slug = format!("synthetic-{}-{i:06}", kind.to_lowercase().replace('_', "-"));
            let website = (i % 10 != 9)
                .then(|| Website::parse(&format!("https://{slug}.example.org/integration")))
                .transpose()?
                .map(|w| w.as_str().to_owned());
            let email = (i % 10 < 6)
                .then(|| Email::parse(&format!("info@{slug}.example.org")))
                .transpose()?
                .map(|e| e.as_str().to_owned());
            actors.push(actor::ActiveModel {
                id: Set(id),
                kind: Set(kind.to_owned()),
                name_folded: Set(name.to_lowercase()),
                name: Set(name),
                country: Set(country.to_owned()),
                nuts_version: Set(nuts.as_ref().map(|_| 2021)),
                nuts_code: Set(nuts),
                lau_code: Set(None),
                lau_year: Set(None),
                population: Set((kind == "MUNICIPALITY").then(|| rng.random_range(800..900_000))),
                parent_id: Set(parent),
                pic: Set(None),
                vat_number: Set(None),
                wikidata_id: Set(None),
                website: Set(website),
                email: Set(email),
                verified: Set(false),
                archived_at: Set(None),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
            });
        }
        let actor_ids: Vec<uuid::Uuid> = actors
            .iter()
            .filter_map(|a| match &a.id {
                sea_orm::ActiveValue::Set(id) => Some(*id),
                _ => None,
            })
            .collect();
        let authority = actor_ids[0];
        for chunk in actors.chunks(BATCH) {
            actor::Entity::insert_many(chunk.to_vec())
                .exec(&tx.txn)
                .await?;
        }

        // One programme per stream and country, with a roomy envelope.
        let mut programmes = Vec::new();
        for stream in &streams {
            for country in COUNTRIES {
                let category = rules
                    .iter()
                    .filter(|r| r.stream_id == stream.id)
                    .map(|r| r.case_code.clone())
                    .find(|c| c.ends_with("REGION"));
                programmes.push(programme::ActiveModel {
                    id: Set(uuid(&mut rng)),
                    stream_id: Set(stream.id),
                    code: Set(format!("SYN{}{country}", stream.code.replace('_', ""))),
                    title: Set(format!("Synthetic {} programme {country}", stream.code)),
                    managing_authority_id: Set(authority),
                    country: Set(country.to_owned()),
                    nuts_code: Set(None),
                    nuts_version: Set(None),
                    category_case: Set(if stream.category_required {
                        category
                    } else {
                        None
                    }),
                    // EUR 10 billion a unit of scale: the awards drawn below never
                    // overdraw it.
                    envelope_cents: Set(1_000_000_000_000 * (scale.ceil() as i64).max(1)),
                    version: Set(1),
                    created_at: Set(now),
                    updated_at: Set(now),
                });
            }
        }
        let programme_rows: Vec<(uuid::Uuid, uuid::Uuid, Option<String>)> = programmes
            .iter()
            .filter_map(|p| match (&p.id, &p.stream_id, &p.category_case) {
                (Set(id), Set(stream), Set(category)) => Some((*id, *stream, category.clone())),
                _ => None,
            })
            .collect();
        programme::Entity::insert_many(programmes)
            .exec(&tx.txn)
            .await?;

        // Partnerships with their themes and five members each (the first one LEADs).
        let start = NaiveDate::from_ymd_opt(2021, 1, 1).unwrap_or_default();
        let mut partnership_ids = Vec::with_capacity(n_partnerships);
        // Whether each partnership is ACTIVE: only those have decided allocations.
        let mut partnership_active = Vec::with_capacity(n_partnerships);
        let (mut rows, mut themes, mut members) = (Vec::new(), Vec::new(), Vec::new());
        let mut n_memberships = 0_u64;
        for i in 0..n_partnerships {
            let id = uuid(&mut rng);
            partnership_ids.push(id);
            let mut own: Vec<&str> = (0..rng.random_range(1..=3))
                .map(|_| THEMES[rng.random_range(0..THEMES.len())])
                .collect();
            own.sort_unstable();
            own.dedup();
            // The key in the domain's order, as every other writer stores it (THEME groups
            // by it).
            let set = own
                .iter()
                .map(|code| {
                    domain::partnership::Theme::from_code(code)
                        .ok_or_else(|| RepoError::Corrupt(format!("synthetic theme {code}")))
                })
                .collect::<Result<std::collections::BTreeSet<_>, _>>()?;
            let title = format!("Synthetic partnership {i:06}");
            let start_date = start + chrono::Days::new(rng.random_range(0..1500));
            let active = rng.random_range(0..10) < 7;
            partnership_active.push(active);
            rows.push(partnership::ActiveModel {
                id: Set(id),
                title_folded: Set(title.to_lowercase()),
                title: Set(title),
                description: Set(String::new()),
                kind: Set(
                    PARTNERSHIP_KINDS[rng.random_range(0..PARTNERSHIP_KINDS.len())].to_owned(),
                ),
                governance_levels: Set("LOCAL,REGIONAL".to_owned()),
                themes_key: Set(crate::repo::partnerships::themes_key(&set)),
                start_date: Set(start_date),
                end_date: Set(None),
                status: Set(if active { "ACTIVE" } else { "DRAFT" }.to_owned()),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
            });
            for theme in own {
                themes.push(partnership_theme::ActiveModel {
                    partnership_id: Set(id),
                    theme: Set(theme.to_owned()),
                });
            }
            let mentoring = matches!(&rows.last().map(|r| r.kind.clone()), Some(Set(k)) if k == "CITY_TO_CITY_MENTORING");
            let mut chosen: Vec<uuid::Uuid> = Vec::new();
            while chosen.len() < 5.min(actor_ids.len()) {
                let a = actor_ids[rng.random_range(0..actor_ids.len())];
                if !chosen.contains(&a) {
                    chosen.push(a);
                }
            }
            for (n, actor_id) in chosen.into_iter().enumerate() {
                n_memberships += 1;
                members.push(membership::ActiveModel {
                    id: Set(uuid(&mut rng)),
                    partnership_id: Set(id),
                    actor_id: Set(actor_id),
                    // An ACTIVE mentoring partnership pairs a MENTOR with a MENTEE.
                    roles: Set(match (n, mentoring) {
                        (0, _) => "LEAD",
                        (1, true) => "MENTOR",
                        (2, true) => "MENTEE",
                        _ => "PARTNER",
                    }
                    .to_owned()),
                    is_lead: Set(n == 0),
                    joined_on: Set(start),
                    left_on: Set(None),
                    version: Set(1),
                    created_at: Set(now),
                    updated_at: Set(now),
                });
            }
            if rows.len() >= BATCH {
                flush(&tx, &mut rows, &mut themes, &mut members).await?;
            }
        }
        flush(&tx, &mut rows, &mut themes, &mut members).await?;

        // Allocations on a random programme, at up to 70% of a random eligible cost, with a
        // national co-financing of part of the rest. On an ACTIVE partnership, about half are
        // decided (AWARDED 30%, CLOSED 10%, REJECTED 10%) on a date of 2021-2025; the others,
        // and all on drafts, are REQUESTED.
        let mut batch = Vec::new();
        for i in 0..n_allocations {
            let (programme_id, stream_id, category) =
                programme_rows[rng.random_range(0..programme_rows.len())].clone();
            let case = category.unwrap_or_else(|| "STANDARD".to_owned());
            let Some(rule) = rules
                .iter()
                .find(|r| r.stream_id == stream_id && r.case_code == case)
            else {
                continue;
            };
            // EUR 10,000 to EUR 2,000,000, in cents.
            let eligible: i64 = rng.random_range(1_000_000..200_000_000);
            let eu = eligible * i64::from(rule.max_rate_bp.min(7000)) / 10_000;
            let national = (eligible - eu) * rng.random_range(0..=100) / 100;
            let p = rng.random_range(0..partnership_ids.len());
            let draw = rng.random_range(0..100);
            let status = match draw {
                _ if !partnership_active[p] => "REQUESTED",
                0..30 => "AWARDED",
                30..40 => "CLOSED",
                40..50 => "REJECTED",
                _ => "REQUESTED",
            };
            let decision_date = (status != "REQUESTED")
                .then(|| start + chrono::Days::new(rng.random_range(0..1800)));
            batch.push(allocation::ActiveModel {
                id: Set(uuid(&mut rng)),
                partnership_id: Set(partnership_ids[p]),
                stream_id: Set(stream_id),
                ceiling_rule_id: Set(rule.id),
                programme_id: Set(Some(programme_id)),
                eligible_cost_cents: Set(eligible),
                eu_contribution_cents: Set(eu),
                national_contribution_cents: Set(national),
                status: Set(status.to_owned()),
                decision_date: Set(decision_date),
                decision_year: Set(decision_date.map(|d| d.year())),
                reference: Set(Some(format!("SYN-{i:07}"))),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
            });
            if batch.len() >= BATCH {
                allocation::Entity::insert_many(std::mem::take(&mut batch))
                    .exec(&tx.txn)
                    .await?;
            }
        }
        if !batch.is_empty() {
            allocation::Entity::insert_many(batch).exec(&tx.txn).await?;
        }
        let counts = SyntheticCounts {
            actors: n_actors as u64,
            partnerships: n_partnerships as u64,
            memberships: n_memberships,
            allocations: allocation::Entity::find()
                .filter(allocation::Column::Reference.like("SYN-%"))
                .count(&tx.txn)
                .await?,
        };
        // One audit event for the whole import.
        let summary = json!({
            "scale": scale,
            "actors": counts.actors,
            "partnerships": counts.partnerships,
            "memberships": counts.memberships,
            "allocations": counts.allocations,
        });
        tx.record(
            "Import",
            uuid(&mut rng),
            None::<&serde_json::Value>,
            Some(&summary),
        );
        tx.commit().await?;
        Ok(counts)
    }
}

async fn flush(
    tx: &crate::database::WriteTx,
    rows: &mut Vec<partnership::ActiveModel>,
    themes: &mut Vec<partnership_theme::ActiveModel>,
    members: &mut Vec<membership::ActiveModel>,
) -> Result<(), RepoError> {
    if !rows.is_empty() {
        partnership::Entity::insert_many(std::mem::take(rows))
            .exec(&tx.txn)
            .await?;
    }
    for chunk in std::mem::take(themes).chunks(BATCH) {
        partnership_theme::Entity::insert_many(chunk.to_vec())
            .exec(&tx.txn)
            .await?;
    }
    for chunk in std::mem::take(members).chunks(BATCH) {
        membership::Entity::insert_many(chunk.to_vec())
            .exec(&tx.txn)
            .await?;
    }
    Ok(())
}
