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
/// Most messages the archive queue holds; past it the broker nacks archives and transformers wait.
pub const ARCHIVE_QUEUE_MAX_LENGTH: i64 = 10_000;
/// Most events the activity queue holds (events are small: its byte share binds first only for huge histories).
pub const ACTIVITY_QUEUE_MAX_LENGTH: i64 = 200_000;
/// Most messages the dead-letter queue holds.
pub const DEAD_LETTER_QUEUE_MAX_LENGTH: i64 = 10_000;
/// Most messages one gateway replica's reply queue holds; past it the oldest are dropped.
pub const GATEWAY_QUEUE_MAX_LENGTH: i64 = 10_000;
/// The bytes the durable queues may hold together unless configured (`AMQP_QUEUE_BUDGET_BYTES`): 1 GiB.
///
/// RabbitMQ 3.x keeps a quorum queue's messages in memory, so the budget must stay well under the broker's
/// memory high watermark (40% of its RAM by default): then the queues refuse work, and the gateway answers
/// `503`, long before the broker's memory alarm could block every publisher. 1 GiB suits a broker with 8 GiB
/// of RAM or more; give a smaller broker a smaller budget.
pub const DEFAULT_QUEUE_BUDGET_BYTES: u64 = 1 << 30;

/// Which share of the queue budget each queue may hold, in percent (they add up to 100); a gateway replica's
/// reply queue may hold [`GATEWAY_QUEUE_SHARE_PERCENT`] on top, per replica.
pub mod share {
    /// New jobs waiting for a transformer.
    pub const TRANSFORM: u64 = 25;
    /// Finished jobs waiting for save2db: the largest messages (original and outputs).
    pub const ARCHIVE: u64 = 50;
    /// Job events waiting to be recorded.
    pub const ACTIVITY: u64 = 5;
    /// Messages waiting for an operator.
    pub const DEAD_LETTER: u64 = 20;
}
/// The share of the budget each gateway replica's reply queue may hold, per replica, in percent (rounded
/// down to whole bytes): not part of the 100%, as there is one per replica.
pub const GATEWAY_QUEUE_SHARE_PERCENT: u64 = 5;
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

/// A queue's limits: messages and bytes of message bodies, both enforced by the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    /// Most messages (`x-max-length`).
    pub max_length: i64,
    /// Most bytes of message bodies (`x-max-length-bytes`).
    pub max_bytes: i64,
}

/// All names of one namespace's topology, and the bounds of its queues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    namespace: String,
    budget_bytes: u64,
}

