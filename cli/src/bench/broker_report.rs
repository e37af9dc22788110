//! What the broker samples of a run add up to: per queue its largest depth (messages and bytes), its last, its
//! bounds (`x-max-length`, `x-max-length-bytes` among its arguments; a policy's bounds are not seen) and whether
//! it ever reached [`NEAR_BOUND`] of one; per node its most memory used against its limit, its least free disk
//! against its limit, and every alarm seen. The JSON also carries the whole series; the table the summary.

use std::{collections::BTreeMap, fmt::Write as _};

use serde::Serialize;

use super::broker::{BrokerSample, QueueDepth, Source};
use crate::table::{Table, human_bytes};

/// The share of a bound at which a queue counts as over it.
pub const NEAR_BOUND: f64 = 0.9;

/// The broker's part of a report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BrokerReport {
    /// What was sampled.
    #[serde(flatten)]
    pub source: Source,
    /// Why nothing could be sampled, when no sample was taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
    /// Samples taken.
    pub samples: usize,
    /// Samples that could not be taken.
    pub failed_samples: usize,
    /// Why the last of those failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Each queue of the namespace, by name.
    pub queues: Vec<QueueSummary>,
    /// Each node.
    pub nodes: Vec<NodeSummary>,
    /// Every sample, in order.
    pub series: Vec<BrokerSample>,
}

/// One queue over the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QueueSummary {
    /// Its name.
    pub name: String,
    /// The most messages a sample showed.
    pub max_messages: Option<u64>,
    /// The most bytes a sample showed.
    pub max_message_bytes: Option<u64>,
    /// Messages in the last sample that had the queue.
    pub last_messages: Option<u64>,
    /// Bytes in that sample.
    pub last_message_bytes: Option<u64>,
    /// Its `x-max-length`.
    pub max_length: Option<u64>,
    /// Its `x-max-length-bytes`.
    pub max_length_bytes: Option<u64>,
    /// The largest share of a bound any sample showed (messages of `x-max-length`, bytes of
    /// `x-max-length-bytes`); none without a bound.
    pub peak_of_bound: Option<f64>,
    /// Whether that reached [`NEAR_BOUND`].
    pub over_bound: bool,
}

/// One node over the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NodeSummary {
    /// Its name.
    pub name: String,
    /// The most memory a sample showed in use, bytes.
    pub max_mem_used: Option<u64>,
    /// Its memory high watermark, bytes.
    pub mem_limit: Option<u64>,
    /// The least free disk a sample showed, bytes.
    pub min_disk_free: Option<u64>,
    /// Its free disk limit, bytes.
    pub disk_free_limit: Option<u64>,
    /// Whether any sample showed the memory alarm.
    pub mem_alarm: bool,
    /// Whether any sample showed the disk alarm.
    pub disk_free_alarm: bool,
}

impl BrokerReport {
    /// What `series`, sampled from `source`, adds up to.
    #[must_use]
    pub fn of(source: Source, series: Vec<BrokerSample>) -> Self {
        let mut queues: BTreeMap<String, QueueSummary> = BTreeMap::new();
        let mut nodes: BTreeMap<String, NodeSummary> = BTreeMap::new();
        let failed: Vec<&BrokerSample> = series
            .iter()
            .filter(|sample| sample.error.is_some())
            .collect();
        for sample in series.iter().filter(|sample| sample.error.is_none()) {
            for queue in &sample.queues {
                let summary = queues
                    .entry(queue.name.clone())
                    .or_insert_with(|| QueueSummary {
                        name: queue.name.clone(),
                        ..QueueSummary::default()
                    });
                add_queue(summary, queue);
            }
            for node in &sample.nodes {
                let summary = nodes
                    .entry(node.name.clone())
                    .or_insert_with(|| NodeSummary {
                        name: node.name.clone(),
                        ..NodeSummary::default()
                    });
                summary.max_mem_used = summary.max_mem_used.max(node.mem_used);
                summary.mem_limit = node.mem_limit.or(summary.mem_limit);
                summary.min_disk_free = match (summary.min_disk_free, node.disk_free) {
                    (Some(least), Some(free)) => Some(least.min(free)),
                    (least, free) => least.or(free),
                };
                summary.disk_free_limit = node.disk_free_limit.or(summary.disk_free_limit);
                summary.mem_alarm |= node.mem_alarm == Some(true);
                summary.disk_free_alarm |= node.disk_free_alarm == Some(true);
            }
        }
        let samples = series.len() - failed.len();
        let last_error = failed.last().and_then(|sample| sample.error.clone());
        Self {
            source,
            unavailable: if samples == 0 {
                Some(
                    last_error
                        .clone()
                        .unwrap_or_else(|| "no sample was taken".to_owned()),
                )
            } else {
                None
            },
            samples,
            failed_samples: failed.len(),
            last_error,
            queues: queues.into_values().collect(),
            nodes: nodes.into_values().collect(),
            series,
        }
    }

