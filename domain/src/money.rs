//! Money and rates. Amounts are euros with cents, held as an exact decimal and stored as whole
//! cents (an `i64`), so that sums are exact in every database. Rates (co-financing ceilings)
//! are held in basis points (1/100 of a percent), so that `contribution <= rate x cost` is
//! checked in integer arithmetic, never in floating point.

use rust_decimal::Decimal;

use crate::ValidationError;

/// The largest single amount the registry accepts: EUR 100 billion, ten times AMIF's whole
/// 2021-2027 budget. In cents times a rate in basis points it stays far inside `i64`, so the
/// database can compare `contribution x 10,000 <= rate x cost` exactly.
pub const MAX_EUROS: i64 = 100_000_000_000;

/// Parses plain decimal notation exactly as written: digits, optionally a point and more
/// digits. No sign, exponent, separators or more than 28 significant digits, so nothing is
/// rounded on the way in.
pub fn parse_plain_decimal(field: &str, raw: &str) -> Result<Decimal, ValidationError> {
    let text = raw.trim();
    let invalid = || ValidationError::new(field, format!("`{raw}` is not a plain decimal number"));
    let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
    let digits = |s: &str| !s.is_empty() && s.len() <= 28 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(fraction) {
        return Err(invalid());
    }
    let value: Decimal = text.parse().map_err(|_| invalid())?;
    // A value the type had to round is refused: the digits after the point must survive.
    let kept = value.normalize().scale() as usize;
    if kept < fraction.trim_end_matches('0').len() {
        return Err(invalid());
    }
    Ok(value)
}

/// An amount of euros, at least zero, with at most two decimal places.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Euros {
    cents: i64,
}

impl Euros {
    pub const ZERO: Self = Self { cents: 0 };

    /// Parses a decimal string such as `"300000"` or `"19.99"`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        if raw.trim().starts_with('-') && parse_plain_decimal(field, &raw.trim()[1..]).is_ok() {
            return Err(ValidationError::new(field, "must not be negative"));
        }
        let value = parse_plain_decimal(field, raw).map_err(|_| {
            ValidationError::new(
                field,
                format!("`{raw}` is not an amount of euros (a decimal such as 1250.50)"),
            )
        })?;
        Self::from_decimal(field, value)
    }

    pub fn from_decimal(field: &str, value: Decimal) -> Result<Self, ValidationError> {
        if value.is_sign_negative() && !value.is_zero() {
            return Err(ValidationError::new(field, "must not be negative"));
        }
        if value.normalize().scale() > 2 {
            return Err(ValidationError::new(
                field,
                "must have at most two decimal places (whole cents)",
            ));
        }
        if value > Decimal::from(MAX_EUROS) {
            return Err(ValidationError::new(
                field,
                format!("must be at most {MAX_EUROS} euros"),
            ));
        }
        let cents = (value * Decimal::ONE_HUNDRED)
            .normalize()
            .mantissa()
            .try_into()
            .map_err(|_| ValidationError::new(field, "is out of range"))?;
        Ok(Self { cents })
    }

    /// From whole cents as stored. Values outside the accepted range are refused, so a corrupt
    /// row never becomes a valid amount.
    pub fn from_cents(cents: i64) -> Option<Self> {
        (0..=MAX_EUROS * 100)
            .contains(&cents)
            .then_some(Self { cents })
    }

    pub const fn cents(&self) -> i64 {
        self.cents
    }

    pub fn is_zero(&self) -> bool {
        self.cents == 0
    }

    /// The amount with exactly two decimal places (`19.90`, `300000.00`).
    pub fn to_decimal(&self) -> Decimal {
        Decimal::new(self.cents, 2)
    }
}

impl std::fmt::Display for Euros {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.to_decimal())
    }
}

/// A share from 0% to 100%, in basis points (7500 = 75%).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rate {
    basis_points: u16,
}

impl Rate {
    pub const FULL: Self = Self {
        basis_points: 10_000,
    };

    pub fn from_basis_points(basis_points: i64) -> Result<Self, ValidationError> {
        u16::try_from(basis_points)
            .ok()
            .filter(|bp| *bp <= 10_000)
            .map(|basis_points| Self { basis_points })
            .ok_or_else(|| {
                ValidationError::new(
                    "maxRate",
                    "must be between 0 and 1 (0% to 100%), in steps of 0.0001",
                )
            })
    }

    /// Parses a fraction such as `"0.85"` or `"0.7500"` (at most four decimals).
    pub fn parse_fraction(field: &str, raw: &str) -> Result<Self, ValidationError> {
        let value = parse_plain_decimal(field, raw)?;
        let bp = value
            .checked_mul(Decimal::from(10_000))
            .ok_or_else(|| ValidationError::new(field, "is out of range"))?;
        if !bp.fract().is_zero() {
            return Err(ValidationError::new(
                field,
                "must have at most four decimals",
            ));
        }
        let bp = i64::try_from(bp.trunc())
            .map_err(|_| ValidationError::new(field, "is out of range"))?;
        Self::from_basis_points(bp).map_err(|e| e.for_field(field))
    }

