//! The web page: `GET /` and its script and style sheet under `/assets/`, plain HTML, CSS and JavaScript from
//! `services/gateway/web/` built into the binary (no build step, nothing to deploy beside it). The page uploads
//! through the API (`POST /image`), follows each job on `GET /image/{id}/events` and fetches the outputs, all
//! with relative URLs, so it works behind a path prefix too.
//!
//! Every file has a strong `ETag` (a hash of its bytes) and `Cache-Control: no-cache`: browsers keep a copy and
//! revalidate it, getting `304 Not Modified` until a new gateway build changes the file. The page carries the
//! gateway's upload limit, so it refuses an oversized file in words before sending it.

use std::{
    hash::{DefaultHasher, Hash, Hasher},
    sync::Arc,
};

use bytes::Bytes;
use warp::{
    Filter, Rejection,
    http::{HeaderValue, StatusCode, header},
};

use crate::http::images;

const INDEX_HTML: &str = include_str!("../../web/index.html");
const APP_JS: &str = include_str!("../../web/app.js");
const STYLE_CSS: &str = include_str!("../../web/style.css");

/// The files served under `/assets/`, as the API document lists them.
pub const ASSETS: [&str; 2] = ["app.js", "style.css"];
/// What `index.html` carries in place of the upload limit.
const MAX_UPLOAD_PLACEHOLDER: &str = "{{MAX_UPLOAD_BYTES}}";

/// The page may load its own script, style sheet and images, the images the API serves and the outputs
/// fetched as `blob:` URLs, and talk to its own origin only.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' blob: data:; \
     script-src 'self'; style-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// One file of the page.
#[derive(Debug, Clone)]
struct Asset {
    content_type: &'static str,
    body: Bytes,
    etag: String,
}

impl Asset {
    fn new(content_type: &'static str, body: impl Into<Bytes>) -> Self {
        let body = body.into();
        let mut hasher = DefaultHasher::new();
        body.hash(&mut hasher);
        Self {
            content_type,
            etag: format!("\"{:016x}\"", hasher.finish()),
            body,
        }
    }

    /// The file, or `304` when `If-None-Match` names its tag.
    fn reply(&self, if_none_match: Option<&str>) -> warp::reply::Response {
        let mut response = if images::not_modified(if_none_match, &self.etag) {
            let mut response = warp::reply::Response::default();
            *response.status_mut() = StatusCode::NOT_MODIFIED;
            response
        } else {
            let mut response = warp::reply::Response::new(self.body.clone().into());
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(self.content_type),
            );
            response
        };
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        if let Ok(etag) = HeaderValue::from_str(&self.etag) {
            headers.insert(header::ETAG, etag);
        }
        response
    }
}

/// The page and its assets.
#[derive(Debug)]
struct Site {
    index: Asset,
    script: Asset,
    style: Asset,
}

impl Site {
    fn new(max_upload_bytes: u64) -> Self {
        let index = INDEX_HTML.replace(MAX_UPLOAD_PLACEHOLDER, &max_upload_bytes.to_string());
        Self {
            index: Asset::new("text/html; charset=utf-8", index),
            script: Asset::new("text/javascript; charset=utf-8", APP_JS),
            style: Asset::new("text/css; charset=utf-8", STYLE_CSS),
        }
    }

    /// The asset called `name` under `/assets/` (one of [`ASSETS`]).
    fn asset(&self, name: &str) -> Option<&Asset> {
        match name {
            "app.js" => Some(&self.script),
            "style.css" => Some(&self.style),
            _ => None,
        }
    }
}

