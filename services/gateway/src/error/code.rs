//! The stable codes of error responses, in one list: each with its HTTP status and what it means. An error
//! response's `code` is always one of these ([`ErrorCode`] is what every error carries, never a string), and
//! the rejection handler, the OpenAPI document (the `code` enum of `ErrorBody`, each operation's error
//! responses, the table in its description) and the table in `docs/api.md` are all written from this list. A
//! failed job's `error.code` is one of the contract's [`FailureCode`](imagepipe_proto::FailureCode)s.

use serde::{Serialize, Serializer};
use warp::http::StatusCode;

/// Declares [`ErrorCode`] from one table: variant, code, HTTP status, meaning.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal, $status:literal, $meaning:literal;)*) => {
        /// The stable code of an error response.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in the order of the table (by status).
            pub const ALL: &[ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// What clients match on (`invalid_option`, …).
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }

            /// The HTTP status it comes with.
            #[must_use]
            pub fn status(self) -> StatusCode {
                let status: u16 = match self {
                    $(ErrorCode::$variant => $status,)*
                };
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }

            /// What it means and what to do about it.
            #[must_use]
            pub fn meaning(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $meaning,)*
                }
            }
        }
    };
}

error_codes! {
    /// A bad option or query parameter.
    InvalidOption = "invalid_option", 400,
        "An option or query parameter (width, fit, variants, wait, limit, status, …) is unknown or has a bad value; the message names it and what it accepts.";
    /// An unparsable query string.
    InvalidQuery = "invalid_query", 400, "The query string cannot be parsed.";
    /// A malformed header.
    InvalidHeader = "invalid_header", 400, "A request header is malformed.";
    /// A malformed JSON body.
    InvalidJson = "invalid_json", 400,
        "The JSON body is malformed, or not an object with an `image` base64 string.";
    /// Bad base64 in a JSON body.
    InvalidBase64 = "invalid_base64", 400, "`image` or `watermark_image` is not valid base64.";
    /// A malformed multipart body.
    InvalidMultipart = "invalid_multipart", 400,
        "The multipart/form-data body is malformed or its content type has no boundary.";
    /// No image in a form or JSON body.
    MissingImage = "missing_image", 400,
        "The form has no `image` field, or the JSON body no `image` member.";
    /// An upload of no bytes.
    EmptyImage = "empty_image", 400, "The upload holds no bytes.";
    /// A body that could not be read.
    BodyReadFailed = "body_read_failed", 400, "The request body could not be read to its end.";
    /// A listing cursor not of the documented form.
    InvalidCursor = "invalid_cursor", 400,
        "The `cursor` of `GET /images` is not of the form `<milliseconds>_<job id>`; pass the previous page's `next` as it is.";
    /// No valid API key.
    Unauthorized = "unauthorized", 401,
        "API keys are configured and the request has no valid `Authorization: Bearer <key>`.";
    /// No such route.
    NotFound = "not_found", 404, "No route has this path: see `/openapi.json` for the routes.";
    /// No such job (for this caller).
    JobNotFound = "job_not_found", 404,
        "No job has this id (it never existed, was deleted, or belongs to another API key).";
    /// No such output of the job.
    OutputNotFound = "output_not_found", 404,
        "The job has no output of this name; the message lists the ones it has.";
    /// The route exists, not with this method.
    MethodNotAllowed = "method_not_allowed", 405, "The route exists but not with this HTTP method.";
    /// A job that cannot be deleted yet.
    JobInProgress = "job_in_progress", 409,
        "The job is still queued or processing (delete it once done or failed), or done but still not stored after the gateway waited for it; retry after `Retry-After` seconds.";
    /// An upload, or a job message, over its limit.
    PayloadTooLarge = "payload_too_large", 413,
        "The upload is larger than the gateway's limit, or the job (upload, watermark, options) larger than one broker message.";
    /// A body that cannot carry an image.
    UnsupportedContentType = "unsupported_content_type", 415,
        "The body is not `image/*`, `application/octet-stream`, `multipart/form-data` or `application/json`.";
    /// Bytes that are no image imagepipe reads.
    UnsupportedImageFormat = "unsupported_image_format", 415,
        "The bytes are not JPEG, PNG, WebP, GIF, BMP or TIFF.";
    /// A damaged image header.
    UnreadableImage = "unreadable_image", 422, "The image's header is damaged or truncated.";
    /// An image over the pixel limit.
    ImageTooLarge = "image_too_large", 422, "The image has more pixels than the gateway's limit.";
    /// The job failed.
    JobFailed = "job_failed", 422,
        "The job failed: the body's `job` is its status document and `job.error` says why (one of the job failure codes).";
    /// A bug in the gateway.
    Internal = "internal", 500, "A bug in the gateway; the cause is logged.";
    /// The work queue is full.
    QueueFull = "queue_full", 503, "The work queue is full; retry after `Retry-After` seconds.";
    /// Jobs wait too long to start.
    Overloaded = "overloaded", 503,
        "A new job would wait longer than the gateway's limit for a transformer (`GATEWAY_MAX_QUEUE_WAIT_SECS`), or the jobs waiting hold three quarters of the transform queue's byte bound, so new ones are refused until the backlog shrinks; nothing was queued. Retry after `Retry-After` seconds.";
    /// The broker is away.
    BrokerUnavailable = "broker_unavailable", 503,
        "The message broker is unreachable or did not confirm; nothing was queued or deleted. Retry after `Retry-After` seconds.";
    /// The database is away.
    StoreUnavailable = "store_unavailable", 503,
        "MongoDB cannot be read; retry after `Retry-After` seconds.";
}

