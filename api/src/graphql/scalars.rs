//! The `Decimal` scalar: exact decimals (money, rates) cross GraphQL as strings, never as JSON
//! numbers, which most clients parse into floating point.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};

/// An exact decimal number written as a string, such as `"300000.00"` or `"0.7500"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decimal(pub rust_decimal::Decimal);

#[Scalar(
    name = "Decimal",
    specified_by_url = "https://spec.graphql.org/October2021/#sec-String"
)]
impl ScalarType for Decimal {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            // The domain parsers check the digits; here only the JSON type is checked, so that
            // a float never enters.
            Value::String(s) => s
                .trim()
                .parse::<rust_decimal::Decimal>()
                .map(Self)
                .map_err(|_| InputValueError::custom(format!("`{s}` is not a decimal number"))),
            _ => Err(InputValueError::custom(
                "decimals are written as strings, such as \"1250.50\", never as JSON numbers",
            )),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

/// The raw text of a `Decimal` input, for the domain parsers that need to see the digits.
impl Decimal {
    pub fn text(&self) -> String {
        self.0.to_string()
    }
}