/// `GET /` (the page, telling uploads over `max_upload_bytes` off before sending them) and
/// `GET /assets/{name}`; an unknown asset is the rejection handler's `404 not_found`.
pub fn routes(
    max_upload_bytes: u64,
) -> impl Filter<Extract = (warp::reply::Response,), Error = Rejection> + Clone {
    let site = Arc::new(Site::new(max_upload_bytes));
    let if_none_match = || warp::header::optional::<String>("if-none-match");
    let index = {
        let site = Arc::clone(&site);
        warp::path::end().and(warp::get()).and(if_none_match()).map(
            move |if_none_match: Option<String>| {
                let mut response = site.index.reply(if_none_match.as_deref());
                response.headers_mut().insert(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(CONTENT_SECURITY_POLICY),
                );
                response
            },
        )
    };
    let asset = warp::path!("assets" / String)
        .and(warp::get())
        .and(if_none_match())
        .and_then(move |name: String, if_none_match: Option<String>| {
            let site = Arc::clone(&site);
            async move {
                site.asset(&name)
                    .map(|asset| asset.reply(if_none_match.as_deref()))
                    .ok_or_else(warp::reject::not_found)
            }
        });
    index.or(asset).unify()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::rejection::handle_rejection;

    fn site() -> impl Filter<Extract = (impl warp::Reply,), Error = std::convert::Infallible> + Clone
    {
        routes(1234).recover(handle_rejection)
    }

    async fn get(path: &str, if_none_match: Option<&str>) -> warp::http::Response<Bytes> {
        let mut request = warp::test::request().method("GET").path(path);
        if let Some(tag) = if_none_match {
            request = request.header("if-none-match", tag);
        }
        request.reply(&site()).await
    }

    #[tokio::test]
    async fn serves_the_page_and_its_assets_with_their_types() {
        for (path, content_type, needle) in [
            ("/", "text/html; charset=utf-8", "<!doctype html>"),
            (
                "/assets/app.js",
                "text/javascript; charset=utf-8",
                "text/event-stream",
            ),
            ("/assets/style.css", "text/css; charset=utf-8", ".card"),
        ] {
            let response = get(path, None).await;
            assert_eq!(response.status(), 200, "{path}");
            let headers = response.headers();
            assert_eq!(headers[header::CONTENT_TYPE], content_type, "{path}");
            assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
            assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
            let body = std::str::from_utf8(response.body()).unwrap();
            assert!(body.contains(needle), "{path} lacks {needle}");
        }
    }

    #[tokio::test]
    async fn the_page_carries_the_upload_limit_and_a_content_security_policy() {
        let response = get("/", None).await;
        let body = std::str::from_utf8(response.body()).unwrap();
        assert!(body.contains("content=\"1234\""), "{body}");
        assert!(!body.contains(MAX_UPLOAD_PLACEHOLDER));
        let policy = response.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(policy.contains("script-src 'self'"), "{policy}");
    }

    #[tokio::test]
    async fn a_matching_etag_gets_304_and_a_new_file_a_new_tag() {
        let first = get("/assets/app.js", None).await;
        let etag = first.headers()[header::ETAG].to_str().unwrap().to_owned();
        assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
        let again = get("/assets/app.js", Some(&etag)).await;
        assert_eq!(again.status(), 304);
        assert!(again.body().is_empty());
        assert_eq!(again.headers()[header::ETAG], etag.as_str());
        let stale = get("/assets/app.js", Some("\"0000000000000000\"")).await;
        assert_eq!(stale.status(), 200);
        let style = get("/assets/style.css", None).await;
        assert_ne!(style.headers()[header::ETAG], etag.as_str());
        let other_limit = Site::new(99).index.etag;
        assert_ne!(
            Site::new(1234).index.etag,
            other_limit,
            "the tag follows the bytes"
        );
    }

    #[tokio::test]
    async fn every_listed_asset_is_served() {
        for name in ASSETS {
            assert_eq!(
                get(&format!("/assets/{name}"), None).await.status(),
                200,
                "{name}"
            );
        }
    }

    #[tokio::test]
    async fn unknown_assets_and_paths_are_json_404s() {
        for path in [
            "/assets/nope.js",
            "/assets/",
            "/assets/../Cargo.toml",
            "/index.html",
        ] {
            let response = get(path, None).await;
            assert_eq!(response.status(), 404, "{path}");
            let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
            assert_eq!(body["code"], "not_found", "{path}");
        }
        let post = warp::test::request()
            .method("POST")
            .path("/")
            .reply(&site())
            .await;
        assert_eq!(post.status(), 405);
    }
}