    pub const fn basis_points(&self) -> u16 {
        self.basis_points
    }

    /// The rate as a fraction with four decimals (`0.7500`).
    pub fn to_decimal(&self) -> Decimal {
        Decimal::new(i64::from(self.basis_points), 4)
    }

    /// True when `part <= self x whole`, computed exactly.
    pub fn allows(&self, part: Euros, whole: Euros) -> bool {
        i128::from(part.cents) * 10_000 <= i128::from(self.basis_points) * i128::from(whole.cents)
    }
}

/// Whole cents as a two-decimal amount (which may be negative, for ledger sums).
pub fn cents_to_decimal(cents: i64) -> Decimal {
    Decimal::new(cents, 2)
}

/// `part / whole` rounded half-even to four decimals (`0.7500`), or `None` for a zero whole.
/// Display only: rules compare exactly with [`Rate::allows`].
pub fn share(part: Euros, whole: Euros) -> Option<Decimal> {
    if whole.is_zero() {
        return None;
    }
    let ratio = Decimal::from(part.cents) / Decimal::from(whole.cents);
    let mut rounded =
        ratio.round_dp_with_strategy(4, rust_decimal::RoundingStrategy::MidpointNearestEven);
    rounded.rescale(4);
    Some(rounded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(s: &str) -> Euros {
        Euros::parse("amount", s).expect(s)
    }

    #[test]
    fn parses_exact_amounts_into_cents() {
        assert_eq!(eur("300000").cents(), 30_000_000);
        assert_eq!(eur("19.99").cents(), 1999);
        assert_eq!(eur("19.90").cents(), 1990);
        assert_eq!(eur("0.1").cents(), 10);
        assert_eq!(eur("0").cents(), 0);
        assert_eq!(
            eur("19.9900").cents(),
            1999,
            "trailing zeros are not extra precision"
        );
        assert_eq!(eur("300000").to_string(), "300000.00");
    }

    #[test]
    fn refuses_fractions_of_cents_negatives_text_and_huge_amounts() {
        for bad in ["0.001", "-1", "1e3", "abc", "", "100000000000.01", "NaN"] {
            let err = Euros::parse("eligibleCost", bad).expect_err(bad);
            assert_eq!(err.field, "eligibleCost");
        }
        assert!(Euros::from_cents(-1).is_none());
    }

    #[test]
    fn plain_decimals_are_taken_exactly_as_written() {
        for bad in [
            "1e3",
            "+5",
            "1_000",
            "1,5",
            " ",
            "75.00000000000000000000000000001",
            ".5",
            "5.",
        ] {
            assert!(parse_plain_decimal("x", bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_plain_decimal("x", "0075.50").map(|d| d.to_string()),
            Ok("75.50".into())
        );
        assert_eq!(
            Rate::parse_fraction("maxRate", "0.85").map(|r| r.basis_points()),
            Ok(8500)
        );
        assert!(Rate::parse_fraction("maxRate", "0.85001").is_err());
        assert!(Rate::parse_fraction("maxRate", "1.0001").is_err());
        assert_eq!(
            Rate::parse_fraction("maxRate", "1.5")
                .expect_err("over")
                .field,
            "maxRate"
        );
    }

    #[test]
    fn huge_fractions_are_refused_not_overflowed() {
        let err =
            Rate::parse_fraction("maxRate", "9999999999999999999999999999").expect_err("huge");
        assert_eq!(err.field, "maxRate");
    }

    #[test]
    fn ceilings_compare_exactly() {
        let standard = Rate::from_basis_points(7500).expect("75%");
        assert!(standard.allows(eur("75"), eur("100")));
        assert!(!standard.allows(eur("75.01"), eur("100")));
        assert!(standard.allows(eur("0.75"), eur("1")));
        assert!(!standard.allows(eur("0.76"), eur("1")));
        assert!(Rate::FULL.allows(eur("100"), eur("100")));
        assert!(Rate::from_basis_points(10_001).is_err());
        assert!(Rate::from_basis_points(-1).is_err());
        assert_eq!(standard.to_decimal().to_string(), "0.7500");
    }

    #[test]
    fn share_is_rounded_half_even_for_display() {
        assert_eq!(
            share(eur("2"), eur("3")).map(|d| d.to_string()),
            Some("0.6667".into())
        );
        assert_eq!(
            share(eur("75"), eur("100")).map(|d| d.to_string()),
            Some("0.7500".into())
        );
        assert_eq!(share(eur("1"), Euros::ZERO), None);
    }
}
