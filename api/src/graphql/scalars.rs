//! The `Decimal` scalar: exact decimals (money, rates) cross GraphQL as strings, never as JSON
//! numbers, which most clients parse into floating point. Input text is kept exactly as sent
//! and parsed only by the domain's strict parsers, which name the field at fault.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};

/// An exact decimal number written as a string, such as `"300000.00"` or `"0.7500"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decimal(String);

#[Scalar(
    name = "Decimal",
    specified_by_url = "https://spec.graphql.org/October2021/#sec-String"
)]
impl ScalarType for Decimal {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            Value::String(s) if s.len() <= 64 => Ok(Self(s)),
            Value::String(_) => Err(InputValueError::custom(
                "a decimal has at most 64 characters",
            )),
            _ => Err(InputValueError::custom(
                "decimals are written as strings, such as \"1250.50\", never as JSON numbers",
            )),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}

impl Decimal {
    /// A decimal from text that arrived outside GraphQL (an export's query parameter).
    pub fn from_text(text: String) -> Self {
        Self(text)
    }

    /// The text as the client sent it.
    pub fn text(&self) -> &str {
        &self.0
    }
}

impl From<rust_decimal::Decimal> for Decimal {
    fn from(value: rust_decimal::Decimal) -> Self {
        Self(value.to_string())
    }
}
