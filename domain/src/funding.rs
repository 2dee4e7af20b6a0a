//! Funding: the EU funding streams (AMIF, ESF+, ERDF), their co-financing ceilings as rule
//! rows, and allocations of a stream's money to a partnership with their lifecycle
//! REQUESTED -> AWARDED -> CANCELLED (or REQUESTED -> CANCELLED).
//!
//! Ceilings are data (rows seeded by a migration, with a case name and a legal reference),
//! never constants in code: a correction is a data change, and new cases need no release.

use chrono::{DateTime, NaiveDate, Utc};

use crate::ValidationError;
use crate::ids::{AllocationId, CeilingRuleId, PartnershipId, StreamId};
use crate::money::{Euros, Rate, share};
use crate::partnership::code_enum;

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
        Cancelled = "CANCELLED",
    }
);

impl AllocationStatus {
    /// REQUESTED -> AWARDED; REQUESTED or AWARDED -> CANCELLED.
    pub fn can_become(self, next: Self) -> bool {
        use AllocationStatus::*;
        matches!(
            (self, next),
            (Requested, Awarded) | (Requested | Awarded, Cancelled)
        )
    }

    pub fn transition(self, next: Self) -> Result<Self, ValidationError> {
        if self.can_become(next) {
            Ok(next)
        } else {
            Err(ValidationError::new(
                "status",
                format!(
                    "a {} allocation cannot become {} (allowed: REQUESTED to AWARDED, REQUESTED or AWARDED to CANCELLED)",
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
            (AllocationStatus::Awarded, None) => {
                return Err(ValidationError::new(
                    "decisionDate",
                    "an AWARDED allocation needs the date of its award decision",
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
    pub status: AllocationStatus,
    pub decision_date: Option<NaiveDate>,
    pub reference: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Allocation {
    /// EU contribution / eligible cost, four decimals.
    pub fn co_financing_rate(&self) -> rust_decimal::Decimal {
        share(self.eu_contribution, self.eligible_cost).unwrap_or_default()
    }
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
    fn allocation_status_transitions() {
        let allowed = [
            (Requested, Awarded),
            (Requested, Cancelled),
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
