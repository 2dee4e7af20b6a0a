//! The one error type of the domain: a rule that an input broke, naming the field.

/// An input broke a rule. `field` names the input field (as the API spells it, in camelCase)
/// and `message` states the rule in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same rule, attributed to another field name (for example when a parser written
    /// for `country` reads the country prefix of a VAT number).
    #[must_use]
    pub fn for_field(mut self, field: impl Into<String>) -> Self {
        self.field = field.into();
        self
    }
}
