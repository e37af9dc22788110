//! The HTTP API: `POST /image`, `GET /image/{id}`, `GET /image/{id}/status`, `GET /image/{id}/original`,
//! `GET /image/{id}/{output}`, `GET /image/{id}/events`, `DELETE /image/{id}`, `GET /images`, the web page
//! (`GET /`, `/assets/…`) and the health routes, all behind the one rejection handler.

use std::{collections::HashMap, convert::Infallible, sync::Arc, time::Duration};

use bytes::Buf;
use futures_util::Stream;
use imagepipe_common::health::{self, Readiness};
use imagepipe_proto::{spec::RESERVED_VARIANT_NAMES, v1::JobStatus};
use serde::Serialize;
use warp::{
    Filter, Rejection, Reply,
    http::{HeaderValue, StatusCode, header},
};

use crate::{
    auth, conditional,
    delete::Deletion,
    error::ApiError,
    events::{Follow, Replica},
    jobs::{Blob, BlobKind, JobState, JobStore},
    keys::{ApiKeys, Owner},
    listing::{self, ListQuery},
    lookup::Lookup,
    probe,
    rejection::handle_rejection,
    submit::Submitter,
    upload::{self, UploadRequest},
    view::JobView,
    web,
};

// The types the handlers' `#[utoipa::path]` attributes name (see `crate::openapi`).
use crate::{
    listing::JobPage,
    openapi_upload::{JsonUpload, MultipartUpload, RawImage, UploadQuery},
    rejection::ErrorBody,
};

/// Longest `?wait=` a client may ask for, in seconds.
pub const MAX_WAIT_SECS: u64 = 30;

/// Every route the router below serves, as `(method, path template)`. The OpenAPI document must list exactly
/// these (`crate::openapi`'s tests), the gateway suite sends a request to each, and the request metrics label
/// requests by these templates (first match wins, so a specific template stays before one with a parameter in
/// its place): add a route here, to the router and to the document together.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/{file}"),
    ("GET", "/"),
    ("GET", "/assets/{file}"),
    ("POST", "/image"),
    ("GET", "/image/{id}"),
    ("GET", "/image/{id}/status"),
    ("GET", "/image/{id}/original"),
    ("GET", "/image/{id}/events"),
    ("GET", "/image/{id}/{output}"),
    ("DELETE", "/image/{id}"),
    ("GET", "/images"),
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
        .and(warp::body::stream())
        .and_then(submit);
    let if_none_match = || warp::header::optional::<String>("if-none-match");
    let result = warp::path!("image" / String)
        .and(warp::get())
        .and(with_state.clone())
        .and(caller.clone())
        .and(warp::query::<HashMap<String, String>>())
        .and(if_none_match())
        .and_then(result);
    let status = warp::path!("image" / String / "status")
        .and(warp::get())
        .and(with_state.clone())
        .and(caller.clone())
        .and_then(status);
    let original = warp::path!("image" / String / "original")
        .and(warp::get())
        .and(with_state.clone())
        .and(caller.clone())
        .and(if_none_match())
        .and_then(original);
    let events = warp::path!("image" / String / "events")
        .and(warp::get())
        .and(with_state.clone())
        .and(caller.clone())
        .and_then(events);
    // After `status`, `original` and `events`, which are not output names (the contract reserves them).
    let output = warp::path!("image" / String / String)
        .and(warp::get())
        .and(with_state.clone())
        .and(caller.clone())
        .and(warp::query::<HashMap<String, String>>())
        .and(if_none_match())
        .and_then(output);
    let delete = warp::path!("image" / String)
        .and(warp::delete())
        .and(with_state.clone())
        .and(caller.clone())
        .and_then(delete);
    let list = warp::path!("images")
        .and(warp::get())
        .and(with_state)
        .and(caller)
        .and(warp::query::<HashMap<String, String>>())
        .and_then(list);
    health::routes(readiness)
        .or(crate::openapi::routes())
        .or(web)
        .or(submit)
        .or(result)
        .or(status)
        .or(original)
        .or(events)
        .or(output)
        .or(delete)
        .or(list)
        .recover(handle_rejection)
        .with(crate::http_metrics::observe())
}

