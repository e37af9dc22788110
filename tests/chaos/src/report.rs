//! The verdict: one table of what was accepted, what became of it and what the chaos cost, and whether the
//! run passed. A run passes only when no accepted job failed, was lost, was not stored or stored twice, no
//! result or stored file is wrong, no orphan chunk is left and no message is left in the run's queues. The
//! cluster run also needs every queue of its namespace empty and clients that saw only retryable errors (`503`
//! with `Retry-After`, or a connection error they retried), and its table gives the longest gap in accepted
//! uploads during each fault.

use std::{fmt, path::Path, time::Duration};

use crate::{
    clock::human,
    cluster_report::{cluster_failures, cluster_rows},
    gaps::FaultGap,
    rabbitmq::QueueDepths,
};

/// What one run measured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// `full`, `short`, `cluster` or `cluster, short`.
    pub plan: String,
    /// Whether it is the cluster run (its stricter rules on clients' errors and queues apply).
    pub cluster: bool,
    /// Images in the paced stream.
    pub streamed: usize,
    /// Large images the chaos submitted to catch save2db mid-write.
    pub probes: usize,
    /// The workload's seed.
    pub seed: u64,
    /// Jobs the gateway answered `202` for.
    pub accepted: usize,
    /// Accepted jobs whose status ended `done`.
    pub done: usize,
    /// Accepted jobs whose status ended `failed`.
    pub failed: usize,
    /// Accepted jobs whose status never became final.
    pub lost: usize,
    /// Accepted jobs without a job document in MongoDB.
    pub not_stored: usize,
    /// Job documents or files stored more than once.
    pub duplicates: usize,
    /// Problems found through the API (a result or output that is not served, does not decode or has the wrong
    /// size; an original that does not come back as uploaded).
    pub bad_results: usize,
    /// Problems found in MongoDB besides duplicates and orphans (missing or incomplete files, a stored status
    /// other than `done`, outputs other than the status listed).
    pub bad_storage: usize,
    /// Orphan chunks right after save2db was killed mid-write.
    pub orphans_at_kill: Option<u64>,
    /// Orphan chunks at the end (`None`: MongoDB could not be read).
    pub orphans_final: Option<u64>,
    /// Job documents of jobs the client never had a `202` for.
    pub extras: usize,
    /// `503` answers retried.
    pub retries_503: u64,
    /// Those without a `Retry-After` header.
    pub retries_503_without_retry_after: u64,
    /// Those made by the load balancer (no gateway up, or the gateway lost mid-request).
    pub retries_503_balancer: u64,
    /// Connection errors retried.
    pub retries_connection: u64,
    /// Uploads answered with something other than `202` or `503`.
    pub refused: usize,
    /// Uploads given up on after retrying for minutes.
    pub gave_up: usize,
    /// Messages left in the run's queues with every consumer stopped (`None`: could not be counted).
    pub queues_left: Option<QueueDepths>,
    /// The cluster run: messages left in every queue of the namespace (`None`: could not be counted).
    pub namespace_queues_left: Option<Vec<(String, u32)>>,
    /// The cluster run: the longest gap in accepted uploads during each fault.
    pub fault_gaps: Vec<FaultGap>,
    /// The cluster run: the longest gap in accepted uploads outside the faults' windows.
    pub calm_gap: Option<Duration>,
    /// From the end of the chaos and of the uploads to every accepted job final and stored (`None`: never).
    pub drain: Option<Duration>,
    /// The whole run.
    pub total: Duration,
}

impl Report {
    /// Why the run failed, one reason per measure that is off; empty when it passed.
    #[must_use]
    pub fn failures(&self) -> Vec<String> {
        let mut reasons = Vec::new();
        let mut count = |value: u64, what: &str| {
            if value > 0 {
                reasons.push(format!("{value} {what}"));
            }
        };
        count(self.failed as u64, "failed");
        count(self.lost as u64, "lost");
        count(self.not_stored as u64, "not stored");
        count(self.duplicates as u64, "duplicates");
        count(self.bad_results as u64, "bad results");
        count(self.bad_storage as u64, "bad storage");
        count(self.orphans_final.unwrap_or_default(), "orphan chunks left");
        count(
            self.queues_left.map_or(0, |depths| depths.total()),
            "messages left in the queues",
        );
        count(self.refused as u64, "uploads refused");
        count(self.gave_up as u64, "uploads given up");
        if self.cluster {
            reasons.extend(cluster_failures(self));
        }
        if self.orphans_final.is_none() {
            reasons.push("the storage could not be checked".to_owned());
        }
        if self.queues_left.is_none() {
            reasons.push("the queues could not be counted".to_owned());
        }
        if self.accepted == 0 {
            reasons.push("no job was accepted".to_owned());
        }
        reasons
    }

