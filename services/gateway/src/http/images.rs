//! How the job routes answer: an image with its `ETag` and cache headers (or `304 Not Modified` when the
//! request's `If-None-Match` names it), the status document of a job not ready yet (`202` with `Retry-After`), and
//! JSON bodies. A job's images never change once written, so the tag only has to name the image, not hash it,
//! and every image may be cached for a year.

use serde::Serialize;
use warp::{
    Reply,
    http::{HeaderName, HeaderValue, StatusCode, header},
};

use super::view::JobView;
use crate::tracking::{Blob, BlobKind};

/// `Cache-Control` of an image anyone may fetch: shared caches (CDNs, proxies) may keep it for a year.
const PUBLIC: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of an owner's image (API keys configured): only the caller's own client may keep it, so a
/// shared cache never hands one owner's image to another.
const PRIVATE: &str = "private, max-age=31536000, immutable";

/// The `ETag` of job `id`'s image `kind` (quoted, as the header carries it): `"{id}"` for the job's own URL,
/// `"{id}/{name}"` for an output, `"{id}/original"` for the upload.
#[must_use]
pub fn etag(id: &str, kind: BlobKind<'_>) -> String {
    match kind {
        BlobKind::Main => format!("\"{id}\""),
        BlobKind::Output(name) => format!("\"{id}/{name}\""),
        BlobKind::Original => format!("\"{id}/original\""),
    }
}

/// Whether an `If-None-Match` header value names `etag` (or is `*`). Weak tags (`W/"…"`) match by their
/// value, as RFC 9110 asks of `If-None-Match`.
#[must_use]
pub fn not_modified(if_none_match: Option<&str>, etag: &str) -> bool {
    if_none_match.is_some_and(|header| {
        header.split(',').map(str::trim).any(|candidate| {
            candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == etag
        })
    })
}

/// The cache headers of an image response: public when the gateway runs open; private and varying by
/// `Authorization` when the image belongs to an owner.
#[must_use]
pub fn cache_headers(owned: bool) -> Vec<(HeaderName, HeaderValue)> {
    if owned {
        vec![
            (header::CACHE_CONTROL, HeaderValue::from_static(PRIVATE)),
            (header::VARY, HeaderValue::from_static("authorization")),
        ]
    } else {
        vec![(header::CACHE_CONTROL, HeaderValue::from_static(PUBLIC))]
    }
}

/// The image, with its `ETag` and cache headers; `304` without the bytes when `If-None-Match` names it. An
/// `owned` job's image (API keys configured) is cacheable by the caller's own client only.
#[must_use]
pub fn image(
    blob: Blob,
    etag: &str,
    if_none_match: Option<&str>,
    owned: bool,
) -> warp::reply::Response {
    let mut response = if not_modified(if_none_match, etag) {
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
    for (name, value) in cache_headers(owned) {
        response.headers_mut().insert(name, value);
    }
    set_header(&mut response, header::ETAG, etag);
    response
}

/// `202` with the status document and `Retry-After: 1`: the job (or its stored copy) is not ready yet.
#[must_use]
pub fn pending(view: &JobView) -> warp::reply::Response {
    let mut response = json(view, StatusCode::ACCEPTED);
    set_header(&mut response, header::RETRY_AFTER, "1");
    response
}

/// `body` as JSON with `status`.
#[must_use]
pub fn json<T: Serialize>(body: &T, status: StatusCode) -> warp::reply::Response {
    warp::reply::with_status(warp::reply::json(body), status).into_response()
}

/// Sets header `name` to `value` when it is a valid header value.
pub fn set_header(response: &mut warp::reply::Response, name: HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_name_the_image() {
        assert_eq!(etag("j", BlobKind::Main), "\"j\"");
        assert_eq!(etag("j", BlobKind::Output("thumb")), "\"j/thumb\"");
        assert_eq!(etag("j", BlobKind::Original), "\"j/original\"");
    }

    #[test]
    fn if_none_match_lists_weak_and_star() {
        let tag = "\"j/thumb\"";
        assert!(not_modified(Some("\"j/thumb\""), tag));
        assert!(not_modified(Some("\"other\", W/\"j/thumb\""), tag));
        assert!(not_modified(Some("*"), tag));
        assert!(!not_modified(Some("\"j\""), tag));
        assert!(!not_modified(Some(""), tag));
        assert!(!not_modified(None, tag));
    }

    #[test]
    fn owned_images_stay_out_of_shared_caches() {
        let open = cache_headers(false);
        assert_eq!(
            open,
            vec![(header::CACHE_CONTROL, HeaderValue::from_static(PUBLIC))]
        );
        let owned = cache_headers(true);
        assert!(owned.contains(&(header::CACHE_CONTROL, HeaderValue::from_static(PRIVATE))));
        assert!(owned.contains(&(header::VARY, HeaderValue::from_static("authorization"))));
    }
}