#[utoipa::path(
    post,
    path = "/image",
    tag = "jobs",
    summary = "Submit an image",
    description = "Uploads an image with its options and queues the job. The options come as query parameters, \
        as form fields (multipart) or as JSON members; the query string is read first. Answers once the broker \
        has the job, with its status document and `Location` of its result.",
    params(UploadQuery),
    request_body(
        description = "The image: a raw body (`image/*` or `application/octet-stream`), a multipart form with the file \
            in `image`, or JSON with the image in base64.",
        content(
            (RawImage = "image/*"),
            (RawImage = "application/octet-stream"),
            (MultipartUpload = "multipart/form-data"),
            (JsonUpload = "application/json")
        )
    ),
    responses(
        (status = 202, description = "Queued: the job's status document.", body = JobView,
            headers(("Location" = String, description = "The job's result, `/image/{id}`."))),
        (status = 400, description = "`invalid_option`, `invalid_query`, `invalid_header`, `invalid_json`, `invalid_base64`, `invalid_multipart`, `missing_image`, `empty_image`, `body_read_failed`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_content_type`, `unsupported_image_format`", body = ErrorBody),
        (status = 422, description = "`unreadable_image`, `image_too_large`", body = ErrorBody),
        (status = 503, description = "`queue_full`, `broker_unavailable`", body = ErrorBody),
    ),
    security((), ("api_key" = []))
)]
#[tracing::instrument(name = "submit", skip_all, fields(job_id = tracing::field::Empty, trace_id = tracing::field::Empty))]
async fn submit<S, B>(
    state: AppState,
    caller: Option<Owner>,
    query: Vec<(String, String)>,
    content_type: Option<String>,
    content_length: Option<u64>,
    body: S,
) -> Result<warp::reply::Response, Rejection>
where
    S: Stream<Item = Result<B, warp::Error>> + Send + 'static,
    B: Buf + Send,
{
    let request = UploadRequest {
        content_type: content_type.as_deref(),
        content_length,
        query: &query,
        max_bytes: state.max_upload_bytes,
    };
    let upload = upload::read(request, body).await?;
    let info = probe::probe(&upload.bytes, state.max_pixels)?;
    let accepted = state
        .submitter
        .submit(upload, info, caller.as_ref())
        .await?;
    let view = JobView::new(&accepted.job_id, &JobState::queued(), &state.link_base);
    let mut response = json(&view, StatusCode::ACCEPTED);
    set_header(&mut response, header::LOCATION, &view.links.result);
    Ok(response)
}

#[utoipa::path(
    get,
    path = "/image/{id}",
    tag = "jobs",
    summary = "Get the result",
    description = "The job's main result once done; its status document (`202`) while queued or processing; `422` with the reason when it failed.",
    params(("id" = String, Path, description = "The job id (a UUID), as `POST /image` answered it."), ("wait" = Option<u32>, Query, minimum = 0, maximum = 30, description = "Seconds to wait for a queued or processing job to finish before answering `202` (0 to 30; default 0)."), ("If-None-Match" = Option<String>, Header, description = "An `ETag` this image was served with: `304` if it still matches (it always does: results never change).")),
    responses(
        (status = 200, description = "The image.", content(
                ("image/jpeg"), ("image/png"), ("image/webp")
            ),
            headers(
                ("ETag" = String, description = "The image's tag, for `If-None-Match`."),
                ("Cache-Control" = String, description = "`public, max-age=31536000, immutable` (`private, …` with `Vary: Authorization` when API keys are configured): results never change.")
            )),
        (status = 202, description = "Not ready yet: the job's status document; retry after `Retry-After` seconds (or pass `wait`).", body = JobView, headers(("Retry-After" = u32, description = "Seconds to wait before asking again."))),
        (status = 304, description = "Not modified: `If-None-Match` names this image."),
        (status = 400, description = "`invalid_option`", body = ErrorBody),
        (status = 404, description = "`job_not_found`", body = ErrorBody),
        (status = 422, description = "`job_failed`", body = FailedBody),
        (status = 503, description = "`store_unavailable`", body = ErrorBody),
    ),
    security((), ("api_key" = []))
)]
async fn result(
    id: String,
    state: AppState,
    caller: Option<Owner>,
    query: HashMap<String, String>,
    if_none_match: Option<String>,
) -> Result<warp::reply::Response, Rejection> {
    let caller = caller.as_ref();
    let kind = BlobKind::Main;
    serve_output(&state, caller, id, kind, &query, if_none_match.as_deref()).await
}

