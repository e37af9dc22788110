//! The RabbitMQ topology imagepipe's services meet on: one durable topic exchange, a quorum queue per consuming
//! stage, a dead-letter exchange and queue, and a private reply queue per gateway replica.
//!
//! ```text
//! gateway ──image.submit──▶ [exchange] ──▶ {ns}.transform ──▶ transformer
//! transformer ──image.result.<gw>──▶ [exchange] ──▶ {ns}.gateway.<gw> ──▶ that gateway replica
//! transformer ──image.archive──▶ [exchange] ──▶ {ns}.archive ──▶ save2db
//! any ──job.event.<kind>──▶ [exchange] ──▶ every {ns}.gateway.<gw>
//!                                      └──▶ {ns}.activity ──▶ save2db (the jobs' history)
//! {ns}.transform / {ns}.archive / {ns}.activity ──(rejected, or over the delivery limit)──▶ [{ns}.dlx]
//!     ──▶ {ns}.dead-letter
//! ```
//!
//! Every name derives from one namespace (`imagepipe` in production), so a test can run a whole private
//! topology beside the real one. This module only names and describes; `imagepipe-common` declares.

/// AMQP header carrying the job id (also sent as `message_id`).
pub const HEADER_JOB_ID: &str = "x-job-id";
/// AMQP header carrying the trace id that follows one job through all three services.
pub const HEADER_TRACE_ID: &str = "x-trace-id";

/// Routing keys on the topic exchange.
pub mod routing {
    /// A new job for the transformers.
    pub const SUBMIT: &str = "image.submit";
    /// A finished job's original and outputs, for save2db.
    pub const ARCHIVE: &str = "image.archive";
    /// Prefix of the per-gateway result keys.
    pub const RESULT_PREFIX: &str = "image.result";
    /// Binding that receives every job event.
    pub const EVENTS: &str = "job.event.*";

    /// The routing key of results for the gateway replica `instance`.
    #[must_use]
    pub fn result(instance: &str) -> String {
        format!("{RESULT_PREFIX}.{instance}")
    }

    /// The routing key of a job event of `kind` (`accepted`, `started`, `done`, `failed`, `stored`,
    /// `deleted`: see `job_event::Kind::name`).
    #[must_use]
    pub fn event(kind: &str) -> String {
        format!("job.event.{kind}")
    }
}

/// How many times a quorum queue redelivers a message before dead-lettering it.
pub const DELIVERY_LIMIT: i64 = 5;
/// Most messages the transform queue holds; past it the broker nacks new publishes (back-pressure to clients).
pub const TRANSFORM_QUEUE_MAX_LENGTH: i64 = 10_000;
/// How long a gateway replica's reply queue lives without a consumer (`x-expires`, milliseconds).
pub const GATEWAY_QUEUE_EXPIRES_MS: i64 = 60_000;

/// A queue argument value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgValue {
    /// A string argument (`x-queue-type`, `x-overflow`, …).
    Str(&'static str),
    /// A string argument computed from the namespace (`x-dead-letter-exchange`).
    Name(String),
    /// An integer argument (`x-delivery-limit`, `x-max-length`).
    Int(i64),
}

/// A durable queue with its arguments and bindings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSpec {
    /// The queue's name.
    pub name: String,
    /// Declaration arguments, in a fixed order.
    pub arguments: Vec<(&'static str, ArgValue)>,
    /// `(exchange, routing key)` bindings.
    pub bindings: Vec<(String, String)>,
    /// What it is for, for people (the docs' topology table).
    pub purpose: &'static str,
}

/// All names of one namespace's topology.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    namespace: String,
}

