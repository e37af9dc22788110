//! One log line and the request metrics for every HTTP request: counted by method, route template and status,
//! timed by method and route. The route is the template the path matches (`/image/{id}/status`), never the path
//! itself, so a scan of random URLs cannot grow the series.
//!
//! The line is at INFO for API routes and DEBUG for probes and scrapes (`/healthz`, `/readyz`, `/metrics`).
//! Errors are not logged again here: the rejection handler logs a 5xx's cause once.

use std::sync::LazyLock;

use imagepipe_common::metrics::{CounterVec, HistogramVec, SHORT_BUCKETS};
use warp::log::{Info, Log};

/// Every route template the gateway serves, from [`crate::http::routes::ROUTES`] (the one list of them), in its order:
/// a more specific template comes before the one with a parameter in its place.
pub fn templates() -> impl Iterator<Item = &'static str> {
    crate::http::ROUTES.iter().map(|route| route.template)
}

/// The route label of a path no template matches.
pub const UNMATCHED: &str = "unmatched";

/// Routes whose requests are logged at DEBUG: probes and scrapes, which come every few seconds.
const QUIET_ROUTES: &[&str] = &["/healthz", "/readyz", "/metrics"];

struct HttpMetrics {
    requests: CounterVec<3>,
    duration: HistogramVec<2>,
}

static METRICS: LazyLock<HttpMetrics> = LazyLock::new(|| HttpMetrics {
    requests: CounterVec::register(
        "imagepipe_http_requests",
        "HTTP requests answered by the gateway, by method, route template and status",
        ["method", "route", "status"],
    ),
    duration: HistogramVec::register(
        "imagepipe_http_request_duration_seconds",
        "Time from a request's arrival to its response's head, by method and route template",
        ["method", "route"],
        SHORT_BUCKETS,
    ),
});

/// The template of [`templates`] that `path` matches, or [`UNMATCHED`]. Runs on every request: it compares
/// segments in place, without collecting them.
#[must_use]
pub fn route_template(path: &str) -> &'static str {
    crate::http::ROUTES
        .iter()
        .find(|route| route.matches(path))
        .map_or(UNMATCHED, |route| route.template)
}

/// The wrapper that logs and counts every request: `.with(request_log::observe())` outermost on the routes.
#[must_use]
pub fn observe() -> Log<impl Fn(Info<'_>) + Copy + Send> {
    LazyLock::force(&METRICS);
    crate::metrics::register();
    warp::log::custom(record)
}

fn record(info: Info<'_>) {
    let route = route_template(info.path());
    let method = info.method().as_str();
    let status = info.status();
    let elapsed = info.elapsed();
    METRICS.requests.inc([method, route, status.as_str()]);
    METRICS.duration.observe_duration([method, route], elapsed);
    let elapsed_ms = elapsed.as_secs_f64() * 1000.0;
    if QUIET_ROUTES.contains(&route) {
        tracing::debug!(
            method,
            route,
            status = status.as_u16(),
            elapsed_ms,
            "Request."
        );
    } else {
        tracing::info!(
            method,
            route,
            status = status.as_u16(),
            elapsed_ms,
            "Request."
        );
    }
}

#[cfg(test)]
mod tests {
    use imagepipe_common::metrics::{render, sample_sum};
    use warp::Filter;

    use super::*;

    #[test]
    fn paths_become_their_route_templates() {
        let id = "0b8f3f5e-4a8e-4c39-9d59-0d8f7f0e1a11";
        for (path, template) in [
            ("/", "/"),
            ("/image", "/image"),
            ("/images", "/images"),
            ("/healthz", "/healthz"),
            ("/metrics", "/metrics"),
            (&format!("/image/{id}") as &str, "/image/{id}"),
            (&format!("/image/{id}/status"), "/image/{id}/status"),
            (&format!("/image/{id}/original"), "/image/{id}/original"),
            (&format!("/image/{id}/events"), "/image/{id}/events"),
            (&format!("/image/{id}/thumb"), "/image/{id}/{output}"),
            ("/assets/app.js", "/assets/{file}"),
            ("/image/", UNMATCHED),
            ("/image/a/b/c", UNMATCHED),
            ("/wp-login.php", UNMATCHED),
            ("/images/../etc/passwd", UNMATCHED),
        ] {
            assert_eq!(route_template(path), template, "{path}");
        }
    }

    #[test]
    fn every_served_route_has_its_template() {
        for route in crate::http::ROUTES {
            let (method, template) = (route.method, route.template);
            let path = template
                .split('/')
                .map(|segment| {
                    if segment.starts_with('{') {
                        "x1"
                    } else {
                        segment
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            assert_eq!(route_template(&path), template, "{method} {template}");
        }
    }

    #[tokio::test]
    async fn requests_are_counted_by_template_and_status() {
        let routes = warp::path!("image" / String / "status")
            .map(|_id: String| "ok")
            .with(observe());
        let id = uuid::Uuid::new_v4();
        for _ in 0..2 {
            let response = warp::test::request()
                .path(&format!("/image/{id}/status"))
                .reply(&routes)
                .await;
            assert_eq!(response.status(), 200);
        }
        let missing = warp::test::request()
            .path("/no/such/route")
            .reply(&routes)
            .await;
        assert_eq!(missing.status(), 404);
        let text = render();
        let count = |route, status| {
            sample_sum(
                &text,
                "imagepipe_http_requests_total",
                &[("method", "GET"), ("route", route), ("status", status)],
            )
        };
        assert!(count("/image/{id}/status", "200") >= Some(2.0), "{text}");
        assert!(count(UNMATCHED, "404") >= Some(1.0), "{text}");
        assert!(!text.contains(&id.to_string()), "no job id in a label");
        assert!(
            sample_sum(
                &text,
                "imagepipe_http_request_duration_seconds_count",
                &[("route", "/image/{id}/status")],
            ) >= Some(2.0)
        );
    }
}
