//! Bulk exports for funders' tools: `GET /export/allocations.csv`, `/export/allocations.jsonl`
//! and `/export/partnerships.jsonl`, with the bearer token and the rights of the GraphQL API.
//!
//! Rows are read page by page along the keyset cursor (1,000 allocations or 200 partnerships
//! at a time, with their related rows batch-loaded) by a producer task and streamed through a
//! bounded channel, so the server holds a few pages at most whatever the export's size, and a
//! client that goes away stops the reading.
//!
//! Allocation columns: `id`, `reference`, `status`, `decision_date`, `partnership_id`,
//! `partnership_title`, `stream`, `programme`, `country`, `region`, `ceiling_case`,
//! `eligible_cost`, `eu_contribution`, `national_contribution`, `paid`, `co_financing_rate`,
//! `created_at`. Ids are the API's global ids; amounts are euros with two decimals; dates are
//! ISO 8601; timestamps UTC.

use std::collections::HashMap;

use async_graphql::ID;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::access::{Principal, Role};
use domain::funding::{AllocationStatus, CeilingRule, FundingStream, Programme};
use domain::ids::{ActorId, CeilingRuleId, PartnershipId, ProgrammeId};
use domain::money::cents_to_decimal;
use persistence::repo::{AllocationFilter, DraftVisibility, PartnershipFilter};
use persistence::{Database, PageRequest};
use serde_json::json;
use tokio::sync::mpsc;

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::graphql::funding::AllocationFilterInput;
use crate::graphql::scalars::Decimal;
use crate::http::AppState;
use crate::ids::{self, NodeType};

const ALLOCATION_PAGE: u64 = 1000;
const PARTNERSHIP_PAGE: u64 = 200;

const COLUMNS: [&str; 17] = [
    "id",
    "reference",
    "status",
    "decision_date",
    "partnership_id",
    "partnership_title",
    "stream",
    "programme",
    "country",
    "region",
    "ceiling_case",
    "eligible_cost",
    "eu_contribution",
    "national_contribution",
    "paid",
    "co_financing_rate",
    "created_at",
];

/// Text a partner wrote, made inert for spreadsheets: a cell starting with `=`, `+`, `-` or
/// `@` would be read as a formula, so it gets a leading apostrophe.
fn spreadsheet_safe(text: String) -> String {
    if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text
    }
}

#[derive(Clone, Copy)]
enum Format {
    Csv,
    JsonLines,
}

fn drafts_for(principal: &Principal) -> DraftVisibility {
    match principal.role {
        Role::Funder | Role::Admin => DraftVisibility::All,
        _ => DraftVisibility::MembersOnly(principal.actor_id),
    }
}

fn list(params: &HashMap<String, String>, name: &str) -> Option<Vec<String>> {
    params.get(name).map(|v| {
        v.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    })
}

