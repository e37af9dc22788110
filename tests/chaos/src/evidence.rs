//! Everything one run collected (what was accepted, what the uploads ran into, what the chaos did, how the
//! drain went, the API checks, the queues and MongoDB), how it adds up to the [`Report`] (the gaps in accepted
//! uploads during the faults included), and the details printed above the table: one list per kind of problem,
//! so a failure names the jobs to grep the logs for.

use std::time::Duration;

use tokio::time::Instant;

use crate::{
    Report,
    chaos::ChaosOutcome,
    config::Plan,
    gaps::{calm_gap, fault_gaps},
    rabbitmq::QueueDepths,
    report::print_problems,
    storage::Findings,
    submit::{Accepted, SubmitStats},
    verify::Drain,
};

/// What a run collected.
#[derive(Debug)]
pub struct Evidence {
    /// What was planned.
    pub plan: Plan,
    /// The jobs the gateway accepted.
    pub accepted: Vec<Accepted>,
    /// What the uploads ran into.
    pub uploads: SubmitStats,
    /// What the chaos did.
    pub chaos: ChaosOutcome,
    /// The last statuses and when the backlog drained.
    pub drain: Drain,
    /// Problems seen through the API (`job: what`).
    pub api_problems: Vec<String>,
    /// Messages left in the queues with the consumers stopped (`None`: not counted).
    pub queues_left: Option<QueueDepths>,
    /// The cluster run: messages left in every queue of the namespace (`None`: not counted).
    pub namespace_queues_left: Option<Vec<(String, u32)>>,
    /// What MongoDB holds against the accepted jobs (`None`: not read).
    pub findings: Option<Findings>,
    /// When the last chaos action and the last upload had both ended.
    pub calm_from: Instant,
    /// When the uploads started.
    pub uploads_started: Instant,
    /// When the last upload ended.
    pub uploads_ended: Instant,
}

impl Evidence {
    /// The report of a run that took `total`.
    #[must_use]
    pub fn report(&self, total: Duration) -> Report {
        let findings = self.findings.as_ref();
        let accepted_at: Vec<Instant> = self.accepted.iter().map(|job| job.accepted_at).collect();
        let faults = &self.chaos.faults;
        Report {
            plan: self.plan.name.to_owned(),
            cluster: self.plan.cluster,
            streamed: self.plan.jobs,
            probes: self
                .accepted
                .iter()
                .filter(|job| job.label.starts_with("probe-"))
                .count(),
            seed: self.plan.seed,
            accepted: self.accepted.len(),
            done: self.count_status("done"),
            failed: self.count_status("failed"),
            lost: self.drain.pending.len(),
            not_stored: findings.map_or(self.accepted.len(), |found| found.not_stored.len()),
            duplicates: findings.map_or(0, |found| found.duplicates.len()),
            bad_results: self.api_problems.len(),
            bad_storage: findings.map_or(0, |found| {
                found.missing_files.len()
                    + found.bad_files.len()
                    + found.not_done.len()
                    + found.output_mismatches.len()
            }),
            orphans_at_kill: self.chaos.orphans_at_kill,
            orphans_final: findings.map(|found| found.orphan_chunks),
            extras: findings.map_or(0, |found| found.extras.len()),
            retries_503: self.uploads.retries_503,
            retries_503_without_retry_after: self.uploads.retries_503_without_retry_after,
            retries_503_balancer: self.uploads.retries_503_balancer,
            retries_connection: self.uploads.retries_connection,
            refused: self.uploads.rejected.len(),
            gave_up: self.uploads.gave_up.len(),
            queues_left: self.queues_left,
            namespace_queues_left: self.namespace_queues_left.clone(),
            fault_gaps: fault_gaps(faults, &accepted_at, self.uploads_ended),
            calm_gap: (!faults.is_empty()).then(|| {
                calm_gap(
                    faults,
                    &accepted_at,
                    self.uploads_started,
                    self.uploads_ended,
                )
            }),
            drain: self
                .drain
                .drained_at
                .map(|drained| drained.saturating_duration_since(self.calm_from)),
            total,
        }
    }

