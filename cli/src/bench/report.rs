//! What a run measured: rates, latency percentiles and errors, the series of windows (and of phases, with a
//! schedule), and what was added after the load (CPU, the broker's figures, the overload verdict), as a
//! plain-text table for people and as JSON for programs (the same figures).

use std::{collections::BTreeMap, fmt::Write as _, time::Duration};

use serde::Serialize;

pub use super::percentiles::Percentiles;
use super::{
    broker_report::BrokerReport,
    load::{Mode, Sample},
    verdict::Verdict,
    windows::{self, WINDOW, Window},
};

/// The figures of one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Whom the load went to: `imagepipe` or `thumbor`.
    pub target: String,
    /// How the load came.
    #[serde(flatten)]
    pub mode: Mode,
    /// Seconds of load.
    pub duration_secs: f64,
    /// Jobs submitted.
    pub submitted: usize,
    /// Jobs the gateway accepted.
    pub accepted: usize,
    /// Jobs whose result was downloaded.
    pub results: usize,
    /// Jobs save2db stored (done or failed), by the end of the drain.
    pub stored: usize,
    /// Results downloaded per second of load (those answered within it).
    pub results_per_sec: f64,
    /// Jobs stored per second, over the load's length from the first job accepted.
    pub stored_per_sec: f64,
    /// From submitting a job to its result downloaded, as the client saw it (milliseconds).
    pub submit_to_result_ms: Percentiles,
    /// From the gateway accepting a job to the transformer finishing it (its timeline; milliseconds).
    pub accepted_to_done_ms: Percentiles,
    /// From the gateway accepting a job to save2db storing it (its timeline; milliseconds).
    pub accepted_to_stored_ms: Percentiles,
    /// Refused or failed jobs, by the API's code or the job's.
    pub errors: BTreeMap<String, usize>,
    /// CPU milliseconds per answered job of each process named with `--process`, and of the client, from the
    /// start of the load to the end of the drain.
    pub cpu_ms_per_job: BTreeMap<String, f64>,
    /// The jobs by submission time, in windows of 10 s (starting again at each phase of a schedule).
    pub windows: Vec<Window>,
    /// The jobs by phase of the schedule (none without one).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<Window>,
    /// The broker's queues and nodes over the load and the drain (with `--broker-api`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker: Option<BrokerReport>,
    /// The overload verdict (with a schedule).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
}

impl Report {
    /// The figures of `samples`, from a load of `duration` in `mode`.
    #[must_use]
    #[allow(clippy::cast_precision_loss)] // Counts far below 2^52.
    pub fn of(target: &str, mode: Mode, duration: Duration, samples: &[Sample]) -> Self {
        let seconds = duration.as_secs_f64();
        let ok = |sample: &&Sample| sample.error.is_none();
        let answered_within = samples
            .iter()
            .filter(ok)
            .filter(|sample| {
                sample
                    .answered
                    .is_some_and(|answered| sample.started + answered <= duration)
            })
            .count();
        let first_accepted = samples.iter().filter_map(|sample| sample.accepted_ms).min();
        #[allow(clippy::cast_possible_truncation)]
        let window_end = first_accepted.map(|first| first + duration.as_millis() as i64);
        let stored_within = samples
            .iter()
            .filter(|sample| {
                sample
                    .stored_ms
                    .zip(window_end)
                    .is_some_and(|(stored, end)| stored <= end)
            })
            .count();
        let since_accepted = |until: fn(&Sample) -> Option<i64>| {
            Percentiles::of(
                samples
                    .iter()
                    .filter_map(|sample| Some((until(sample)? - sample.accepted_ms?) as f64))
                    .collect(),
            )
        };
        let mut errors = BTreeMap::new();
        for code in samples.iter().filter_map(|sample| sample.error.clone()) {
            *errors.entry(code).or_insert(0) += 1;
        }
        let spans = mode.spans(duration);
        let phases = if matches!(mode, Mode::Schedule { .. }) {
            windows::series(&spans, None, samples)
        } else {
            Vec::new()
        };
        Self {
            target: target.to_owned(),
            windows: windows::series(&spans, Some(WINDOW), samples),
            phases,
            broker: None,
            verdict: None,
            mode,
            duration_secs: seconds,
            submitted: samples.len(),
            accepted: samples.iter().filter(|sample| sample.id.is_some()).count(),
            results: samples
                .iter()
                .filter(ok)
                .filter(|sample| sample.answered.is_some())
                .count(),
            stored: samples
                .iter()
                .filter(|sample| sample.stored_ms.is_some())
                .count(),
            results_per_sec: answered_within as f64 / seconds,
            stored_per_sec: stored_within as f64 / seconds,
            submit_to_result_ms: Percentiles::of(
                samples
                    .iter()
                    .filter(ok)
                    .filter_map(|sample| Some(sample.answered?.as_secs_f64() * 1000.0))
                    .collect(),
            ),
            accepted_to_done_ms: since_accepted(|sample| sample.finished_ms),
            accepted_to_stored_ms: since_accepted(|sample| sample.stored_ms),
            errors,
            cpu_ms_per_job: BTreeMap::new(),
        }
    }

