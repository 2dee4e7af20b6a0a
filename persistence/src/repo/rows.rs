//! Rows to domain values. A row that does not make a valid value is reported as corrupt
//! rather than passed on: the domain's guarantees hold for everything the API serves.

use std::collections::BTreeSet;

use domain::actor::{Actor, ActorBrief, ActorKind, ActorProfile, ActorProfileParts};
use domain::funding::{
    Allocation, AllocationStatus, CeilingCase, CeilingRule, FundingStream, Payment, PaymentKind,
    Programme, ProgrammeDetails, ProgrammeParts,
};
use domain::identifiers::{Email, Pic, VatNumber, Website, WikidataId};
use domain::ids::{
    ActorId, AllocationId, CeilingRuleId, MembershipId, PartnershipId, PaymentId, ProgrammeId,
    StreamId,
};
use domain::membership::{Membership, RoleSet};
use domain::money::{Euros, Rate};
use domain::partnership::{
    GovernanceLevel, Partnership, PartnershipDetails, PartnershipDetailsParts, PartnershipKind,
    PartnershipStatus, Theme,
};
use domain::territory::{CountryCode, LauUnit, NutsRegion};

use crate::RepoError;
use crate::entities::{
    allocation, ceiling_rule, funding_stream, membership, partnership, payment, programme,
};

fn corrupt(table: &str, id: uuid::Uuid, what: impl std::fmt::Display) -> RepoError {
    RepoError::Corrupt(format!("{table} {id}: {what}"))
}

fn opt<T>(
    value: Option<&String>,
    parse: impl Fn(&str) -> Result<T, domain::ValidationError>,
) -> Result<Option<T>, domain::ValidationError> {
    value.map(|v| parse(v)).transpose()
}