    /// Prints every kind of problem found, up to `limit` lines each.
    pub fn print_details(&self, limit: usize) {
        let failed: Vec<String> = self
            .accepted
            .iter()
            .filter_map(|job| {
                let status = self.drain.statuses.get(&job.id)?;
                (status.status == "failed").then(|| {
                    let error = status.error.clone().unwrap_or_default();
                    format!("{} ({}): {error}", job.id, job.label)
                })
            })
            .collect();
        let pending: Vec<String> = self
            .drain
            .pending
            .iter()
            .map(|(id, status)| format!("{id}: last status {status}"))
            .collect();
        print_problems("Failed jobs", &failed, limit);
        print_problems("Lost jobs (accepted, never final)", &pending, limit);
        print_problems("Problems seen through the API", &self.api_problems, limit);
        print_problems("Uploads refused", &self.uploads.rejected, limit);
        print_problems("Uploads given up", &self.uploads.gave_up, limit);
        print_problems("Chaos notes", &self.chaos.notes, limit);
        if let Some(found) = &self.findings {
            print_problems("Not stored", &found.not_stored, limit);
            print_problems("Duplicates", &found.duplicates, limit);
            print_problems("Missing files", &found.missing_files, limit);
            print_problems("Bad files", &found.bad_files, limit);
            print_problems("Stored as not done", &found.not_done, limit);
            print_problems(
                "Stored outputs differ from the status",
                &found.output_mismatches,
                limit,
            );
            print_problems(
                "Unacknowledged extras (stored, never answered 202)",
                &found.extras,
                limit,
            );
        }
    }

    fn count_status(&self, status: &str) -> usize {
        self.accepted
            .iter()
            .filter(|job| {
                self.drain
                    .statuses
                    .get(&job.id)
                    .is_some_and(|seen| seen.status == status)
            })
            .count()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::verify::JobStatus;

    fn accepted(id: &str, label: &str) -> Accepted {
        Accepted {
            id: id.to_owned(),
            label: label.to_owned(),
            original_bytes: 1,
            original_hash: 1,
            large: false,
            accepted_at: Instant::now(),
        }
    }

    fn status(status: &str) -> JobStatus {
        JobStatus {
            status: status.to_owned(),
            result: None,
            outputs: Vec::new(),
            error: None,
        }
    }

    #[test]
    fn statuses_findings_and_uploads_add_up() {
        let now = Instant::now();
        let evidence = Evidence {
            plan: Plan {
                name: "short",
                cluster: false,
                short: true,
                jobs: 3,
                submit_over: Duration::from_secs(60),
                concurrency: 8,
                seed: 9,
                mongo_outage: Duration::from_secs(10),
                drain_timeout: Duration::from_secs(480),
            },
            accepted: vec![
                accepted("a", "#0"),
                accepted("b", "#1"),
                accepted("c", "probe-1"),
            ],
            uploads: SubmitStats {
                retries_503: 4,
                rejected: vec!["#2: 500".to_owned()],
                ..SubmitStats::default()
            },
            chaos: ChaosOutcome {
                orphans_at_kill: Some(16),
                ended_at: now,
                notes: Vec::new(),
                faults: Vec::new(),
            },
            drain: Drain {
                statuses: HashMap::from([
                    ("a".to_owned(), status("done")),
                    ("b".to_owned(), status("failed")),
                    ("c".to_owned(), status("processing")),
                ]),
                drained_at: None,
                pending: vec![("c".to_owned(), "processing".to_owned())],
            },
            api_problems: Vec::new(),
            queues_left: Some(QueueDepths::default()),
            namespace_queues_left: None,
            findings: Some(Findings {
                stored: 2,
                not_stored: vec!["c".to_owned()],
                extras: vec!["x".to_owned()],
                ..Findings::default()
            }),
            calm_from: now,
            uploads_started: now,
            uploads_ended: now,
        };
        let report = evidence.report(Duration::from_secs(100));
        assert_eq!(
            (report.accepted, report.done, report.failed, report.lost),
            (3, 1, 1, 1)
        );
        assert_eq!((report.not_stored, report.extras), (1, 1));
        assert_eq!(
            (report.probes, report.refused, report.retries_503),
            (1, 1, 4)
        );
        assert_eq!(report.orphans_at_kill, Some(16));
        assert_eq!(report.orphans_final, Some(0));
        assert_eq!(report.drain, None);
        assert!(report.fault_gaps.is_empty());
        assert_eq!(report.calm_gap, None);
        assert_eq!(
            report.failures(),
            ["1 failed", "1 lost", "1 not stored", "1 uploads refused"]
        );
    }
}
