//! Funding: the EU funding streams (AMIF, ESF+, ERDF), their co-financing ceilings as rule
//! rows, and allocations of a stream's money to a partnership with their lifecycle
//! REQUESTED -> AWARDED -> CANCELLED (or REQUESTED -> CANCELLED).
//!
//! Ceilings are data (rows seeded by a migration, with a case name and a legal reference),
//! never constants in code: a correction is a data change, and new cases need no release.

use chrono::{DateTime, NaiveDate, Utc};

use crate::ValidationError;
use crate::ids::{
    ActorId, AllocationId, CeilingRuleId, PartnershipId, PaymentId, ProgrammeId, StreamId,
};
use crate::money::{Euros, Rate, cents_to_decimal, share};
use crate::partnership::code_enum;
use crate::territory::{CountryCode, NutsRegion};

/// A ceiling case name, such as `STANDARD` or `LESS_DEVELOPED_REGION`: upper-case letters,
/// digits and underscores, 1 to 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CeilingCase(String);

impl CeilingCase {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let case = raw.trim();
        let valid = (1..=64).contains(&case.len())
            && case.starts_with(|c: char| c.is_ascii_uppercase())
            && case
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if valid {
            Ok(Self(case.to_owned()))
        } else {
            Err(ValidationError::new(
                "ceilingCase",
                format!(
                    "`{case}` is not a case name (upper-case letters, digits and _, e.g. STANDARD)"
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

code_enum!(
    /// Where an allocation is in its life.
    AllocationStatus {
        Requested = "REQUESTED",
        Awarded = "AWARDED",
        Closed = "CLOSED",
        Rejected = "REJECTED",
        Cancelled = "CANCELLED",
    }
);

impl AllocationStatus {
    /// REQUESTED -> AWARDED -> CLOSED; REQUESTED -> REJECTED; REQUESTED or AWARDED ->
    /// CANCELLED.
    pub fn can_become(self, next: Self) -> bool {
        use AllocationStatus::*;
        matches!(
            (self, next),
            (Requested, Awarded | Rejected) | (Awarded, Closed) | (Requested | Awarded, Cancelled)
        )
    }

    /// AWARDED and CLOSED allocations hold money: they count against the programme's
    /// envelope and may receive payments.
    pub fn holds_award(self) -> bool {
        matches!(self, Self::Awarded | Self::Closed)
    }

    /// Whether the budget may still be revised.
    pub fn budget_is_open(self) -> bool {
        matches!(self, Self::Requested | Self::Awarded)
    }

    pub fn transition(self, next: Self) -> Result<Self, ValidationError> {
        if self.can_become(next) {
            Ok(next)
        } else {
            Err(ValidationError::new(
                "status",
                format!(
                    "a {} allocation cannot become {} (allowed: REQUESTED to AWARDED or REJECTED, AWARDED to CLOSED, REQUESTED or AWARDED to CANCELLED)",
                    self.code(),
                    next.code()
                ),
            ))
        }
    }
}

/// The terms of an allocation, each valid on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationTermsParts {
    pub eligible_cost: Euros,
    pub eu_contribution: Euros,
    /// The national, regional or beneficiary's own contribution.
    pub national_contribution: Euros,
    pub ceiling_case: CeilingCase,
    /// The ceiling of the claimed case, read from its rule row.
    pub ceiling: Rate,
    pub status: AllocationStatus,
    pub decision_date: Option<NaiveDate>,
    pub reference: Option<String>,
}

/// Allocation terms that respect the co-financing rule: a positive eligible cost, and an EU
/// contribution of at most the ceiling times the eligible cost; an AWARDED allocation carries
/// the date of its decision, a REQUESTED one has none yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationTerms(AllocationTermsParts);

impl AllocationTerms {
    pub fn new(parts: AllocationTermsParts) -> Result<Self, ValidationError> {
        if let Some(date) = parts.decision_date {
            crate::dates::check_date("decisionDate", date)?;
        }
        if parts.eligible_cost.is_zero() {
            return Err(ValidationError::new(
                "eligibleCost",
                "must be greater than zero",
            ));
        }
        if parts.eu_contribution.cents() + parts.national_contribution.cents()
            > parts.eligible_cost.cents()
        {
            return Err(ValidationError::new(
                "nationalContribution",
                format!(
                    "the EU contribution {} and the national contribution {} together exceed the eligible cost {}",
                    parts.eu_contribution, parts.national_contribution, parts.eligible_cost
                ),
            ));
        }
        if !parts
            .ceiling
            .allows(parts.eu_contribution, parts.eligible_cost)
        {
            return Err(ValidationError::new(
                "euContribution",
                format!(
                    "{} is {} of the eligible cost {}, above the {} ceiling of {} for case {}",
                    parts.eu_contribution,
                    share(parts.eu_contribution, parts.eligible_cost)
                        .map_or_else(|| "-".into(), |r| r.to_string()),
                    parts.eligible_cost,
                    "co-financing",
                    parts.ceiling.to_decimal(),
                    parts.ceiling_case.as_str()
                ),
            ));
        }
        match (parts.status, parts.decision_date) {
            (AllocationStatus::Awarded | AllocationStatus::Rejected, None) => {
                return Err(ValidationError::new(
                    "decisionDate",
                    format!(
                        "an {} allocation needs the date of its decision",
                        parts.status.code()
                    ),
                ));
            }
            (AllocationStatus::Requested, Some(_)) => {
                return Err(ValidationError::new(
                    "decisionDate",
                    "a REQUESTED allocation has no decision yet",
                ));
            }
            _ => {}
        }
        Ok(Self(parts))
    }

    pub fn parts(&self) -> &AllocationTermsParts {
        &self.0
    }

    pub fn into_parts(self) -> AllocationTermsParts {
        self.0
    }

    /// EU contribution / eligible cost, four decimals.
    pub fn co_financing_rate(&self) -> rust_decimal::Decimal {
        share(self.0.eu_contribution, self.0.eligible_cost).unwrap_or_default()
    }
}

/// A funding stream of the 2021-2027 budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundingStream {
    pub id: StreamId,
    /// `AMIF`, `ESF_PLUS`, `ERDF`.
    pub code: String,
    pub name: String,
    pub legal_basis: String,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
}

/// A co-financing ceiling rule row: the highest EU share for one case of one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CeilingRule {
    pub id: CeilingRuleId,
    pub stream_id: StreamId,
    pub case: CeilingCase,
    pub description: String,
    pub max_rate: Rate,
    pub legal_reference: String,
    /// False while the figure awaits a check against the regulation's text.
    pub verified: bool,
    pub note: Option<String>,
    /// Raised by every change (optimistic concurrency).
    pub version: i64,
}

/// A stored allocation of a stream's money to a partnership. Its terms respected the ceiling
/// rule when they were written; a rule row corrected later does not make it disappear (the
/// funders' audit is where such a breach shows), so the stored form holds plain amounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub id: AllocationId,
    pub partnership_id: PartnershipId,
    pub stream_id: StreamId,
    pub ceiling_rule_id: CeilingRuleId,
    pub eligible_cost: Euros,
    pub eu_contribution: Euros,
    pub national_contribution: Euros,
    pub status: AllocationStatus,
    pub decision_date: Option<NaiveDate>,
    pub reference: Option<String>,
    /// The programme it draws on (allocations recorded before programmes existed have none).
    pub programme_id: Option<ProgrammeId>,
    /// Raised by every change (optimistic concurrency).
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Allocation {
    /// EU contribution / eligible cost, four decimals.
    pub fn co_financing_rate(&self) -> rust_decimal::Decimal {
        share(self.eu_contribution, self.eligible_cost).unwrap_or_default()
    }
}

/// A programme of a stream for 2021-2027, managed by a managing authority, in a country or a
/// NUTS region, with its category of region (a ceiling case of the stream, for ESF+ and ERDF)
/// and its envelope: the most EU money its awards may hold together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgrammeParts {
    /// The programme's CCI code (`2021ES65AMPR001`) or another unique code.
    pub code: String,
    pub title: String,
    pub stream_id: StreamId,
    pub managing_authority: ActorId,
    pub country: CountryCode,
    pub nuts: Option<NutsRegion>,
    /// The ceiling case every allocation of the programme claims (its category of region);
    /// `None` where allocations name their case (AMIF).
    pub category: Option<CeilingCase>,
    pub envelope: Euros,
}

/// A programme whose region lies in its country.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgrammeDetails(ProgrammeParts);

impl ProgrammeDetails {
    pub fn new(parts: ProgrammeParts) -> Result<Self, ValidationError> {
        if let Some(nuts) = &parts.nuts
            && nuts.country_prefix() != parts.country.as_str()
        {
            return Err(ValidationError::new(
                "nutsCode",
                format!(
                    "`{}` lies outside the programme's country {}",
                    nuts.code(),
                    parts.country
                ),
            ));
        }
        Ok(Self(parts))
    }