impl Topology {
    /// The topology of `namespace` (`imagepipe` in production, a unique name in tests).
    #[must_use]
    pub fn new(namespace: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
        }
    }

    /// The namespace every name starts with.
    #[must_use]
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The durable topic exchange all messages are published to.
    #[must_use]
    pub fn exchange(&self) -> String {
        self.namespace.clone()
    }

    /// The topic exchange that receives rejected and over-delivered messages.
    #[must_use]
    pub fn dead_letter_exchange(&self) -> String {
        format!("{}.dlx", self.namespace)
    }

    /// The transformers' shared work queue.
    #[must_use]
    pub fn transform_queue(&self) -> String {
        format!("{}.transform", self.namespace)
    }

    /// save2db's work queue.
    #[must_use]
    pub fn archive_queue(&self) -> String {
        format!("{}.archive", self.namespace)
    }

    /// The activity log: every job event, for save2db to keep as the jobs' history.
    #[must_use]
    pub fn activity_queue(&self) -> String {
        format!("{}.activity", self.namespace)
    }

    /// Where dead letters wait for an operator.
    #[must_use]
    pub fn dead_letter_queue(&self) -> String {
        format!("{}.dead-letter", self.namespace)
    }

    /// The reply queue of gateway replica `instance`: classic, non-durable, bound to its result key and to every
    /// job event; it survives a reconnect and expires a minute after its replica is gone (`x-expires`).
    #[must_use]
    pub fn gateway_queue(&self, instance: &str) -> String {
        format!("{}.gateway.{instance}", self.namespace)
    }

    /// The transform queue: quorum, bounded, dead-lettering.
    #[must_use]
    pub fn transform_queue_spec(&self) -> QueueSpec {
        let mut arguments = self.work_queue_arguments();
        arguments.push(("x-max-length", ArgValue::Int(TRANSFORM_QUEUE_MAX_LENGTH)));
        arguments.push(("x-overflow", ArgValue::Str("reject-publish")));
        QueueSpec {
            name: self.transform_queue(),
            arguments,
            bindings: vec![(self.exchange(), routing::SUBMIT.to_owned())],
            purpose: "The transformers' shared work: every new job. When full, the broker refuses new jobs and \
                `POST /image` answers 503 `queue_full`.",
        }
    }

    /// The archive queue: quorum, dead-lettering, unbounded (an archive is never refused).
    #[must_use]
    pub fn archive_queue_spec(&self) -> QueueSpec {
        QueueSpec {
            name: self.archive_queue(),
            arguments: self.work_queue_arguments(),
            bindings: vec![(self.exchange(), routing::ARCHIVE.to_owned())],
            purpose: "save2db's work: every finished job's original, outputs and metadata, to store. Unbounded: \
                an archive is never refused.",
        }
    }

    /// The activity queue: quorum, dead-lettering (a poison event is kept, not looped), unbounded (refusing
    /// an event would refuse the deletion that publishes it), bound to every job event.
    #[must_use]
    pub fn activity_queue_spec(&self) -> QueueSpec {
        QueueSpec {
            name: self.activity_queue(),
            arguments: self.work_queue_arguments(),
            bindings: vec![(self.exchange(), routing::EVENTS.to_owned())],
            purpose: "The activity log: every job event, which save2db keeps as the job's history. Unbounded: \
                refusing an event would refuse the deletion that publishes it.",
        }
    }

    /// The dead-letter queue: quorum, bound to everything the dead-letter exchange receives.
    #[must_use]
    pub fn dead_letter_queue_spec(&self) -> QueueSpec {
        QueueSpec {
            name: self.dead_letter_queue(),
            arguments: vec![("x-queue-type", ArgValue::Str("quorum"))],
            bindings: vec![(self.dead_letter_exchange(), "#".to_owned())],
            purpose: "Messages rejected as poison or delivered more than the delivery limit, waiting for an \
                operator (`imagepipe-save2db dead-letters`).",
        }
    }

    /// Every durable queue, in declaration order (dead letters first, so nothing dead-letters into the void).
    #[must_use]
    pub fn durable_queues(&self) -> Vec<QueueSpec> {
        vec![
            self.dead_letter_queue_spec(),
            self.transform_queue_spec(),
            self.archive_queue_spec(),
            self.activity_queue_spec(),
        ]
    }

    /// The topology as a Markdown table (kind, name, bindings, arguments, purpose), for the docs.
    #[must_use]
    pub fn markdown_table(&self) -> String {
        let code = |text: &str| format!("`{text}`");
        let mut table = String::from(
            "| Kind | Name | Bound to | Arguments | What for |\n|---|---|---|---|---|\n",
        );
        table.push_str(&format!(
            "| exchange | {} | | topic, durable | Every message is published here. |\n",
            code(&self.exchange())
        ));
        table.push_str(&format!(
            "| exchange | {} | | topic, durable | Where the work queues dead-letter. |\n",
            code(&self.dead_letter_exchange())
        ));
        for queue in self.durable_queues() {
            let bindings: Vec<String> = queue
                .bindings
                .iter()
                .map(|(exchange, key)| format!("{} {}", code(exchange), code(key)))
                .collect();
            let arguments: Vec<String> = queue
                .arguments
                .iter()
                .map(|(name, value)| {
                    let value = match value {
                        ArgValue::Str(text) => code(text),
                        ArgValue::Name(text) => code(text),
                        ArgValue::Int(number) => number.to_string(),
                    };
                    format!("{} {value}", code(name))
                })
                .collect();
            table.push_str(&format!(
                "| queue | {} | {} | durable, {} | {} |\n",
                code(&queue.name),
                bindings.join(", "),
                arguments.join(", "),
                queue.purpose
            ));
        }
        table.push_str(&format!(
            "| queue | {} | {} {}, {} {} | classic, not durable, `x-expires` {GATEWAY_QUEUE_EXPIRES_MS} | One gateway \
             replica's results and every job event; it outlives a reconnect and goes a minute after its replica. |\n",
            code(&self.gateway_queue("<instance>")),
            code(&self.exchange()),
            code(&routing::result("<instance>")),
            code(&self.exchange()),
            code(routing::EVENTS),
        ));
        table
    }

    fn work_queue_arguments(&self) -> Vec<(&'static str, ArgValue)> {
        vec![
            ("x-queue-type", ArgValue::Str("quorum")),
            ("x-delivery-limit", ArgValue::Int(DELIVERY_LIMIT)),
            (
                "x-dead-letter-exchange",
                ArgValue::Name(self.dead_letter_exchange()),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_a_row_per_exchange_and_queue() {
        let topology = Topology::new("imagepipe");
        let table = topology.markdown_table();
        assert_eq!(
            table.lines().count(),
            2 + 2 + topology.durable_queues().len() + 1
        );
        for queue in topology.durable_queues() {
            assert!(table.contains(&format!("`{}`", queue.name)), "{table}");
        }
        assert!(table.contains("`x-overflow` `reject-publish`"), "{table}");
    }

    #[test]
    fn names_derive_from_the_namespace() {
        let topology = Topology::new("t-1");
        assert_eq!(topology.exchange(), "t-1");
        assert_eq!(topology.transform_queue(), "t-1.transform");
        assert_eq!(topology.archive_queue(), "t-1.archive");
        assert_eq!(topology.activity_queue(), "t-1.activity");
        assert_eq!(topology.dead_letter_exchange(), "t-1.dlx");
        assert_eq!(topology.gateway_queue("gw"), "t-1.gateway.gw");
        assert_eq!(routing::result("gw"), "image.result.gw");
        assert_eq!(routing::event("accepted"), "job.event.accepted");
    }

    #[test]
    fn work_queues_dead_letter_and_only_transform_is_bounded() {
        let topology = Topology::new("t");
        let transform = topology.transform_queue_spec();
        assert!(
            transform
                .arguments
                .contains(&("x-dead-letter-exchange", ArgValue::Name("t.dlx".into())))
        );
        assert!(
            transform
                .arguments
                .contains(&("x-overflow", ArgValue::Str("reject-publish")))
        );
        let archive = topology.archive_queue_spec();
        assert!(
            !archive
                .arguments
                .iter()
                .any(|(key, _)| *key == "x-max-length")
        );
        assert_eq!(topology.durable_queues()[0].name, "t.dead-letter");
    }

    #[test]
    fn the_activity_queue_collects_every_job_event_and_dead_letters_like_a_work_queue() {
        let topology = Topology::new("t");
        let activity = topology.activity_queue_spec();
        assert_eq!(activity.name, "t.activity");
        assert_eq!(
            activity.bindings,
            [("t".to_owned(), routing::EVENTS.to_owned())]
        );
        assert_eq!(
            activity.arguments,
            topology.archive_queue_spec().arguments,
            "quorum, delivery limit, dead-letter exchange, unbounded"
        );
        assert!(
            topology
                .durable_queues()
                .iter()
                .any(|queue| queue.name == "t.activity")
        );
        for kind in ["accepted", "started", "done", "failed", "stored", "deleted"] {
            let key = routing::event(kind);
            assert!(topic_matches(routing::EVENTS, &key), "{key}");
        }
        assert!(!topic_matches(routing::EVENTS, routing::ARCHIVE));
    }

    /// Whether the topic `pattern` (`*` = one word) matches `key`; enough of AMQP's rule for these bindings.
    fn topic_matches(pattern: &str, key: &str) -> bool {
        let (pattern, key): (Vec<&str>, Vec<&str>) =
            (pattern.split('.').collect(), key.split('.').collect());
        pattern.len() == key.len() && pattern.iter().zip(&key).all(|(p, k)| *p == "*" || p == k)
    }
}
