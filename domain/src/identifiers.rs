//! Identifiers and contact details an actor may carry: the EU participant identification code
//! (PIC), a VAT or tax number (CPR Annex XVII asks it of every beneficiary), a Wikidata id, a
//! website and an e-mail address. Each is normalised on the way in and checked for format.

use crate::ValidationError;
use crate::territory::CountryCode;

/// The EU Funding & Tenders participant identification code: nine digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pic(String);

impl Pic {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let pic = raw.trim();
        if pic.len() == 9 && pic.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(pic.to_owned()))
        } else {
            Err(ValidationError::new(
                "pic",
                format!("`{pic}` is not a PIC: exactly nine digits"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A VAT or tax number in the VIES form: a country prefix (`EL` for Greece, `XI` for Northern
/// Ireland) and 2 to 13 letters or digits. Spaces, dots and dashes are removed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VatNumber(String);

impl VatNumber {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let vat: String = raw
            .chars()
            .filter(|c| !matches!(c, ' ' | '.' | '-'))
            .collect::<String>()
            .to_ascii_uppercase();
        let bytes = vat.as_bytes();
        let shaped = (4..=15).contains(&bytes.len())
            && bytes[2..].iter().all(u8::is_ascii_alphanumeric)
            && bytes[..2].iter().all(u8::is_ascii_uppercase);
        let prefix_ok = shaped && (&vat[..2] == "XI" || CountryCode::parse(&vat[..2]).is_ok());
        // `GR` is never a VAT prefix: VIES writes Greece as `EL`.
        if !shaped || !prefix_ok || &vat[..2] == "GR" {
            return Err(ValidationError::new(
                "vatNumber",
                format!(
                    "`{}` is not a VAT or tax number: a country prefix (EL for Greece) and 2 to 13 letters or digits",
                    raw.trim()
                ),
            ));
        }
        Ok(Self(vat))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A Wikidata item id: `Q` and a number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WikidataId(String);

impl WikidataId {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let id = raw.trim().to_ascii_uppercase();
        let digits = id.strip_prefix('Q').unwrap_or("");
        if (1..=12).contains(&digits.len())
            && !digits.starts_with('0')
            && digits.bytes().all(|b| b.is_ascii_digit())
        {
            Ok(Self(id))
        } else {
            Err(ValidationError::new(
                "wikidataId",
                format!(
                    "`{}` is not a Wikidata item id (Q followed by a number, e.g. Q8692)",
                    raw.trim()
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A public website: an absolute `http` or `https` URL with a host, at most 2,048 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Website(String);

impl Website {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let raw = raw.trim();
        let invalid = |why: &str| ValidationError::new("website", format!("`{raw}` {why}"));
        if raw.len() > 2048 {
            return Err(ValidationError::new(
                "website",
                "must have at most 2048 characters",
            ));
        }
        let url = url::Url::parse(raw).map_err(|_| invalid("is not an absolute URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid("must use http or https"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid("has no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("must not contain credentials"));
        }
        let normalised = url.to_string();
        // Normalising percent-encodes non-ASCII characters, which lengthens the text.
        if normalised.len() > 2048 {
            return Err(ValidationError::new(
                "website",
                "must have at most 2048 characters once percent-encoded",
            ));
        }
        Ok(Self(normalised))
    }

    /// A website as the registry stored it, which [`Website::parse`] wrote: checked for the
    /// shape every normalised website has (`http` or `https`, a host, no credentials, printable
    /// ASCII only, the length bound), not parsed again. Why: parsing costs about 4,500
    /// instructions, and a page of members reads hundreds of actors.
    pub fn from_stored(stored: String) -> Result<Self, ValidationError> {
        let rest = stored
            .strip_prefix("https://")
            .or_else(|| stored.strip_prefix("http://"));
        let authority = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or_default());
        let shaped = stored.len() <= 2048
            && stored.bytes().all(|b| b.is_ascii_graphic())
            && authority.is_some_and(|a| !a.is_empty() && !a.starts_with(':') && !a.contains('@'));
        if shaped {
            Ok(Self(stored))
        } else {
            Err(ValidationError::new(
                "website",
                "is not a normalised http or https URL with a host",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A contact e-mail address (RFC 5322 address syntax, at most 254 characters, with a domain
/// that has a dot: an organisation's address is reachable on the internet).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let email = raw.trim();
        let invalid = || {
            ValidationError::new(
                "email",
                format!("`{email}` is not an e-mail address (name@organisation.example)"),
            )
        };
        if email.len() > 254 {
            return Err(ValidationError::new(
                "email",
                "must have at most 254 characters",
            ));
        }
        let parsed: email_address::EmailAddress = email.parse().map_err(|_| invalid())?;
        let domain = parsed.domain();
        if !domain.contains('.') || domain.starts_with('[') || email.contains(['<', '>', ' ']) {
            return Err(invalid());
        }
        Ok(Self(email.to_owned()))
    }

    /// An address as the registry stored it, which [`Email::parse`] wrote: checked for the
    /// shape every accepted address has (trimmed, the length bound, a local part, a dotted
    /// domain that is not an address literal, no `<`, `>` or space), not parsed again. Why:
    /// parsing costs about 4,500 instructions, and a page of members reads hundreds of actors.
    pub fn from_stored(stored: String) -> Result<Self, ValidationError> {
        // One pass over the bytes for the three refused characters (ASCII, so no UTF-8
        // continuation byte can match): a `contains` of a char array decodes every char, which
        // was most of this check's cost.
        let shaped = stored.len() <= 254
            && !stored.starts_with(char::is_whitespace)
            && !stored.ends_with(char::is_whitespace)
            && !stored.bytes().any(|b| matches!(b, b'<' | b'>' | b' '))
            && stored.rsplit_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && domain.contains('.') && !domain.starts_with('[')
            });
        if shaped {
            Ok(Self(stored))
        } else {
            Err(ValidationError::new(
                "email",
                "is not an e-mail address (name@organisation.example)",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pic_is_nine_digits() {
        assert_eq!(
            Pic::parse(" 999999999 ").map(|p| p.0),
            Ok("999999999".into())
        );
        for bad in ["12345678", "1234567890", "12345678a", ""] {
            assert_eq!(Pic::parse(bad).expect_err(bad).field, "pic");
        }
    }

    #[test]
    fn vat_numbers_are_normalised_and_need_a_country_prefix() {
        assert_eq!(
            VatNumber::parse("es q-4800001 b").map(|v| v.0),
            Ok("ESQ4800001B".into())
        );
        assert_eq!(
            VatNumber::parse("EL 094014201").map(|v| v.0),
            Ok("EL094014201".into())
        );
        assert_eq!(
            VatNumber::parse("XI123456789").map(|v| v.0),
            Ok("XI123456789".into())
        );
        for bad in [
            "Q4800001B",
            "GR094014201",
            "QQ12345",
            "ES1",
            "ES12345678901234",
            "ES12_34",
        ] {
            assert_eq!(VatNumber::parse(bad).expect_err(bad).field, "vatNumber");
        }
    }

    #[test]
    fn wikidata_ids_are_q_numbers() {
        assert_eq!(WikidataId::parse("q8692").map(|w| w.0), Ok("Q8692".into()));
        for bad in ["8692", "Q", "Q0123", "P31", "Q12a"] {
            assert_eq!(WikidataId::parse(bad).expect_err(bad).field, "wikidataId");
        }
    }

    #[test]
    fn websites_are_http_urls_with_a_host() {
        assert_eq!(
            Website::parse("https://inclucities.eu").map(|w| w.0),
            Ok("https://inclucities.eu/".into())
        );
        for bad in [
            "inclucities.eu",
            "ftp://example.org",
            "javascript:alert(1)",
            "https://user:pw@example.org",
            "",
        ] {
            assert_eq!(Website::parse(bad).expect_err(bad).field, "website");
        }
        assert!(Website::parse(&format!("https://e.org/{}", "a".repeat(2048))).is_err());
        // 1,000 characters that each become six once percent-encoded.
        let long = Website::parse(&format!("https://e.org/{}", "é".repeat(1000)));
        assert_eq!(long.expect_err("too long encoded").field, "website");
    }

    #[test]
    fn a_stored_website_is_checked_for_its_shape() {
        for stored in [
            "https://inclucities.eu/",
            "http://xn--stdt-loa.example/integration?lang=de#kontakt",
            "https://[::1]:8443/a%20b",
        ] {
            assert_eq!(
                Website::from_stored(stored.into()).map(|w| w.0),
                Ok(stored.into())
            );
        }
        for bad in [
            "",
            "inclucities.eu",
            "ftp://example.org/",
            "https:///path",
            "https://:80/",
            "https://user:pw@example.org/",
            "https://example.org/a b",
            "https://exämple.org/",
            "https://example.org/\n",
        ] {
            assert_eq!(
                Website::from_stored(bad.into()).expect_err(bad).field,
                "website"
            );
        }
        assert!(Website::from_stored(format!("https://e.org/{}", "a".repeat(2048))).is_err());
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert_eq!(
            Email::parse(" info@share-network.eu ").map(|e| e.0),
            Ok("info@share-network.eu".into())
        );
        for bad in [
            "info",
            "info@",
            "@eu.org",
            "info@localhost",
            "a b@c.org",
            "Name <a@b.org>",
        ] {
            assert_eq!(Email::parse(bad).expect_err(bad).field, "email");
        }
    }

    #[test]
    fn a_stored_address_is_checked_for_its_shape() {
        for stored in [
            "info@share-network.eu",
            "\"a@b\"@example.org",
            "ana.gómez@ciudad.es",
        ] {
            assert_eq!(
                Email::from_stored(stored.into()).map(|e| e.0),
                Ok(stored.into())
            );
        }
        for bad in [
            "",
            "info",
            "@eu.org",
            "info@localhost",
            "info@[10.0.0.1]",
            " info@share-network.eu",
            "a b@c.org",
            "Name <a@b.org>",
        ] {
            assert_eq!(
                Email::from_stored(bad.into()).expect_err(bad).field,
                "email"
            );
        }
        assert!(Email::from_stored(format!("{}@example.org", "a".repeat(243))).is_err());
    }
}
