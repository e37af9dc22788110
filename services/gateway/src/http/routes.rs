//! Every route the gateway serves, in one table ([`ROUTES`]: method, path template, and the error codes each can
//! answer with), and the warp router that serves them behind the one rejection handler. The OpenAPI document's
//! error responses, the request metrics' route labels and the suites' route checks all read the table: a route
//! is added here, to the router and to the document together. A method a path is not served with is refused
//! from the table too, with `405` and `Allow`.

use std::{collections::HashMap, convert::Infallible, sync::Arc};

use imagepipe_common::health::{self, Readiness};
use warp::{Filter, Reply, http::Method, path::FullPath};

use super::{handlers, openapi, request_log, web};
use crate::{
    auth::{self, ApiKeys},
    error::{ApiError, ErrorCode, handle_rejection},
    intake::{self, Submitter, admission::Admission},
    tracking::{JobStore, Lookup},
};

/// One route: its method, its path template, whether it is a job route (one that takes the API key), and the
/// error codes it can answer with besides those every route can (`405 method_not_allowed`, `500 internal`, and
/// on a job route `401 unauthorized` when API keys are configured).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// `GET`, `POST` or `DELETE`.
    pub method: &'static str,
    /// The path, with `{name}` for a parameter.
    pub template: &'static str,
    /// A job route: it names its caller by the API key, and shows the caller only their own jobs.
    pub keyed: bool,
    /// Its own error codes.
    pub errors: &'static [ErrorCode],
}

impl Route {
    /// Whether `path` fits the template: the same segments, a `{parameter}` standing for any non-empty one.
    /// Compares segments in place, without collecting them.
    #[must_use]
    pub fn matches(&self, path: &str) -> bool {
        let mut expected = self.template.trim_start_matches('/').split('/');
        let mut actual = path.trim_start_matches('/').split('/');
        loop {
            match (expected.next(), actual.next()) {
                (None, None) => return true,
                (Some(expected), Some(actual))
                    if expected == actual || (expected.starts_with('{') && !actual.is_empty()) => {}
                _ => return false,
            }
        }
    }
}

/// The methods some route serves `path` with, in the table's order, each once (empty: no route has this path).
#[must_use]
pub fn methods_of(path: &str) -> Vec<&'static str> {
    let mut methods = Vec::new();
    for route in ROUTES.iter().filter(|route| route.matches(path)) {
        if !methods.contains(&route.method) {
            methods.push(route.method);
        }
    }
    methods
}

/// The router's last branch: a path some route serves, asked with a method none of them takes, is refused with
/// `405 method_not_allowed` and `Allow` naming the methods it takes (RFC 9110). Any other request passes on as
/// not found, the weakest rejection, so a route's own error always wins over it.
fn method_not_allowed()
-> impl Filter<Extract = (warp::reply::Response,), Error = warp::Rejection> + Clone {
    warp::path::full()
        .and(warp::method())
        .and_then(|path: FullPath, method: Method| async move {
            let methods = methods_of(path.as_str());
            if methods.is_empty() || methods.contains(&method.as_str()) {
                return Err(warp::reject::not_found());
            }
            Err(warp::reject::custom(ApiError::MethodNotAllowed {
                method: method.to_string(),
                path: path.as_str().to_owned(),
                allow: methods.join(", "),
            }))
        })
}

/// An open route: no API key.
const fn open(method: &'static str, template: &'static str, errors: &'static [ErrorCode]) -> Route {
    Route {
        method,
        template,
        keyed: false,
        errors,
    }
}

/// A job route: it takes the API key.
const fn job(method: &'static str, template: &'static str, errors: &'static [ErrorCode]) -> Route {
    Route {
        method,
        template,
        keyed: true,
        errors,
    }
}

