//! The overload verdict of a scheduled run (`--rate 40:120,10:60`: overload, then calm): did the pipeline come
//! through it whole? Four checks:
//!
//! - **lost**: jobs the gateway accepted that were not stored by the end of the drain: none may be;
//! - **alarms**: no RabbitMQ node raised a memory or disk alarm in any sample (needs `--broker-api`);
//! - **queues**: no queue of the namespace reached 90 % of a bound of its own (`x-max-length`,
//!   `x-max-length-bytes`) in any sample (needs `--broker-api`; the API's figures lag by up to 5 s, so the true
//!   peak may be higher);
//! - **recovery**: from some 10 s window of the last phase on, every window's p99 from accepted to done is
//!   within [`RECOVERY_FACTOR`] times the baseline (or [`RECOVERY_SLACK_MS`] above it, whichever is more: a
//!   shared machine's noise alone moves a fast p99 by that much), and that window starts at most [`RECOVERY_LIMIT`] after the
//!   last phase began. The baseline is `--baseline-ms` when given, else the lowest p99 of any window of the run
//!   with at least [`MIN_BASELINE_JOBS`] jobs done (any window with a job done if none has that many): the
//!   latency the pipeline showed when it was least loaded.
//!
//! A check that cannot be made (no broker samples, no job done) is unknown: the verdict then passes nothing.

use std::{fmt::Write as _, time::Duration};

use serde::Serialize;

use super::{broker_report::BrokerReport, windows::Window};

/// How far above the baseline the p99 may stay and still count as back to normal.
pub const RECOVERY_FACTOR: f64 = 1.5;
/// How far above the baseline, in milliseconds, the p99 may always stay (for baselines so low that the factor
/// would leave less room than a busy machine's noise).
pub const RECOVERY_SLACK_MS: f64 = 250.0;
/// How long after the last phase began the p99 must be back to normal.
pub const RECOVERY_LIMIT: Duration = Duration::from_secs(60);
/// The fewest jobs done in a window whose p99 may serve as the baseline.
pub const MIN_BASELINE_JOBS: usize = 5;

/// The highest p99 that counts as normal for `baseline` milliseconds.
fn normal_p99_ms(baseline: f64) -> f64 {
    (baseline * RECOVERY_FACTOR).max(baseline + RECOVERY_SLACK_MS)
}

/// Where the baseline came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BaselineSource {
    /// `--baseline-ms`.
    Given,
    /// The lowest p99 of the run's windows.
    LowestWindow,
}

/// The checks of an overload run and their outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// Jobs accepted but not stored by the end of the drain.
    pub lost: usize,
    /// The alarms any sample showed (`rabbit@host: memory`); none when the broker was not sampled.
    pub alarms: Option<Vec<String>>,
    /// The queues that reached 90 % of a bound (`name (1000 of 1000 messages)`); none when not sampled.
    pub queues_over_bound: Option<Vec<String>>,
    /// The p99 from accepted to done that counts as normal, milliseconds; none when no job was done.
    pub baseline_p99_ms: Option<f64>,
    /// Where it came from.
    pub baseline: BaselineSource,
    /// Seconds from the start of the last phase to the window from which the p99 stayed within
    /// [`RECOVERY_FACTOR`] times the baseline; none when it never did.
    pub recovered_after_secs: Option<f64>,
    /// How long recovery may take, seconds.
    pub recovery_limit_secs: f64,
    /// Whether every check passed; none when none failed but some could not be made.
    pub passed: Option<bool>,
}

impl Verdict {
    /// The verdict on a run whose series is `windows` (by phase, in order), which accepted `accepted` jobs and
    /// stored `stored` of them, with the broker's figures if sampled, against `baseline_ms` if given.
    #[must_use]
    pub fn of(
        windows: &[Window],
        accepted: usize,
        stored: usize,
        broker: Option<&BrokerReport>,
        baseline_ms: Option<f64>,
    ) -> Self {
        let broker = broker.filter(|broker| broker.unavailable.is_none());
        let (baseline_p99_ms, baseline) = match baseline_ms {
            Some(ms) => (Some(ms), BaselineSource::Given),
            None => (lowest_p99(windows), BaselineSource::LowestWindow),
        };
        let recovered_after_secs =
            baseline_p99_ms.and_then(|ms| recovery(windows, normal_p99_ms(ms)));
        let limit = RECOVERY_LIMIT.as_secs_f64();
        let lost = accepted.saturating_sub(stored);
        let alarms = broker.map(BrokerReport::alarms);
        let queues_over_bound = broker.map(BrokerReport::queues_over_bound);
        let checks = [
            Some(lost == 0),
            alarms.as_ref().map(Vec::is_empty),
            queues_over_bound.as_ref().map(Vec::is_empty),
            baseline_p99_ms.map(|_| recovered_after_secs.is_some_and(|secs| secs <= limit)),
        ];
        let passed = if checks.contains(&Some(false)) {
            Some(false)
        } else if checks.contains(&None) {
            None
        } else {
            Some(true)
        };
        Self {
            lost,
            alarms,
            queues_over_bound,
            baseline_p99_ms,
            baseline,
            recovered_after_secs,
            recovery_limit_secs: limit,
            passed,
        }
    }