impl Topology {
    /// The topology of `namespace` (`imagepipe` in production, a unique name in tests), its queues sized
    /// from [`DEFAULT_QUEUE_BUDGET_BYTES`].
    #[must_use]
    pub fn new(namespace: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            budget_bytes: DEFAULT_QUEUE_BUDGET_BYTES,
        }
    }

    /// The same topology with its queues sized from `bytes` (every service of a deployment must use the same
    /// budget: the broker refuses to redeclare a queue with other arguments).
    #[must_use]
    pub fn with_budget(self, bytes: u64) -> Self {
        Self {
            budget_bytes: bytes,
            ..self
        }
    }

    /// The bytes all durable queues may hold together.
    #[must_use]
    pub fn budget_bytes(&self) -> u64 {
        self.budget_bytes
    }

    /// The transform queue's bound.
    #[must_use]
    pub fn transform_bound(&self) -> Bound {
        self.bound(TRANSFORM_QUEUE_MAX_LENGTH, share::TRANSFORM)
    }

    /// The archive queue's bound.
    #[must_use]
    pub fn archive_bound(&self) -> Bound {
        self.bound(ARCHIVE_QUEUE_MAX_LENGTH, share::ARCHIVE)
    }

    /// The activity queue's bound.
    #[must_use]
    pub fn activity_bound(&self) -> Bound {
        self.bound(ACTIVITY_QUEUE_MAX_LENGTH, share::ACTIVITY)
    }

    /// The dead-letter queue's bound.
    #[must_use]
    pub fn dead_letter_bound(&self) -> Bound {
        self.bound(DEAD_LETTER_QUEUE_MAX_LENGTH, share::DEAD_LETTER)
    }

    /// A gateway replica's reply queue's bound.
    #[must_use]
    pub fn gateway_bound(&self) -> Bound {
        self.bound(GATEWAY_QUEUE_MAX_LENGTH, GATEWAY_QUEUE_SHARE_PERCENT)
    }

    /// Whether a message of `bytes` fits every queue that must take whole jobs (transform, archive, dead
    /// letters): a message larger than a queue's byte bound would be refused forever. `Err` says which does
    /// not.
    ///
    /// # Errors
    /// The name and bound of the first queue too small.
    pub fn check_fits(&self, bytes: u64) -> Result<(), String> {
        for (name, bound) in [
            (self.transform_queue(), self.transform_bound()),
            (self.archive_queue(), self.archive_bound()),
            (self.dead_letter_queue(), self.dead_letter_bound()),
        ] {
            if (bound.max_bytes as u64) < bytes {
                return Err(format!(
                    "queue `{name}` may hold {} bytes, less than one message of {bytes} bytes: raise the queue \
                     budget ({} bytes) or lower the largest message",
                    bound.max_bytes, self.budget_bytes
                ));
            }
        }
        Ok(())
    }

    fn bound(&self, max_length: i64, percent: u64) -> Bound {
        let bytes = u128::from(self.budget_bytes) * u128::from(percent) / 100;
        Bound {
            max_length,
            max_bytes: i64::try_from(bytes).unwrap_or(i64::MAX),
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
        QueueSpec {
            name: self.transform_queue(),
            arguments: self.work_queue_arguments(self.transform_bound()),
            bindings: vec![(self.exchange(), routing::SUBMIT.to_owned())],
            purpose: "The transformers' shared work: every new job. When full, the broker refuses new jobs and \
                `POST /image` answers 503 `queue_full`; gateways answer 503 `overloaded` before that, once jobs \
                wait too long to start.",
        }
    }

    /// The archive queue: quorum, bounded, dead-lettering. When full, transformers hold their finished jobs
    /// and retry, which stops them taking new ones.
    #[must_use]
    pub fn archive_queue_spec(&self) -> QueueSpec {
        QueueSpec {
            name: self.archive_queue(),
            arguments: self.work_queue_arguments(self.archive_bound()),
            bindings: vec![(self.exchange(), routing::ARCHIVE.to_owned())],
            purpose: "save2db's work: every finished job's original, outputs and metadata, to store. When full \
                (storage is behind), the broker refuses archives and transformers hold their jobs and retry, so \
                they stop taking new ones and the transform queue fills instead.",
        }
    }

    /// The activity queue: quorum, bounded, dead-lettering (a poison event is kept, not looped), bound to
    /// every job event.
    #[must_use]
    pub fn activity_queue_spec(&self) -> QueueSpec {
        QueueSpec {
            name: self.activity_queue(),
            arguments: self.work_queue_arguments(self.activity_bound()),
            bindings: vec![(self.exchange(), routing::EVENTS.to_owned())],
            purpose: "The activity log: every job event, which save2db keeps as the job's history. When full, \
                the broker refuses events: a deletion then answers 503, progress events are only logged.",
        }
    }

    /// The dead-letter queue: quorum, bounded, bound to everything the dead-letter exchange receives.
    #[must_use]
    pub fn dead_letter_queue_spec(&self) -> QueueSpec {
        let bound = self.dead_letter_bound();
        QueueSpec {
            name: self.dead_letter_queue(),
            arguments: vec![
                ("x-queue-type", ArgValue::Str("quorum")),
                ("x-max-length", ArgValue::Int(bound.max_length)),
                ("x-max-length-bytes", ArgValue::Int(bound.max_bytes)),
                ("x-overflow", ArgValue::Str("reject-publish")),
            ],
            bindings: vec![(self.dead_letter_exchange(), "#".to_owned())],
            purpose: "Messages rejected as poison or delivered more than the delivery limit, waiting for an \
                operator (`imagepipe-save2db dead-letters`). When full, dead letters wait in their own queue \
                (at-least-once dead-lettering): none is dropped.",
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
                .map(|(name, value)| format!("{} {}", code(name), render(name, value)))
                .collect();
            table.push_str(&format!(
                "| queue | {} | {} | durable, {} | {} |\n",
                code(&queue.name),
                bindings.join(", "),
                arguments.join(", "),
                queue.purpose
            ));
        }
        let gateway_arguments: Vec<String> = self
            .gateway_queue_arguments()
            .iter()
            .map(|(name, value)| format!("{} {}", code(name), render(name, value)))
            .collect();
        table.push_str(&format!(
            "| queue | {} | {} {}, {} {} | durable, {} | One gateway replica's results and every job event; it \
             outlives a reconnect and the loss of a broker node, and goes a minute after its replica. Past its \
             bound it drops its oldest messages (the replica then reads those jobs from MongoDB). |\n",
            code(&self.gateway_queue("<instance>")),
            code(&self.exchange()),
            code(&routing::result("<instance>")),
            code(&self.exchange()),
            code(routing::EVENTS),
            gateway_arguments.join(", "),
        ));
        table
    }

    /// A work queue's arguments: quorum, a delivery limit, bounded in messages and bytes with publishes
    /// refused past the bound, and dead letters moved at least once (kept in the queue until the dead-letter
    /// queue has confirmed them; RabbitMQ needs `reject-publish` for it).
    fn work_queue_arguments(&self, bound: Bound) -> Vec<(&'static str, ArgValue)> {
        vec![
            ("x-queue-type", ArgValue::Str("quorum")),
            ("x-delivery-limit", ArgValue::Int(DELIVERY_LIMIT)),
            (
                "x-dead-letter-exchange",
                ArgValue::Name(self.dead_letter_exchange()),
            ),
            ("x-dead-letter-strategy", ArgValue::Str("at-least-once")),
            ("x-max-length", ArgValue::Int(bound.max_length)),
            ("x-max-length-bytes", ArgValue::Int(bound.max_bytes)),
            ("x-overflow", ArgValue::Str("reject-publish")),
        ]
    }

    /// A gateway replica's reply queue's arguments: a quorum queue (durable, replicated, so that the loss of
    /// one broker node of a cluster neither loses it nor leaves it unusable, which would make the broker refuse
    /// every job event routed to it), it expires a while after its replica is gone, and past its bound drops its
    /// oldest messages (results and events are also kept by save2db, so a replica that falls that far behind
    /// reads them from MongoDB instead).
    #[must_use]
    pub fn gateway_queue_arguments(&self) -> Vec<(&'static str, ArgValue)> {
        let bound = self.gateway_bound();
        vec![
            ("x-queue-type", ArgValue::Str("quorum")),
            ("x-expires", ArgValue::Int(GATEWAY_QUEUE_EXPIRES_MS)),
            ("x-max-length", ArgValue::Int(bound.max_length)),
            ("x-max-length-bytes", ArgValue::Int(bound.max_bytes)),
        ]
    }
}

