//! The OpenAPI 3.1 document of the whole API, generated from the code so it cannot drift from it: the handlers'
//! `#[utoipa::path]` attributes (in [`crate::http::handlers`] and [`crate::intake::handler`], and here for the
//! routes other modules serve), the response types' `ToSchema` derives, the option list
//! ([`crate::intake::docs`]), and, for every error response, the route table and the error codes (`errors.rs`).
//! Served at `GET /openapi.json`, with the Swagger UI page at `GET /docs`, its files under `/docs/{file}`: they
//! are vendored in `utoipa-swagger-ui`, so the page works without the internet.

mod errors;
mod params;
mod shared;

use std::sync::{Arc, LazyLock};

use serde::Serialize;
use utoipa::{
    OpenApi, ToSchema,
    openapi::{self, HttpMethod},
};
use warp::{
    Filter, Rejection,
    http::{HeaderValue, header},
};

pub use errors::API_KEY_SCHEME;
use errors::{ApiKeyScheme, ErrorDocs};
use params::ParamDocs;
pub use shared::{IfNoneMatch, JobId, OriginalResponses, OutputName, ResultResponses, Wait};

use crate::{error::ErrorBody, http::handlers::FailedBody};

/// The whole API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "imagepipe",
        description = "Upload an image, get it back resized, converted and watermarked, in as many variants as you \
            ask for. `POST /image` answers `202` with the job's status document at once; the results follow at \
            `GET /image/{id}` and `GET /image/{id}/{output}`.",
    ),
    paths(
        crate::intake::handler::submit,
        crate::http::handlers::result,
        crate::http::handlers::status,
        crate::http::handlers::original,
        crate::http::handlers::events,
        crate::http::handlers::output,
        crate::http::handlers::delete,
        crate::http::handlers::list,
        page,
        page_asset,
        healthz,
        readyz,
        metrics,
        openapi_json,
        docs,
        docs_file,
    ),
    components(schemas(ErrorBody, FailedBody)),
    tags(
        (name = "jobs", description = "Submitting images and getting, following, listing and deleting their jobs."),
        (name = "web", description = "The web page and the API's documentation."),
        (name = "operations", description = "Health and readiness probes, and metrics."),
    ),
    modifiers(&ErrorDocs, &ApiKeyScheme, &ParamDocs),
)]
pub struct ApiDoc;

/// The document, built once.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    ApiDoc::openapi().to_pretty_json().unwrap_or_else(|error| {
        format!(r#"{{"error": "the document does not serialize: {error}"}}"#)
    })
});

/// The Swagger UI configuration its `swagger-initializer.js` carries (the page at `/docs` does not need it).
static SWAGGER: LazyLock<Arc<utoipa_swagger_ui::Config<'static>>> =
    LazyLock::new(|| Arc::new(utoipa_swagger_ui::Config::from("/openapi.json")));

/// The files of Swagger UI that the page at `/docs` loads, as the document lists `/docs/{file}`.
pub const DOCS_FILES: [&str; 3] = [
    "swagger-ui.css",
    "swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.js",
];

/// The page at `/docs`: Swagger UI on the document, its files ([`DOCS_FILES`]) from `/docs/`, all by relative
/// URLs (so it works behind a path prefix too).
const DOCS_PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>imagepipe API</title>
  <link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/swagger-ui-bundle.js"></script>
  <script src="docs/swagger-ui-standalone-preset.js"></script>
  <script>
    window.ui = SwaggerUIBundle({
      url: "openapi.json",
      dom_id: "#swagger-ui",
      deepLinking: true,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: "StandaloneLayout"
    });
  </script>
</body>
</html>
"##;

/// The document as JSON.
#[must_use]
pub fn document() -> &'static str {
    &DOCUMENT
}

/// `GET /openapi.json`, `GET /docs` and `GET /docs/{file}`.
pub fn routes() -> impl Filter<Extract = (warp::reply::Response,), Error = Rejection> + Clone {
    let openapi = warp::path!("openapi.json")
        .and(warp::get())
        .map(|| reply(document().as_bytes().to_vec(), "application/json"));
    let page = warp::path!("docs")
        .and(warp::get())
        .map(|| reply(DOCS_PAGE.as_bytes().to_vec(), "text/html; charset=utf-8"));
    let file = warp::path!("docs" / String)
        .and(warp::get())
        .and_then(|name: String| async move {
            match utoipa_swagger_ui::serve(&name, Arc::clone(&SWAGGER)) {
                Ok(Some(file)) => Ok(reply(file.bytes.into_owned(), &file.content_type)),
                _ => Err(warp::reject::not_found()),
            }
        });
    openapi.or(page).unify().or(file).unify()
}