#[utoipa::path(
    get,
    path = "/image/{id}/{output}",
    tag = "jobs",
    summary = "Get a named output",
    description = "One named output of the job (a variant's name, or `default`), answered as `GET /image/{id}` answers.",
    params(("id" = String, Path, description = "The job id (a UUID), as `POST /image` answered it."), ("output" = String, Path, description = "The output's name, as the status document's `outputs[].name` lists it."), ("wait" = Option<u32>, Query, minimum = 0, maximum = 30, description = "Seconds to wait for a queued or processing job to finish before answering `202` (0 to 30; default 0)."), ("If-None-Match" = Option<String>, Header, description = "An `ETag` this image was served with: `304` if it still matches (it always does: results never change).")),
    responses(
        (status = 200, description = "The image.", content(
                ("image/jpeg"), ("image/png"), ("image/webp")
            ),
            headers(
                ("ETag" = String, description = "The image's tag, for `If-None-Match`."),
                ("Cache-Control" = String, description = "`public, max-age=31536000, immutable` (`private, …` with `Vary: Authorization` when API keys are configured): results never change.")
            )),
        (status = 202, description = "Not ready yet: the job's status document; retry after `Retry-After` seconds (or pass `wait`).", body = JobView, headers(("Retry-After" = u32, description = "Seconds to wait before asking again."))),
        (status = 304, description = "Not modified: `If-None-Match` names this image."),
        (status = 400, description = "`invalid_option`", body = ErrorBody),
        (status = 404, description = "`job_not_found`, `output_not_found`", body = ErrorBody),
        (status = 422, description = "`job_failed`", body = FailedBody),
        (status = 503, description = "`store_unavailable`", body = ErrorBody),
    ),
    security((), ("api_key" = []))
)]
async fn output(
    id: String,
    name: String,
    state: AppState,
    caller: Option<Owner>,
    query: HashMap<String, String>,
    if_none_match: Option<String>,
) -> Result<warp::reply::Response, Rejection> {
    // `/status` and `/original` have their own routes; when those reject (an unknown job), warp tries this
    // one next, which must not answer for them.
    if RESERVED_VARIANT_NAMES.contains(&name.as_str()) {
        return Err(warp::reject::not_found());
    }
    let kind = BlobKind::Output(&name);
    let caller = caller.as_ref();
    serve_output(&state, caller, id, kind, &query, if_none_match.as_deref()).await
}

/// The job's output `kind` (200, or 304 when `If-None-Match` names it), its status while pending (202), or
/// why it failed (422).
async fn serve_output(
    state: &AppState,
    caller: Option<&Owner>,
    id: String,
    kind: BlobKind<'_>,
    query: &HashMap<String, String>,
    if_none_match: Option<&str>,
) -> Result<warp::reply::Response, Rejection> {
    let wait = wait_of(query)?;
    let mut job = find(state, caller, &id).await?;
    if !job.is_final() && !wait.is_zero() {
        job = state.jobs.wait_final(&id, wait).await.unwrap_or(job);
    }
    match job.status {
        JobStatus::Done => match state.lookup.blob(&id, kind).await? {
            Some(blob) => Ok(image(
                blob,
                &conditional::etag(&id, kind),
                if_none_match,
                caller.is_some(),
            )),
            None => Ok(pending(state, &id, &job)),
        },
        JobStatus::Failed => {
            let view = JobView::new(&id, &job, &state.link_base);
            let reason = view
                .error
                .as_ref()
                .map_or("no reason given", |error| error.message.as_str());
            let body = FailedBody {
                code: "job_failed",
                message: format!("job {id} failed: {reason}"),
                job: view.clone(),
            };
            Ok(json(&body, StatusCode::UNPROCESSABLE_ENTITY))
        }
        JobStatus::Queued | JobStatus::Processing | JobStatus::Unspecified => {
            Ok(pending(state, &id, &job))
        }
    }
}

