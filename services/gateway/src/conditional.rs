//! Conditional GETs of a job's images: each image URL has a strong `ETag`, and a request whose
//! `If-None-Match` names it gets `304 Not Modified` without the bytes. A job's images never change once
//! written, so the tag only has to name the image, not hash it, and every image may be cached for a year.

use warp::http::{HeaderName, HeaderValue, header};

use crate::jobs::BlobKind;

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