fn reply(body: Vec<u8>, content_type: &str) -> warp::reply::Response {
    let mut response = warp::reply::Response::new(body.into());
    if let Ok(value) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

/// `/readyz`'s body (the type lives in `imagepipe-common`, which knows nothing of OpenAPI; the gateway suite
/// checks real answers against this schema).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ReadyReport)]
pub struct ReadyReportDoc {
    /// `ready` or `unavailable`.
    pub status: String,
    /// `ok` or why the broker check failed.
    pub broker: Option<String>,
    /// `ok` or why the database check failed.
    pub database: Option<String>,
}

/// `/healthz`'s body.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Health)]
pub struct HealthDoc {
    /// Always `ok`.
    pub status: String,
}

/// Liveness (served by `imagepipe_common::health`).
#[utoipa::path(get, path = "/healthz", tag = "operations", summary = "Liveness: the process answers",
    responses((status = 200, description = "Alive.", body = HealthDoc)))]
#[allow(dead_code)]
fn healthz() {}

/// Readiness (served by `imagepipe_common::health`).
#[utoipa::path(get, path = "/readyz", tag = "operations", summary = "Readiness: the broker and MongoDB answer",
    responses(
        (status = 200, description = "Ready.", body = ReadyReportDoc),
        (status = 503, description = "Not ready: the report says which check failed.", body = ReadyReportDoc),
    ))]
#[allow(dead_code)]
fn readyz() {}

/// The metrics (served by `imagepipe_common::metrics`).
#[utoipa::path(get, path = "/metrics", tag = "operations", summary = "Prometheus metrics",
    description = "Every series of the gateway (requests by route and status, job latency, bytes in and out, broker \
        publishes, cache hits and misses, jobs in flight) in the OpenMetrics text format.",
    responses((status = 200, description = "The metrics.",
        content(("application/openmetrics-text; version=1.0.0; charset=utf-8")))))]
#[allow(dead_code)]
fn metrics() {}

/// The web page (served by [`crate::http::web`]).
#[utoipa::path(get, path = "/", tag = "web", summary = "The web page: upload images and watch their jobs",
    responses((status = 200, description = "The page.", content(("text/html")))))]
#[allow(dead_code)]
fn page() {}

/// The web page's script and style sheet (served by [`crate::http::web`]).
#[utoipa::path(get, path = "/assets/{file}", tag = "web", summary = "A file of the web page",
    params(("file" = String, Path, description = "The page's script or style sheet.")),
    responses(
        (status = 200, description = "The file.", content(("text/javascript"), ("text/css"))),
        (status = 304, description = "Not modified: `If-None-Match` names this version."),
    ))]
#[allow(dead_code)]
fn page_asset() {}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "web", summary = "This OpenAPI document",
    responses((status = 200, description = "The document.", content(("application/json")))))]
#[allow(dead_code)]
fn openapi_json() {}

/// The documentation page.
#[utoipa::path(get, path = "/docs", tag = "web", summary = "This document in Swagger UI",
    responses((status = 200, description = "The page.", content(("text/html")))))]
#[allow(dead_code)]
fn docs() {}

/// Swagger UI's files.
#[utoipa::path(get, path = "/docs/{file}", tag = "web", summary = "A file of the Swagger UI page",
    params(("file" = String, Path, description = "A file the page loads.")),
    responses((status = 200, description = "The file.")))]
#[allow(dead_code)]
fn docs_file() {}

