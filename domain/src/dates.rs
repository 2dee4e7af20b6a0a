//! Calendar dates the registry accepts: 1900 to 2199. Wider than any partnership or budget
//! period, and narrow enough that both databases store and order every accepted date alike
//! (SQLite keeps dates as text, which sorts wrongly outside four-digit years).

use chrono::{Datelike, NaiveDate};

use crate::ValidationError;

pub const EARLIEST_YEAR: i32 = 1900;
pub const LATEST_YEAR: i32 = 2199;

/// `date` if it lies in the accepted range, else an error naming `field`.
pub fn check_date(field: &str, date: NaiveDate) -> Result<NaiveDate, ValidationError> {
    if (EARLIEST_YEAR..=LATEST_YEAR).contains(&date.year()) {
        Ok(date)
    } else {
        Err(ValidationError::new(
            field,
            format!("{date} is outside the accepted years {EARLIEST_YEAR} to {LATEST_YEAR}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_bounded() {
        let d = |s: &str| s.parse::<NaiveDate>().expect(s);
        assert!(check_date("startDate", d("1900-01-01")).is_ok());
        assert!(check_date("startDate", d("2199-12-31")).is_ok());
        assert_eq!(
            check_date("startDate", d("1899-12-31"))
                .expect_err("early")
                .field,
            "startDate"
        );
        assert!(check_date("startDate", d("+10000-01-01")).is_err());
        assert!(check_date("startDate", d("-0001-01-01")).is_err());
    }
}
