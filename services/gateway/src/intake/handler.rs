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
    body: S,
) -> Result<warp::reply::Response, Rejection>
where
    S: Stream<Item = Result<B, warp::Error>> + Send + 'static,
    B: Buf + Send,
{
    // Refused before the body is read: an overloaded pipeline spends nothing on the upload.
    state.admission.admit()?;
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
