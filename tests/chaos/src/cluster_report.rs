//! The cluster run's part of the verdict: its stricter rules (clients saw only retryable errors, every queue
//! of the namespace ends empty, the stack was whole again after each fault) and its rows of the table (the
//! balancer's own `503`s, the namespace's queues, the longest gap in accepted uploads during each fault).

use crate::{Report, clock::human};

/// Why a cluster run failed, beyond the reasons every run has.
#[must_use]
pub fn cluster_failures(report: &Report) -> Vec<String> {
    let mut reasons = Vec::new();
    if report.retries_503_without_retry_after > 0 {
        reasons.push(format!(
            "{} 503 answers without Retry-After",
            report.retries_503_without_retry_after
        ));
    }
    match &report.namespace_queues_left {
        Some(queues) => {
            let left = messages(queues);
            if left > 0 {
                reasons.push(format!("{left} messages left in the namespace's queues"));
            }
        }
        None => reasons.push("the namespace's queues could not be counted".to_owned()),
    }
    if report.fault_gaps.iter().any(|gap| gap.recovery.is_none()) {
        reasons.push("the stack was not whole again after a fault".to_owned());
    }
    let idle = report
        .fault_gaps
        .iter()
        .filter(|gap| !gap.under_load)
        .count();
    if idle > 0 {
        reasons.push(format!("{idle} faults came after the uploads had ended"));
    }
    reasons
}

/// The cluster run's rows of the table.
#[must_use]
pub fn cluster_rows(report: &Report) -> Vec<(&'static str, String)> {
    let namespace = report.namespace_queues_left.as_ref().map_or_else(
        || "not counted".to_owned(),
        |queues| {
            let full: Vec<String> = queues
                .iter()
                .filter(|(_, count)| *count > 0)
                .map(|(name, count)| format!("{name} {count}"))
                .collect();
            if full.is_empty() {
                format!("0 (in {} queues)", queues.len())
            } else {
                format!("{} ({})", messages(queues), full.join(", "))
            }
        },
    );
    let mut rows = vec![
        (
            "503 retries made by HAProxy",
            report.retries_503_balancer.to_string(),
        ),
        ("messages left in the namespace's queues", namespace),
    ];
    for gap in &report.fault_gaps {
        rows.push(("longest gap in 202s", format!("{}: {gap}", gap.fault)));
    }
    rows.push((
        "longest gap in 202s outside the faults",
        report.calm_gap.map_or_else(|| "-".to_owned(), human),
    ));
    rows
}

fn messages(queues: &[(String, u32)]) -> u64 {
    queues.iter().map(|(_, count)| u64::from(*count)).sum()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{gaps::FaultGap, rabbitmq::QueueDepths};

    fn passing() -> Report {
        Report {
            plan: "cluster, short".into(),
            streamed: 150,
            probes: 1,
            seed: 42,
            accepted: 151,
            done: 151,
            orphans_at_kill: Some(48),
            orphans_final: Some(0),
            queues_left: Some(QueueDepths::default()),
            drain: Some(Duration::from_millis(12_100)),
            total: Duration::from_secs(170),
            ..Report::default()
        }
    }

    #[test]
    fn the_cluster_run_adds_its_rows_and_rules() {
        let gap = FaultGap {
            fault: "kill -9 gateway-1".to_owned(),
            recovery: Some(Duration::from_millis(4_200)),
            window: Duration::from_millis(7_200),
            longest_gap: Duration::from_millis(1_300),
            accepted: 14,
            under_load: true,
        };
        let clean = Report {
            cluster: true,
            retries_503: 40,
            retries_503_balancer: 3,
            namespace_queues_left: Some(vec![
                ("chaos-1.transform".into(), 0),
                ("chaos-1.activity".into(), 0),
            ]),
            fault_gaps: vec![gap.clone()],
            calm_gap: Some(Duration::from_millis(900)),
            ..passing()
        };
        assert!(clean.passed(), "{:?}", clean.failures());
        let text = clean.to_string();
        assert!(
            text.contains("| 503 retries made by HAProxy | 3 |\n"),
            "{text}"
        );
        assert!(text.contains("| messages left in the namespace's queues | 0 (in 2 queues) |\n"));
        assert!(text.contains(
            "| longest gap in 202s | kill -9 gateway-1: 1.3 s (window 7.2 s, whole again after 4.2 s, 14 accepted) |\n"
        ));
        assert!(text.contains("| longest gap in 202s outside the faults | 900 ms |\n"));

        let dirty = Report {
            retries_503_without_retry_after: 2,
            namespace_queues_left: Some(vec![("chaos-1.activity".into(), 5)]),
            fault_gaps: vec![FaultGap {
                recovery: None,
                under_load: false,
                ..gap
            }],
            ..clean.clone()
        };
        assert_eq!(
            dirty.failures(),
            [
                "2 503 answers without Retry-After",
                "5 messages left in the namespace's queues",
                "the stack was not whole again after a fault",
                "1 faults came after the uploads had ended"
            ]
        );
        assert!(
            dirty
                .to_string()
                .contains("| messages left in the namespace's queues | 5 (chaos-1.activity 5) |")
        );
        let uncounted = Report {
            namespace_queues_left: None,
            ..clean
        };
        assert_eq!(
            uncounted.failures(),
            ["the namespace's queues could not be counted"]
        );
        // The single-node run keeps its rules.
        let single = Report {
            retries_503_without_retry_after: 2,
            ..passing()
        };
        assert!(single.passed());
    }
}
