//! Conditional GETs of a job's images: each image URL has a strong `ETag`, and a request whose
//! `If-None-Match` names it gets `304 Not Modified` without the bytes. A job's images never change once
//! written, so the tag only has to name the image, not hash it.

use crate::jobs::BlobKind;

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
}