    pub fn parts(&self) -> &ProgrammeParts {
        &self.0
    }

    pub fn into_parts(self) -> ProgrammeParts {
        self.0
    }
}

/// A stored programme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Programme {
    pub id: ProgrammeId,
    pub details: ProgrammeDetails,
    /// Raised by every change (optimistic concurrency).
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A programme code: 3 to 30 upper-case letters and digits.
pub fn parse_programme_code(raw: &str) -> Result<String, ValidationError> {
    let code = raw.trim().to_ascii_uppercase();
    if (3..=30).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(code)
    } else {
        Err(ValidationError::new(
            "code",
            format!(
                "`{}` is not a programme code: 3 to 30 letters and digits (a CCI such as 2021ES65AMPR001)",
                raw.trim()
            ),
        ))
    }
}

/// The ceiling case an allocation of `programme` claims: the programme's category where it has
/// one (a claimed case must then agree), else the claimed case, which is then required.
pub fn case_for(
    programme: &ProgrammeParts,
    claimed: Option<CeilingCase>,
) -> Result<CeilingCase, ValidationError> {
    match (&programme.category, claimed) {
        (Some(category), Some(claimed)) if *category != claimed => Err(ValidationError::new(
            "ceilingCase",
            format!(
                "the programme's category of region is {}; its allocations claim that case, not {}",
                category.as_str(),
                claimed.as_str()
            ),
        )),
        (Some(category), _) => Ok(category.clone()),
        (None, Some(claimed)) => Ok(claimed),
        (None, None) => Err(ValidationError::new(
            "ceilingCase",
            "is required: the programme has no category of region, so the allocation names its case",
        )),
    }
}

