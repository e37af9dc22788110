//! The one rejection handler: every error a route can produce becomes a status and a JSON body
//! `{"code": "...", "message": "..."}`, with the headers its error calls for (`Retry-After`, `Allow`,
//! `WWW-Authenticate`).

use std::{convert::Infallible, error::Error as _};

use serde::Serialize;
use warp::{
    Rejection, Reply,
    http::{
        HeaderValue,
        header::{ALLOW, RETRY_AFTER, WWW_AUTHENTICATE},
    },
    reject,
};

use super::{ApiError, ErrorCode};

/// The body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code.
    #[schema(value_type = String)]
    pub code: ErrorCode,
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
    let allow = rejection
        .find::<ApiError>()
        .and_then(ApiError::allow)
        .and_then(|allow| HeaderValue::from_str(allow).ok());
    let (status, code, message) = if let Some(error) = rejection.find::<ApiError>() {
        if error.status().is_server_error() {
            let mut chain = error.to_string();
            let mut source = error.source();
            while let Some(cause) = source {
                chain.push_str(": ");
                chain.push_str(&cause.to_string());
                source = cause.source();
            }
            tracing::warn!(code = %error.code(), error = %chain, "Request failed.");
        }
        (error.status(), error.code(), error.to_string())
    } else if rejection.is_not_found() {
        (
            ErrorCode::NotFound.status(),
            ErrorCode::NotFound,
            "no such route; the API is described at /openapi.json and /docs".to_owned(),
        )
    } else if rejection.find::<reject::MethodNotAllowed>().is_some() {
        (
            ErrorCode::MethodNotAllowed.status(),
            ErrorCode::MethodNotAllowed,
            "this route does not accept that HTTP method".to_owned(),
        )
    } else if rejection.find::<reject::InvalidQuery>().is_some() {
        (
            ErrorCode::InvalidQuery.status(),
            ErrorCode::InvalidQuery,
            "the query string is malformed".to_owned(),
        )
    } else if let Some(header) = rejection.find::<reject::InvalidHeader>() {
        (
            ErrorCode::InvalidHeader.status(),
            ErrorCode::InvalidHeader,
            format!("the header `{}` is malformed", header.name()),
        )
    } else if rejection.find::<reject::PayloadTooLarge>().is_some() {
        (
            ErrorCode::PayloadTooLarge.status(),
            ErrorCode::PayloadTooLarge,
            "the request body is too large".to_owned(),
        )
    } else {
        tracing::error!(?rejection, "Unhandled rejection.");
        (
            ErrorCode::Internal.status(),
            ErrorCode::Internal,
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
    if let Some(allow) = allow {
        response.headers_mut().insert(ALLOW, allow);
    }
    if let Some(challenge) = challenge {
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashMap};

    use bytes::Bytes;
    use warp::Filter;

    use warp::http::StatusCode;

    use super::*;
    use crate::{
        error::AuthFailure,
        intake::body::{self, UploadRequest},
        stored::listing,
    };

    /// What a route failing with `error` answers: status, `code`, and whether `Retry-After` came.
    async fn answer(error: ApiError) -> (StatusCode, String, bool) {
        let error = std::sync::Arc::new(std::sync::Mutex::new(Some(error)));
        let route = warp::any()
            .and_then(move || {
                let error = error.lock().unwrap().take().unwrap();
                async move { Err::<String, _>(warp::reject::custom(error)) }
            })
            .recover(handle_rejection);
        let response = warp::test::request().reply(&route).await;
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        let retry = response.headers().contains_key(RETRY_AFTER);
        (
            response.status(),
            body["code"].as_str().unwrap().to_owned(),
            retry,
        )
    }

    /// The error `body::read` makes of a body of `content_type`.
    async fn upload_error(content_type: &str, body: &'static [u8]) -> ApiError {
        let request = UploadRequest {
            content_type: Some(content_type),
            content_length: None,
            query: &[],
            max_bytes: 1000,
        };
        let chunks = futures_util::stream::iter([Ok::<_, warp::Error>(Bytes::from_static(body))]);
        body::read(request, chunks).await.unwrap_err()
    }

    /// An error of each kind, made where the gateway makes it wherever the code can be reached in a unit test.
    async fn samples() -> Vec<ApiError> {
        let mut samples = vec![
            ApiError::PayloadTooLarge { limit: 1 },
            ApiError::UnsupportedImageFormat,
            ApiError::UnreadableImage("truncated".into()),
            ApiError::TooManyPixels {
                width: 2,
                height: 2,
                limit: 1,
            },
            ApiError::InvalidOption("width".into()),
            ApiError::Unauthorized(AuthFailure::Missing),
            ApiError::MethodNotAllowed {
                method: "PUT".into(),
                path: "/images".into(),
                allow: "GET".into(),
            },
            ApiError::JobNotFound("x".into()),
            ApiError::OutputNotFound {
                job_id: "x".into(),
                name: "y".into(),
                available: "default".into(),
            },
            ApiError::JobInProgress {
                job_id: "x".into(),
                status: crate::error::Unstored::InProgress(imagepipe_proto::v1::JobStatus::Queued),
            },
            ApiError::QueueFull,
            ApiError::Overloaded {
                waited_secs: 12.5,
                limit_secs: 10,
                retry_after_secs: 5,
            },
            ApiError::OverloadedBytes {
                queued_bytes: 200 << 20,
                limit_bytes: 192 << 20,
                retry_after_secs: 3,
            },
            ApiError::BrokerUnavailable(imagepipe_common::Error::Timeout {
                what: "a confirm",
                seconds: 1,
            }),
            ApiError::StoreUnavailable(imagepipe_archive::StoreError::InvalidEvent(
                "unreachable".into(),
            )),
            // A stream error cannot be made outside warp; this is the one code not made by its producer here.
            ApiError::bad_request(ErrorCode::BodyReadFailed, "reading the body failed"),
            listing::decode_cursor("not-a-cursor").unwrap_err(),
            listing::ListQuery::parse(&HashMap::from([("limit".to_owned(), "0".to_owned())]))
                .unwrap_err(),
        ];
        for (content_type, body) in [
            ("text/plain", &b"hello"[..]),
            ("application/json", b"{"),
            ("application/json", br#"{"image": "***"}"#),
            ("application/json", br#"{"width": 3}"#),
            ("multipart/form-data", b"--x--"),
            ("image/png", b""),
        ] {
            samples.push(upload_error(content_type, body).await);
        }
        samples
    }

    #[tokio::test]
    async fn api_errors_answer_with_their_codes_status() {
        for error in samples().await {
            let code = error.code();
            let (status, sent, retry) = answer(error).await;
            assert_eq!(sent, code.as_str());
            assert_eq!(status, code.status(), "{code}");
            assert_eq!(retry, code.passes(), "{code}: Retry-After");
        }
    }

    /// The rejection handler's own codes, from real warp filters.
    async fn warp_codes() -> Vec<(String, StatusCode)> {
        #[derive(Debug)]
        struct Unexpected;
        impl warp::reject::Reject for Unexpected {}
        let routes = warp::path!("get")
            .and(warp::get())
            .map(warp::reply)
            .or(warp::path!("query")
                .and(warp::query::<HashMap<String, u32>>())
                .map(|_| warp::reply()))
            .or(warp::path!("header")
                .and(warp::header::<u64>("x-number"))
                .map(|_| warp::reply()))
            .or(warp::path!("body")
                .and(warp::body::content_length_limit(1))
                .and(warp::body::bytes())
                .map(|_| warp::reply()))
            .or(warp::path!("bug")
                .and_then(|| async { Err::<String, _>(warp::reject::custom(Unexpected)) }))
            .recover(handle_rejection);
        let mut codes = Vec::new();
        for (method, path, header) in [
            ("GET", "/nowhere", None),
            ("POST", "/get", None),
            ("GET", "/query?a=b", None),
            ("GET", "/header", Some(("x-number", "ten"))),
            ("GET", "/body", Some(("content-length", "5"))),
            ("GET", "/bug", None),
        ] {
            let mut request = warp::test::request().method(method).path(path);
            if let Some((name, value)) = header {
                request = request.header(name, value);
            }
            if path == "/body" {
                request = request.body("12345");
            }
            let response = request.reply(&routes).await;
            let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
            codes.push((body["code"].as_str().unwrap().to_owned(), response.status()));
        }
        codes
    }

    #[tokio::test]
    async fn the_handlers_own_codes_come_with_their_status() {
        let codes = warp_codes().await;
        let names: Vec<&str> = codes.iter().map(|(code, _)| code.as_str()).collect();
        assert_eq!(
            names,
            [
                "not_found",
                "method_not_allowed",
                "invalid_query",
                "invalid_header",
                "payload_too_large",
                "internal"
            ]
        );
        for (code, status) in codes {
            assert_eq!(
                ErrorCode::from_name(&code).unwrap().status(),
                status,
                "{code}"
            );
        }
    }

    #[tokio::test]
    async fn every_listed_code_reaches_clients() {
        let mut sent: BTreeSet<ErrorCode> = samples().await.iter().map(ApiError::code).collect();
        sent.extend(
            warp_codes()
                .await
                .iter()
                .map(|(code, _)| ErrorCode::from_name(code).unwrap()),
        );
        // A failed job's result answers with its own body (the handlers' `FailedBody`).
        sent.insert(crate::http::handlers::FAILED_JOB_CODE);
        let listed: BTreeSet<ErrorCode> = ErrorCode::ALL.iter().copied().collect();
        let never_sent: Vec<_> = listed.difference(&sent).collect();
        assert!(
            never_sent.is_empty(),
            "listed but never sent: {never_sent:?}"
        );
    }
}