use ErrorCode::{
    BodyReadFailed, BrokerUnavailable, EmptyImage, ImageTooLarge, InvalidBase64, InvalidCursor,
    InvalidHeader, InvalidJson, InvalidMultipart, InvalidOption, InvalidQuery, JobFailed,
    JobInProgress, JobNotFound, MissingImage, NotFound, OutputNotFound, Overloaded,
    PayloadTooLarge, QueueFull, StoreUnavailable, UnreadableImage, UnsupportedContentType,
    UnsupportedImageFormat,
};

/// Every route the router serves. First match wins when a path is labelled for the request metrics, so a
/// specific template stays before one with a parameter in its place.
pub const ROUTES: &[Route] = &[
    open("GET", "/healthz", &[]),
    open("GET", "/readyz", &[]),
    open("GET", "/metrics", &[]),
    open("GET", "/openapi.json", &[]),
    open("GET", "/docs", &[]),
    open("GET", "/docs/{file}", &[NotFound]),
    open("GET", "/", &[]),
    open("GET", "/assets/{file}", &[NotFound]),
    job(
        "POST",
        "/image",
        &[
            InvalidOption,
            InvalidQuery,
            InvalidHeader,
            InvalidJson,
            InvalidBase64,
            InvalidMultipart,
            MissingImage,
            EmptyImage,
            BodyReadFailed,
            PayloadTooLarge,
            UnsupportedContentType,
            UnsupportedImageFormat,
            UnreadableImage,
            ImageTooLarge,
            QueueFull,
            Overloaded,
            BrokerUnavailable,
        ],
    ),
    job(
        "GET",
        "/image/{id}",
        &[InvalidOption, JobNotFound, JobFailed, StoreUnavailable],
    ),
    job(
        "GET",
        "/image/{id}/status",
        &[JobNotFound, StoreUnavailable],
    ),
    job(
        "GET",
        "/image/{id}/original",
        &[JobNotFound, StoreUnavailable],
    ),
    job(
        "GET",
        "/image/{id}/events",
        &[JobNotFound, StoreUnavailable],
    ),
    job(
        "GET",
        "/image/{id}/{output}",
        &[
            InvalidOption,
            JobNotFound,
            OutputNotFound,
            JobFailed,
            StoreUnavailable,
        ],
    ),
    job(
        "DELETE",
        "/image/{id}",
        &[
            JobNotFound,
            JobInProgress,
            BrokerUnavailable,
            StoreUnavailable,
        ],
    ),
    job(
        "GET",
        "/images",
        &[InvalidOption, InvalidCursor, StoreUnavailable],
    ),
];

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Publishes new jobs.
    pub submitter: Arc<Submitter>,
    /// This replica's job table.
    pub jobs: Arc<JobStore>,
    /// Memory, then MongoDB.
    pub lookup: Lookup,
    /// Whether new jobs are taken now.
    pub admission: Admission,
    /// Largest accepted upload in bytes.
    pub max_upload_bytes: u64,
    /// Largest accepted image in pixels.
    pub max_pixels: u64,
    /// Prefix of links in responses.
    pub link_base: Arc<str>,
    /// The API keys (none: the gateway runs open).
    pub keys: Arc<ApiKeys>,
    /// Becomes `true` when the gateway shuts down (live status streams end then).
    pub stopping: tokio::sync::watch::Receiver<bool>,
}

