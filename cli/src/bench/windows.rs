//! The run as a series, to see overload come and go: windows of [`WINDOW`] by submission time (starting again at
//! each phase of a schedule, so that no window mixes two rates), or one window per phase; each says what its jobs
//! met: submitted, accepted, refused by code, failed by code, results, stored, and the p50/p99 from accepted to
//! done.

use std::{collections::BTreeMap, fmt::Write as _, time::Duration};

use serde::Serialize;

use super::{load::Sample, percentiles::Percentiles, schedule::Span};
use crate::table::Table;

/// How long a window of the series is.
pub const WINDOW: Duration = Duration::from_secs(10);

/// The jobs submitted within one stretch of the load.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Window {
    /// The phase of the schedule it belongs to (0 without a schedule).
    pub phase: usize,
    /// Its start, seconds from the start of the load (the client's clock, by submission time).
    pub start_secs: f64,
    /// Its end.
    pub end_secs: f64,
    /// Jobs offered per second (open loop).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offered_rate: Option<f64>,
    /// Jobs submitted.
    pub submitted: usize,
    /// Jobs the gateway accepted.
    pub accepted: usize,
    /// Jobs refused at submission, by the API's code (`queue_full`, `overloaded`, …). An open loop does not
    /// retry them, whatever their `Retry-After`.
    pub refused: BTreeMap<String, usize>,
    /// Accepted jobs that failed or were not answered in time, by the job's code.
    pub failed: BTreeMap<String, usize>,
    /// Jobs whose result was downloaded.
    pub results: usize,
    /// Jobs stored by the end of the drain.
    pub stored: usize,
    /// Jobs with both accepted and done in their timeline: how many the percentiles below are of.
    pub done: usize,
    /// Median from accepted to done, milliseconds; none when no job was done.
    pub done_p50_ms: Option<f64>,
    /// 99th percentile from accepted to done, milliseconds.
    pub done_p99_ms: Option<f64>,
}

/// `samples` by submission time, in windows of `width` (`None`: one window per span) laid over `spans`, in
/// order. A job started at or after the last span's end (a loop's last tick) counts in the last window.
#[must_use]
pub fn series(spans: &[Span], width: Option<Duration>, samples: &[Sample]) -> Vec<Window> {
    let mut windows = Vec::new();
    let mut starts = Vec::new();
    for (phase, span) in spans.iter().enumerate() {
        let mut at = span.start;
        loop {
            let end = width
                .filter(|width| !width.is_zero())
                .map_or(span.end, |width| (at + width).min(span.end));
            windows.push(Window {
                phase,
                start_secs: at.as_secs_f64(),
                end_secs: end.as_secs_f64(),
                offered_rate: span.rate,
                ..Window::default()
            });
            starts.push(at);
            at = end;
            if at >= span.end {
                break;
            }
        }
    }
    if windows.is_empty() {
        return windows;
    }
    let mut latencies = vec![Vec::new(); windows.len()];
    for sample in samples {
        let index = starts
            .partition_point(|start| *start <= sample.started)
            .saturating_sub(1);
        let window = &mut windows[index];
        window.submitted += 1;
        match (&sample.id, &sample.error) {
            (Some(_), Some(code)) => *window.failed.entry(code.clone()).or_insert(0) += 1,
            (None, Some(code)) => *window.refused.entry(code.clone()).or_insert(0) += 1,
            (_, None) if sample.answered.is_some() => window.results += 1,
            _ => {}
        }
        window.accepted += usize::from(sample.id.is_some());
        window.stored += usize::from(sample.stored_ms.is_some());
        if let (Some(accepted), Some(done)) = (sample.accepted_ms, sample.finished_ms) {
            #[allow(clippy::cast_precision_loss)] // Milliseconds of one job.
            latencies[index].push((done - accepted) as f64);
        }
    }
    for (window, latencies) in windows.iter_mut().zip(latencies) {
        let figures = Percentiles::of(latencies);
        window.done = figures.count;
        if figures.count > 0 {
            window.done_p50_ms = Some(figures.p50);
            window.done_p99_ms = Some(figures.p99);
        }
    }
    windows
}

