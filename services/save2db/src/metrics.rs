//! save2db's Prometheus series: jobs stored (by the job's final status), how long storing took, bytes written
//! to GridFS, failures by reason, the activity log's batching, and archives in flight (`imagepipe_jobs_in_flight{service="save2db"}`).

use std::{sync::LazyLock, time::Duration};

use imagepipe_common::metrics::{
    CounterVec, GaugeVec, HistogramVec, InFlight, SHORT_BUCKETS, jobs_in_flight,
};

use imagepipe_archive::JobDocument;

use crate::worker::Outcome;

struct Save2dbMetrics {
    stored: CounterVec<1>,
    duration: HistogramVec<1>,
    bytes: CounterVec<1>,
    failures: CounterVec<1>,
    activity: CounterVec<1>,
    in_flight: &'static GaugeVec<1>,
}

static METRICS: LazyLock<Save2dbMetrics> = LazyLock::new(|| {
    let metrics = Save2dbMetrics {
        stored: CounterVec::register(
            "imagepipe_save2db_jobs_stored",
            "Archives stored (or found already stored), by the job's final status (done or failed)",
            ["status"],
        ),
        duration: HistogramVec::register(
            "imagepipe_save2db_store_duration_seconds",
            "Time to write one archive (GridFS files and the job document, journaled), by result (ok or error)",
            ["result"],
            SHORT_BUCKETS,
        ),
        bytes: CounterVec::register(
            "imagepipe_save2db_stored_bytes",
            "Image bytes of the archives stored, by kind (original or output)",
            ["kind"],
        ),
        failures: CounterVec::register(
            "imagepipe_save2db_failures",
            "Archives not stored, by reason: transient (database unavailable, requeued), rejected \
             (undecodable or unstorable, dead-lettered) or deleted (the job was deleted before: nothing kept)",
            ["reason"],
        ),
        activity: CounterVec::register(
            "imagepipe_save2db_activity",
            "The activity log's group commit: job events written (events) and the writes that took them \
             (writes); events over writes is the batch size",
            ["kind"],
        ),
        in_flight: jobs_in_flight(),
    };
    for kind in ["events", "writes"] {
        metrics.activity.inc_by([kind], 0);
    }
    for status in ["done", "failed"] {
        metrics.stored.inc_by([status], 0);
    }
    metrics.in_flight.set(["save2db"], 0);
    metrics
});

/// Registers save2db's series, so a scrape shows them (at zero) before the first archive.
pub fn register() {
    LazyLock::force(&METRICS);
}

/// One more archive in flight until the guard is dropped.
#[must_use]
pub(crate) fn in_flight() -> InFlight {
    METRICS.in_flight.track(["save2db"])
}

/// How long one write took, and whether it succeeded.
pub(crate) fn store_duration(ok: bool, elapsed: Duration) {
    METRICS
        .duration
        .observe_duration([if ok { "ok" } else { "error" }], elapsed);
}

/// Counts one write of the activity log's group commit, of `events` events.
pub(crate) fn activity_batch(events: usize) {
    METRICS.activity.inc(["writes"]);
    METRICS
        .activity
        .inc_by(["events"], u64::try_from(events).unwrap_or(u64::MAX));
}

/// Counts a handled delivery by its outcome.
pub(crate) fn outcome(outcome: &Outcome) {
    match outcome {
        Outcome::Stored(document) => stored(document),
        Outcome::Deleted => METRICS.failures.inc(["deleted"]),
        Outcome::Retry(_) => METRICS.failures.inc(["transient"]),
        Outcome::Rejected(_) => METRICS.failures.inc(["rejected"]),
    }
}

fn stored(document: &JobDocument) {
    METRICS.stored.inc([document.job_status().name()]);
    if let Some(original) = &document.original {
        METRICS.bytes.inc_by(["original"], original.bytes);
    }
    let outputs = document.outputs.iter().map(|file| file.bytes).sum();
    METRICS.bytes.inc_by(["output"], outputs);
}
