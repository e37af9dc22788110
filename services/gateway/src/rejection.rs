//! The one rejection handler: every error a route can produce becomes a status and a JSON body
//! `{"code": "...", "message": "..."}`.

use std::{convert::Infallible, error::Error as _};

use serde::Serialize;
use warp::{
    Rejection, Reply,
    http::{
        HeaderValue, StatusCode,
        header::{RETRY_AFTER, WWW_AUTHENTICATE},
    },
    reject,
};

use crate::error::ApiError;

/// The body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code.
    pub code: &'static str,
    /// What was wrong, for people.
    pub message: String,
}

/// Maps a rejection to its JSON error response, with `Retry-After` on errors that pass. 5xx causes are logged
/// with their whole chain.
pub async fn handle_rejection(rejection: Rejection) -> Result<warp::reply::Response, Infallible> {
    let retry_after = rejection
        .find::<ApiError>()
        .and_then(ApiError::retry_after_secs);
    let challenge = rejection
        .find::<ApiError>()
        .and_then(ApiError::www_authenticate);
    let (status, code, message) = if let Some(error) = rejection.find::<ApiError>() {
        if error.status().is_server_error() {
            let mut chain = error.to_string();
            let mut source = error.source();
            while let Some(cause) = source {
                chain.push_str(": ");
                chain.push_str(&cause.to_string());
                source = cause.source();
            }
            tracing::warn!(code = error.code(), error = %chain, "Request failed.");
        }
        (error.status(), error.code(), error.to_string())
    } else if rejection.is_not_found() {
        (
            StatusCode::NOT_FOUND,
            "not_found",
            "no such route; the API is described at /openapi.json and /docs".to_owned(),
        )
    } else if rejection.find::<reject::MethodNotAllowed>().is_some() {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this route does not accept that HTTP method".to_owned(),
        )
    } else if rejection.find::<reject::InvalidQuery>().is_some() {
        (
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "the query string is malformed".to_owned(),
        )
    } else if let Some(header) = rejection.find::<reject::InvalidHeader>() {
        (
            StatusCode::BAD_REQUEST,
            "invalid_header",
            format!("the header `{}` is malformed", header.name()),
        )
    } else if rejection.find::<reject::PayloadTooLarge>().is_some() {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the request body is too large".to_owned(),
        )
    } else {
        tracing::error!(?rejection, "Unhandled rejection.");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error".to_owned(),
        )
    };
    let reply = warp::reply::with_status(warp::reply::json(&ErrorBody { code, message }), status);
    let mut response = reply.into_response();
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    if let Some(challenge) = challenge {
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    }
    Ok(response)
}