/// `windows` as a plain-text table: one row each.
#[must_use]
pub fn render(windows: &[Window]) -> String {
    let mut table = Table::new(&[
        "s",
        "phase",
        "offered/s",
        "submitted",
        "accepted",
        "refused",
        "failed",
        "results",
        "stored",
        "done p50 ms",
        "done p99 ms",
    ]);
    let codes = |counts: &BTreeMap<String, usize>| {
        let mut text = String::new();
        for (code, count) in counts {
            let _ = write!(
                text,
                "{}{code} {count}",
                if text.is_empty() { "" } else { ", " }
            );
        }
        if text.is_empty() {
            "0".to_owned()
        } else {
            text
        }
    };
    let ms = |value: Option<f64>| value.map_or_else(|| "–".to_owned(), |ms| format!("{ms:.0}"));
    for window in windows {
        table.push(vec![
            format!("{:.0}–{:.0}", window.start_secs, window.end_secs),
            (window.phase + 1).to_string(),
            window
                .offered_rate
                .map_or_else(|| "–".to_owned(), |rate| format!("{rate}")),
            window.submitted.to_string(),
            window.accepted.to_string(),
            codes(&window.refused),
            codes(&window.failed),
            window.results.to_string(),
            window.stored.to_string(),
            ms(window.done_p50_ms),
            ms(window.done_p99_ms),
        ]);
    }
    table.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A job submitted at `started_ms`, accepted, done `latency` ms later and stored.
    fn done(started_ms: u64, latency: i64) -> Sample {
        Sample {
            id: Some(format!("j{started_ms}")),
            started: Duration::from_millis(started_ms),
            answered: Some(Duration::from_millis(10)),
            accepted_ms: Some(1_000),
            finished_ms: Some(1_000 + latency),
            stored_ms: Some(1_100 + latency),
            ..Sample::default()
        }
    }

    fn refused(started_ms: u64, code: &str) -> Sample {
        Sample {
            started: Duration::from_millis(started_ms),
            error: Some(code.to_owned()),
            ..Sample::default()
        }
    }

    fn spans() -> Vec<Span> {
        let secs = Duration::from_secs;
        vec![
            Span {
                rate: Some(4.0),
                start: secs(0),
                end: secs(25),
            },
            Span {
                rate: Some(2.0),
                start: secs(25),
                end: secs(40),
            },
        ]
    }

    #[test]
    fn windows_start_again_at_each_phase() {
        let samples = [
            done(0, 100),
            done(9_999, 300),
            refused(10_000, "queue_full"),
            refused(12_000, "queue_full"),
            refused(13_000, "overloaded"),
            Sample {
                error: Some("timeout".into()),
                ..done(21_000, 5_000)
            },
            done(24_999, 50),
            done(25_000, 70),
            // Past the end of the last phase (the loop's last tick): in the last window.
            done(40_000, 80),
        ];
        let windows = series(&spans(), Some(WINDOW), &samples);
        let bounds: Vec<_> = windows
            .iter()
            .map(|window| (window.phase, window.start_secs, window.end_secs))
            .collect();
        assert_eq!(
            bounds,
            [
                (0, 0.0, 10.0),
                (0, 10.0, 20.0),
                (0, 20.0, 25.0),
                (1, 25.0, 35.0),
                (1, 35.0, 40.0)
            ]
        );
        let first = &windows[0];
        assert_eq!(
            (
                first.submitted,
                first.accepted,
                first.results,
                first.stored,
                first.done
            ),
            (2, 2, 2, 2, 2)
        );
        assert_eq!(
            (first.done_p50_ms, first.done_p99_ms),
            (Some(100.0), Some(300.0))
        );
        let second = &windows[1];
        assert_eq!((second.submitted, second.accepted, second.done), (3, 0, 0));
        assert_eq!(
            second.refused,
            BTreeMap::from([("overloaded".to_owned(), 1), ("queue_full".to_owned(), 2)])
        );
        assert_eq!(second.done_p99_ms, None);
        let third = &windows[2];
        assert_eq!((third.results, third.accepted, third.done), (1, 2, 2));
        assert_eq!(third.failed, BTreeMap::from([("timeout".to_owned(), 1)]));
        assert_eq!(third.done_p99_ms, Some(5_000.0));
        assert_eq!(
            (windows[3].submitted, windows[3].offered_rate),
            (1, Some(2.0))
        );
        assert_eq!(
            (windows[4].submitted, windows[4].done_p50_ms),
            (1, Some(80.0))
        );
        assert_eq!(
            windows.iter().map(|window| window.submitted).sum::<usize>(),
            samples.len()
        );

        let phases = series(&spans(), None, &samples);
        assert_eq!(phases.len(), 2);
        assert_eq!((phases[0].submitted, phases[1].submitted), (7, 2));
        assert_eq!((phases[0].end_secs, phases[1].start_secs), (25.0, 25.0));

        let text = render(&windows);
        assert!(text.contains("queue_full 2"), "{text}");
        assert!(text.starts_with("s "), "{text}");
        assert_eq!(text.lines().count(), 6, "{text}");
    }

    #[test]
    fn no_span_no_window() {
        assert!(series(&[], Some(WINDOW), &[done(0, 1)]).is_empty());
    }
}