    /// Nothing sampled from `source`, because of `why`.
    #[must_use]
    pub fn unavailable(source: Source, why: String) -> Self {
        let mut report = Self::of(source, Vec::new());
        report.unavailable = Some(why);
        report
    }

    /// Every alarm seen, as `node: memory` or `node: disk`.
    #[must_use]
    pub fn alarms(&self) -> Vec<String> {
        let mut alarms = Vec::new();
        for node in &self.nodes {
            for (raised, what) in [(node.mem_alarm, "memory"), (node.disk_free_alarm, "disk")] {
                if raised {
                    alarms.push(format!("{}: {what}", node.name));
                }
            }
        }
        alarms
    }

    /// The queues that reached [`NEAR_BOUND`] of a bound, as `name (950 of 1000 messages)`.
    #[must_use]
    pub fn queues_over_bound(&self) -> Vec<String> {
        self.queues
            .iter()
            .filter(|queue| queue.over_bound)
            .map(|queue| format!("{} ({})", queue.name, peak_text(queue)))
            .collect()
    }

    /// The summary as lines of text.
    #[must_use]
    pub fn render(&self) -> String {
        let source = format!(
            "broker {}, vhost {}, queues {}.*",
            self.source.api, self.source.vhost, self.source.namespace
        );
        if let Some(why) = &self.unavailable {
            return format!("{source}: unavailable: {why}\n");
        }
        let mut text = format!("{source}: {} samples", self.samples);
        if let Some(why) = &self.last_error {
            let _ = write!(text, ", {} failed (last: {why})", self.failed_samples);
        }
        text.push('\n');
        let number =
            |value: Option<u64>| value.map_or_else(|| "–".to_owned(), |value| value.to_string());
        let bytes = |value: Option<u64>| value.map_or_else(|| "–".to_owned(), human_bytes);
        let mut table = Table::new(&[
            "queue",
            "max msgs",
            "max bytes",
            "last msgs",
            "bound",
            "peak",
            "≥ 90 %",
        ]);
        for queue in &self.queues {
            let mut bounds = Vec::new();
            bounds.extend(queue.max_length.map(|max| format!("{max} msgs")));
            bounds.extend(queue.max_length_bytes.map(human_bytes));
            table.push(vec![
                queue.name.clone(),
                number(queue.max_messages),
                bytes(queue.max_message_bytes),
                number(queue.last_messages),
                if bounds.is_empty() {
                    "none".to_owned()
                } else {
                    bounds.join(", ")
                },
                queue
                    .peak_of_bound
                    .map_or_else(|| "–".to_owned(), |share| format!("{:.0} %", share * 100.0)),
                if queue.over_bound { "YES" } else { "no" }.to_owned(),
            ]);
        }
        if table.is_empty() {
            text.push_str("no queue of the namespace seen\n");
        } else {
            text.push_str(&table.render());
        }
        for node in &self.nodes {
            let alarms: Vec<&str> = [(node.mem_alarm, "memory"), (node.disk_free_alarm, "disk")]
                .into_iter()
                .filter_map(|(raised, what)| raised.then_some(what))
                .collect();
            let _ = writeln!(
                text,
                "node {}: memory at most {} of {}, disk free at least {} (limit {}), alarms: {}",
                node.name,
                bytes(node.max_mem_used),
                bytes(node.mem_limit),
                bytes(node.min_disk_free),
                bytes(node.disk_free_limit),
                if alarms.is_empty() {
                    "none".to_owned()
                } else {
                    alarms.join(", ")
                }
            );
        }
        text
    }
}