/// The `(method, path)` of every operation in `document`, upper-case methods.
#[must_use]
pub fn operations(document: &openapi::OpenApi) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (path, item) in &document.paths.paths {
        for (method, operation) in [
            (HttpMethod::Get, &item.get),
            (HttpMethod::Post, &item.post),
            (HttpMethod::Put, &item.put),
            (HttpMethod::Delete, &item.delete),
            (HttpMethod::Patch, &item.patch),
            (HttpMethod::Head, &item.head),
            (HttpMethod::Options, &item.options),
            (HttpMethod::Trace, &item.trace),
        ] {
            if operation.is_some() {
                let method = serde_json::to_value(&method)
                    .ok()
                    .and_then(|value| value.as_str().map(str::to_ascii_uppercase))
                    .unwrap_or_default();
                found.push((method, path.clone()));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::*;
    use crate::{
        error::ErrorCode,
        http::{ROUTES, handlers::MAX_WAIT_SECS, web::ASSETS},
        stored::listing::{CURSOR_PATTERN, LISTED_STATUSES, MAX_LIMIT},
    };

    fn json() -> Value {
        serde_json::from_str(document()).unwrap()
    }

    /// Every operation of the document: `(method, path, operation)`.
    fn each_operation(document: &Value) -> Vec<(String, String, Value)> {
        let mut found = Vec::new();
        for (path, item) in document["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                found.push((method.to_ascii_uppercase(), path.clone(), operation.clone()));
            }
        }
        found
    }

    #[test]
    fn the_document_is_openapi_3_and_reads_back() {
        let document = json();
        assert!(
            document["openapi"].as_str().unwrap().starts_with("3."),
            "{}",
            document["openapi"]
        );
        assert_eq!(document["info"]["title"], "imagepipe");
        assert!(document["info"]["version"].is_string());
        let parsed: openapi::OpenApi = serde_json::from_str(super::document()).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), document);
        // Every reference resolves.
        let text = document.to_string();
        for reference in text.split("\"$ref\":\"").skip(1) {
            let name = reference[..reference.find('"').unwrap()]
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("unexpected reference {reference}"));
            assert!(
                document["components"]["schemas"].get(name).is_some(),
                "{name}"
            );
        }
    }

    #[test]
    fn the_metrics_label_requests_by_the_documented_paths() {
        let documented: BTreeSet<_> = json()["paths"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let labelled: BTreeSet<_> = crate::http::request_log::templates()
            .map(str::to_owned)
            .collect();
        assert_eq!(documented, labelled);
    }

    #[test]
    fn the_document_lists_exactly_the_routes_the_router_serves() {
        let documented: BTreeSet<_> = operations(&ApiDoc::openapi()).into_iter().collect();
        let served: BTreeSet<_> = ROUTES
            .iter()
            .map(|route| (route.method.to_owned(), route.template.to_owned()))
            .collect();
        assert_eq!(documented, served);
        assert_eq!(each_operation(&json()).len(), ROUTES.len());
    }

    #[test]
    fn every_error_response_is_its_routes_codes() {
        let document = json();
        for route in ROUTES {
            let operation = &document["paths"][route.template][route.method.to_ascii_lowercase()];
            let mut documented = BTreeSet::new();
            for (status, response) in operation["responses"].as_object().unwrap() {
                let code: u16 = status.parse().unwrap();
                if code < 400 || (code == 401 && route.keyed) {
                    continue;
                }
                if response["content"]["application/json"]["schema"]["$ref"]
                    == "#/components/schemas/ReadyReport"
                {
                    continue; // `/readyz`'s 503 is a report, not an error.
                }
                let description = response["description"].as_str().unwrap();
                for paragraph in description.split("\n\n") {
                    let named = paragraph
                        .strip_prefix('`')
                        .and_then(|rest| rest.split_once("`:"))
                        .map(|(named, _)| named)
                        .unwrap_or_else(|| {
                            panic!(
                                "{} {} {status}: no code in `{paragraph}`",
                                route.method, route.template
                            )
                        });
                    let listed = ErrorCode::from_name(named).unwrap();
                    assert_eq!(
                        listed.status().as_u16(),
                        code,
                        "{} {}",
                        route.method,
                        route.template
                    );
                    documented.insert(listed);
                }
                let schema = response["content"]["application/json"]["schema"]["$ref"].as_str();
                assert!(
                    matches!(
                        schema,
                        Some("#/components/schemas/ErrorBody" | "#/components/schemas/FailedBody")
                    ),
                    "{} {} {status}: {schema:?}",
                    route.method,
                    route.template
                );
                if code == 503 || code == 409 {
                    assert!(
                        response["headers"].get("Retry-After").is_some(),
                        "{}",
                        route.template
                    );
                }
            }
            let own: BTreeSet<_> = route.errors.iter().copied().collect();
            assert_eq!(documented, own, "{} {}", route.method, route.template);
        }
    }

    #[test]
    fn the_error_schema_and_description_come_from_the_code_list() {
        let document = json();
        let codes = &document["components"]["schemas"]["ErrorBody"]["properties"]["code"]["enum"];
        let listed: Vec<_> = ErrorCode::ALL.iter().map(|code| code.as_str()).collect();
        assert_eq!(codes, &serde_json::json!(listed));
        let description = document["info"]["description"].as_str().unwrap();
        assert!(description.contains(&ErrorCode::markdown_table()));
        assert!(description.contains(&imagepipe_proto::FailureCode::markdown_table()));
        let required = &document["components"]["schemas"]["ErrorBody"]["required"];
        assert_eq!(required, &serde_json::json!(["code", "message"]));
    }

    #[test]
    fn job_routes_take_the_api_key_and_say_401() {
        let document = json();
        let scheme = &document["components"]["securitySchemes"][API_KEY_SCHEME];
        assert_eq!(scheme["type"], "http");
        assert_eq!(scheme["scheme"], "bearer");
        for route in ROUTES {
            let (method, path) = (route.method, route.template);
            let operation = &document["paths"][path][method.to_ascii_lowercase()];
            let is_job_route = route.keyed;
            assert_eq!(is_job_route, path.starts_with("/image"), "{method} {path}");
            assert_eq!(
                operation.get("security").is_some(),
                is_job_route,
                "{method} {path}"
            );
            if is_job_route {
                let security = operation["security"].as_array().unwrap();
                assert!(
                    security
                        .iter()
                        .any(|requirement| requirement.get(API_KEY_SCHEME).is_some())
                );
                // Optional: without keys configured the gateway runs open.
                assert!(
                    security
                        .iter()
                        .any(|requirement| requirement == &serde_json::json!({}))
                );
                let unauthorized = &operation["responses"]["401"];
                assert!(
                    unauthorized["description"]
                        .as_str()
                        .unwrap()
                        .starts_with("`unauthorized`")
                );
                assert!(unauthorized["headers"].get("WWW-Authenticate").is_some());
            }
        }
    }

    #[test]
    fn documented_limits_are_the_codes() {
        let doc = json();
        let param = |path: &str, method: &str, name: &str| {
            doc["paths"][path][method]["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .find(|param| param["name"] == name)
                .cloned()
                .unwrap_or_else(|| panic!("{method} {path} has no parameter {name}"))
        };
        assert_eq!(
            param("/images", "get", "limit")["schema"]["maximum"],
            MAX_LIMIT
        );
        for path in ["/image/{id}", "/image/{id}/{output}"] {
            assert_eq!(
                param(path, "get", "wait")["schema"]["maximum"],
                MAX_WAIT_SECS
            );
        }
        // Where a type says too little, the document lists the values the code takes.
        let schema = |path: &str, name: &str| param(path, "get", name)["schema"].clone();
        assert_eq!(
            schema("/images", "status")["enum"],
            serde_json::json!(["done", "failed", ""])
        );
        assert_eq!(LISTED_STATUSES, ["done", "failed"]);
        assert_eq!(schema("/images", "cursor")["pattern"], CURSOR_PATTERN);
        assert_eq!(
            schema("/assets/{file}", "file")["enum"],
            serde_json::json!(ASSETS)
        );
        assert_eq!(
            schema("/docs/{file}", "file")["enum"],
            serde_json::json!(DOCS_FILES)
        );
        let content = doc["paths"]["/image"]["post"]["requestBody"]["content"]
            .as_object()
            .unwrap();
        let types: BTreeSet<_> = content.keys().map(String::as_str).collect();
        assert_eq!(
            types,
            BTreeSet::from([
                "image/*",
                "application/octet-stream",
                "multipart/form-data",
                "application/json"
            ])
        );
    }

    #[tokio::test]
    async fn the_document_and_the_docs_page_are_served() {
        let routes = routes();
        let response = warp::test::request()
            .path("/openapi.json")
            .reply(&routes)
            .await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(response.body().as_ref(), document().as_bytes());
        let response = warp::test::request().path("/docs").reply(&routes).await;
        assert_eq!(response.status(), 200);
        let page = String::from_utf8(response.body().to_vec()).unwrap();
        assert!(page.contains("url: \"openapi.json\""));
        let files: Vec<_> = page
            .split("\"docs/")
            .skip(1)
            .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
            .collect();
        assert_eq!(files, DOCS_FILES, "the page loads exactly the listed files");
        for file in files {
            let response = warp::test::request()
                .path(&format!("/docs/{file}"))
                .reply(&routes)
                .await;
            assert_eq!(response.status(), 200, "{file}");
            assert!(response.body().len() > 1000, "{file}");
            let kind = if file.ends_with(".css") {
                "text/css"
            } else {
                "javascript"
            };
            let content_type = response.headers()["content-type"].to_str().unwrap();
            assert!(content_type.contains(kind), "{file}: {content_type}");
        }
        let missing = warp::test::request()
            .path("/docs/nothing.js")
            .filter(&routes)
            .await;
        assert!(missing.unwrap_err().is_not_found());
    }
}