/// The whole API, errors included.
pub fn routes(
    state: AppState,
    readiness: Readiness,
) -> impl Filter<Extract = (impl Reply,), Error = Infallible> + Clone {
    let web = web::routes(state.max_upload_bytes);
    // Every job route names its caller (401 without a valid key when keys are configured).
    let caller = auth::caller(Arc::clone(&state.keys));
    let with_state = warp::any().map(move || state.clone());
    let submit = warp::path!("image")
        .and(warp::post())
        .and(with_state.clone())
        .and(caller.clone())
        .and(warp::query::<Vec<(String, String)>>())
        .and(warp::header::optional::<String>("content-type"))
        .and(warp::header::optional::<u64>("content-length"))
        .and(warp::header::optional::<String>("expect"))
        .and(warp::body::stream())
        .and_then(intake::handler::submit);
    let if_none_match = || warp::header::optional::<String>("if-none-match");
    let result = warp::path!("image" / String)
        .and(warp::get())
        .and(with_state.clone())
        .and(caller.clone())
        .and(warp::query::<HashMap<String, String>>())
        .and(if_none_match())
        .and_then(handlers::result);
    let status = warp::path!("image" / String / "status")
        .and(warp::get())
        .and(with_state.clone())
        .and(caller.clone())
        .and_then(handlers::status);
    let original = warp::path!("image" / String / "original")
        .and(warp::get())
        .and(with_state.clone())
        .and(caller.clone())
        .and(if_none_match())
        .and_then(handlers::original);
    let events = warp::path!("image" / String / "events")
        .and(warp::get())
        .and(with_state.clone())
        .and(caller.clone())
        .and_then(handlers::events);
    // After `status`, `original` and `events`, which are not output names (the contract reserves them).
    let output = warp::path!("image" / String / String)
        .and(warp::get())
        .and(with_state.clone())
        .and(caller.clone())
        .and(warp::query::<HashMap<String, String>>())
        .and(if_none_match())
        .and_then(handlers::output);
    let delete = warp::path!("image" / String)
        .and(warp::delete())
        .and(with_state.clone())
        .and(caller.clone())
        .and_then(handlers::delete);
    let list = warp::path!("images")
        .and(warp::get())
        .and(with_state)
        .and(caller)
        .and(warp::query::<HashMap<String, String>>())
        .and_then(handlers::list);
    health::routes(readiness)
        .or(openapi::routes())
        .or(web)
        .or(submit)
        .or(result)
        .or(status)
        .or(original)
        .or(events)
        .or(output)
        .or(delete)
        .or(list)
        .or(method_not_allowed())
        .recover(handle_rejection)
        .with(request_log::observe())
}

#[cfg(test)]
mod tests {
    use warp::http::header::ALLOW;

    use super::*;

    #[test]
    fn paths_name_the_methods_they_are_served_with() {
        let id = "0b8f3f5e-4a8e-4c39-9d59-0d8f7f0e1a11";
        assert_eq!(methods_of(&format!("/image/{id}")), ["GET", "DELETE"]);
        assert_eq!(methods_of("/image"), ["POST"]);
        assert_eq!(methods_of(&format!("/image/{id}/status")), ["GET"]);
        assert_eq!(methods_of("/assets/app.js"), ["GET"]);
        for nowhere in ["/nowhere", "/image/", "/image/a/b/c", "/assets"] {
            assert!(methods_of(nowhere).is_empty(), "{nowhere}");
        }
    }

    #[tokio::test]
    async fn a_method_a_path_is_not_served_with_is_refused_with_allow() {
        // A route of the table, with the last branch and the rejection handler as the router has them.
        let router = warp::path!("images")
            .and(warp::get())
            .map(|| "listed".into_response())
            .or(method_not_allowed())
            .unify()
            .recover(handle_rejection);
        let reply = |method: &str, path: &str| {
            warp::test::request()
                .method(method)
                .path(path)
                .reply(&router)
        };
        let refused = reply("TRACE", "/image/0b8f3f5e-4a8e-4c39-9d59-0d8f7f0e1a11").await;
        assert_eq!(refused.status(), 405);
        assert_eq!(refused.headers()[ALLOW], "GET, DELETE");
        let body: serde_json::Value = serde_json::from_slice(refused.body()).unwrap();
        assert_eq!(body["code"], "method_not_allowed");
        assert!(
            body["message"].as_str().unwrap().contains("TRACE"),
            "{body}"
        );
        assert_eq!(reply("POST", "/images").await.headers()[ALLOW], "GET");
        // The served method is answered by its route, an unknown path is not found.
        assert_eq!(reply("GET", "/images").await.status(), 200);
        let unknown = reply("PUT", "/nowhere").await;
        assert_eq!(unknown.status(), 404);
        assert!(!unknown.headers().contains_key(ALLOW));
    }
}