#[utoipa::path(
    get,
    path = "/image/{id}/status",
    tag = "jobs",
    summary = "Get a job's status",
    params(("id" = String, Path, description = "The job id (a UUID), as `POST /image` answered it.")),
    responses(
        (status = 200, description = "The job's status document.", body = JobView),
        (status = 404, description = "`job_not_found`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`", body = ErrorBody),
    ),
    security((), ("api_key" = []))
)]
async fn status(
    id: String,
    state: AppState,
    caller: Option<Owner>,
) -> Result<warp::reply::Response, Rejection> {
    let job = find(&state, caller.as_ref(), &id).await?;
    // Only the status document reads the job's history: the image routes stay one lookup.
    let job = state.lookup.with_history(&id, job).await;
    Ok(json(
        &JobView::new(&id, &job, &state.link_base),
        StatusCode::OK,
    ))
}

#[utoipa::path(
    get,
    path = "/image/{id}/original",
    tag = "jobs",
    summary = "Get the uploaded original",
    description = "The image exactly as uploaded, in its own format.",
    params(("id" = String, Path, description = "The job id (a UUID), as `POST /image` answered it."), ("If-None-Match" = Option<String>, Header, description = "An `ETag` this image was served with: `304` if it still matches (it always does: results never change).")),
    responses(
        (status = 200, description = "The original.", content(("image/*")),
            headers(
                ("ETag" = String, description = "The image's tag, for `If-None-Match`."),
                ("Cache-Control" = String, description = "`public, max-age=31536000, immutable` (`private, …` with `Vary: Authorization` when API keys are configured).")
            )),
        (status = 202, description = "Not stored yet and not in this replica's memory: the job's status document.", body = JobView,
            headers(("Retry-After" = u32, description = "Seconds to wait before asking again."))),
        (status = 304, description = "Not modified: `If-None-Match` names this image."),
        (status = 404, description = "`job_not_found`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`", body = ErrorBody),
    ),
    security((), ("api_key" = []))
)]
async fn original(
    id: String,
    state: AppState,
    caller: Option<Owner>,
    if_none_match: Option<String>,
) -> Result<warp::reply::Response, Rejection> {
    let job = find(&state, caller.as_ref(), &id).await?;
    match state.lookup.blob(&id, BlobKind::Original).await? {
        Some(blob) => {
            let etag = conditional::etag(&id, BlobKind::Original);
            Ok(image(
                blob,
                &etag,
                if_none_match.as_deref(),
                caller.is_some(),
            ))
        }
        None => Ok(pending(&state, &id, &job)),
    }
}

/// The job's status, live, as Server-Sent Events; see [`crate::events`].
#[utoipa::path(
    get,
    path = "/image/{id}/events",
    tag = "jobs",
    summary = "Follow a job live",
    description = "Server-Sent Events: a `status` event (data: the status document as JSON) now and at every change, \
        until the job is done or failed; an `error` event (data: `{\"code\", \"message\"}`) if it is deleted meanwhile.",
    params(("id" = String, Path, description = "The job id (a UUID), as `POST /image` answered it.")),
    responses(
        (status = 200, description = "The event stream.", content(("text/event-stream"))),
        (status = 404, description = "`job_not_found`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`", body = ErrorBody),
    ),
    security((), ("api_key" = []))
)]
async fn events(
    id: String,
    state: AppState,
    caller: Option<Owner>,
) -> Result<warp::reply::Response, Rejection> {
    // The owner is checked once: a job's owner never changes.
    let first = find(&state, caller.as_ref(), &id).await?;
    let follow = Follow {
        source: Replica {
            lookup: state.lookup.clone(),
            jobs: Arc::clone(&state.jobs),
        },
        job_id: id,
        link_base: Arc::clone(&state.link_base),
        stopping: state.stopping.clone(),
        recheck: crate::events::RECHECK,
    };
    Ok(follow.reply(first))
}

/// `204` once the stored job is deleted everywhere; see [`crate::delete`].
#[utoipa::path(
    delete,
    path = "/image/{id}",
    tag = "jobs",
    summary = "Delete a job",
    description = "Deletes a stored (done or failed) job everywhere: its original, every output and its document; every \
        gateway replica forgets it. Afterwards its routes answer `404`.",
    params(("id" = String, Path, description = "The job id (a UUID), as `POST /image` answered it.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "`job_not_found`", body = ErrorBody),
        (status = 409, description = "`job_in_progress`", body = ErrorBody),
        (status = 503, description = "`broker_unavailable`, `store_unavailable`", body = ErrorBody),
    ),
    security((), ("api_key" = []))
)]
async fn delete(
    id: String,
    state: AppState,
    caller: Option<Owner>,
) -> Result<warp::reply::Response, Rejection> {
    if uuid::Uuid::parse_str(&id).is_err() {
        return Err(ApiError::JobNotFound(id).into());
    }
    let deletion = Deletion {
        archive: state.lookup.archive(),
        jobs: &state.jobs,
        publisher: state.submitter.publisher(),
        instance: state.submitter.instance(),
        caller: caller.as_ref(),
    };
    deletion.delete(&id).await?;
    Ok(warp::reply::with_status(warp::reply(), StatusCode::NO_CONTENT).into_response())
}