impl ErrorCode {
    /// The code named `code`, if there is one.
    #[must_use]
    pub fn from_name(code: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|known| known.as_str() == code)
    }

    /// The codes that come with `status`.
    pub fn with_status(status: StatusCode) -> impl Iterator<Item = ErrorCode> {
        Self::ALL
            .iter()
            .copied()
            .filter(move |code| code.status() == status)
    }

    /// Whether a client should retry after a while (`Retry-After` comes with it): the codes of `409` and `503`.
    #[must_use]
    pub fn passes(self) -> bool {
        matches!(
            self.status(),
            StatusCode::CONFLICT | StatusCode::SERVICE_UNAVAILABLE
        )
    }

    /// Every code as a Markdown table (code, HTTP status, meaning), for the OpenAPI document and the docs.
    #[must_use]
    pub fn markdown_table() -> String {
        let mut table = String::from("| Code | HTTP status | Meaning |\n|---|---|---|\n");
        for code in Self::ALL {
            table.push_str(&format!(
                "| `{}` | {} | {} |\n",
                code.as_str(),
                code.status().as_u16(),
                code.meaning()
            ));
        }
        table
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn codes_are_unique_round_trip_and_have_a_table_row_each() {
        let names: BTreeSet<_> = ErrorCode::ALL.iter().map(|code| code.as_str()).collect();
        assert_eq!(names.len(), ErrorCode::ALL.len());
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_name(code.as_str()), Some(*code));
            assert!(code.status().is_client_error() || code.status().is_server_error());
            assert!(code.meaning().ends_with('.'), "{code}");
        }
        assert_eq!(
            ErrorCode::markdown_table().lines().count(),
            ErrorCode::ALL.len() + 2
        );
        let statuses: Vec<_> = ErrorCode::ALL.iter().map(|code| code.status()).collect();
        assert!(statuses.is_sorted(), "the table goes by status");
        assert!(
            ErrorCode::with_status(StatusCode::SERVICE_UNAVAILABLE)
                .any(|c| c == ErrorCode::QueueFull)
        );
        assert_eq!(
            serde_json::to_string(&ErrorCode::JobNotFound).unwrap(),
            r#""job_not_found""#
        );
    }
}
