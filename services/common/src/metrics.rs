//! Prometheus metrics: one process-wide registry every part of a service registers its series in, typed
//! families of labelled counters, gauges and histograms over it, and the `GET /metrics` filter that renders it
//! in the OpenMetrics text format (which Prometheus scrapes).
//!
//! Each service keeps its own series in a `static` of its own (`imagepipe_<service>_…`); this module only
//! knows how to hold and render them. Label values must come from small, fixed sets (a route template, a
//! status, an error code, a queue's role), never from a job id or a raw path.

use std::{
    fmt::Write as _,
    sync::{LazyLock, Mutex, PoisonError},
    time::Duration,
};

use prometheus_client::{
    encoding::text::encode,
    metrics::{
        counter::Counter,
        family::{Family, MetricConstructor},
        gauge::Gauge,
        histogram::Histogram,
    },
    registry::{Metric, Registry},
};
use warp::{Filter, http::header::CONTENT_TYPE};

/// The content type of `/metrics`: OpenMetrics 1.0 text, which Prometheus asks for and parses.
pub const CONTENT_TYPE_OPENMETRICS: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Buckets (seconds) for work measured in milliseconds to seconds: a stage of a job, a store, a request.
pub const SHORT_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Buckets (seconds) for a job from acceptance to its result, which includes queueing.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

static JOBS_IN_FLIGHT: LazyLock<GaugeVec<1>> = LazyLock::new(|| {
    GaugeVec::register(
        "imagepipe_jobs_in_flight",
        "Jobs in flight, by service: accepted and not yet back (gateway), being transformed (transformer), \
         being stored (save2db)",
        ["service"],
    )
});

/// `imagepipe_jobs_in_flight{service}`, the one gauge every service reports its jobs in flight in.
#[must_use]
pub fn jobs_in_flight() -> &'static GaugeVec<1> {
    &JOBS_IN_FLIGHT
}

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(|| Mutex::new(Registry::default()));

/// Adds `metric` to the process-wide registry under `name` (a `_total` suffix is added to counters).
fn register(name: &str, help: &str, metric: impl Metric) {
    REGISTRY
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .register(name, help, metric);
}

/// Every registered series, in the OpenMetrics text format (ending in `# EOF`).
#[must_use]
pub fn render() -> String {
    let mut text = String::new();
    let registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
    if let Err(error) = encode(&mut text, &registry) {
        // Only a label value that cannot be written gets here; say so in the body rather than fail the scrape.
        let _ = writeln!(text, "# imagepipe: could not encode the metrics: {error}");
    }
    text
}

/// `GET /metrics`: the registry, for Prometheus.
pub fn route() -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone {
    warp::path!("metrics").and(warp::get()).map(|| {
        crate::amqp::metrics::register();
        warp::reply::with_header(render(), CONTENT_TYPE, CONTENT_TYPE_OPENMETRICS)
    })
}