/// Adds one sample of `queue` to its summary.
fn add_queue(summary: &mut QueueSummary, queue: &QueueDepth) {
    summary.max_messages = summary.max_messages.max(queue.messages);
    summary.max_message_bytes = summary.max_message_bytes.max(queue.message_bytes);
    summary.last_messages = queue.messages;
    summary.last_message_bytes = queue.message_bytes;
    summary.max_length = queue.bound("x-max-length").or(summary.max_length);
    summary.max_length_bytes = queue
        .bound("x-max-length-bytes")
        .or(summary.max_length_bytes);
    #[allow(clippy::cast_precision_loss)] // Queue depths far below 2^52.
    let share = |value: Option<u64>, bound: Option<u64>| match (value, bound) {
        (Some(value), Some(bound)) if bound > 0 => Some(value as f64 / bound as f64),
        _ => None,
    };
    let shares = [
        share(queue.messages, summary.max_length),
        share(queue.message_bytes, summary.max_length_bytes),
    ];
    for share in shares.into_iter().flatten() {
        summary.peak_of_bound = Some(summary.peak_of_bound.map_or(share, |peak| peak.max(share)));
    }
    summary.over_bound = summary.peak_of_bound.is_some_and(|peak| peak >= NEAR_BOUND);
}

/// A queue's peak against its bounds, in words: `950 of 1000 messages`, `9.5 MiB of 10.0 MiB`.
fn peak_text(queue: &QueueSummary) -> String {
    let mut parts = Vec::new();
    if let (Some(max), Some(bound)) = (queue.max_messages, queue.max_length) {
        parts.push(format!("{max} of {bound} messages"));
    }
    if let (Some(max), Some(bound)) = (queue.max_message_bytes, queue.max_length_bytes) {
        parts.push(format!("{} of {}", human_bytes(max), human_bytes(bound)));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::broker::NodeState;

    fn source() -> Source {
        Source {
            api: "http://127.0.0.1:15672/".into(),
            vhost: "/".into(),
            namespace: "imagepipe".into(),
        }
    }

    /// Canned answers of `GET /api/queues/%2F?columns=…` and `GET /api/nodes?columns=…` at `at_secs`, the
    /// transform queue holding `messages`.
    fn sample(at_secs: f64, messages: u64, mem_used: u64, mem_alarm: bool) -> BrokerSample {
        let queues = format!(
            r#"[{{"arguments":{{"x-dead-letter-exchange":"imagepipe.dlx","x-delivery-limit":5,"x-max-length":1000,
                   "x-overflow":"reject-publish","x-queue-type":"quorum"}},"message_bytes":{bytes},"messages":{messages},
                 "messages_ready":{messages},"messages_unacknowledged":0,"name":"imagepipe.transform"}},
                {{"arguments":{{"x-queue-type":"quorum"}},"message_bytes":0,"messages":3,"messages_ready":1,
                  "messages_unacknowledged":2,"name":"imagepipe.archive"}},
                {{"arguments":{{"x-max-length-bytes":1048576}},"message_bytes":{bytes},"messages":1,
                  "messages_ready":1,"messages_unacknowledged":0,"name":"imagepipe.bytes"}},
                {{"arguments":{{}},"name":"imagepipe.gateway.g1"}}]"#,
            bytes = messages * 1000,
        );
        let nodes = format!(
            r#"[{{"disk_free":83932913664,"disk_free_alarm":false,"disk_free_limit":50000000,"mem_alarm":{mem_alarm},
                 "mem_limit":10110473011,"mem_used":{mem_used},"name":"rabbit@localhost"}}]"#
        );
        BrokerSample {
            at_secs,
            queues: serde_json::from_str(&queues).unwrap(),
            nodes: serde_json::from_str::<Vec<NodeState>>(&nodes).unwrap(),
            error: None,
        }
    }

    #[test]
    fn queues_and_nodes_are_summed_up_from_the_apis_answers() {
        let series = vec![
            sample(0.0, 10, 100_000_000, false),
            BrokerSample {
                at_secs: 1.0,
                error: Some("no answer within 2 s".into()),
                ..BrokerSample::default()
            },
            sample(2.0, 950, 300_000_000, true),
            sample(3.0, 40, 200_000_000, false),
        ];
        let report = BrokerReport::of(source(), series);
        assert_eq!((report.samples, report.failed_samples), (3, 1));
        assert_eq!(report.unavailable, None);
        let names: Vec<&str> = report
            .queues
            .iter()
            .map(|queue| queue.name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "imagepipe.archive",
                "imagepipe.bytes",
                "imagepipe.gateway.g1",
                "imagepipe.transform"
            ]
        );
        let transform = &report.queues[3];
        assert_eq!(
            (
                transform.max_messages,
                transform.last_messages,
                transform.max_length
            ),
            (Some(950), Some(40), Some(1000))
        );
        assert_eq!(transform.max_message_bytes, Some(950_000));
        assert_eq!(transform.peak_of_bound, Some(0.95));
        assert!(transform.over_bound);
        let bytes = &report.queues[1];
        assert_eq!(bytes.max_length_bytes, Some(1_048_576));
        assert!(bytes.over_bound, "950 kB of 1 MiB: {bytes:?}");
        let archive = &report.queues[0];
        assert_eq!((archive.peak_of_bound, archive.over_bound), (None, false));
        let gateway = &report.queues[2];
        assert_eq!((gateway.max_messages, gateway.last_messages), (None, None));
        let node = &report.nodes[0];
        assert_eq!(node.max_mem_used, Some(300_000_000));
        assert_eq!(node.min_disk_free, Some(83_932_913_664));
        assert!(node.mem_alarm && !node.disk_free_alarm);
        assert_eq!(report.alarms(), ["rabbit@localhost: memory"]);
        assert_eq!(
            report.queues_over_bound(),
            [
                "imagepipe.bytes (927.7 KiB of 1.0 MiB)",
                "imagepipe.transform (950 of 1000 messages)"
            ]
        );
        let text = report.render();
        assert!(
            text.contains("3 samples, 1 failed (last: no answer within 2 s)"),
            "{text}"
        );
        assert!(text.contains("imagepipe.transform"), "{text}");
        assert!(text.contains("1000 msgs"), "{text}");
        assert!(text.contains("alarms: memory"), "{text}");
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["api"], "http://127.0.0.1:15672/");
        assert_eq!(json["series"].as_array().unwrap().len(), 4);
        assert_eq!(json["series"][2]["queues"][0]["messages"], 950);
        assert_eq!(json["series"][1]["error"], "no answer within 2 s");
    }

    #[test]
    fn no_sample_means_unavailable() {
        let failed = BrokerSample {
            at_secs: 0.0,
            error: Some("cannot connect: Connection refused".into()),
            ..BrokerSample::default()
        };
        let report = BrokerReport::of(source(), vec![failed]);
        assert_eq!(
            report.unavailable.as_deref(),
            Some("cannot connect: Connection refused")
        );
        assert!(report.render().contains("unavailable: cannot connect"));
        assert_eq!(
            BrokerReport::of(source(), Vec::new())
                .unavailable
                .as_deref(),
            Some("no sample was taken")
        );
    }
}
