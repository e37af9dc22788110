//! `--steps R1,R2,…`: open-loop loads one after the other, each at its rate for `--duration` seconds, each
//! drained before the next (and [`SETTLE`] between), so that no job of one step is counted in, or competes
//! with, another: a row per step (offered rate, results and stored jobs per second, percentiles from accepted
//! to done, errors) and the points of the plot of latency against throughput.

use std::{fmt::Write as _, time::Duration};

use serde::Serialize;

use super::{broker_report::BrokerReport, load::Mode, plot::Point, report::Report};
use crate::table::Table;

/// The pause between one step's drain and the next step's load.
pub const SETTLE: Duration = Duration::from_secs(2);

/// The figures of every step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sweep {
    /// Whom the load went to.
    pub target: String,
    /// Seconds of load of each step.
    pub step_secs: f64,
    /// Seconds of pause between steps, after each one's drain.
    pub settle_secs: f64,
    /// Each step's full report, in the order they ran.
    pub steps: Vec<Report>,
    /// The broker's queues and nodes over the whole sweep (with `--broker-api`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker: Option<BrokerReport>,
    /// Where the plot was written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plot: Option<String>,
}

impl Sweep {
    /// The rate each step offered.
    fn offered(report: &Report) -> f64 {
        match report.mode {
            Mode::Open { rate } => rate,
            _ => 0.0,
        }
    }

    /// The points of the plot: one per step that had a job done.
    #[must_use]
    pub fn points(&self) -> Vec<Point> {
        self.steps
            .iter()
            .filter(|step| step.accepted_to_done_ms.count > 0)
            .map(|step| Point {
                offered: Self::offered(step),
                throughput: step.results_per_sec,
                p50_ms: step.accepted_to_done_ms.p50,
                p99_ms: step.accepted_to_done_ms.p99,
            })
            .collect()
    }

    /// The sweep as a plain-text table.
    #[must_use]
    pub fn render(&self) -> String {
        let mut text = format!(
            "{}, open-loop steps of {:.0} s ({:.0} s settle between)\n\n",
            self.target, self.step_secs, self.settle_secs
        );
        let mut table = Table::new(&[
            "offered/s",
            "submitted",
            "results/s",
            "stored/s",
            "done p50 ms",
            "done p95 ms",
            "done p99 ms",
            "errors",
        ]);
        for step in &self.steps {
            let done = step.accepted_to_done_ms;
            let ms = |value: f64| {
                if done.count == 0 {
                    "–".to_owned()
                } else {
                    format!("{value:.0}")
                }
            };
            let errors: Vec<String> = step
                .errors
                .iter()
                .map(|(code, count)| format!("{code} {count}"))
                .collect();
            table.push(vec![
                format!("{}", Self::offered(step)),
                step.submitted.to_string(),
                format!("{:.1}", step.results_per_sec),
                format!("{:.1}", step.stored_per_sec),
                ms(done.p50),
                ms(done.p95),
                ms(done.p99),
                if errors.is_empty() {
                    "0".to_owned()
                } else {
                    errors.join(", ")
                },
            ]);
        }
        text.push_str(&table.render());
        if let Some(broker) = &self.broker {
            text.push('\n');
            text.push_str(&broker.render());
        }
        match &self.plot {
            Some(plot) => {
                let _ = writeln!(text, "\nlatency against throughput: {plot}");
            }
            None => {
                text.push_str("\nno plot: give --plot FILE, or --json FILE for one beside it\n")
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::load::Sample;

    fn step(rate: f64, latencies: &[i64]) -> Report {
        let samples: Vec<Sample> = latencies
            .iter()
            .enumerate()
            .map(|(index, latency)| Sample {
                id: Some(format!("j{index}")),
                started: Duration::from_millis(100 * index as u64),
                answered: Some(Duration::from_millis(10)),
                accepted_ms: Some(0),
                finished_ms: Some(*latency),
                stored_ms: Some(*latency + 5),
                ..Sample::default()
            })
            .collect();
        Report::of(
            "imagepipe",
            Mode::Open { rate },
            Duration::from_secs(1),
            &samples,
        )
    }

    #[test]
    fn a_row_and_a_point_per_step() {
        let sweep = Sweep {
            target: "imagepipe".into(),
            step_secs: 1.0,
            settle_secs: SETTLE.as_secs_f64(),
            steps: vec![
                step(2.0, &[100, 200]),
                step(4.0, &[300, 400, 500, 900]),
                step(8.0, &[]),
            ],
            broker: None,
            plot: Some("sweep.svg".into()),
        };
        let points = sweep.points();
        assert_eq!(points.len(), 2, "the step without a job done has no point");
        assert_eq!(
            (
                points[1].offered,
                points[1].throughput,
                points[1].p50_ms,
                points[1].p99_ms
            ),
            (4.0, 4.0, 400.0, 900.0)
        );
        let text = sweep.render();
        let rows: Vec<&str> = text
            .lines()
            .filter(|line| line.starts_with(char::is_numeric))
            .collect();
        assert_eq!(rows.len(), 3, "{text}");
        assert!(rows[1].contains("400") && rows[1].contains("900"), "{text}");
        assert!(
            text.contains("latency against throughput: sweep.svg"),
            "{text}"
        );
        let json = serde_json::to_value(&sweep).unwrap();
        assert_eq!(json["steps"][1]["rate"], 4.0);
        assert_eq!(json["steps"].as_array().unwrap().len(), 3);
    }
}