/// The query parameters, named as the GraphQL filter's fields; lists are comma-separated.
fn filter_from(params: &HashMap<String, String>) -> Result<AllocationFilter, ApiError> {
    let known = [
        "streamIds",
        "programmeIds",
        "countries",
        "nutsPrefix",
        "statuses",
        "years",
        "actorId",
        "partnershipId",
        "minEuContribution",
        "maxEuContribution",
    ];
    if let Some(unknown) = params.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(ApiError::bad_input(
            unknown.clone(),
            format!(
                "is not a filter of this export (filters: {})",
                known.join(", ")
            ),
        ));
    }
    let statuses = match list(params, "statuses") {
        Some(codes) => Some(
            codes
                .iter()
                .map(|c| {
                    AllocationStatus::from_code(c)
                        .map(Into::into)
                        .ok_or_else(|| {
                            ApiError::bad_input(
                                "statuses",
                                format!("`{c}` is not an allocation status"),
                            )
                        })
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => None,
    };
    let years = match list(params, "years") {
        Some(years) => Some(
            years
                .iter()
                .map(|y| {
                    y.parse::<i32>()
                        .map_err(|_| ApiError::bad_input("years", format!("`{y}` is not a year")))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => None,
    };
    let ids = |name: &str| list(params, name).map(|v| v.into_iter().map(ID).collect());
    AllocationFilterInput {
        stream_ids: ids("streamIds"),
        programme_ids: ids("programmeIds"),
        countries: list(params, "countries"),
        nuts_prefix: params.get("nutsPrefix").cloned(),
        statuses,
        years,
        actor_id: params.get("actorId").cloned().map(ID),
        partnership_id: params.get("partnershipId").cloned().map(ID),
        min_eu_contribution: params
            .get("minEuContribution")
            .cloned()
            .map(Decimal::from_text),
        max_eu_contribution: params
            .get("maxEuContribution")
            .cloned()
            .map(Decimal::from_text),
    }
    .parse()
}

fn bad_request(error: ApiError) -> Response {
    let (message, field) = match error {
        ApiError::BadInput { field, message } => (format!("{field}: {message}"), field),
        _ => ("bad request".to_owned(), String::new()),
    };
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": "BAD_USER_INPUT", "field": field } }] });
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

fn streamed(
    content_type: &'static str,
    filename: &'static str,
    rx: mpsc::Receiver<Result<Bytes, std::io::Error>>,
) -> Response {
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    if let Ok(value) =
        header::HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

pub(crate) async fn allocations_csv(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = state.rate_refusal(&principal) {
        return refused;
    }
    allocations(state.db().clone(), principal, params, Format::Csv).await
}

pub(crate) async fn allocations_jsonl(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = state.rate_refusal(&principal) {
        return refused;
    }
    allocations(state.db().clone(), principal, params, Format::JsonLines).await
}

async fn allocations(
    db: Database,
    principal: Principal,
    params: HashMap<String, String>,
    format: Format,
) -> Response {
    let mut filter = match filter_from(&params) {
        Ok(f) => f,
        Err(e) => return bad_request(e),
    };
    filter.drafts = drafts_for(&principal);
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        if let Err(e) = produce_allocations(&db, &filter, format, &tx).await {
            tracing::error!(error = %e, "allocation export failed");
            let _ = tx.send(Err(std::io::Error::other("export failed"))).await;
        }
    });
    match format {
        Format::Csv => streamed("text/csv; charset=utf-8", "allocations.csv", rx),
        Format::JsonLines => streamed("application/jsonl; charset=utf-8", "allocations.jsonl", rx),
    }
}

async fn produce_allocations(
    db: &Database,
    filter: &AllocationFilter,
    format: Format,
    tx: &mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> Result<(), String> {
    let err = |e: persistence::RepoError| e.to_string();
    let streams: HashMap<_, FundingStream> = db
        .funding()
        .streams()
        .await
        .map_err(err)?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let mut rules: HashMap<CeilingRuleId, CeilingRule> = HashMap::new();
    let mut programmes: HashMap<ProgrammeId, Programme> = HashMap::new();
    if let Format::Csv = format {
        let mut header = csv::Writer::from_writer(Vec::new());
        header.write_record(COLUMNS).map_err(|e| e.to_string())?;
        let bytes = header.into_inner().map_err(|e| e.to_string())?;
        if tx.send(Ok(Bytes::from(bytes))).await.is_err() {
            return Ok(());
        }
    }
    let mut page = PageRequest::first(ALLOCATION_PAGE);
    loop {
        let result = db.allocations().list(filter, &page).await.map_err(err)?;
        let items: Vec<_> = result.items.iter().map(|(_, a)| a.clone()).collect();
        let partnership_ids: Vec<PartnershipId> = items.iter().map(|a| a.partnership_id).collect();
        let partnerships: HashMap<_, _> = db
            .partnerships()
            .find_by_ids(&partnership_ids)
            .await
            .map_err(err)?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        let missing_rules: Vec<_> = items
            .iter()
            .map(|a| a.ceiling_rule_id)
            .filter(|id| !rules.contains_key(id))
            .collect();
        for rule in db
            .funding()
            .rules_by_ids(&missing_rules)
            .await
            .map_err(err)?
        {
            rules.insert(rule.id, rule);
        }
        let missing_programmes: Vec<_> = items
            .iter()
            .filter_map(|a| a.programme_id)
            .filter(|id| !programmes.contains_key(id))
            .collect();
        for p in db
            .programmes()
            .find_by_ids(&missing_programmes)
            .await
            .map_err(err)?
        {
            programmes.insert(p.id, p);
        }
        let ids: Vec<_> = items.iter().map(|a| a.id).collect();
        let paid = db.allocations().paid_totals(&ids).await.map_err(err)?;
        let mut csv_out = csv::Writer::from_writer(Vec::new());
        let mut json_out = Vec::new();
        for a in &items {
            let programme = a.programme_id.and_then(|p| programmes.get(&p));
            let record = [
                ids::encode(NodeType::Allocation, a.id.as_uuid()).0,
                a.reference.clone().unwrap_or_default(),
                a.status.code().to_owned(),
                a.decision_date.map(|d| d.to_string()).unwrap_or_default(),
                ids::encode(NodeType::Partnership, a.partnership_id.as_uuid()).0,
                partnerships
                    .get(&a.partnership_id)
                    .map(|p| p.details.parts().title.clone())
                    .unwrap_or_default(),
                streams
                    .get(&a.stream_id)
                    .map(|s| s.code.clone())
                    .unwrap_or_default(),
                programme
                    .map(|p| p.details.parts().code.clone())
                    .unwrap_or_default(),
                programme
                    .map(|p| p.details.parts().country.to_string())
                    .unwrap_or_default(),
                programme
                    .and_then(|p| p.details.parts().nuts.as_ref().map(|n| n.code().to_owned()))
                    .unwrap_or_default(),
                rules
                    .get(&a.ceiling_rule_id)
                    .map(|r| r.case.as_str().to_owned())
                    .unwrap_or_default(),
                a.eligible_cost.to_string(),
                a.eu_contribution.to_string(),
                a.national_contribution.to_string(),
                cents_to_decimal(paid.get(&a.id).copied().unwrap_or(0)).to_string(),
                a.co_financing_rate().to_string(),
                a.created_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            ];
            match format {
                Format::Csv => {
                    // Partners write references and titles: make them inert for spreadsheets.
                    let record = record.map(spreadsheet_safe);
                    csv_out.write_record(&record).map_err(|e| e.to_string())?
                }
                Format::JsonLines => {
                    let object: serde_json::Map<String, serde_json::Value> = COLUMNS
                        .iter()
                        .zip(record)
                        .map(|(k, v)| {
                            let value = if v.is_empty() {
                                serde_json::Value::Null
                            } else {
                                serde_json::Value::String(v)
                            };
                            ((*k).to_owned(), value)
                        })
                        .collect();
                    serde_json::to_writer(&mut json_out, &object).map_err(|e| e.to_string())?;
                    json_out.push(b'\n');
                }
            }
        }
        let chunk = match format {
            Format::Csv => csv_out.into_inner().map_err(|e| e.to_string())?,
            Format::JsonLines => json_out,
        };
        if !chunk.is_empty() && tx.send(Ok(Bytes::from(chunk))).await.is_err() {
            // The client went away.
            return Ok(());
        }
        match (result.has_next_page, result.items.last()) {
            (true, Some((cursor, _))) => page.after = Some(cursor.clone()),
            _ => return Ok(()),
        }
    }
}

pub(crate) async fn partnerships_jsonl(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = state.rate_refusal(&principal) {
        return refused;
    }
    if let Some(unknown) = params.keys().next() {
        return bad_request(ApiError::bad_input(
            unknown.clone(),
            "this export takes no filter",
        ));
    }
    let db = state.db().clone();
    let filter = PartnershipFilter {
        drafts: drafts_for(&principal),
        ..Default::default()
    };
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        if let Err(e) = produce_partnerships(&db, &filter, &tx).await {
            tracing::error!(error = %e, "partnership export failed");
            let _ = tx.send(Err(std::io::Error::other("export failed"))).await;
        }
    });
    streamed("application/jsonl; charset=utf-8", "partnerships.jsonl", rx)
}

async fn produce_partnerships(
    db: &Database,
    filter: &PartnershipFilter,
    tx: &mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> Result<(), String> {
    let err = |e: persistence::RepoError| e.to_string();
    let mut page = PageRequest::first(PARTNERSHIP_PAGE);
    loop {
        let result = db
            .partnerships()
            .list(filter, Default::default(), &page)
            .await
            .map_err(err)?;
        let ids: Vec<PartnershipId> = result.items.iter().map(|(_, p)| p.id).collect();
        let members = db
            .memberships()
            .current_of_partnerships(&ids)
            .await
            .map_err(err)?;
        let actor_ids: Vec<ActorId> = members.iter().map(|m| m.actor_id).collect();
        let actors: HashMap<_, _> = db
            .actors()
            .find_by_ids(&actor_ids)
            .await
            .map_err(err)?
            .into_iter()
            .map(|a| (a.id, a))
            .collect();
        let mut out = Vec::new();
        for (_, p) in &result.items {
            let d = p.details.parts();
            let line = json!({
                "id": ids::encode(NodeType::Partnership, p.id.as_uuid()).0,
                "title": d.title,
                "kind": d.kind.code(),
                "status": p.status.code(),
                "themes": d.themes.iter().map(|t| t.code()).collect::<Vec<_>>(),
                "governanceLevels": d.governance_levels.iter().map(|l| l.code()).collect::<Vec<_>>(),
                "startDate": d.start_date.to_string(),
                "endDate": d.end_date.map(|e| e.to_string()),
                "members": members.iter().filter(|m| m.partnership_id == p.id).map(|m| {
                    let actor = actors.get(&m.actor_id);
                    json!({
                        "actorId": ids::encode(NodeType::Actor, m.actor_id.as_uuid()).0,
                        "name": actor.map(|a| a.profile.parts().name.clone()),
                        "kind": actor.map(|a| a.profile.parts().kind.code()),
                        "country": actor.map(|a| a.profile.parts().country.to_string()),
                        "roles": m.roles.iter().map(|r| r.code()).collect::<Vec<_>>(),
                        "joinedOn": m.joined_on.to_string(),
                    })
                }).collect::<Vec<_>>(),
            });
            serde_json::to_writer(&mut out, &line).map_err(|e| e.to_string())?;
            out.push(b'\n');
        }
        if !out.is_empty() && tx.send(Ok(Bytes::from(out))).await.is_err() {
            return Ok(());
        }
        match (result.has_next_page, result.items.last()) {
            (true, Some((cursor, _))) => page.after = Some(cursor.clone()),
            _ => return Ok(()),
        }
    }
}