/// Awards together may not exceed the envelope.
pub fn check_envelope(envelope: Euros, awarded_after: i64) -> Result<(), ValidationError> {
    if awarded_after > envelope.cents() {
        return Err(ValidationError::new(
            "euContribution",
            format!(
                "the programme's awards would total {} euros, over its envelope of {} euros",
                cents_to_decimal(awarded_after),
                envelope
            ),
        ));
    }
    Ok(())
}

code_enum!(
    /// What a payment is.
    PaymentKind {
        PreFinancing = "PRE_FINANCING",
        Interim = "INTERIM",
        Balance = "BALANCE",
        Recovery = "RECOVERY",
    }
);

/// An entry of an allocation's payments ledger. Entries are never edited: a correction is a
/// new entry (a recovery is negative).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub id: PaymentId,
    pub allocation_id: AllocationId,
    pub kind: PaymentKind,
    /// Signed: negative for a recovery.
    pub amount_cents: i64,
    pub paid_on: NaiveDate,
    pub reference: Option<String>,
    pub created_at: DateTime<Utc>,
}

code_enum!(
    /// IATI's budget types: the first budget of an allocation, or a revision of it.
    BudgetKind {
        Original = "ORIGINAL",
        Revised = "REVISED",
    }
);

/// One budget of an allocation, as recorded; the list of them is the budget's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetEntry {
    pub kind: BudgetKind,
    pub eligible_cost: Euros,
    pub eu_contribution: Euros,
    pub national_contribution: Euros,
    pub reason: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

code_enum!(
    /// The rules a funder's audit checks.
    FindingRule {
        RateOverCeiling = "RATE_OVER_CEILING",
        PaymentsOverAward = "PAYMENTS_OVER_AWARD",
        DecidedAfterPartnershipEnded = "DECIDED_AFTER_PARTNERSHIP_ENDED",
        ActiveWithoutLead = "ACTIVE_WITHOUT_LEAD",
        EnvelopeOverdrawn = "ENVELOPE_OVERDRAWN",
    }
);

/// A breach a funder should look at: the rule, the record, and the figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditFinding {
    pub rule: FindingRule,
    /// `Allocation`, `Partnership` or `Programme`.
    pub entity_type: &'static str,
    pub entity_id: uuid::Uuid,
    pub message: String,
    /// Named figures (`euContribution`, `ceiling`...) as exact decimal strings.
    pub figures: Vec<(&'static str, String)>,
}