/// A page of stored jobs, newest first; see [`crate::listing`].
#[utoipa::path(
    get,
    path = "/images",
    tag = "jobs",
    summary = "List stored jobs",
    description = "Stored (done or failed) jobs, newest first, a page at a time; pass the page's `next` as `cursor` for the \
        next one. With API keys, only the caller's jobs.",
    params(
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Jobs on the page, 1 to 100 (default 20)."),
        ("status" = Option<String>, Query, description = "Only `done` or only `failed` jobs."),
        ("cursor" = Option<String>, Query, description = "The previous page's `next`; leave out for the first page.")
    ),
    responses(
        (status = 200, description = "A page of jobs.", body = JobPage),
        (status = 400, description = "`invalid_option`, `invalid_cursor`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`", body = ErrorBody),
    ),
    security((), ("api_key" = []))
)]
async fn list(
    state: AppState,
    caller: Option<Owner>,
    query: HashMap<String, String>,
) -> Result<warp::reply::Response, Rejection> {
    let query = ListQuery::parse(&query)?;
    let archive = state.lookup.archive();
    let page = listing::list(archive, caller.as_ref(), &query, &state.link_base).await?;
    Ok(json(&page, StatusCode::OK))
}

/// The body of a failed job's `GET /image/{id}`: the error, and the job's status document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct FailedBody {
    code: &'static str,
    message: String,
    job: JobView,
}

/// The job `id` if `caller` may see it; another owner's job is not found, exactly as a missing one.
async fn find(state: &AppState, caller: Option<&Owner>, id: &str) -> Result<JobState, ApiError> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(ApiError::JobNotFound(id.to_owned()));
    }
    state
        .lookup
        .state_for(id, caller)
        .await?
        .ok_or_else(|| ApiError::JobNotFound(id.to_owned()))
}

fn wait_of(query: &HashMap<String, String>) -> Result<Duration, ApiError> {
    let Some(value) = query.get("wait") else {
        return Ok(Duration::ZERO);
    };
    value
        .parse::<u64>()
        .ok()
        .filter(|seconds| *seconds <= MAX_WAIT_SECS)
        .map(Duration::from_secs)
        .ok_or_else(|| {
            ApiError::InvalidOption(format!(
                "wait must be a whole number of seconds from 0 to {MAX_WAIT_SECS}, not `{value}`"
            ))
        })
}

/// 202 with the status document: the job (or its stored copy) is not ready yet.
fn pending(state: &AppState, id: &str, job: &JobState) -> warp::reply::Response {
    let mut response = json(
        &JobView::new(id, job, &state.link_base),
        StatusCode::ACCEPTED,
    );
    set_header(&mut response, header::RETRY_AFTER, "1");
    response
}

/// The image, with its `ETag` and cache headers; `304` without the bytes when `If-None-Match` names it. An
/// `owned` job's image (API keys configured) is cacheable by the caller's own client only.
fn image(
    blob: Blob,
    etag: &str,
    if_none_match: Option<&str>,
    owned: bool,
) -> warp::reply::Response {
    let mut response = if conditional::not_modified(if_none_match, etag) {
        let mut response = warp::reply::Response::default();
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response
    } else {
        crate::metrics::served(blob.content_type, blob.data.len());
        let mut response = warp::reply::Response::new(blob.data.into());
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(blob.content_type),
        );
        response
    };
    for (name, value) in conditional::cache_headers(owned) {
        response.headers_mut().insert(name, value);
    }
    set_header(&mut response, header::ETAG, etag);
    response
}

fn json<T: Serialize>(body: &T, status: StatusCode) -> warp::reply::Response {
    warp::reply::with_status(warp::reply::json(body), status).into_response()
}

fn set_header(response: &mut warp::reply::Response, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}
