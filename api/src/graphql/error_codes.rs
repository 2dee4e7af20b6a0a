//! Gives every error an `extensions.code`: errors from resolvers carry theirs already (see
//! `crate::error`); this stamps the ones async-graphql itself raises while parsing and
//! validating a document, or coercing arguments.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextRequest, NextValidation,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Response, ServerError, ServerResult, ValidationResult, Variables};

use crate::error::codes;

pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodes)
    }
}

fn stamp(error: &mut ServerError, code: &str) {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", code);
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for ErrorCodes {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        // What is left without a code failed while coercing an argument or variable.
        for error in &mut response.errors {
            stamp(error, codes::BAD_USER_INPUT);
        }
        response
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        next.run(ctx, query, variables).await.map_err(|mut e| {
            // async-graphql checks these two while parsing; they are rules of the document
            // (a directive flood, a fragment cycle), not syntax.
            let rule = e
                .message
                .starts_with("The number of directives on the field")
                || e.message.starts_with("The recursion depth of the query");
            stamp(
                &mut e,
                if rule {
                    codes::GRAPHQL_VALIDATION_FAILED
                } else {
                    codes::GRAPHQL_PARSE_FAILED
                },
            );
            e
        })
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|mut errors| {
            for e in &mut errors {
                // A value of the wrong type for an argument (an unknown enum value, a number
                // where a decimal string belongs) is bad input, and names its argument path.
                if let Some(rest) = e.message.strip_prefix("Invalid value for argument \"") {
                    if let Some((field, _)) = rest.split_once('"') {
                        let field = field.to_owned();
                        e.extensions
                            .get_or_insert_with(Default::default)
                            .set("field", field);
                    }
                    stamp(e, codes::BAD_USER_INPUT);
                } else if e.message == "Query is nested too deep." {
                    stamp(e, codes::DEPTH_LIMIT_EXCEEDED);
                } else if e.message == "Query is too complex." {
                    stamp(e, codes::COMPLEXITY_LIMIT_EXCEEDED);
                } else {
                    stamp(e, codes::GRAPHQL_VALIDATION_FAILED);
                }
            }
            errors
        })
    }
}