/// A label set: the family's fixed keys with this series' values.
type Labels<const N: usize> = [(&'static str, String); N];

fn labels<const N: usize>(keys: &[&'static str; N], values: [&str; N]) -> Labels<N> {
    std::array::from_fn(|index| (keys[index], values[index].to_owned()))
}

/// A counter per combination of `N` label values.
#[derive(Debug, Clone)]
pub struct CounterVec<const N: usize> {
    keys: [&'static str; N],
    family: Family<Labels<N>, Counter>,
}

impl<const N: usize> CounterVec<N> {
    /// Registers the family `name` (rendered as `name_total`) with label `keys`.
    #[must_use]
    pub fn register(name: &str, help: &str, keys: [&'static str; N]) -> Self {
        let family = Family::default();
        register(name, help, family.clone());
        Self { keys, family }
    }

    /// Adds one to the series of `values`.
    pub fn inc(&self, values: [&str; N]) {
        self.inc_by(values, 1);
    }

    /// Adds `amount` to the series of `values`.
    pub fn inc_by(&self, values: [&str; N], amount: u64) {
        self.family
            .get_or_create(&labels(&self.keys, values))
            .inc_by(amount);
    }

    /// The series' current value (0 when it was never touched).
    #[must_use]
    pub fn get(&self, values: [&str; N]) -> u64 {
        self.family
            .get(&labels(&self.keys, values))
            .map_or(0, |counter| counter.get())
    }
}

/// A gauge per combination of `N` label values.
#[derive(Debug, Clone)]
pub struct GaugeVec<const N: usize> {
    keys: [&'static str; N],
    family: Family<Labels<N>, Gauge>,
}

impl<const N: usize> GaugeVec<N> {
    /// Registers the family `name` with label `keys`.
    #[must_use]
    pub fn register(name: &str, help: &str, keys: [&'static str; N]) -> Self {
        let family = Family::default();
        register(name, help, family.clone());
        Self { keys, family }
    }

    /// Sets the series of `values`.
    pub fn set(&self, values: [&str; N], value: i64) {
        self.family
            .get_or_create(&labels(&self.keys, values))
            .set(value);
    }

    /// Adds `delta` (which may be negative) to the series of `values`.
    pub fn add(&self, values: [&str; N], delta: i64) {
        self.family
            .get_or_create(&labels(&self.keys, values))
            .inc_by(delta);
    }

    /// Adds one to the series of `values` until the returned guard is dropped: for work in flight.
    #[must_use = "the gauge goes down again when the guard is dropped"]
    pub fn track(&self, values: [&str; N]) -> InFlight {
        let gauge = self.family.get_or_create_owned(&labels(&self.keys, values));
        gauge.inc();
        InFlight { gauge }
    }

    /// The series' current value (0 when it was never touched).
    #[must_use]
    pub fn get(&self, values: [&str; N]) -> i64 {
        self.family
            .get(&labels(&self.keys, values))
            .map_or(0, |gauge| gauge.get())
    }
}

/// One unit of a gauge, given back when dropped (see [`GaugeVec::track`]).
#[derive(Debug)]
pub struct InFlight {
    gauge: Gauge,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

/// The buckets a histogram family creates each series with.
#[derive(Debug, Clone, Copy)]
struct Buckets(&'static [f64]);

impl MetricConstructor<Histogram> for Buckets {
    fn new_metric(&self) -> Histogram {
        Histogram::new(self.0.iter().copied())
    }
}

/// A histogram per combination of `N` label values.
#[derive(Debug, Clone)]
pub struct HistogramVec<const N: usize> {
    keys: [&'static str; N],
    family: Family<Labels<N>, Histogram, Buckets>,
}

impl<const N: usize> HistogramVec<N> {
    /// Registers the family `name` with label `keys` and upper bucket bounds `buckets` (ascending; `+Inf` is
    /// added).
    #[must_use]
    pub fn register(
        name: &str,
        help: &str,
        keys: [&'static str; N],
        buckets: &'static [f64],
    ) -> Self {
        let family = Family::new_with_constructor(Buckets(buckets));
        register(name, help, family.clone());
        Self { keys, family }
    }

    /// Records `value` in the series of `values`.
    pub fn observe(&self, values: [&str; N], value: f64) {
        self.family
            .get_or_create(&labels(&self.keys, values))
            .observe(value);
    }

    /// Records a duration, in seconds.
    pub fn observe_duration(&self, values: [&str; N], duration: Duration) {
        self.observe(values, duration.as_secs_f64());
    }
}

/// The sum of the samples of `name` in the rendered `text` whose labels include every pair of `labels`, or
/// `None` when no sample matches: for tests and tools reading a scrape.
#[must_use]
pub fn sample_sum(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut sum = None;
    for line in text.lines().filter(|line| !line.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let (series_name, series_labels) = match series.split_once('{') {
            Some((series_name, rest)) => (series_name, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        let matches = series_name == name
            && labels.iter().all(|(key, value)| {
                series_labels
                    .split(',')
                    .any(|pair| pair == format!("{key}=\"{value}\""))
            });
        if let (true, Ok(value)) = (matches, value.parse::<f64>()) {
            *sum.get_or_insert(0.0) += value;
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines of the rendered registry that belong to `name`.
    fn series(name: &str) -> Vec<String> {
        render()
            .lines()
            .filter(|line| line.starts_with(name))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn counters_render_with_their_labels() {
        let counter = CounterVec::register(
            "imagepipe_test_things",
            "Things counted by a test",
            ["kind", "status"],
        );
        counter.inc(["apple", "200"]);
        counter.inc_by(["apple", "200"], 2);
        counter.inc(["pear", "404"]);
        assert_eq!(counter.get(["apple", "200"]), 3);
        assert_eq!(counter.get(["plum", "200"]), 0);
        let text = render();
        assert!(
            text.contains("# TYPE imagepipe_test_things counter"),
            "{text}"
        );
        let mut lines = series("imagepipe_test_things_total");
        lines.sort();
        assert_eq!(
            lines,
            [
                r#"imagepipe_test_things_total{kind="apple",status="200"} 3"#,
                r#"imagepipe_test_things_total{kind="pear",status="404"} 1"#,
            ]
        );
        assert!(text.ends_with("# EOF\n"), "OpenMetrics ends with EOF");
    }

    #[test]
    fn unlabelled_series_are_read_back() {
        let counter = CounterVec::register("imagepipe_test_plain", "A plain counter", []);
        counter.inc_by([], 5);
        assert_eq!(
            sample_sum(&render(), "imagepipe_test_plain_total", &[]),
            Some(5.0)
        );
    }

    #[test]
    fn histograms_count_and_bucket() {
        let histogram = HistogramVec::register(
            "imagepipe_test_duration_seconds",
            "Durations measured by a test",
            ["stage"],
            &[0.1, 1.0],
        );
        histogram.observe(["decode"], 0.05);
        histogram.observe_duration(["decode"], Duration::from_millis(500));
        histogram.observe(["decode"], 5.0);
        assert_eq!(
            sample_sum(
                &render(),
                "imagepipe_test_duration_seconds_count",
                &[("stage", "decode")]
            ),
            Some(3.0)
        );
        assert_eq!(
            sample_sum(
                &render(),
                "imagepipe_test_duration_seconds_count",
                &[("stage", "x")]
            ),
            None
        );
        let lines = series("imagepipe_test_duration_seconds");
        for expected in [
            r#"imagepipe_test_duration_seconds_count{stage="decode"} 3"#,
            r#"imagepipe_test_duration_seconds_bucket{le="0.1",stage="decode"} 1"#,
            r#"imagepipe_test_duration_seconds_bucket{le="1.0",stage="decode"} 2"#,
            r#"imagepipe_test_duration_seconds_bucket{le="+Inf",stage="decode"} 3"#,
        ] {
            assert!(
                lines.iter().any(|line| line == expected),
                "{expected} in {lines:#?}"
            );
        }
    }

    #[test]
    fn in_flight_guards_give_back_what_they_took() {
        let gauge = GaugeVec::register("imagepipe_test_in_flight", "Work in flight", ["queue"]);
        let first = gauge.track(["transform"]);
        let second = gauge.track(["transform"]);
        assert_eq!(gauge.get(["transform"]), 2);
        drop(first);
        assert_eq!(gauge.get(["transform"]), 1);
        drop(second);
        assert_eq!(gauge.get(["transform"]), 0);
        gauge.add(["archive"], 3);
        gauge.set(["other"], 7);
        assert_eq!(gauge.get(["archive"]), 3);
        assert!(
            series("imagepipe_test_in_flight")
                .contains(&r#"imagepipe_test_in_flight{queue="other"} 7"#.to_owned())
        );
    }

    #[tokio::test]
    async fn the_route_serves_openmetrics_text() {
        let counter = CounterVec::register("imagepipe_test_scraped", "Seen by a scrape", ["kind"]);
        counter.inc(["x"]);
        let response = warp::test::request().path("/metrics").reply(&route()).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()[CONTENT_TYPE], CONTENT_TYPE_OPENMETRICS);
        let body = std::str::from_utf8(response.body()).unwrap();
        assert!(
            body.contains(r#"imagepipe_test_scraped_total{kind="x"} 1"#),
            "{body}"
        );
        let post = warp::test::request()
            .method("POST")
            .path("/metrics")
            .reply(&route())
            .await;
        assert_eq!(post.status(), 405);
    }
}