    /// The verdict as lines of text.
    #[must_use]
    pub fn render(&self) -> String {
        let outcome = match self.passed {
            Some(true) => "PASS",
            Some(false) => "FAIL",
            None => "INCOMPLETE (a check could not be made)",
        };
        let mark = |ok: Option<bool>| match ok {
            Some(true) => "ok",
            Some(false) => "FAIL",
            None => "unknown",
        };
        let list = |items: &Option<Vec<String>>, what: &str| match items {
            None => ("not sampled (--broker-api)".to_owned(), None),
            Some(items) if items.is_empty() => (format!("no {what}"), Some(true)),
            Some(items) => (items.join(", "), Some(false)),
        };
        let mut text = format!("overload verdict: {outcome}\n");
        let lost = format!(
            "{} accepted jobs not stored by the end of the drain",
            self.lost
        );
        let _ = writeln!(text, "  lost:     {lost}: {}", mark(Some(self.lost == 0)));
        let (alarms, ok) = list(&self.alarms, "alarm");
        let _ = writeln!(text, "  alarms:   {alarms}: {}", mark(ok));
        let (queues, ok) = list(&self.queues_over_bound, "queue at 90 % of a bound");
        let _ = writeln!(text, "  queues:   {queues}: {}", mark(ok));
        let recovery = match (self.baseline_p99_ms, self.recovered_after_secs) {
            (None, _) => ("no job done: no baseline".to_owned(), None),
            (Some(baseline), recovered) => {
                let source = match self.baseline {
                    BaselineSource::Given => "given",
                    BaselineSource::LowestWindow => "the lowest window's",
                };
                let when = recovered.map_or_else(
                    || "never".to_owned(),
                    |secs| format!("{secs:.0} s after the last phase began"),
                );
                (
                    format!(
                        "p99 accepted → done within {:.0} ms ({RECOVERY_FACTOR} × or {RECOVERY_SLACK_MS:.0} ms over \
                         {baseline:.0} ms, {source}) {when} (limit {:.0} s)",
                        normal_p99_ms(baseline),
                        self.recovery_limit_secs
                    ),
                    Some(recovered.is_some_and(|secs| secs <= self.recovery_limit_secs)),
                )
            }
        };
        let _ = writeln!(text, "  recovery: {}: {}", recovery.0, mark(recovery.1));
        text
    }
}

/// The lowest p99 of the windows with [`MIN_BASELINE_JOBS`] jobs done, else of any with one.
fn lowest_p99(windows: &[Window]) -> Option<f64> {
    let lowest = |least: usize| {
        windows
            .iter()
            .filter(|window| window.done >= least)
            .filter_map(|window| window.done_p99_ms)
            .min_by(f64::total_cmp)
    };
    lowest(MIN_BASELINE_JOBS).or_else(|| lowest(1))
}

