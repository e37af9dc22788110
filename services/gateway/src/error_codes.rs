//! The stable error codes, in one place. Every error response carries one of [`ERROR_CODES`] as its `code`
//! (`{"code": "...", "message": "..."}`); a failed job's `error.code` is one of the contract's
//! [`FailureCode`](imagepipe_proto::FailureCode)s. The
//! OpenAPI document's description of errors and the `code` enum of its `ErrorBody` schema are written from these
//! lists; the tests below read the gateway's sources and drive the rejection handler so that a code the gateway
//! can send and this list cannot part ways.

/// One stable code of an error response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode {
    /// What clients match on.
    pub code: &'static str,
    /// The HTTP status it comes with.
    pub status: u16,
    /// What it means and what to do about it.
    pub meaning: &'static str,
}

const fn code(code: &'static str, status: u16, meaning: &'static str) -> ErrorCode {
    ErrorCode {
        code,
        status,
        meaning,
    }
}

/// Every code an error response can carry, by status.
pub const ERROR_CODES: &[ErrorCode] = &[
    code(
        "invalid_option",
        400,
        "An option or query parameter (width, fit, variants, wait, limit, status, …) is unknown or has a bad value; the message names it and what it accepts.",
    ),
    code("invalid_query", 400, "The query string cannot be parsed."),
    code("invalid_header", 400, "A request header is malformed."),
    code(
        "invalid_json",
        400,
        "The JSON body is malformed, or not an object with an `image` base64 string.",
    ),
    code(
        "invalid_base64",
        400,
        "`image` or `watermark_image` is not valid base64.",
    ),
    code(
        "invalid_multipart",
        400,
        "The multipart/form-data body is malformed or its content type has no boundary.",
    ),
    code(
        "missing_image",
        400,
        "The form has no `image` field, or the JSON body no `image` member.",
    ),
    code("empty_image", 400, "The upload holds no bytes."),
    code(
        "body_read_failed",
        400,
        "The request body could not be read to its end.",
    ),
    code(
        "invalid_cursor",
        400,
        "The `cursor` of `GET /images` is not one this API handed out; pass the previous page's `next` as it is.",
    ),
    code(
        "unauthorized",
        401,
        "API keys are configured and the request has no valid `Authorization: Bearer <key>`.",
    ),
    code(
        "not_found",
        404,
        "No route has this path: see `/openapi.json` for the routes.",
    ),
    code(
        "job_not_found",
        404,
        "No job has this id (it never existed, was deleted, or belongs to another API key).",
    ),
    code(
        "output_not_found",
        404,
        "The job has no output of this name; the message lists the ones it has.",
    ),
    code(
        "method_not_allowed",
        405,
        "The route exists but not with this HTTP method.",
    ),
    code(
        "job_in_progress",
        409,
        "The job is still queued, processing or being stored and cannot be deleted yet; retry after `Retry-After` seconds.",
    ),
    code(
        "payload_too_large",
        413,
        "The upload is larger than the gateway's limit, or the job (upload, watermark, options) larger than one broker message.",
    ),
    code(
        "unsupported_content_type",
        415,
        "The body is not `image/*`, `application/octet-stream`, `multipart/form-data` or `application/json`.",
    ),
    code(
        "unsupported_image_format",
        415,
        "The bytes are not JPEG, PNG, WebP, GIF, BMP or TIFF.",
    ),
    code(
        "unreadable_image",
        422,
        "The image's header is damaged or truncated.",
    ),
    code(
        "image_too_large",
        422,
        "The image has more pixels than the gateway's limit.",
    ),
    code(
        "job_failed",
        422,
        "The job failed: the body's `job` is its status document and `job.error` says why (one of the job failure codes).",
    ),
    code(
        "internal",
        500,
        "A bug in the gateway; the cause is logged.",
    ),
    code(
        "queue_full",
        503,
        "The work queue is full; retry after `Retry-After` seconds.",
    ),
    code(
        "broker_unavailable",
        503,
        "The message broker is unreachable or did not confirm; nothing was queued or deleted. Retry after `Retry-After` seconds.",
    ),
    code(
        "store_unavailable",
        503,
        "MongoDB cannot be read; retry after `Retry-After` seconds.",
    ),
];

/// The listed code `code`, if it is one.
#[must_use]
pub fn find(code: &str) -> Option<&'static ErrorCode> {
    ERROR_CODES.iter().find(|listed| listed.code == code)
}

/// The listed codes that come with `status`.
pub fn with_status(status: u16) -> impl Iterator<Item = &'static ErrorCode> {
    ERROR_CODES
        .iter()
        .filter(move |listed| listed.status == status)
}