pub(crate) fn actor(row: crate::entities::actor::Model) -> Result<Actor, RepoError> {
    // The row is taken apart: its texts move into the actor, not copied.
    let id = row.id;
    let bad = |e: domain::ValidationError| corrupt("actor", id, e);
    let kind = ActorKind::from_code(&row.kind).ok_or_else(|| corrupt("actor", id, "kind"))?;
    let nuts = match (&row.nuts_code, row.nuts_version) {
        (Some(code), Some(version)) => Some(NutsRegion::parse(code, version).map_err(bad)?),
        _ => None,
    };
    let lau = match (&row.lau_code, row.lau_year) {
        (Some(code), Some(year)) => Some(LauUnit::parse(code, year).map_err(bad)?),
        _ => None,
    };
    let parts = ActorProfileParts {
        kind,
        country: CountryCode::parse(&row.country).map_err(bad)?,
        nuts,
        lau,
        population: row
            .population
            .map(domain::actor::parse_population)
            .transpose()
            .map_err(bad)?,
        pic: opt(row.pic.as_ref(), Pic::parse).map_err(bad)?,
        vat_number: opt(row.vat_number.as_ref(), VatNumber::parse).map_err(bad)?,
        wikidata_id: opt(row.wikidata_id.as_ref(), WikidataId::parse).map_err(bad)?,
        // Checked for their shape, not parsed again: `parse` wrote them (see `from_stored`).
        website: row
            .website
            .map(Website::from_stored)
            .transpose()
            .map_err(bad)?,
        email: row.email.map(Email::from_stored).transpose().map_err(bad)?,
        name: row.name,
    };
    Ok(Actor {
        id: ActorId::from_uuid(id),
        profile: ActorProfile::new(parts).map_err(bad)?,
        parent_id: row.parent_id.map(ActorId::from_uuid),
        verified: row.verified,
        version: row.version,
        archived_at: row.archived_at,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// The brief of an actor from its `id`, `kind`, `name` and `country` columns, checked as
/// [`actor`] checks them: the kind and the country are parsed, the name is taken as stored.
pub(crate) fn actor_brief(row: crate::by_index::ActorBriefRow) -> Result<ActorBrief, RepoError> {
    let crate::by_index::ActorBriefRow {
        id,
        kind,
        name,
        country,
    } = row;
    Ok(ActorBrief {
        id: ActorId::from_uuid(id),
        kind: ActorKind::from_code(&kind).ok_or_else(|| corrupt("actor", id, "kind"))?,
        name,
        country: CountryCode::parse(&country).map_err(|e| corrupt("actor", id, e))?,
    })
}

pub(crate) fn levels_to_stored(levels: &BTreeSet<GovernanceLevel>) -> String {
    levels
        .iter()
        .map(|l| l.code())
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn partnership(
    row: partnership::Model,
    themes: BTreeSet<Theme>,
) -> Result<Partnership, RepoError> {
    let bad = |what: &str| corrupt("partnership", row.id, what);
    let governance_levels = row
        .governance_levels
        .split(',')
        .filter(|code| !code.is_empty())
        .map(GovernanceLevel::from_code)
        .collect::<Option<BTreeSet<_>>>()
        .ok_or_else(|| bad("governance levels"))?;
    let details = PartnershipDetails::new(PartnershipDetailsParts {
        title: row.title.clone(),
        description: row.description.clone(),
        kind: PartnershipKind::from_code(&row.kind).ok_or_else(|| bad("kind"))?,
        themes,
        governance_levels,
        start_date: row.start_date,
        end_date: row.end_date,
    })
    .map_err(|e| corrupt("partnership", row.id, e))?;
    Ok(Partnership {
        id: PartnershipId::from_uuid(row.id),
        details,
        status: PartnershipStatus::from_code(&row.status).ok_or_else(|| bad("status"))?,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

pub(crate) fn membership(row: membership::Model) -> Result<Membership, RepoError> {
    Ok(Membership {
        id: MembershipId::from_uuid(row.id),
        partnership_id: PartnershipId::from_uuid(row.partnership_id),
        actor_id: ActorId::from_uuid(row.actor_id),
        roles: RoleSet::from_stored(&row.roles)
            .ok_or_else(|| corrupt("membership", row.id, "roles"))?,
        joined_on: row.joined_on,
        left_on: row.left_on,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

pub(crate) fn stream(row: funding_stream::Model) -> FundingStream {
    FundingStream {
        id: StreamId::from_uuid(row.id),
        code: row.code,
        name: row.name,
        legal_basis: row.legal_basis,
        period_start: row.period_start,
        period_end: row.period_end,
    }
}

pub(crate) fn rule(row: ceiling_rule::Model) -> Result<CeilingRule, RepoError> {
    let bad = |e: domain::ValidationError| corrupt("ceiling_rule", row.id, e);
    Ok(CeilingRule {
        id: CeilingRuleId::from_uuid(row.id),
        stream_id: StreamId::from_uuid(row.stream_id),
        case: CeilingCase::parse(&row.case_code).map_err(bad)?,
        description: row.description.clone(),
        max_rate: Rate::from_basis_points(i64::from(row.max_rate_bp)).map_err(bad)?,
        legal_reference: row.legal_reference.clone(),
        verified: row.verified,
        note: row.note.clone(),
        version: row.version,
    })
}

pub(crate) fn allocation(row: allocation::Model) -> Result<Allocation, RepoError> {
    let cents =
        |c: i64| Euros::from_cents(c).ok_or_else(|| corrupt("allocation", row.id, "amount"));
    Ok(Allocation {
        id: AllocationId::from_uuid(row.id),
        partnership_id: PartnershipId::from_uuid(row.partnership_id),
        stream_id: StreamId::from_uuid(row.stream_id),
        ceiling_rule_id: CeilingRuleId::from_uuid(row.ceiling_rule_id),
        eligible_cost: cents(row.eligible_cost_cents)?,
        eu_contribution: cents(row.eu_contribution_cents)?,
        national_contribution: cents(row.national_contribution_cents)?,
        status: AllocationStatus::from_code(&row.status)
            .ok_or_else(|| corrupt("allocation", row.id, "status"))?,
        decision_date: row.decision_date,
        reference: row.reference,
        programme_id: row.programme_id.map(ProgrammeId::from_uuid),
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

pub(crate) fn programme(row: programme::Model) -> Result<Programme, RepoError> {
    let bad = |e: domain::ValidationError| corrupt("programme", row.id, e);
    let nuts = match (&row.nuts_code, row.nuts_version) {
        (Some(code), Some(version)) => Some(NutsRegion::parse(code, version).map_err(bad)?),
        _ => None,
    };
    let details = ProgrammeDetails::new(ProgrammeParts {
        code: row.code.clone(),
        title: row.title.clone(),
        stream_id: StreamId::from_uuid(row.stream_id),
        managing_authority: ActorId::from_uuid(row.managing_authority_id),
        country: CountryCode::parse(&row.country).map_err(bad)?,
        nuts,
        category: row
            .category_case
            .as_deref()
            .map(CeilingCase::parse)
            .transpose()
            .map_err(bad)?,
        envelope: Euros::from_cents(row.envelope_cents)
            .ok_or_else(|| corrupt("programme", row.id, "envelope"))?,
    })
    .map_err(bad)?;
    Ok(Programme {
        id: ProgrammeId::from_uuid(row.id),
        details,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

pub(crate) fn payment(row: payment::Model) -> Result<Payment, RepoError> {
    Ok(Payment {
        id: PaymentId::from_uuid(row.id),
        allocation_id: AllocationId::from_uuid(row.allocation_id),
        kind: PaymentKind::from_code(&row.kind)
            .ok_or_else(|| corrupt("payment", row.id, "kind"))?,
        amount_cents: row.amount_cents,
        paid_on: row.paid_on,
        reference: row.reference,
        created_at: row.created_at,
    })
}