    /// The report as a plain-text table.
    #[must_use]
    pub fn render(&self) -> String {
        let mode = match &self.mode {
            Mode::Closed { workers } => format!("closed loop, {workers} workers"),
            Mode::Open { rate } => format!("open loop, {rate} jobs/s"),
            Mode::Schedule { phases } => {
                let phases: Vec<String> = phases
                    .iter()
                    .map(|phase| format!("{} jobs/s for {} s", phase.rate, phase.secs))
                    .collect();
                format!("open loop, {}", phases.join(" then "))
            }
        };
        let mut text = format!(
            "{}, {mode}, {:.0} s: {} submitted, {} accepted, {} results, {} stored\n\
             results {:.1}/s, stored {:.1}/s\n\n",
            self.target,
            self.duration_secs,
            self.submitted,
            self.accepted,
            self.results,
            self.stored,
            self.results_per_sec,
            self.stored_per_sec
        );
        let _ = writeln!(
            text,
            "{:<22} {:>7} {:>9} {:>9} {:>9} {:>9}",
            "ms", "count", "p50", "p95", "p99", "max"
        );
        for (name, figures) in [
            ("submit → result", self.submit_to_result_ms),
            ("accepted → done", self.accepted_to_done_ms),
            ("accepted → stored", self.accepted_to_stored_ms),
        ] {
            let _ = writeln!(
                text,
                "{name:<22} {:>7} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
                figures.count, figures.p50, figures.p95, figures.p99, figures.max
            );
        }
        if !self.cpu_ms_per_job.is_empty() {
            let costs: Vec<String> = self
                .cpu_ms_per_job
                .iter()
                .map(|(name, ms)| format!("{name} {ms:.1}"))
                .collect();
            let _ = writeln!(text, "\nCPU ms per job: {}", costs.join(", "));
        }
        if !self.errors.is_empty() {
            let errors: Vec<String> = self
                .errors
                .iter()
                .map(|(code, count)| format!("{code} {count}"))
                .collect();
            let _ = writeln!(text, "\nerrors: {}", errors.join(", "));
        }
        if !self.phases.is_empty() {
            text.push_str("\nby phase (by submission time; accepted → done)\n");
            text.push_str(&windows::render(&self.phases));
        }
        // Windows finer than the phases (a load or a phase longer than one window).
        if self.windows.len() > self.phases.len().max(1) {
            let _ = writeln!(
                text,
                "\nby {} s window (by submission time; accepted → done)",
                WINDOW.as_secs()
            );
            text.push_str(&windows::render(&self.windows));
        }
        if let Some(broker) = &self.broker {
            text.push('\n');
            text.push_str(&broker.render());
        }
        if let Some(verdict) = &self.verdict {
            text.push('\n');
            text.push_str(&verdict.render());
        }
        text
    }

