//! The field behind a coercion error. async-graphql's message names the type that failed to
//! parse and the input objects it was parsing (`Failed to parse "NaiveDate": input is out of
//! range (occurred while parsing "CreatePartnershipInput")`) but neither the field nor, for
//! the scalars, the value. The field is found from the schema's types: the one of the
//! failing type whose value fails on its own, in a request's variables (the API) or a line's
//! fields (the import).

use std::sync::OnceLock;

use async_graphql::InputType;
use async_graphql::registry::{MetaType, Registry};
use chrono::NaiveDate;
use serde_json::Value;

/// The type a coercion message is about, and the message's own reason
/// (`("Role", "Enumeration type does not contain value \"ACROBAT\".")`).
pub(crate) fn failed_type(message: &str) -> Option<(&str, &str)> {
    let rest = message.strip_prefix("Failed to parse \"")?;
    let (ty, rest) = rest.split_once('"')?;
    let reason = rest
        .trim_start_matches(':')
        .split(" (occurred while parsing")
        .next()
        .unwrap_or_default()
        .trim();
    Some((ty, reason))
}

/// Whether a value fails a scalar on its own.
type Check = fn(&Value) -> bool;

/// Whether a value fails the scalar `ty` on its own (every item of a list is checked), and the
/// rule it breaks; `None` for the types whose message says it all (enumerations).
fn scalar_rule(ty: &str) -> Option<(Check, &'static str)> {
    fn fails<S: InputType>(value: &Value) -> bool {
        let values = match value {
            Value::Array(items) => items.clone(),
            one => vec![one.clone()],
        };
        values.into_iter().any(|v| {
            async_graphql::Value::from_json(v).map_or(true, |v| S::parse(Some(v)).is_err())
        })
    }
    match ty {
        "NaiveDate" => Some((fails::<NaiveDate>, "must be a date (YYYY-MM-DD)")),
        "DateTime" => Some((
            fails::<chrono::DateTime<chrono::Utc>>,
            "must be an RFC 3339 date and time",
        )),
        "Decimal" => Some((
            fails::<super::scalars::Decimal>,
            "must be a decimal number written as a string",
        )),
        "Int" => Some((fails::<i32>, "must be a whole number")),
        _ => None,
    }
}

/// Whether `value`, a field of type `ty`, is the one a coercion error of `ty` is about.
fn is_culprit(ty: &str, value: &Value) -> bool {
    scalar_rule(ty).is_none_or(|(fails, _)| fails(value))
}

/// The rule to show for a failure of `ty`: ours for the scalars, else the message's reason.
fn rule_text(ty: &str, reason: &str) -> String {
    scalar_rule(ty).map_or_else(|| reason.to_owned(), |(_, rule)| rule.to_owned())
}

/// The schema's types, read once.
fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut registry = Registry::default();
        <super::QueryRoot as async_graphql::OutputType>::create_type_info(&mut registry);
        <super::MutationRoot as async_graphql::OutputType>::create_type_info(&mut registry);
        registry
    })
}

/// The fields of the input objects named in `message` whose type is `ty`.
fn candidate_fields(message: &str, ty: &str) -> Vec<String> {
    let registry = registry();
    message
        .split("(occurred while parsing \"")
        .skip(1)
        .filter_map(|part| part.split_once('"').map(|(name, _)| name))
        .filter_map(|name| match registry.types.get(name) {
            Some(MetaType::InputObject { input_fields, .. }) => Some(input_fields),
            _ => None,
        })
        .flat_map(|fields| fields.values())
        .filter(|field| field.ty.trim_matches(|c| matches!(c, '[' | ']' | '!')) == ty)
        .map(|field| field.name.clone())
        .collect()
}

/// The path (`input.startDate`) in a request's variables of the field a coercion error is
/// about, with the rule it breaks.
pub(crate) fn field_in_variables(message: &str, variables: &Value) -> Option<(String, String)> {
    let (ty, reason) = failed_type(message)?;
    let candidates = candidate_fields(message, ty);
    fn find(value: &Value, path: &str, ty: &str, candidates: &[String]) -> Option<String> {
        match value {
            Value::Object(map) => map.iter().find_map(|(key, inner)| {
                let here = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                if candidates.iter().any(|c| c == key) && is_culprit(ty, inner) {
                    Some(here)
                } else {
                    find(inner, &here, ty, candidates)
                }
            }),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, item)| find(item, &format!("{path}.{i}"), ty, candidates)),
            _ => None,
        }
    }
    let path = find(variables, "", ty, &candidates)?;
    Some((path, rule_text(ty, reason)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DATE: &str = "Failed to parse \"NaiveDate\": input is out of range (occurred while parsing \"CreatePartnershipInput\")";

    #[test]
    fn the_failing_field_is_found_by_its_type_and_value() {
        let variables = json!({ "input": { "title": "X", "startDate": "2024-01-01", "endDate": "2024-13-01" } });
        assert_eq!(
            field_in_variables(DATE, &variables),
            Some((
                "input.endDate".to_owned(),
                "must be a date (YYYY-MM-DD)".to_owned()
            ))
        );
        assert_eq!(
            failed_type(DATE),
            Some(("NaiveDate", "input is out of range"))
        );
        // A message of another kind, or variables without the field, name nothing.
        assert_eq!(field_in_variables("Unknown field", &variables), None);
        assert_eq!(
            field_in_variables(DATE, &json!({ "input": { "title": "X" } })),
            None
        );
    }
}
