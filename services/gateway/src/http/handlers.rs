//! The handlers of the job routes other than `POST /image` (which is the intake's): a job's result and named
//! outputs (`202` while pending, `422` when failed, `304` for a known `ETag`), its status document, its original,
//! its live status stream, its deletion, and the listing of stored jobs. Each is thin: it finds the job for the
//! caller and hands over to tracking, the stored jobs or the image responses.
//!
//! Their `#[utoipa::path]` attributes give what only the handler knows (summary, parameters, success
//! responses); the error responses come from [`super::ROUTES`], the shared parameters and responses from
//! [`super::openapi`].

use std::{collections::HashMap, sync::Arc, time::Duration};

use imagepipe_proto::{spec::RESERVED_VARIANT_NAMES, v1::JobStatus};
use serde::Serialize;
use warp::{Rejection, Reply, http::StatusCode};

use super::{
    images::{self, json, pending},
    live::{Follow, RECHECK, Replica},
    openapi::{IfNoneMatch, JobId, OriginalResponses, OutputName, ResultResponses, Wait},
    routes::AppState,
    view::JobView,
};
use crate::{
    auth::Owner,
    error::{ApiError, ErrorCode},
    stored::{
        deletion::{self, Deletion},
        listing::{self, JobPage, ListQuery},
    },
    tracking::{BlobKind, JobState},
};

/// Longest `?wait=` a client may ask for, in seconds.
pub const MAX_WAIT_SECS: u64 = 30;

/// The code of a failed job's result: its body is a [`FailedBody`], not an `ErrorBody`.
pub const FAILED_JOB_CODE: ErrorCode = ErrorCode::JobFailed;

/// The body of a failed job's `GET /image/{id}`: the error, and the job's status document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FailedBody {
    /// `job_failed`.
    #[schema(value_type = String)]
    code: ErrorCode,
    /// Which job failed and why, for people.
    message: String,
    /// The job's status document; `job.error` says why it failed.
    job: JobView,
}

#[utoipa::path(
    get,
    path = "/image/{id}",
    tag = "jobs",
    summary = "Get the result",
    description = "The job's main result once done; its status document (`202`) while queued or processing; `422` with the reason when it failed.",
    params(JobId, Wait, IfNoneMatch),
    responses(ResultResponses)
)]
pub async fn result(
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
    params(JobId, OutputName, Wait, IfNoneMatch),
    responses(ResultResponses)
)]
pub async fn output(
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
        // A long poll ends early when the gateway shuts down: the client asks again (another replica).
        let mut stopping = state.stopping.clone();
        tokio::select! {
            waited = state.jobs.wait_final(&id, wait) => job = waited.unwrap_or(job),
            _ = stopping.wait_for(|stopping| *stopping) => {}
        }
    }
    match job.status {
        JobStatus::Done => match state.lookup.blob(&id, kind).await? {
            Some(blob) => Ok(images::image(
                blob,
                &images::etag(&id, kind),
                if_none_match,
                caller.is_some(),
            )),
            None => Ok(pending(&JobView::new(&id, &job, &state.link_base))),
        },
        JobStatus::Failed => {
            let view = JobView::new(&id, &job, &state.link_base);
            let reason = view
                .error
                .as_ref()
                .map_or("no reason given", |error| error.message.as_str());
            let message = format!("job {id} failed: {reason}");
            let body = FailedBody {
                code: FAILED_JOB_CODE,
                message,
                job: view,
            };
            Ok(json(&body, FAILED_JOB_CODE.status()))
        }
        JobStatus::Queued | JobStatus::Processing | JobStatus::Unspecified => {
            Ok(pending(&JobView::new(&id, &job, &state.link_base)))
        }
    }
}

#[utoipa::path(
    get,
    path = "/image/{id}/status",
    tag = "jobs",
    summary = "Get a job's status",
    params(JobId),
    responses((status = 200, description = "The job's status document.", body = JobView))
)]
pub async fn status(
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
    params(JobId, IfNoneMatch),
    responses(OriginalResponses)
)]
pub async fn original(
    id: String,
    state: AppState,
    caller: Option<Owner>,
    if_none_match: Option<String>,
) -> Result<warp::reply::Response, Rejection> {
    let job = find(&state, caller.as_ref(), &id).await?;
    match state.lookup.blob(&id, BlobKind::Original).await? {
        Some(blob) => {
            let etag = images::etag(&id, BlobKind::Original);
            Ok(images::image(
                blob,
                &etag,
                if_none_match.as_deref(),
                caller.is_some(),
            ))
        }
        None => Ok(pending(&JobView::new(&id, &job, &state.link_base))),
    }
}

/// The job's status, live, as Server-Sent Events; see [`super::live`].
#[utoipa::path(
    get,
    path = "/image/{id}/events",
    tag = "jobs",
    summary = "Follow a job live",
    description = "Server-Sent Events: a `status` event (data: the status document as JSON) now and at every change, \
        until the job is done or failed; an `error` event (data: `{\"code\", \"message\"}`) if it is deleted meanwhile.",
    params(JobId),
    responses((status = 200, description = "The event stream.", content(("text/event-stream"))))
)]
pub async fn events(
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
        recheck: RECHECK,
    };
    Ok(follow.reply(first))
}

/// `204` once the stored job is deleted everywhere; see [`crate::stored::deletion`].
#[utoipa::path(
    delete,
    path = "/image/{id}",
    tag = "jobs",
    summary = "Delete a job",
    description = "Deletes a done or failed job everywhere: its original, every output and its document; every gateway \
        replica forgets it. Afterwards its routes answer `404`. A job that is done but not stored yet is waited for (up \
        to 10 s); one still queued or processing answers `409 job_in_progress`.",
    params(JobId),
    responses((status = 204, description = "Deleted."))
)]
pub async fn delete(
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
        store_wait: deletion::STORE_WAIT,
    };
    deletion.delete(&id).await?;
    Ok(warp::reply::with_status(warp::reply(), StatusCode::NO_CONTENT).into_response())
}

/// A page of stored jobs, newest first; see [`crate::stored::listing`].
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
    responses((status = 200, description = "A page of jobs.", body = JobPage))
)]
pub async fn list(
    state: AppState,
    caller: Option<Owner>,
    query: HashMap<String, String>,
) -> Result<warp::reply::Response, Rejection> {
    let query = ListQuery::parse(&query)?;
    let archive = state.lookup.archive();
    let page = listing::list(archive, caller.as_ref(), &query, &state.link_base).await?;
    Ok(json(&page, StatusCode::OK))
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
