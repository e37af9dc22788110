//! Everything a gateway request can fail with, each knowing its [`ErrorCode`] (and through it its HTTP
//! status).

use imagepipe_proto::v1::JobStatus;
use warp::http::StatusCode;

use super::ErrorCode;

/// How long a client should wait when the work queue is full: the transformers drain it meanwhile.
const RETRY_AFTER_QUEUE_FULL_SECS: u64 = 10;
/// How long a client should wait before deleting a job again that was still being processed or stored.
const RETRY_AFTER_IN_PROGRESS_SECS: u64 = 1;
/// How long a client should wait when the broker or the database is away: the services reconnect with a
/// backoff of at most 10 s.
const RETRY_AFTER_UNAVAILABLE_SECS: u64 = 5;

/// A request that cannot be served. Turned into `{"code": "...", "message": "..."}` by
/// [`handle_rejection`](super::handle_rejection).
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The upload exceeds `GATEWAY_MAX_UPLOAD_BYTES`.
    #[error("the image is larger than the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The job's message (upload, watermark image and options) is larger than the broker accepts.
    #[error(
        "the upload and its options come to {bytes} bytes, more than the {limit} bytes one message may carry"
    )]
    MessageTooLarge {
        /// The job message's size.
        bytes: u64,
        /// The broker's limit.
        limit: u64,
    },
    /// The request's content type cannot carry an image.
    #[error(
        "unsupported content type `{0}`: send the image as a raw `image/*` body, as multipart/form-data with a field `image`, or as JSON {{\"image\": \"<base64>\"}}"
    )]
    UnsupportedContentType(String),
    /// The bytes are not an image format imagepipe reads.
    #[error("the upload is not an image imagepipe can read (JPEG, PNG, WebP, GIF, BMP or TIFF)")]
    UnsupportedImageFormat,
    /// The image's header cannot be read.
    #[error("the image is damaged or truncated: {0}")]
    UnreadableImage(String),
    /// The image has more pixels than `GATEWAY_MAX_PIXELS`.
    #[error("the image is {width}x{height} pixels, more than the limit of {limit} pixels")]
    TooManyPixels {
        /// Width from the header.
        width: u32,
        /// Height from the header.
        height: u32,
        /// The limit in pixels.
        limit: u64,
    },
    /// A transform option or query parameter is invalid.
    #[error("{0}")]
    InvalidOption(String),
    /// The request is malformed in another way (bad JSON, bad base64, missing image): a `400` code.
    #[error("{message}")]
    BadRequest {
        /// Which `400` code.
        code: ErrorCode,
        /// What was wrong and how to fix it.
        message: String,
    },
    /// The gateway has API keys and the request did not present a valid one.
    #[error("{0}")]
    Unauthorized(AuthFailure),
    /// The path is served, but not with this method.
    #[error("`{path}` does not accept {method}; it accepts {allow}")]
    MethodNotAllowed {
        /// The method asked for.
        method: String,
        /// The path asked for.
        path: String,
        /// The methods it accepts, comma-separated (sent as `Allow`).
        allow: String,
    },
    /// No job has this id (or it is another owner's: the answer is the same).
    #[error("no job with id `{0}`")]
    JobNotFound(String),
    /// The job cannot be deleted yet: it is queued or processing, or done (or failed) but still not stored after
    /// the gateway waited for it.
    #[error("job `{job_id}` cannot be deleted yet: {}", .status.wait_hint())]
    JobInProgress {
        /// The job.
        job_id: String,
        /// Where it stands.
        status: Unstored,
    },
    /// The job has no output of this name.
    #[error("job `{job_id}` has no output `{name}`; its outputs are: {available}")]
    OutputNotFound {
        /// The job.
        job_id: String,
        /// The name asked for.
        name: String,
        /// The names it has, comma-separated.
        available: String,
    },
    /// The broker refused the job because the work queue is full.
    #[error("the job queue is full; retry later")]
    QueueFull,
    /// Jobs wait too long for a transformer: the gateway refuses new ones until the backlog shrinks.
    #[error(
        "the pipeline is overloaded: a new job would wait about {waited_secs:.1} s for a transformer (the limit is {limit_secs} s); retry after `Retry-After` seconds"
    )]
    Overloaded {
        /// How long a new job would wait to start.
        waited_secs: f64,
        /// The gateway's limit.
        limit_secs: u64,
        /// When to retry.
        retry_after_secs: u64,
    },
    /// The jobs waiting for a transformer hold most of the transform queue's bytes: the gateway refuses new ones
    /// until the backlog shrinks.
    #[error(
        "the pipeline is overloaded: the jobs waiting for a transformer hold {queued_bytes} bytes (the limit is {limit_bytes}); retry after `Retry-After` seconds"
    )]
    OverloadedBytes {
        /// The bytes of the waiting jobs' messages.
        queued_bytes: u64,
        /// The gateway's limit.
        limit_bytes: u64,
        /// When to retry.
        retry_after_secs: u64,
    },
    /// The broker could not be reached or did not confirm the job.
    #[error("the job could not be queued: the message broker is unavailable; retry later")]
    BrokerUnavailable(#[source] imagepipe_common::Error),
    /// A deletion could not be announced to the other replicas, so nothing was deleted.
    #[error(
        "the job was not deleted: the message broker is unavailable to tell the other gateway replicas; retry later"
    )]
    DeletionUnannounced(#[source] imagepipe_common::Error),
    /// MongoDB could not be read.
    #[error("the image store is unavailable; retry later")]
    StoreUnavailable(#[source] imagepipe_archive::StoreError),
}

impl warp::reject::Reject for ApiError {}

impl ApiError {
    /// The HTTP status this error answers with: its code's.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.code().status()
    }

    /// The stable code clients can match on.
    #[must_use]
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::PayloadTooLarge { .. } | ApiError::MessageTooLarge { .. } => {
                ErrorCode::PayloadTooLarge
            }
            ApiError::UnsupportedContentType(_) => ErrorCode::UnsupportedContentType,
            ApiError::UnsupportedImageFormat => ErrorCode::UnsupportedImageFormat,
            ApiError::UnreadableImage(_) => ErrorCode::UnreadableImage,
            ApiError::TooManyPixels { .. } => ErrorCode::ImageTooLarge,
            ApiError::InvalidOption(_) => ErrorCode::InvalidOption,
            ApiError::BadRequest { code, .. } => *code,
            ApiError::Unauthorized(_) => ErrorCode::Unauthorized,
            ApiError::MethodNotAllowed { .. } => ErrorCode::MethodNotAllowed,
            ApiError::JobNotFound(_) => ErrorCode::JobNotFound,
            ApiError::OutputNotFound { .. } => ErrorCode::OutputNotFound,
            ApiError::JobInProgress { .. } => ErrorCode::JobInProgress,
            ApiError::QueueFull => ErrorCode::QueueFull,
            ApiError::Overloaded { .. } | ApiError::OverloadedBytes { .. } => ErrorCode::Overloaded,
            ApiError::BrokerUnavailable(_) | ApiError::DeletionUnannounced(_) => {
                ErrorCode::BrokerUnavailable
            }
            ApiError::StoreUnavailable(_) => ErrorCode::StoreUnavailable,
        }
    }

    /// Seconds a client should wait before retrying, for errors that pass (sent as `Retry-After`).
    #[must_use]
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            ApiError::QueueFull => Some(RETRY_AFTER_QUEUE_FULL_SECS),
            ApiError::Overloaded {
                retry_after_secs, ..
            }
            | ApiError::OverloadedBytes {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            ApiError::JobInProgress { .. } => Some(RETRY_AFTER_IN_PROGRESS_SECS),
            ApiError::BrokerUnavailable(_)
            | ApiError::DeletionUnannounced(_)
            | ApiError::StoreUnavailable(_) => Some(RETRY_AFTER_UNAVAILABLE_SECS),
            _ => None,
        }
    }

    /// The methods an [`ApiError::MethodNotAllowed`] names as accepted (sent as `Allow`, RFC 9110).
    #[must_use]
    pub fn allow(&self) -> Option<&str> {
        match self {
            ApiError::MethodNotAllowed { allow, .. } => Some(allow),
            _ => None,
        }
    }

    /// The `WWW-Authenticate` challenge an [`ApiError::Unauthorized`] answers with (RFC 6750): no error code
    /// when no key was sent, `invalid_token` for a malformed or unknown one.
    #[must_use]
    pub fn www_authenticate(&self) -> Option<&'static str> {
        match self {
            ApiError::Unauthorized(AuthFailure::Missing) => Some(r#"Bearer realm="imagepipe""#),
            ApiError::Unauthorized(_) => Some(r#"Bearer realm="imagepipe", error="invalid_token""#),
            _ => None,
        }
    }

    /// A [`ApiError::BadRequest`] with `code`, which must be a `400` code.
    #[must_use]
    pub fn bad_request(code: ErrorCode, message: impl Into<String>) -> Self {
        debug_assert_eq!(code.status(), StatusCode::BAD_REQUEST, "{code}");
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
    }
}