/// The signed ledger amount of a payment of `kind` for `amount`, if the allocation's status
/// admits it and the paid total stays between zero and the awarded EU contribution.
pub fn ledger_entry(
    kind: PaymentKind,
    amount: Euros,
    status: AllocationStatus,
    eu_contribution: Euros,
    paid_before: i64,
) -> Result<i64, ValidationError> {
    if amount.is_zero() {
        return Err(ValidationError::new("amount", "must be greater than zero"));
    }
    let admitted = match kind {
        PaymentKind::Recovery => status.holds_award() || status == AllocationStatus::Cancelled,
        _ => status == AllocationStatus::Awarded,
    };
    if !admitted {
        return Err(ValidationError::new(
            "kind",
            format!(
                "a {} payment cannot be made on a {} allocation",
                kind.code(),
                status.code()
            ),
        ));
    }
    let signed = if kind == PaymentKind::Recovery {
        -amount.cents()
    } else {
        amount.cents()
    };
    // Checked: `paid_before` comes from a sum of stored rows, and an overflow must be a
    // refusal, never a wrapped total or a panic.
    let after = paid_before
        .checked_add(signed)
        .ok_or_else(|| ValidationError::new("amount", "the ledger total would overflow"))?;
    if after < 0 {
        return Err(ValidationError::new(
            "amount",
            format!(
                "the recovery exceeds what was paid ({} euros)",
                cents_to_decimal(paid_before)
            ),
        ));
    }
    if after > eu_contribution.cents() {
        return Err(ValidationError::new(
            "amount",
            format!(
                "payments would total {} euros, over the awarded EU contribution of {} euros",
                cents_to_decimal(after),
                eu_contribution
            ),
        ));
    }
    Ok(signed)
}

pub fn parse_reference(raw: &str) -> Result<String, ValidationError> {
    crate::text::single_line("reference", raw, 1, 120)
}

#[cfg(test)]
mod tests {
    use super::*;
    use AllocationStatus::*;

    fn eur(s: &str) -> Euros {
        Euros::parse("amount", s).expect(s)
    }

    fn terms(eligible: &str, eu: &str, ceiling_bp: i64) -> AllocationTermsParts {
        AllocationTermsParts {
            eligible_cost: eur(eligible),
            eu_contribution: eur(eu),
            national_contribution: Euros::ZERO,
            ceiling_case: CeilingCase::parse("STANDARD").expect("case"),
            ceiling: Rate::from_basis_points(ceiling_bp).expect("rate"),
            status: Requested,
            decision_date: None,
            reference: None,
        }
    }

    #[test]
    fn contribution_is_capped_by_the_ceiling_of_the_case() {
        let ok = AllocationTerms::new(terms("400000", "300000", 7500)).expect("75% of 400k");
        assert_eq!(ok.co_financing_rate().to_string(), "0.7500");
        let err = AllocationTerms::new(terms("400000", "300000.01", 7500)).expect_err("over");
        assert_eq!(err.field, "euContribution");
        assert!(err.message.contains("0.7500"), "{}", err.message);
        assert!(AllocationTerms::new(terms("100", "90", 9000)).is_ok());
        assert!(AllocationTerms::new(terms("100", "100", 10_000)).is_ok());
        assert!(AllocationTerms::new(terms("100", "40.01", 4000)).is_err());
    }

    #[test]
    fn eligible_cost_is_positive() {
        let err = AllocationTerms::new(terms("0", "0", 7500)).expect_err("zero");
        assert_eq!(err.field, "eligibleCost");
    }

    #[test]
    fn decisions_have_dates_and_requests_do_not() {
        let mut awarded = terms("100", "75", 7500);
        awarded.status = Awarded;
        assert_eq!(
            AllocationTerms::new(awarded.clone())
                .expect_err("no date")
                .field,
            "decisionDate"
        );
        awarded.decision_date = "2024-03-01".parse().ok();
        assert!(AllocationTerms::new(awarded).is_ok());
        let mut requested = terms("100", "75", 7500);
        requested.decision_date = "2024-03-01".parse().ok();
        assert!(AllocationTerms::new(requested).is_err());
        let mut cancelled = terms("100", "75", 7500);
        cancelled.status = Cancelled;
        assert!(AllocationTerms::new(cancelled).is_ok());
    }

    #[test]
    fn national_and_eu_contributions_fit_in_the_eligible_cost() {
        let mut t = terms("100", "75", 7500);
        t.national_contribution = eur("25");
        assert!(AllocationTerms::new(t.clone()).is_ok());
        t.national_contribution = eur("25.01");
        assert_eq!(
            AllocationTerms::new(t).expect_err("over").field,
            "nationalContribution"
        );
    }

    #[test]
    fn rejections_need_a_decision_date() {
        let mut rejected = terms("100", "75", 7500);
        rejected.status = Rejected;
        assert_eq!(
            AllocationTerms::new(rejected.clone())
                .expect_err("date")
                .field,
            "decisionDate"
        );
        rejected.decision_date = "2024-03-01".parse().ok();
        assert!(AllocationTerms::new(rejected).is_ok());
    }

