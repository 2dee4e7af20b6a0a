//! Free-text values (names, titles, descriptions): trimmed, bounded and free of control
//! characters, so that what a client stores prints safely in any other client.

use crate::ValidationError;

/// Checks and trims a free-text value of `min..=max` characters.
pub fn bounded_text(
    field: &str,
    raw: &str,
    min: usize,
    max: usize,
) -> Result<String, ValidationError> {
    let trimmed = raw.trim();
    let len = trimmed.chars().count();
    if len < min {
        return Err(if min == 1 {
            ValidationError::new(field, "must not be empty")
        } else {
            ValidationError::new(field, format!("must have at least {min} characters"))
        });
    }
    if len > max {
        return Err(ValidationError::new(
            field,
            format!("must have at most {max} characters (has {len})"),
        ));
    }
    // Line breaks and tabs are fine in long text; other control characters are not, nor
    // are the bidirectional overrides and isolates that make text display in another order
    // than it is stored (CVE-2021-42574, "Trojan Source").
    if trimmed
        .chars()
        .any(|c| (c.is_control() && !matches!(c, '\n' | '\r' | '\t')) || is_bidi_control(c))
    {
        return Err(ValidationError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

/// The bidirectional embedding, override and isolate controls (U+202A..U+202E,
/// U+2066..U+2069).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A one-line name: as [`bounded_text`], and no line breaks (also the Unicode line and
/// paragraph separators) or tabs either.
pub fn single_line(
    field: &str,
    raw: &str,
    min: usize,
    max: usize,
) -> Result<String, ValidationError> {
    let text = bounded_text(field, raw, min, max)?;
    if text.contains(['\n', '\r', '\t', '\u{2028}', '\u{2029}']) {
        return Err(ValidationError::new(field, "must be a single line"));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_bidi_controls_and_unicode_line_separators() {
        for bad in [
            "Bilbao\u{202E}gnp.exe",
            "a\u{2066}b",
            "one\u{2028}two",
            "p\u{2029}q",
        ] {
            assert!(single_line("name", bad, 1, 50).is_err(), "{bad:?}");
        }
        assert!(bounded_text("description", "one\u{2028}two", 1, 50).is_ok());
        assert!(bounded_text("description", "x\u{202E}y", 1, 50).is_err());
    }

    #[test]
    fn trims_and_accepts_text_within_bounds() {
        assert_eq!(single_line("name", "  Bilbao ", 1, 10), Ok("Bilbao".into()));
    }

    #[test]
    fn refuses_empty_long_and_control_characters() {
        assert_eq!(
            single_line("name", "   ", 1, 10),
            Err(ValidationError::new("name", "must not be empty"))
        );
        assert_eq!(
            single_line("name", "abcdefghijk", 1, 10),
            Err(ValidationError::new(
                "name",
                "must have at most 10 characters (has 11)"
            ))
        );
        assert!(single_line("name", "a\u{0007}b", 1, 10).is_err());
        assert!(single_line("name", "a\nb", 1, 10).is_err());
        assert_eq!(bounded_text("d", "a\nb", 1, 10), Ok("a\nb".into()));
    }
}