/// Why a request to a gateway with API keys was not authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No `Authorization` header.
    Missing,
    /// An `Authorization` header that is not `Bearer <key>`.
    Malformed,
    /// A key that is not configured.
    UnknownKey,
}

impl std::fmt::Display for AuthFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AuthFailure::Missing => {
                "this gateway requires an API key: send it as `Authorization: Bearer <key>`"
            }
            AuthFailure::Malformed => {
                "the Authorization header is not `Bearer <key>`: send the API key as `Authorization: Bearer <key>`"
            }
            AuthFailure::UnknownKey => {
                "the API key is not valid: check it, or ask the operator for a new one"
            }
        })
    }
}

/// Where a job that cannot be deleted yet stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unstored {
    /// Queued or processing: it can be deleted once done or failed.
    InProgress(JobStatus),
    /// Done or failed, but save2db had not stored it by the end of the gateway's wait (storage is behind).
    Behind(JobStatus),
}

impl Unstored {
    /// What the client should do, for the error's message.
    fn wait_hint(self) -> String {
        match self {
            Unstored::InProgress(status) => format!(
                "it is still {}; delete it once its status is done or failed",
                status.name()
            ),
            Unstored::Behind(status) => format!(
                "it is {} but not stored yet (storage is behind); retry after `Retry-After` seconds",
                status.name()
            ),
        }
    }
}

impl From<imagepipe_archive::StoreError> for ApiError {
    fn from(error: imagepipe_archive::StoreError) -> Self {
        ApiError::StoreUnavailable(error)
    }
}
