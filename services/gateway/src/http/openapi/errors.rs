//! The error side of the document, written from the code: every operation's error responses from its route's
//! codes in [`ROUTES`] (each with its meaning, `Retry-After` where it passes, the `ErrorBody` schema, or
//! `FailedBody` for a failed job), the `code` enum of `ErrorBody` and the tables in the description from
//! [`ErrorCode`], and the API-key scheme with the `401` of every job route.

use std::collections::BTreeMap;

use utoipa::{
    Modify, PartialSchema,
    openapi::{
        self, Content, Ref, RefOr, Response, Schema,
        header::HeaderBuilder,
        path::Operation,
        security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme},
    },
};

use crate::{
    error::ErrorCode,
    http::{ROUTES, Route, handlers::FAILED_JOB_CODE},
};

/// The document's name for the API-key scheme.
pub const API_KEY_SCHEME: &str = "api_key";

/// The operation of `route` in `document`, if documented.
fn operation_mut<'a>(
    document: &'a mut openapi::OpenApi,
    route: &Route,
) -> Option<&'a mut Operation> {
    let item = document.paths.paths.get_mut(route.template)?;
    match route.method {
        "GET" => item.get.as_mut(),
        "POST" => item.post.as_mut(),
        "PUT" => item.put.as_mut(),
        "DELETE" => item.delete.as_mut(),
        "PATCH" => item.patch.as_mut(),
        _ => None,
    }
}

/// One error response for `codes`, which share a status: each code with its meaning, the body's schema, and
/// `Retry-After` when the codes pass.
fn error_response(codes: &[ErrorCode]) -> Response {
    let description = codes
        .iter()
        .map(|code| format!("`{code}`: {}", code.meaning()))
        .collect::<Vec<_>>()
        .join("\n\n");
    let body = if codes.contains(&FAILED_JOB_CODE) {
        "FailedBody"
    } else {
        "ErrorBody"
    };
    let mut response = Response::new(description);
    response.content.insert(
        "application/json".to_owned(),
        RefOr::T(Content::new(Some(RefOr::<Schema>::Ref(
            Ref::from_schema_name(body),
        )))),
    );
    if codes.iter().any(|code| code.passes()) {
        let header = HeaderBuilder::new()
            .schema(Some(u32::schema()))
            .description(Some("Seconds to wait before retrying."))
            .build();
        response
            .headers
            .insert("Retry-After".to_owned(), RefOr::T(header));
    }
    response
}

/// Writes the error codes into the document: the description's tables, `ErrorBody.code`'s enum, and each
/// operation's error responses from its route.
#[derive(Debug)]
pub struct ErrorDocs;

impl Modify for ErrorDocs {
    fn modify(&self, document: &mut openapi::OpenApi) {
        let description = document.info.description.get_or_insert_with(String::new);
        description.push_str(&format!(
            "\n\n## Errors\n\nEvery error answers `{{\"code\": \"...\", \"message\": \"...\"}}`: `code` is stable, for \
             programs; `message` says what was wrong and how to fix it, for people. Any route may also answer \
             `405 method_not_allowed` or `500 internal`.\n\n{}\n## Failed jobs\n\nA failed job's status \
             document has `error: {{\"code\", \"message\"}}`; its results answer `422 job_failed`.\n\n{}",
            ErrorCode::markdown_table(),
            imagepipe_proto::FailureCode::markdown_table()
        ));
        if let Some(components) = document.components.as_mut()
            && let Some(RefOr::T(Schema::Object(body))) = components.schemas.get_mut("ErrorBody")
            && let Some(RefOr::T(Schema::Object(code))) = body.properties.get_mut("code")
        {
            code.enum_values = Some(
                ErrorCode::ALL
                    .iter()
                    .map(|code| code.as_str().into())
                    .collect(),
            );
        }
        for route in ROUTES {
            let Some(operation) = operation_mut(document, route) else {
                continue;
            };
            let mut by_status: BTreeMap<u16, Vec<ErrorCode>> = BTreeMap::new();
            for code in route.errors {
                by_status
                    .entry(code.status().as_u16())
                    .or_default()
                    .push(*code);
            }
            for (status, codes) in by_status {
                operation
                    .responses
                    .responses
                    .insert(status.to_string(), RefOr::T(error_response(&codes)));
            }
        }
    }
}

/// The `Authorization: Bearer` API-key scheme: every job route takes it (optionally: without keys configured the
/// gateway runs open) and may answer `401 unauthorized`.
#[derive(Debug)]
pub struct ApiKeyScheme;

impl Modify for ApiKeyScheme {
    fn modify(&self, document: &mut openapi::OpenApi) {
        let components = document.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.description = Some(
            "An API key, `Authorization: Bearer <key>`. Without keys configured the gateway runs open and the header \
             is ignored; with keys, every job route needs one, and a job is visible to its owner only (others get \
             `404`)."
                .to_owned(),
        );
        components.add_security_scheme(API_KEY_SCHEME, SecurityScheme::Http(scheme));
        for route in ROUTES.iter().filter(|route| route.keyed) {
            let Some(operation) = operation_mut(document, route) else {
                continue;
            };
            operation.security = Some(vec![
                SecurityRequirement::default(),
                SecurityRequirement::new(API_KEY_SCHEME, Vec::<String>::new()),
            ]);
            let mut response = error_response(&[ErrorCode::Unauthorized]);
            let challenge = HeaderBuilder::new()
                .schema(Some(String::schema()))
                .description(Some("`Bearer realm=\"imagepipe\"`, as RFC 6750 asks."))
                .build();
            response
                .headers
                .insert("WWW-Authenticate".to_owned(), RefOr::T(challenge));
            operation
                .responses
                .responses
                .insert("401".to_owned(), RefOr::T(response));
        }
    }
}