/// Seconds from the start of the last phase to the first of its windows from which every window that had jobs
/// shows a p99 of at most `limit_ms` (a window with jobs but none done is not within it).
fn recovery(windows: &[Window], limit_ms: f64) -> Option<f64> {
    let last_phase = windows.iter().map(|window| window.phase).max()?;
    let phase: Vec<&Window> = windows
        .iter()
        .filter(|window| window.phase == last_phase)
        .collect();
    let phase_start = phase.first()?.start_secs;
    let mut recovered_from = None;
    for window in phase.iter().rev() {
        if window.submitted == 0 {
            continue;
        }
        if window.done_p99_ms.is_some_and(|p99| p99 <= limit_ms) {
            recovered_from = Some(window.start_secs);
        } else {
            break;
        }
    }
    recovered_from.map(|start| start - phase_start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::{
        broker::{BrokerSample, NodeState, QueueDepth, Source},
        broker_report::BrokerReport,
    };

    /// A window of `phase` from `start` s, with `done` jobs done and that p99.
    fn window(phase: usize, start: f64, done: usize, p99: Option<f64>) -> Window {
        Window {
            phase,
            start_secs: start,
            end_secs: start + 10.0,
            submitted: done.max(1),
            accepted: done,
            done,
            done_p99_ms: p99,
            ..Window::default()
        }
    }

    /// Overload from 0 to 30 s (latency climbing), then calm from 30 s: back to normal in its second window.
    fn overload_then_calm() -> Vec<Window> {
        vec![
            window(0, 0.0, 20, Some(400.0)),
            window(0, 10.0, 20, Some(2_000.0)),
            window(0, 20.0, 20, Some(9_000.0)),
            window(1, 30.0, 10, Some(6_000.0)),
            window(1, 40.0, 10, Some(500.0)),
            // Few jobs, very fast: too few to be the baseline.
            window(1, 50.0, 2, Some(100.0)),
            window(1, 60.0, 10, Some(450.0)),
        ]
    }

    fn source() -> Source {
        Source {
            api: "http://127.0.0.1:15672/".into(),
            vhost: "/".into(),
            namespace: "imagepipe".into(),
        }
    }

    fn broker(alarm: bool, messages: u64) -> BrokerReport {
        let queue = QueueDepth {
            name: "imagepipe.transform".into(),
            messages: Some(messages),
            arguments: serde_json::json!({"x-max-length": 1000})
                .as_object()
                .unwrap()
                .clone(),
            ..QueueDepth::default()
        };
        let node = NodeState {
            name: "rabbit@host".into(),
            mem_alarm: Some(alarm),
            disk_free_alarm: Some(false),
            ..NodeState::default()
        };
        BrokerReport::of(
            source(),
            vec![BrokerSample {
                at_secs: 0.0,
                queues: vec![queue],
                nodes: vec![node],
                error: None,
            }],
        )
    }

    #[test]
    fn an_overload_that_passes() {
        let verdict = Verdict::of(
            &overload_then_calm(),
            80,
            80,
            Some(&broker(false, 10)),
            None,
        );
        assert_eq!(verdict.baseline, BaselineSource::LowestWindow);
        assert_eq!(
            verdict.baseline_p99_ms,
            Some(400.0),
            "the 2-job window does not count"
        );
        // 500 and 450 are within 1.5 × 400; 100 too; 6000 is not: recovered from the window at 40 s.
        assert_eq!(verdict.recovered_after_secs, Some(10.0));
        assert_eq!(verdict.lost, 0);
        assert_eq!(verdict.alarms, Some(vec![]));
        assert_eq!(verdict.queues_over_bound, Some(vec![]));
        assert_eq!(verdict.passed, Some(true));
        let text = verdict.render();
        assert!(text.starts_with("overload verdict: PASS"), "{text}");
        assert!(text.contains("10 s after the last phase began"), "{text}");
    }

    #[test]
    fn lost_jobs_alarms_full_queues_and_slow_recovery_fail() {
        let windows = overload_then_calm();
        let verdict = Verdict::of(&windows, 80, 78, Some(&broker(true, 950)), Some(100.0));
        assert_eq!(verdict.lost, 2);
        assert_eq!(verdict.alarms, Some(vec!["rabbit@host: memory".to_owned()]));
        assert_eq!(
            verdict.queues_over_bound,
            Some(vec![
                "imagepipe.transform (950 of 1000 messages)".to_owned()
            ])
        );
        // Within 150 ms only the last-but-one window, and the one after it is not: never recovered.
        assert_eq!(verdict.baseline, BaselineSource::Given);
        assert_eq!(verdict.recovered_after_secs, None);
        assert_eq!(verdict.passed, Some(false));
        let text = verdict.render();
        assert!(text.contains("2 accepted jobs not stored"), "{text}");
        assert!(text.contains("never"), "{text}");

        // A recovery that takes longer than the limit fails too: back within 600 ms 70 s into the phase.
        let mut slow = windows[..3].to_vec();
        for start in [30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0] {
            slow.push(window(1, start, 10, Some(7_000.0)));
        }
        slow.push(window(1, 100.0, 10, Some(500.0)));
        slow.push(window(1, 110.0, 10, Some(450.0)));
        let verdict = Verdict::of(&slow, 80, 80, Some(&broker(false, 0)), Some(400.0));
        assert_eq!(verdict.recovered_after_secs, Some(70.0));
        assert_eq!(verdict.passed, Some(false));
        assert!(
            verdict.render().contains("recovery: p99"),
            "{}",
            verdict.render()
        );
    }

    #[test]
    fn without_the_broker_the_verdict_is_incomplete() {
        let verdict = Verdict::of(&overload_then_calm(), 80, 80, None, None);
        assert_eq!((verdict.alarms.clone(), verdict.passed), (None, None));
        let unavailable = BrokerReport::unavailable(source(), "connection refused".into());
        let verdict = Verdict::of(&overload_then_calm(), 80, 80, Some(&unavailable), None);
        assert_eq!(verdict.passed, None);
        assert!(
            verdict.render().contains("not sampled"),
            "{}",
            verdict.render()
        );
        // …but a lost job fails it all the same.
        let verdict = Verdict::of(&overload_then_calm(), 80, 79, None, None);
        assert_eq!(verdict.passed, Some(false));
        // No job done at all: no baseline, recovery unknown.
        let verdict = Verdict::of(&[window(0, 0.0, 0, None)], 0, 0, None, None);
        assert_eq!(
            (verdict.baseline_p99_ms, verdict.recovered_after_secs),
            (None, None)
        );
    }
}