    /// Whether the run passed.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.failures().is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let optional = |value: Option<u64>| value.map_or_else(|| "-".to_owned(), |v| v.to_string());
        let queues = self.queues_left.map_or_else(
            || "not counted".to_owned(),
            |depths| format!("{} ({depths})", depths.total()),
        );
        let mut rows = vec![
            ("accepted", self.accepted.to_string()),
            ("done", self.done.to_string()),
            ("failed", self.failed.to_string()),
            ("lost (accepted, never done)", self.lost.to_string()),
            ("not stored", self.not_stored.to_string()),
            ("duplicates", self.duplicates.to_string()),
            ("bad results (API)", self.bad_results.to_string()),
            ("bad storage (MongoDB)", self.bad_storage.to_string()),
            (
                "orphan chunks at kill / final",
                format!(
                    "{} / {}",
                    optional(self.orphans_at_kill),
                    optional(self.orphans_final)
                ),
            ),
            ("unacknowledged extras", self.extras.to_string()),
            (
                "503 retries (without Retry-After)",
                format!(
                    "{} ({})",
                    self.retries_503, self.retries_503_without_retry_after
                ),
            ),
            ("connection retries", self.retries_connection.to_string()),
            (
                "uploads refused / given up",
                format!("{} / {}", self.refused, self.gave_up),
            ),
            ("queues left", queues),
            (
                "time to drain",
                self.drain.map_or_else(|| "never".to_owned(), human),
            ),
            ("total time", human(self.total)),
        ];
        if self.cluster {
            rows.extend(cluster_rows(self));
        }
        writeln!(
            f,
            "Chaos test ({}: {} images + {} probes, seed {})",
            self.plan, self.streamed, self.probes, self.seed
        )?;
        writeln!(f, "| measure | value |")?;
        writeln!(f, "|---|---|")?;
        for (measure, value) in &rows {
            writeln!(f, "| {measure} | {value} |")?;
        }
        let failures = self.failures();
        if failures.is_empty() {
            write!(f, "RESULT: PASS")
        } else {
            write!(f, "RESULT: FAIL ({})", failures.join(", "))
        }
    }
}

/// Prints up to `limit` lines of a list of problems under a heading.
pub fn print_problems(heading: &str, problems: &[String], limit: usize) {
    if problems.is_empty() {
        return;
    }
    println!("{heading} ({}):", problems.len());
    for problem in problems.iter().take(limit) {
        println!("  {problem}");
    }
    if problems.len() > limit {
        println!("  … and {} more", problems.len() - limit);
    }
}

/// Prints the last `lines` lines of every log.
pub fn print_log_tails(logs: &[(&str, &Path)], lines: usize) {
    for (name, path) in logs {
        println!(
            "\n----- {name}: last {lines} lines of {} -----",
            path.display()
        );
        match std::fs::read_to_string(path) {
            Ok(text) => {
                for line in tail(&text, lines) {
                    println!("{line}");
                }
            }
            Err(error) => println!("(cannot read it: {error})"),
        }
    }
}

/// The last `count` lines of `text`.
fn tail(text: &str, count: usize) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passing() -> Report {
        Report {
            plan: "short".into(),
            streamed: 120,
            probes: 1,
            seed: 42,
            accepted: 121,
            done: 121,
            orphans_at_kill: Some(48),
            orphans_final: Some(0),
            extras: 2,
            retries_503: 37,
            queues_left: Some(QueueDepths::default()),
            drain: Some(Duration::from_millis(42_100)),
            total: Duration::from_secs(192),
            ..Report::default()
        }
    }

    #[test]
    fn a_clean_run_passes_and_prints_its_table() {
        let report = passing();
        assert!(report.passed());
        let text = report.to_string();
        assert!(
            text.starts_with(
                "Chaos test (short: 120 images + 1 probes, seed 42)\n| measure | value |\n"
            ),
            "{text}"
        );
        assert!(text.contains("| accepted | 121 |\n"));
        assert!(text.contains("| orphan chunks at kill / final | 48 / 0 |\n"));
        assert!(text.contains("| unacknowledged extras | 2 |\n"));
        assert!(text.contains("| 503 retries (without Retry-After) | 37 (0) |\n"));
        assert!(text.contains("| queues left | 0 (transform 0, archive 0, dead-letter 0) |\n"));
        assert!(text.contains("| time to drain | 42.1 s |\n"));
        assert!(text.contains("| total time | 3 min 12 s |\n"));
        assert!(text.ends_with("RESULT: PASS"));
    }

    #[test]
    fn extras_and_retries_do_not_fail_a_run() {
        let report = Report {
            extras: 5,
            retries_503: 1000,
            retries_connection: 3,
            ..passing()
        };
        assert!(report.passed());
    }

    #[test]
    fn every_loss_fails_the_run_and_says_why() {
        let report = Report {
            lost: 2,
            duplicates: 1,
            orphans_final: Some(7),
            queues_left: Some(QueueDepths {
                dead_letter: 3,
                ..QueueDepths::default()
            }),
            drain: None,
            ..passing()
        };
        assert_eq!(
            report.failures(),
            [
                "2 lost",
                "1 duplicates",
                "7 orphan chunks left",
                "3 messages left in the queues"
            ]
        );
        let text = report.to_string();
        assert!(text.contains("| time to drain | never |"));
        assert!(text.ends_with(
            "RESULT: FAIL (2 lost, 1 duplicates, 7 orphan chunks left, 3 messages left in the queues)"
        ));
    }

    #[test]
    fn unknown_storage_or_queues_fail_the_run() {
        let report = Report {
            orphans_final: None,
            queues_left: None,
            ..passing()
        };
        assert!(!report.passed());
        assert!(
            report
                .to_string()
                .contains("| orphan chunks at kill / final | 48 / - |")
        );
    }

    #[test]
    fn tails_keep_the_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), ["b", "c"]);
        assert_eq!(tail("a", 5), ["a"]);
        assert!(tail("", 5).is_empty());
    }
}
