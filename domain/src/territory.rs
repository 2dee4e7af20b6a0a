//! Where an actor is: its country (ISO 3166-1 alpha-2, written `EL` for Greece as NUTS and
//! Kohesio do), its NUTS region with the NUTS version, and its LAU municipality with the year
//! of the LAU list. Codes are checked for format and for their country prefix.

use crate::ValidationError;

/// ISO 3166-1 alpha-2 officially assigned codes, plus `EL` (Greece in NUTS) and `XK` (Kosovo,
/// the user-assigned code the EU uses). `GR` is accepted on input and stored as `EL`, so that
/// one country has one code and NUTS prefixes compare equal.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI \
BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ \
DE DJ DK DM DO DZ EC EE EG EH EL ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP \
GQ GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN \
KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS \
MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT \
PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF \
TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA \
ZM ZW";

/// Whether `code` is in [`COUNTRIES`] (sorted, one code every three bytes).
fn is_assigned(code: [u8; 2]) -> bool {
    let table = COUNTRIES.as_bytes();
    let (mut low, mut high) = (0, table.len().div_ceil(3));
    while low < high {
        let mid = low + (high - low) / 2;
        match [table[3 * mid], table[3 * mid + 1]].cmp(&code) {
            std::cmp::Ordering::Less => low = mid + 1,
            std::cmp::Ordering::Greater => high = mid,
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}

/// A country code: ISO 3166-1 alpha-2, with Greece as `EL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        // Every row read decodes its country: no allocation, and a binary search of the table.
        let code = match raw.trim().as_bytes() {
            [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                [a.to_ascii_uppercase(), b.to_ascii_uppercase()]
            }
            _ => {
                return Err(ValidationError::new(
                    "country",
                    format!("`{raw}` is not a two-letter ISO 3166-1 alpha-2 code"),
                ));
            }
        };
        let code = if &code == b"GR" { *b"EL" } else { code };
        if !is_assigned(code) {
            return Err(ValidationError::new(
                "country",
                format!(
                    "`{}` is not an assigned ISO 3166-1 alpha-2 country code",
                    String::from_utf8_lossy(&code)
                ),
            ));
        }
        Ok(Self(code))
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl std::fmt::Display for CountryCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The NUTS versions Eurostat has published. A code means something only within its version.
pub const NUTS_VERSIONS: [u16; 7] = [2003, 2006, 2010, 2013, 2016, 2021, 2024];

/// A NUTS code: the country's two letters, then one character per level (`ES2`, `ES21`,
/// `ES211`), with the version of the classification it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NutsRegion {
    code: String,
    version: u16,
}

impl NutsRegion {
    pub fn parse(code: &str, version: i32) -> Result<Self, ValidationError> {
        let code = code.trim().to_ascii_uppercase();
        let bytes = code.as_bytes();
        let valid = (3..=5).contains(&bytes.len())
            && bytes[..2].iter().all(u8::is_ascii_uppercase)
            && bytes[2..].iter().all(u8::is_ascii_alphanumeric);
        if !valid {
            return Err(ValidationError::new(
                "nutsCode",
                format!(
                    "`{code}` is not a NUTS code: two country letters, then one to three letters or digits (e.g. ES21)"
                ),
            ));
        }
        let version = u16::try_from(version)
            .ok()
            .filter(|v| NUTS_VERSIONS.contains(v))
            .ok_or_else(|| {
                ValidationError::new(
                    "nutsVersion",
                    format!("{version} is not a NUTS version (one of 2003, 2006, 2010, 2013, 2016, 2021, 2024)"),
                )
            })?;
        Ok(Self { code, version })
    }

    pub fn code(&self) -> &str {
        &self.code
    }

    pub fn version(&self) -> u16 {
        self.version
    }

    /// 1, 2 or 3: one more than the number of characters after the country prefix, less one.
    pub fn level(&self) -> u8 {
        // The length is 3..=5, checked in `parse`.
        u8::try_from(self.code.len() - 2).unwrap_or(3)
    }

    /// The country prefix of the code (`ES` for `ES21`; `EL` for Greek regions).
    pub fn country_prefix(&self) -> &str {
        &self.code[..2]
    }
}

/// A Local Administrative Unit (municipality) in the GISCO form `CC_national-code`
/// (`ES_48020`), with the year of the LAU list it comes from: LAU lists change every year.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LauUnit {
    code: String,
    year: u16,
}

/// LAU lists are published yearly by Eurostat since 2011.
pub const FIRST_LAU_YEAR: u16 = 2011;
pub const LAST_LAU_YEAR: u16 = 2099;