    fn programme(category: Option<&str>) -> ProgrammeParts {
        ProgrammeParts {
            code: "2021ES65AMPR001".into(),
            title: "AMIF Spain".into(),
            stream_id: StreamId::generate(),
            managing_authority: ActorId::generate(),
            country: CountryCode::parse("ES").expect("ES"),
            nuts: None,
            category: category.map(|c| CeilingCase::parse(c).expect("case")),
            envelope: eur("1000000"),
        }
    }

    #[test]
    fn programmes_lie_in_their_country() {
        let mut p = programme(None);
        p.nuts = Some(NutsRegion::parse("ES21", 2021).expect("nuts"));
        assert!(ProgrammeDetails::new(p.clone()).is_ok());
        p.nuts = Some(NutsRegion::parse("FR10", 2021).expect("nuts"));
        assert_eq!(
            ProgrammeDetails::new(p).expect_err("abroad").field,
            "nutsCode"
        );
        assert_eq!(
            parse_programme_code(" 2021es65ampr001 ").as_deref(),
            Ok("2021ES65AMPR001")
        );
        assert!(parse_programme_code("AM").is_err());
        assert!(parse_programme_code("2021-ES").is_err());
    }

    #[test]
    fn the_case_comes_from_the_programme_category_or_the_claim() {
        let case = |c: &str| CeilingCase::parse(c).expect("case");
        let esf = programme(Some("TRANSITION_REGION"));
        assert_eq!(case_for(&esf, None), Ok(case("TRANSITION_REGION")));
        assert_eq!(
            case_for(&esf, Some(case("TRANSITION_REGION"))),
            Ok(case("TRANSITION_REGION"))
        );
        let err = case_for(&esf, Some(case("LESS_DEVELOPED_REGION"))).expect_err("mismatch");
        assert_eq!(err.field, "ceilingCase");
        let amif = programme(None);
        assert_eq!(
            case_for(&amif, Some(case("STANDARD"))),
            Ok(case("STANDARD"))
        );
        assert!(case_for(&amif, None).is_err());
    }

    #[test]
    fn awards_stay_within_the_envelope() {
        assert!(check_envelope(eur("1000"), 100_000).is_ok());
        let err = check_envelope(eur("1000"), 100_001).expect_err("over");
        assert!(err.message.contains("1000.01"), "{}", err.message);
    }

    #[test]
    fn the_ledger_stays_between_zero_and_the_award() {
        use PaymentKind::*;
        let award = eur("100");
        let field = |r: Result<i64, ValidationError>| r.expect_err("refused").field;
        assert_eq!(
            ledger_entry(PreFinancing, eur("40"), Awarded, award, 0),
            Ok(4000)
        );
        assert_eq!(
            ledger_entry(Balance, eur("60"), Awarded, award, 4000),
            Ok(6000)
        );
        assert_eq!(
            field(ledger_entry(Interim, eur("60.01"), Awarded, award, 4000)),
            "amount"
        );
        assert_eq!(
            ledger_entry(Recovery, eur("10"), Awarded, award, 4000),
            Ok(-1000)
        );
        assert_eq!(
            field(ledger_entry(Recovery, eur("40.01"), Awarded, award, 4000)),
            "amount"
        );
        assert_eq!(
            ledger_entry(Recovery, eur("10"), Cancelled, award, 4000),
            Ok(-1000)
        );
        assert_eq!(
            field(ledger_entry(Interim, eur("10"), Requested, award, 0)),
            "kind"
        );
        assert_eq!(
            field(ledger_entry(Interim, eur("10"), Closed, award, 0)),
            "kind"
        );
        assert_eq!(
            field(ledger_entry(Interim, Euros::ZERO, Awarded, award, 0)),
            "amount"
        );
    }

    #[test]
    fn allocation_status_transitions() {
        let allowed = [
            (Requested, Awarded),
            (Requested, Rejected),
            (Requested, Cancelled),
            (Awarded, Closed),
            (Awarded, Cancelled),
        ];
        for from in AllocationStatus::ALL {
            for to in AllocationStatus::ALL {
                let expected = allowed.contains(&(*from, *to));
                assert_eq!(from.can_become(*to), expected, "{from:?} -> {to:?}");
                assert_eq!(from.transition(*to).is_ok(), expected);
            }
        }
    }

    #[test]
    fn case_names_and_references() {
        assert!(CeilingCase::parse("ANNEX_IV").is_ok());
        for bad in ["", "standard", "_X", "A-B", &"A".repeat(65)] {
            assert_eq!(CeilingCase::parse(bad).expect_err(bad).field, "ceilingCase");
        }
        assert_eq!(parse_reference(" 101.0001 ").as_deref(), Ok("101.0001"));
        assert!(parse_reference("").is_err());
    }
}