/// An argument's value as the docs show it: names and strings as code, byte counts in MiB too.
fn render(name: &str, value: &ArgValue) -> String {
    match value {
        ArgValue::Str(text) => format!("`{text}`"),
        ArgValue::Name(text) => format!("`{text}`"),
        ArgValue::Int(number) if name.ends_with("-bytes") => {
            format!("{number} ({:.1} MiB)", *number as f64 / 1_048_576.0)
        }
        ArgValue::Int(number) => number.to_string(),
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
    fn every_durable_queue_is_bounded_in_messages_and_bytes_and_refuses_past_it() {
        let topology = Topology::new("t");
        for queue in topology.durable_queues() {
            let has = |key: &str| queue.arguments.iter().any(|(name, _)| *name == key);
            assert!(has("x-max-length"), "{}", queue.name);
            assert!(has("x-max-length-bytes"), "{}", queue.name);
            assert!(
                queue
                    .arguments
                    .contains(&("x-overflow", ArgValue::Str("reject-publish"))),
                "{}: a bounded queue refuses rather than drops",
                queue.name
            );
        }
        let transform = topology.transform_queue_spec();
        assert!(
            transform
                .arguments
                .contains(&("x-dead-letter-exchange", ArgValue::Name("t.dlx".into())))
        );
        assert!(
            transform
                .arguments
                .contains(&("x-dead-letter-strategy", ArgValue::Str("at-least-once")))
        );
        assert_eq!(topology.durable_queues()[0].name, "t.dead-letter");
    }

    #[test]
    fn the_budget_is_shared_out_and_checked_against_the_largest_message() {
        assert_eq!(
            share::TRANSFORM + share::ARCHIVE + share::ACTIVITY + share::DEAD_LETTER,
            100
        );
        let topology = Topology::new("t").with_budget(1000);
        assert_eq!(topology.transform_bound().max_bytes, 250);
        assert_eq!(topology.archive_bound().max_bytes, 500);
        assert_eq!(topology.activity_bound().max_bytes, 50);
        assert_eq!(topology.dead_letter_bound().max_bytes, 200);
        assert_eq!(topology.gateway_bound().max_bytes, 50);
        assert!(topology.check_fits(200).is_ok());
        let error = topology.check_fits(201).unwrap_err();
        assert!(error.contains("`t.dead-letter`"), "{error}");
        let default = Topology::new("t");
        assert_eq!(default.budget_bytes(), DEFAULT_QUEUE_BUDGET_BYTES);
        assert!(
            default.check_fits(128 * 1024 * 1024).is_ok(),
            "the default budget takes the broker's default largest message"
        );
        let spec = default.archive_queue_spec();
        assert!(spec.arguments.contains(&(
            "x-max-length-bytes",
            ArgValue::Int((DEFAULT_QUEUE_BUDGET_BYTES / 2) as i64)
        )));
    }

    #[test]
    fn a_reply_queue_is_replicated_expires_and_drops_its_oldest_past_its_bound() {
        let arguments = Topology::new("t").gateway_queue_arguments();
        assert!(arguments.contains(&("x-queue-type", ArgValue::Str("quorum"))));
        assert!(arguments.contains(&("x-expires", ArgValue::Int(GATEWAY_QUEUE_EXPIRES_MS))));
        assert!(arguments.iter().all(|(name, _)| *name != "x-overflow"));
        assert!(
            arguments
                .iter()
                .any(|(name, _)| *name == "x-max-length-bytes")
        );
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
            topology.work_queue_arguments(topology.activity_bound()),
            "quorum, delivery limit, dead-letter exchange, bounded"
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
