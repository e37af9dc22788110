//! `POST /image`: read the upload under the size limit, check its header, publish the job and answer `202`
//! with its status document once the broker has it.

use bytes::Buf;
use futures_util::Stream;
use warp::{
    Rejection,
    http::{StatusCode, header},
};

use super::{
    body::{self, UploadRequest},
    docs::{JsonUpload, MultipartUpload, RawImage, UploadQuery},
    probe,
};
use crate::{
    auth::Owner,
    http::{
        AppState,
        images::{json, set_header},
        view::JobView,
    },
    tracking::JobState,
};

/// Whether the request's `Expect` asks for `100 Continue` before its body.
fn expects_continue(expect: Option<&str>) -> bool {
    expect.is_some_and(|value| value.trim().eq_ignore_ascii_case("100-continue"))
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
    )
)]
#[tracing::instrument(name = "submit", skip_all, fields(job_id = tracing::field::Empty, trace_id = tracing::field::Empty))]
pub async fn submit<S, B>(
    state: AppState,
    caller: Option<Owner>,
    query: Vec<(String, String)>,
    content_type: Option<String>,
    content_length: Option<u64>,
    expect: Option<String>,
    body: S,
) -> Result<warp::reply::Response, Rejection>
where
    S: Stream<Item = Result<B, warp::Error>> + Send + 'static,
    B: Buf + Send,
{
    if let Err(refusal) = state.admission.admit() {
        // A client waiting for `100 Continue` has sent no body yet: it gets the answer at once. Any other is
        // sending its upload now: it is read to the end and dropped (up to the upload limit), so the client reads
        // this answer rather than a connection reset mid-upload. Nothing of it is decoded or queued.
        if !expects_continue(expect.as_deref()) {
            body::discard(body, state.max_upload_bytes).await;
        }
        return Err(refusal.into());
    }
    let request = UploadRequest {
        content_type: content_type.as_deref(),
        content_length,
        query: &query,
        max_bytes: state.max_upload_bytes,
    };
    let upload = body::read(request, body).await?;
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