/// The codes as a Markdown table (`code`, HTTP status, meaning), for the OpenAPI document and the README.
#[must_use]
pub fn markdown_table() -> String {
    let mut table = String::from("| Code | HTTP status | Meaning |\n|---|---|---|\n");
    for listed in ERROR_CODES {
        table.push_str(&format!(
            "| `{}` | {} | {} |\n",
            listed.code, listed.status, listed.meaning
        ));
    }
    table
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use warp::Filter;

    use super::*;
    use crate::{error::ApiError, rejection::handle_rejection};

    /// The gateway's sources, read at test time, so a new file is covered without touching this test.
    fn sources() -> Vec<(String, String)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
            .map(|path| {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read_to_string(&path).unwrap())
            })
            .collect();
        files.sort();
        files
    }

    /// The string literal right after each `marker` (whitespace allowed in between).
    fn literals_after(text: &str, marker: &str) -> Vec<String> {
        text.match_indices(marker)
            .filter_map(|(at, _)| {
                let rest = text[at + marker.len()..].trim_start().strip_prefix('"')?;
                Some(rest[..rest.find('"')?].to_owned())
            })
            .collect()
    }

    /// Every string literal in `text` (no escaped quotes in the code this reads).
    fn literals(text: &str) -> Vec<String> {
        text.split('"')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    }

    /// Whether `literal` looks like a code: lower-case words joined by `_`.
    fn is_code(literal: &str) -> bool {
        literal.starts_with(|c: char| c.is_ascii_lowercase())
            && literal
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    }

    /// Every code the gateway's code (tests left out) can put in a response: the literals `ApiError::code`
    /// returns, the first argument of every `ApiError::bad_request`, every `code: "..."` of a hand-built body,
    /// and the codes of the rejection handler's arms.
    fn codes_in_sources() -> BTreeSet<String> {
        let mut codes = BTreeSet::new();
        for (name, text) in sources() {
            if name == "error_codes.rs" || name == "openapi.rs" {
                continue;
            }
            let text = text.split("#[cfg(test)]").next().unwrap_or_default();
            if name == "error.rs" {
                let start = text.find("pub fn code(&self)").expect("ApiError::code");
                let body = &text[start..];
                let end = body.find("\n    }\n").expect("the end of ApiError::code");
                codes.extend(literals(&body[..end]));
            }
            if name == "rejection.rs" {
                let start = text
                    .find("pub async fn handle_rejection")
                    .expect("the handler");
                codes.extend(
                    text[start..]
                        .lines()
                        .map(str::trim)
                        .filter_map(|line| line.strip_prefix('"')?.strip_suffix("\","))
                        .map(str::to_owned),
                );
            }
            codes.extend(literals_after(text, "bad_request("));
            codes.extend(literals_after(text, "code:"));
        }
        codes.retain(|code| is_code(code));
        codes
    }

    #[test]
    fn every_code_in_the_sources_is_listed() {
        let codes = codes_in_sources();
        for expected in [
            "job_not_found",
            "invalid_cursor",
            "missing_image",
            "job_failed",
            "not_found",
        ] {
            assert!(
                codes.contains(expected),
                "the scan misses {expected}: {codes:?}"
            );
        }
        let unlisted: Vec<_> = codes.iter().filter(|code| find(code).is_none()).collect();
        assert!(
            unlisted.is_empty(),
            "codes the gateway sends but ERROR_CODES lacks: {unlisted:?}"
        );
    }

    #[test]
    fn every_listed_code_is_sent_somewhere() {
        let codes = codes_in_sources();
        let stale: Vec<_> = ERROR_CODES
            .iter()
            .map(|listed| listed.code)
            .filter(|code| !codes.contains(*code))
            .collect();
        assert!(stale.is_empty(), "listed codes nothing sends: {stale:?}");
    }

    #[test]
    fn api_errors_come_with_their_listed_status() {
        let samples = [
            ApiError::PayloadTooLarge { limit: 1 },
            ApiError::MessageTooLarge { bytes: 2, limit: 1 },
            ApiError::UnsupportedContentType("text/plain".into()),
            ApiError::UnsupportedImageFormat,
            ApiError::UnreadableImage("truncated".into()),
            ApiError::TooManyPixels {
                width: 2,
                height: 2,
                limit: 1,
            },
            ApiError::InvalidOption("width".into()),
            ApiError::bad_request("invalid_json", "bad"),
            ApiError::JobNotFound("x".into()),
            ApiError::JobInProgress("x".into()),
            ApiError::OutputNotFound {
                job_id: "x".into(),
                name: "y".into(),
                available: "default".into(),
            },
            ApiError::QueueFull,
        ];
        for error in samples {
            let listed =
                find(error.code()).unwrap_or_else(|| panic!("{} is not listed", error.code()));
            assert_eq!(error.status().as_u16(), listed.status, "{}", error.code());
        }
    }

    #[tokio::test]
    async fn the_rejection_handler_sends_listed_codes_with_their_status() {
        #[derive(Debug)]
        struct Unexpected;
        impl warp::reject::Reject for Unexpected {}
        let routes = warp::path!("get")
            .and(warp::get())
            .map(warp::reply)
            .or(warp::path!("query")
                .and(warp::query::<std::collections::HashMap<String, u32>>())
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
        for (method, path, expected) in [
            ("GET", "/nowhere", "not_found"),
            ("POST", "/get", "method_not_allowed"),
            ("GET", "/query?a=b", "invalid_query"),
            ("GET", "/body", "payload_too_large"),
            ("GET", "/bug", "internal"),
        ] {
            let mut request = warp::test::request().method(method).path(path);
            if path == "/body" {
                request = request.header("content-length", "5").body("12345");
            }
            let response = request.reply(&routes).await;
            let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
            assert_eq!(body["code"], expected, "{method} {path}");
            let listed = find(expected).unwrap();
            assert_eq!(response.status().as_u16(), listed.status, "{method} {path}");
        }
        let response = warp::test::request()
            .path("/header")
            .header("x-number", "ten")
            .reply(&routes)
            .await;
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(body["code"], "invalid_header");
        assert_eq!(
            response.status().as_u16(),
            find("invalid_header").unwrap().status
        );
    }

    #[test]
    fn codes_are_unique_and_tables_have_a_row_each() {
        let unique: BTreeSet<_> = ERROR_CODES.iter().map(|listed| listed.code).collect();
        assert_eq!(unique.len(), ERROR_CODES.len());
        assert_eq!(markdown_table().lines().count(), ERROR_CODES.len() + 2);
        assert!(with_status(503).any(|listed| listed.code == "queue_full"));
    }
}
