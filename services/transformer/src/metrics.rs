//! The transformer's Prometheus series: jobs by outcome and their handling time, failures by reason code,
//! per-stage durations (decode, transform, encode in the engine; publish of the result and archive), image
//! bytes in and out, jobs in flight (`imagepipe_jobs_in_flight{service="transformer"}`), and jobs held while
//! the archive queue is full.

use std::{sync::LazyLock, time::Duration};

use imagepipe_common::metrics::{
    CounterVec, GaugeVec, HistogramVec, InFlight, SHORT_BUCKETS, jobs_in_flight,
};
use imagepipe_engine::Timings;

use crate::worker::Outcome;

struct TransformerMetrics {
    jobs: CounterVec<1>,
    duration: HistogramVec<1>,
    failures: CounterVec<1>,
    stages: HistogramVec<1>,
    bytes: CounterVec<1>,
    in_flight: &'static GaugeVec<1>,
    held: GaugeVec<1>,
    refusals: CounterVec<1>,
}

static METRICS: LazyLock<TransformerMetrics> = LazyLock::new(|| {
    let metrics = TransformerMetrics {
        jobs: CounterVec::register(
            "imagepipe_transformer_jobs",
            "Deliveries of the transform queue handled, by outcome: done, failed (reported as a failed job), \
             undecodable (dead-lettered), publish_failed (requeued)",
            ["outcome"],
        ),
        duration: HistogramVec::register(
            "imagepipe_transformer_job_duration_seconds",
            "Time to handle one delivery, from decoding the message to the confirmed result and archive, by \
             outcome",
            ["outcome"],
            SHORT_BUCKETS,
        ),
        failures: CounterVec::register(
            "imagepipe_transformer_failures",
            "Jobs that did not end done, by reason: the failed job's error code (decode_failed, too_large, …), \
             undecodable, or publish_failed",
            ["reason"],
        ),
        stages: HistogramVec::register(
            "imagepipe_transformer_stage_duration_seconds",
            "Time spent in each stage of a job: decode (once per job), transform and encode (once per output) \
             of the jobs the engine transformed, publish (the result and archive, until confirmed)",
            ["stage"],
            SHORT_BUCKETS,
        ),
        bytes: CounterVec::register(
            "imagepipe_transformer_bytes",
            "Image bytes: in (originals received), out (outputs made)",
            ["direction"],
        ),
        in_flight: jobs_in_flight(),
        held: GaugeVec::register(
            "imagepipe_transformer_held_jobs",
            "Finished jobs held, their delivery unacknowledged, because a queue refused their message: \
             archive_full (storage is behind; the transformer takes no new job in their place)",
            ["reason"],
        ),
        refusals: CounterVec::register(
            "imagepipe_transformer_archive_refusals",
            "Archives the broker refused because the archive queue was full, each retried after a wait",
            ["queue"],
        ),
    };
    metrics.held.set(["archive_full"], 0);
    metrics.refusals.inc_by(["archive"], 0);
    for outcome in ["done", "failed"] {
        metrics.jobs.inc_by([outcome], 0);
    }
    for direction in ["in", "out"] {
        metrics.bytes.inc_by([direction], 0);
    }
    metrics.in_flight.set(["transformer"], 0);
    metrics
});

/// Registers the transformer's series, so a scrape shows them (at zero) before the first job.
pub fn register() {
    LazyLock::force(&METRICS);
}

/// One more job in flight until the guard is dropped.
#[must_use]
pub(crate) fn in_flight() -> InFlight {
    METRICS.in_flight.track(["transformer"])
}

/// One more job held because the archive queue is full, until the guard is dropped.
#[must_use]
pub(crate) fn held_for_archive() -> InFlight {
    METRICS.held.track(["archive_full"])
}

/// Counts an archive the broker refused (the archive queue is full).
pub(crate) fn archive_refused() {
    METRICS.refusals.inc(["archive"]);
}

/// Counts a handled delivery: its outcome, how long it took, and the reason when it did not end done.
pub(crate) fn job(outcome: &Outcome, elapsed: Duration) {
    let (label, reason) = match outcome {
        Outcome::Done => ("done", None),
        Outcome::Failed { code } => ("failed", Some(code.as_str())),
        Outcome::Undecodable => ("undecodable", Some("undecodable")),
        Outcome::PublishFailed => ("publish_failed", Some("publish_failed")),
    };
    METRICS.jobs.inc([label]);
    METRICS.duration.observe_duration([label], elapsed);
    if let Some(reason) = reason {
        METRICS.failures.inc([reason]);
    }
}

/// Time spent in `stage` (`publish`; the engine's stages come in through [`stages`]).
pub(crate) fn stage(stage: &'static str, elapsed: Duration) {
    METRICS.stages.observe_duration([stage], elapsed);
}

/// The engine's stages of one job: its decode, and each output's transform and encode.
pub(crate) fn stages(timings: &Timings) {
    stage("decode", timings.decode);
    for output in &timings.outputs {
        stage("transform", output.transform);
        stage("encode", output.encode);
    }
}

/// Image bytes `in` or `out`.
pub(crate) fn bytes(direction: &'static str, bytes: u64) {
    METRICS.bytes.inc_by([direction], bytes);
}

#[cfg(test)]
mod tests {
    use imagepipe_common::metrics::{render, sample_sum};

    use super::*;

    #[test]
    fn outcomes_and_reasons_are_counted() {
        let failures = METRICS.failures.get(["too_large"]);
        job(
            &Outcome::Failed {
                code: imagepipe_proto::FailureCode::TooLarge,
            },
            Duration::from_millis(3),
        );
        job(&Outcome::Done, Duration::from_millis(3));
        assert_eq!(METRICS.failures.get(["too_large"]), failures + 1);
        assert!(METRICS.jobs.get(["failed"]) >= 1);
        let text = render();
        assert!(
            sample_sum(
                &text,
                "imagepipe_transformer_job_duration_seconds_count",
                &[("outcome", "done")]
            ) >= Some(1.0),
            "{text}"
        );
        assert!(text.contains(r#"imagepipe_jobs_in_flight{service="transformer"}"#));
    }

    #[test]
    fn the_engines_stages_are_recorded() {
        let png = {
            let mut out = std::io::Cursor::new(Vec::new());
            image::RgbImage::new(64, 48)
                .write_to(&mut out, image::ImageFormat::Png)
                .unwrap();
            out.into_inner()
        };
        let before = |stage| {
            sample_sum(
                &render(),
                "imagepipe_transformer_stage_duration_seconds_count",
                &[("stage", stage)],
            )
            .unwrap_or(0.0)
        };
        let (decode, transform, encode) = (before("decode"), before("transform"), before("encode"));
        let spec = imagepipe_proto::v1::TransformSpec {
            width: Some(16),
            ..Default::default()
        };
        let transformed =
            imagepipe_engine::transform(&png, &spec, &imagepipe_engine::Limits::default()).unwrap();
        stages(&transformed.timings);
        assert!(before("decode") > decode);
        assert!(before("transform") > transform);
        assert!(before("encode") > encode);
    }
}