impl LauUnit {
    pub fn parse(code: &str, year: i32) -> Result<Self, ValidationError> {
        let code = code.trim().to_ascii_uppercase();
        let bytes = code.as_bytes();
        let valid = (4..=15).contains(&bytes.len())
            && bytes[..2].iter().all(u8::is_ascii_uppercase)
            && bytes[2] == b'_'
            && bytes[3..].iter().all(u8::is_ascii_alphanumeric);
        if !valid {
            return Err(ValidationError::new(
                "lauCode",
                format!(
                    "`{code}` is not a LAU code: the country's two letters, `_`, then the national code of 1 to 12 letters or digits (e.g. ES_48020)"
                ),
            ));
        }
        let year = u16::try_from(year)
            .ok()
            .filter(|y| (FIRST_LAU_YEAR..=LAST_LAU_YEAR).contains(y))
            .ok_or_else(|| {
                ValidationError::new(
                    "lauYear",
                    format!("{year} is not a LAU list year ({FIRST_LAU_YEAR} to {LAST_LAU_YEAR})"),
                )
            })?;
        Ok(Self { code, year })
    }

    pub fn code(&self) -> &str {
        &self.code
    }

    pub fn year(&self) -> u16 {
        self.year
    }

    pub fn country_prefix(&self) -> &str {
        &self.code[..2]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_codes_are_iso_with_el_for_greece() {
        assert_eq!(
            CountryCode::parse("es").map(|c| c.to_string()),
            Ok("ES".into())
        );
        assert_eq!(
            CountryCode::parse("EL").map(|c| c.to_string()),
            Ok("EL".into())
        );
        assert_eq!(
            CountryCode::parse("GR").map(|c| c.to_string()),
            Ok("EL".into())
        );
        assert_eq!(COUNTRIES.split_ascii_whitespace().count(), 250);
    }

    #[test]
    fn the_country_table_is_sorted_with_one_code_every_three_bytes() {
        // The binary search in `is_assigned` relies on this layout.
        let codes: Vec<&str> = COUNTRIES.split_ascii_whitespace().collect();
        assert!(codes.windows(2).all(|w| w[0] < w[1]), "sorted, no repeats");
        assert_eq!(COUNTRIES.len(), codes.len() * 3 - 1);
        for (i, code) in codes.iter().enumerate() {
            assert_eq!(&COUNTRIES[3 * i..3 * i + 2], *code);
            assert_eq!(
                CountryCode::parse(code).map(|c| c.to_string()),
                Ok((*code).into())
            );
            let lower = code.to_ascii_lowercase();
            assert_eq!(
                CountryCode::parse(&lower).map(|c| c.to_string()),
                Ok((*code).into())
            );
        }
        for unassigned in ["AA", "ZZ", "QQ", "GX", "AB", "ZX"] {
            assert!(CountryCode::parse(unassigned).is_err(), "{unassigned}");
        }
    }

    #[test]
    fn unknown_or_malformed_countries_are_refused() {
        for bad in ["", "E", "ESP", "QQ", "1A", "É"] {
            let err = CountryCode::parse(bad).expect_err(bad);
            assert_eq!(err.field, "country");
        }
    }

    #[test]
    fn nuts_codes_have_a_prefix_levels_and_a_version() {
        let basque = NutsRegion::parse("es21", 2021).expect("valid");
        assert_eq!(basque.code(), "ES21");
        assert_eq!(basque.level(), 2);
        assert_eq!(basque.country_prefix(), "ES");
        assert_eq!(NutsRegion::parse("ES211", 2024).map(|n| n.level()), Ok(3));
        assert_eq!(NutsRegion::parse("ES2", 2016).map(|n| n.level()), Ok(1));
    }

    #[test]
    fn malformed_nuts_codes_and_versions_are_refused() {
        for bad in ["ES", "ES2111", "E521", "ES-1", ""] {
            assert_eq!(
                NutsRegion::parse(bad, 2021).expect_err(bad).field,
                "nutsCode"
            );
        }
        for version in [2020, 1999, -1, 70000] {
            assert_eq!(
                NutsRegion::parse("ES21", version)
                    .expect_err("version")
                    .field,
                "nutsVersion"
            );
        }
    }

    #[test]
    fn lau_codes_are_gisco_ids_with_a_year() {
        let bilbao = LauUnit::parse("es_48020", 2023).expect("valid");
        assert_eq!(bilbao.code(), "ES_48020");
        assert_eq!(bilbao.country_prefix(), "ES");
        assert_eq!(bilbao.year(), 2023);
        for bad in ["48020", "ES48020", "ES_", "ES_4802000000000", "ES_48 20"] {
            assert_eq!(LauUnit::parse(bad, 2023).expect_err(bad).field, "lauCode");
        }
        assert_eq!(
            LauUnit::parse("ES_48020", 2010).expect_err("year").field,
            "lauYear"
        );
    }
}