    /// Adds the overload verdict, from this report's windows, counts and broker figures, against
    /// `baseline_ms` if given.
    pub fn judge(&mut self, baseline_ms: Option<f64>) {
        self.verdict = Some(Verdict::of(
            &self.windows,
            self.accepted,
            self.stored,
            self.broker.as_ref(),
            baseline_ms,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::schedule::Phase;

    fn sample(started_ms: u64, answered_ms: u64, accepted: i64, done: i64, stored: i64) -> Sample {
        Sample {
            id: Some(format!("j{started_ms}")),
            started: Duration::from_millis(started_ms),
            answered: Some(Duration::from_millis(answered_ms)),
            error: None,
            accepted_ms: Some(accepted),
            finished_ms: Some(done),
            stored_ms: Some(stored),
        }
    }

    #[test]
    fn rates_count_what_happened_within_the_load() {
        let samples = [
            sample(0, 100, 1000, 1050, 1080),
            sample(100, 200, 1100, 1150, 1200),
            // Answered and stored after the two seconds of load: not in the rates, still in the latencies.
            sample(1900, 400, 2900, 3200, 3300),
            Sample {
                started: Duration::from_millis(500),
                error: Some("queue_full".into()),
                ..Sample::default()
            },
        ];
        let report = Report::of(
            "imagepipe",
            Mode::Closed { workers: 2 },
            Duration::from_secs(2),
            &samples,
        );
        assert_eq!(
            (
                report.submitted,
                report.accepted,
                report.results,
                report.stored
            ),
            (4, 3, 3, 3)
        );
        assert!((report.results_per_sec - 1.0).abs() < 1e-9, "{report:?}");
        assert!((report.stored_per_sec - 1.0).abs() < 1e-9, "{report:?}");
        assert_eq!(report.accepted_to_done_ms.max, 300.0);
        assert_eq!(report.accepted_to_stored_ms.p50, 100.0);
        assert_eq!(report.submit_to_result_ms.max, 400.0);
        assert_eq!(
            report.errors,
            BTreeMap::from([("queue_full".to_owned(), 1)])
        );
        let text = report.render();
        assert!(text.contains("imagepipe, closed loop, 2 workers"), "{text}");
        assert!(text.contains("errors: queue_full 1"), "{text}");
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["mode"], "closed");
        assert_eq!(json["workers"], 2);
        assert_eq!(json["accepted_to_stored_ms"]["p50"], 100.0);
        // One window of 2 s, not shown apart from the totals; no phases, no verdict.
        assert_eq!(report.windows.len(), 1);
        assert_eq!(report.windows[0].refused["queue_full"], 1);
        assert!(!text.contains("window"), "{text}");
        assert!(json.get("phases").is_none() && json.get("verdict").is_none());
    }

    #[test]
    fn a_schedule_gets_phases_windows_and_a_verdict() {
        let phases = vec![
            Phase {
                rate: 4.0,
                secs: 15,
            },
            Phase {
                rate: 1.0,
                secs: 10,
            },
        ];
        let samples: Vec<Sample> = (0..25_u64)
            .map(|second| sample(second * 1000, 50, 0, 40, 60))
            .collect();
        let mut report = Report::of(
            "imagepipe",
            Mode::Schedule { phases },
            Duration::from_secs(25),
            &samples,
        );
        let bounds: Vec<(usize, f64)> = report
            .windows
            .iter()
            .map(|window| (window.phase, window.start_secs))
            .collect();
        assert_eq!(bounds, [(0, 0.0), (0, 10.0), (1, 15.0)]);
        assert_eq!(report.phases.len(), 2);
        assert_eq!(
            (report.phases[0].submitted, report.phases[1].submitted),
            (15, 10)
        );
        report.judge(None);
        let verdict = report.verdict.clone().unwrap();
        assert_eq!((verdict.lost, verdict.baseline_p99_ms), (0, Some(40.0)));
        assert_eq!(verdict.recovered_after_secs, Some(0.0));
        assert_eq!(verdict.passed, None, "no broker sampled");
        let text = report.render();
        assert!(
            text.contains("open loop, 4 jobs/s for 15 s then 1 jobs/s for 10 s"),
            "{text}"
        );
        for part in ["by phase", "by 10 s window", "overload verdict: INCOMPLETE"] {
            assert!(text.contains(part), "{part}: {text}");
        }
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["mode"], "schedule");
        assert_eq!(json["schedule"][0]["rate"], 4.0);
        assert_eq!(json["schedule"][1]["secs"], 10);
        assert_eq!(json["phases"][1]["offered_rate"], 1.0);
        let text = serde_json::to_string(&report).unwrap();
        assert_eq!(
            text.matches("\"phases\"").count(),
            1,
            "one key each: {text}"
        );
        assert_eq!(json["verdict"]["lost"], 0);
        assert_eq!(json["verdict"]["baseline"], "lowest_window");
    }
}
