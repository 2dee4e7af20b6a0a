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
    // Line breaks and tabs are fine in long text; other control characters are not.
    if trimmed
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(ValidationError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

/// A one-line name: as [`bounded_text`], and no line breaks or tabs either.
pub fn single_line(
    field: &str,
    raw: &str,
    min: usize,
    max: usize,
) -> Result<String, ValidationError> {
    let text = bounded_text(field, raw, min, max)?;
    if text.contains(['\n', '\r', '\t']) {
        return Err(ValidationError::new(field, "must be a single line"));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

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
