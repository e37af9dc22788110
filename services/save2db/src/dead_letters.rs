//! The dead-letter queue (`<ns>.dead-letter`) for operators: list what is there without consuming it, and replay
//! chosen dead letters to the main exchange with their original routing key.
//!
//! Both walk the queue with `basic.get` and hold every message unacknowledged, so no message is seen twice in one
//! run; a replay also stops at the number of messages that were ready when it started, so a replayed message that
//! dies again (and lands behind them) is not replayed twice. Whatever is not replayed is requeued, and a run
//! returns once the broker has made those messages ready again, so the next run sees them. Requeueing raises a
//! quorum queue message's `x-delivery-count`, which the replay strips.

use std::{collections::BTreeMap, time::Duration};

use imagepipe_common::{
    Error,
    amqp::{Broker, Channel, Delivery, DeliveryIds},
};
use lapin::{
    Acker, Confirmation,
    options::{
        BasicAckOptions, BasicGetOptions, BasicNackOptions, BasicPublishOptions,
        ConfirmSelectOptions, QueueDeclareOptions,
    },
    types::{AMQPValue, FieldTable, ShortString},
};
use serde::{Serialize, Serializer};

/// Header counting how often a message was replayed from the dead-letter queue.
pub const HEADER_REPLAYED: &str = "x-replayed";
/// How long a run waits at most at its end for the messages it requeued to be ready again (fewer if another
/// client consumes meanwhile). It returns as soon as they are, in milliseconds normally; the limit is generous so
/// that a broker slowed by a busy machine still has them back before the next run looks.
const SETTLE_WAIT: Duration = Duration::from_secs(10);
/// How often the queue is probed during that wait.
const SETTLE_PROBE: Duration = Duration::from_millis(20);

/// Why RabbitMQ dead-lettered a message (the `reason` of its `x-death` entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeathReason {
    /// A consumer rejected it without requeueing (poison).
    Rejected,
    /// It was delivered more often than the queue's `x-delivery-limit`.
    DeliveryLimit,
    /// Its TTL ran out.
    Expired,
    /// The queue was over its length limit.
    Maxlen,
    /// Anything else, or `unknown` when the message carries no death record.
    Other(String),
}

impl DeathReason {
    /// Reads RabbitMQ's name for a reason.
    #[must_use]
    pub fn parse(reason: &str) -> Self {
        match reason {
            "rejected" => Self::Rejected,
            "delivery_limit" => Self::DeliveryLimit,
            "expired" => Self::Expired,
            "maxlen" => Self::Maxlen,
            other => Self::Other(other.to_owned()),
        }
    }

    /// RabbitMQ's name for the reason.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Rejected => "rejected",
            Self::DeliveryLimit => "delivery_limit",
            Self::Expired => "expired",
            Self::Maxlen => "maxlen",
            Self::Other(other) => other,
        }
    }
}

impl std::fmt::Display for DeathReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for DeathReason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// One entry of the `x-death` header: how often the message died in one queue for one reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Death {
    /// The queue it died in.
    pub queue: String,
    /// Why.
    pub reason: DeathReason,
    /// How many times it died there for that reason.
    pub count: u64,
    /// The exchange it had been published to.
    pub exchange: String,
    /// The routing keys it had been published with.
    pub routing_keys: Vec<String>,
    /// When it last died there, in seconds since the Unix epoch.
    pub time_secs: Option<u64>,
}

impl Death {
    /// The entries of the `x-death` header in `headers`, most recent first (RabbitMQ's order); none when the
    /// header is missing or malformed.
    #[must_use]
    pub fn all_in(headers: &FieldTable) -> Vec<Death> {
        let Some(AMQPValue::FieldArray(entries)) = headers.inner().get("x-death") else {
            return Vec::new();
        };
        entries
            .as_slice()
            .iter()
            .filter_map(|entry| match entry {
                AMQPValue::FieldTable(entry) => Some(Self::from_entry(entry)),
                _ => None,
            })
            .collect()
    }

    fn from_entry(entry: &FieldTable) -> Self {
        let field = |name: &str| entry.inner().get(name);
        let routing_keys = match field("routing-keys") {
            Some(AMQPValue::FieldArray(keys)) => keys.as_slice().iter().filter_map(text).collect(),
            _ => Vec::new(),
        };
        Self {
            queue: field("queue").and_then(text).unwrap_or_default(),
            reason: DeathReason::parse(&field("reason").and_then(text).unwrap_or_default()),
            count: field("count").and_then(integer).unwrap_or(1),
            exchange: field("exchange").and_then(text).unwrap_or_default(),
            routing_keys,
            time_secs: field("time").and_then(integer),
        }
    }
}

/// One dead letter, summarised without its payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadLetter {
    /// Header `x-job-id`, else `message_id`; empty when neither is set.
    pub job_id: String,
    /// Header `x-trace-id`.
    pub trace_id: String,
    /// The AMQP `type` property (the contract message name).
    pub message_type: String,
    /// Payload size.
    pub bytes: usize,
    /// The queue it died in (most recently).
    pub queue: String,
    /// Why it died there.
    pub reason: DeathReason,
    /// How many times it has been dead-lettered since it was last published.
    pub deaths: u64,
    /// The exchange it had been published to.
    pub exchange: String,
    /// The routing key it had been published with, and is replayed with.
    pub routing_key: String,
    /// When it died, in seconds since the Unix epoch (RFC 3339 in JSON).
    #[serde(rename = "died_at", serialize_with = "rfc3339")]
    pub died_at_secs: Option<u64>,
    /// How often it was replayed before (header `x-replayed`).
    pub replayed: u64,
}

impl DeadLetter {
    /// Summarises a delivery from the dead-letter queue. Reads the most recent `x-death` entry, falling back to
    /// the `x-last-death-*` and `x-first-death-*` headers.
    #[must_use]
    pub fn of(delivery: &Delivery) -> Self {
        let ids = DeliveryIds::of(delivery);
        let empty = FieldTable::default();
        let headers = delivery.properties.headers().as_ref().unwrap_or(&empty);
        let deaths = Death::all_in(headers);
        let latest = deaths.first();
        let header = |suffix: &str| {
            [
                format!("x-last-death-{suffix}"),
                format!("x-first-death-{suffix}"),
            ]
            .iter()
            .find_map(|name| headers.inner().get(name.as_str()).and_then(text))
        };
        let reason = latest
            .map(|death| death.reason.clone())
            .or_else(|| header("reason").map(|reason| DeathReason::parse(&reason)))
            .unwrap_or_else(|| DeathReason::Other("unknown".to_owned()));
        Self {
            job_id: ids.job_id,
            trace_id: ids.trace_id,
            message_type: ids.message_type,
            bytes: delivery.data.len(),
            queue: latest
                .map(|death| death.queue.clone())
                .or_else(|| header("queue"))
                .unwrap_or_default(),
            reason,
            deaths: deaths.iter().map(|death| death.count).sum(),
            exchange: latest
                .map(|death| death.exchange.clone())
                .or_else(|| header("exchange"))
                .unwrap_or_default(),
            routing_key: latest
                .and_then(|death| death.routing_keys.first().cloned())
                .unwrap_or_else(|| delivery.routing_key.as_str().to_owned()),
            died_at_secs: latest.and_then(|death| death.time_secs),
            replayed: headers
                .inner()
                .get(HEADER_REPLAYED)
                .and_then(integer)
                .unwrap_or(0),
        }
    }

    /// When it died, as RFC 3339 UTC (`2025-01-31T12:00:00Z`).
    #[must_use]
    pub fn died_at(&self) -> Option<String> {
        self.died_at_secs.and_then(format_time)
    }
}

/// The headers a dead letter is replayed with: its own, minus what dead-lettering and redelivery added
/// (`x-death`, `x-first-death-*`, `x-last-death-*`, `x-delivery-count`), plus [`HEADER_REPLAYED`] counted up.
#[must_use]
pub fn replay_headers(headers: Option<&FieldTable>) -> FieldTable {
    let empty = FieldTable::default();
    let headers = headers.unwrap_or(&empty);
    let replayed = headers
        .inner()
        .get(HEADER_REPLAYED)
        .and_then(integer)
        .unwrap_or(0);
    let mut kept: BTreeMap<ShortString, AMQPValue> = headers
        .inner()
        .iter()
        .filter(|(name, _)| !added_by_the_broker(name.as_str()))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    kept.insert(
        HEADER_REPLAYED.into(),
        AMQPValue::LongLongInt(i64::try_from(replayed.saturating_add(1)).unwrap_or(i64::MAX)),
    );
    kept.into()
}

fn added_by_the_broker(name: &str) -> bool {
    name == "x-death"
        || name == "x-delivery-count"
        || name.starts_with("x-first-death-")
        || name.starts_with("x-last-death-")
}

/// Which dead letters to replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every one examined.
    All,
    /// Those of these jobs (every dead letter of a job, if it has several).
    Jobs(Vec<String>),
}

impl Selection {
    fn selects(&self, letter: &DeadLetter) -> bool {
        match self {
            Self::All => true,
            Self::Jobs(jobs) => jobs.contains(&letter.job_id),
        }
    }
}

/// A selected dead letter that was not replayed, and stays in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayFailure {
    /// The dead letter.
    pub dead_letter: DeadLetter,
    /// Why it was not replayed.
    pub reason: String,
}

/// What [`replay`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Dead letters examined (at most the limit, and at most what was ready at the start).
    pub examined: usize,
    /// Republished, confirmed, and removed from the dead-letter queue.
    pub replayed: Vec<DeadLetter>,
    /// Not selected, returned to the dead-letter queue.
    pub kept: usize,
    /// Selected but not replayed; they stay in the dead-letter queue.
    pub failed: Vec<ReplayFailure>,
    /// Job ids asked for that no examined dead letter carries.
    pub missing: Vec<String>,
}

/// How many dead letters are ready in the queue.
///
/// # Errors
/// [`Error::Config`] when the namespace has no dead-letter queue; broker errors otherwise.
pub async fn count(broker: &Broker) -> Result<u32, Error> {
    let channel = broker.channel().await?;
    let ready = ready(broker, &channel).await;
    let _ = channel.close(200, "counted".into()).await;
    ready
}

/// Summaries of up to `limit` dead letters in queue order, leaving every one of them in the queue. RabbitMQ
/// requeues the listed ones behind those the listing did not reach, so successive listings with a `limit`
/// smaller than the queue page through it.
///
/// # Errors
/// [`Error::Config`] when the namespace has no dead-letter queue; broker errors otherwise (the messages read so
/// far go back to the queue when the channel closes).
pub async fn list(broker: &Broker, limit: usize) -> Result<Vec<DeadLetter>, Error> {
    let channel = broker.channel().await?;
    let listed = async {
        let mut held = Vec::new();
        let mut letters = Vec::new();
        let queue = broker.topology().dead_letter_queue();
        let ready_at_start = ready(broker, &channel).await?;
        for _ in 0..limit {
            let Some(message) = get(&channel, &queue).await? else {
                break;
            };
            letters.push(DeadLetter::of(&message.delivery));
            held.push(message.delivery.acker);
        }
        requeue(&held).await;
        settle(broker, &channel, ready_at_start).await;
        Ok(letters)
    }
    .await;
    let _ = channel.close(200, "listed".into()).await;
    listed
}

/// Replays the `selection` among up to `limit` dead letters: each is republished to the main exchange with its
/// original routing key and properties ([`replay_headers`]), and acknowledged (removed) only once the broker
/// confirms the publish. A nack or an unroutable key leaves it in the queue and is reported; so does a missing
/// confirm, which also ends the run. Unselected dead letters go back to the queue.
///
/// # Errors
/// [`Error::Config`] when the namespace has no dead-letter queue; broker errors before anything was replayed.
pub async fn replay(
    broker: &Broker,
    selection: &Selection,
    limit: usize,
) -> Result<ReplayReport, Error> {
    let channel = broker.channel().await?;
    let replayed = async {
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        let mut report = ReplayReport::default();
        let mut held = Vec::new();
        let queue = broker.topology().dead_letter_queue();
        let ready_at_start = ready(broker, &channel).await?;
        for _ in 0..limit.min(ready_at_start as usize) {
            let message = match get(&channel, &queue).await {
                Ok(Some(message)) => message,
                Ok(None) => break,
                Err(error) if report.examined == 0 => return Err(error),
                Err(error) => {
                    tracing::warn!(%error, "Lost the channel while reading dead letters; stopping.");
                    break;
                }
            };
            report.examined += 1;
            let delivery = message.delivery;
            let letter = DeadLetter::of(&delivery);
            if !selection.selects(&letter) {
                report.kept += 1;
                held.push(delivery.acker);
                continue;
            }
            match republish(broker, &channel, &delivery, &letter).await {
                Ok(()) => match delivery.acker.ack(BasicAckOptions::default()).await {
                    Ok(true) => report.replayed.push(letter),
                    acked => {
                        let why = acked.err().map_or_else(
                            || "the channel is closed".to_owned(),
                            |error| error.to_string(),
                        );
                        report.failed.push(ReplayFailure {
                            dead_letter: letter,
                            reason: format!(
                                "replayed, but the dead letter could not be removed (it will be listed again): {why}"
                            ),
                        });
                        break;
                    }
                },
                Err(error) => {
                    let fatal = !matches!(error, Error::Nacked { .. } | Error::Unroutable { .. });
                    report.failed.push(ReplayFailure {
                        dead_letter: letter,
                        reason: error.to_string(),
                    });
                    held.push(delivery.acker);
                    if fatal {
                        break;
                    }
                }
            }
        }
        requeue(&held).await;
        let removed = u32::try_from(report.replayed.len()).unwrap_or(u32::MAX);
        settle(broker, &channel, ready_at_start.saturating_sub(removed)).await;
        if let Selection::Jobs(jobs) = selection {
            let seen = |job: &String| {
                report.replayed.iter().any(|letter| letter.job_id == *job)
                    || report
                        .failed
                        .iter()
                        .any(|failure| failure.dead_letter.job_id == *job)
            };
            report.missing = jobs.iter().filter(|job| !seen(job)).cloned().collect();
        }
        Ok(report)
    }
    .await;
    let _ = channel.close(200, "replayed".into()).await;
    replayed
}

/// Publishes `delivery` again to the main exchange and waits for the broker's confirm.
async fn republish(
    broker: &Broker,
    channel: &Channel,
    delivery: &Delivery,
    letter: &DeadLetter,
) -> Result<(), Error> {
    let properties = delivery
        .properties
        .clone()
        .with_headers(replay_headers(delivery.properties.headers().as_ref()));
    let routing_key = ShortString::try_new(letter.routing_key.as_str())
        .map_err(|error| Error::Config(format!("unusable routing key: {error}")))?;
    let confirm = channel
        .basic_publish(
            broker.topology().exchange().into(),
            routing_key,
            BasicPublishOptions {
                mandatory: true,
                immediate: false,
            },
            &delivery.data,
            properties,
        )
        .await?;
    let timeout = broker.confirm_timeout();
    let routing_key = letter.routing_key.clone();
    match tokio::time::timeout(timeout, confirm).await {
        Ok(Ok(Confirmation::Ack(None) | Confirmation::NotRequested)) => Ok(()),
        Ok(Ok(Confirmation::Ack(Some(_)))) => Err(Error::Unroutable { routing_key }),
        Ok(Ok(Confirmation::Nack(_))) => Err(Error::Nacked { routing_key }),
        Ok(Err(error)) => Err(error.into()),
        Err(_) => Err(Error::Timeout {
            what: "the replay's publisher confirm (the message may have been replayed too)",
            seconds: timeout.as_secs(),
        }),
    }
}

/// The ready count of the dead-letter queue, checked passively (nothing is declared).
async fn ready(broker: &Broker, channel: &Channel) -> Result<u32, Error> {
    let queue = broker.topology().dead_letter_queue();
    let options = QueueDeclareOptions {
        passive: true,
        ..QueueDeclareOptions::default()
    };
    match channel
        .queue_declare(queue.as_str().into(), options, FieldTable::default())
        .await
    {
        Ok(declared) => Ok(declared.message_count()),
        Err(error) if error.is_amqp_soft_error() => Err(Error::Config(format!(
            "cannot open the dead-letter queue `{queue}` ({error}); is AMQP_NAMESPACE right, and has a service \
             declared the topology?"
        ))),
        Err(error) => Err(error.into()),
    }
}

/// Waits until the dead-letter queue has `expected` ready messages again, for at most [`SETTLE_WAIT`]: the
/// broker makes requeued messages ready a moment after the requeue, and the next run should see them.
async fn settle(broker: &Broker, channel: &Channel, expected: u32) {
    let _ = tokio::time::timeout(SETTLE_WAIT, async {
        while ready(broker, channel)
            .await
            .is_ok_and(|ready| ready < expected)
        {
            tokio::time::sleep(SETTLE_PROBE).await;
        }
    })
    .await;
}

async fn get(
    channel: &Channel,
    queue: &str,
) -> Result<Option<lapin::message::BasicGetMessage>, Error> {
    Ok(channel
        .basic_get(queue.into(), BasicGetOptions { no_ack: false })
        .await?)
}

/// Returns held messages to the queue; what cannot be returned now is returned when the channel closes.
async fn requeue(held: &[Acker]) {
    for acker in held {
        let nack = BasicNackOptions {
            multiple: false,
            requeue: true,
        };
        if let Err(error) = acker.nack(nack).await {
            tracing::debug!(%error, "Could not requeue a dead letter; closing the channel will.");
            break;
        }
    }
}

fn text(value: &AMQPValue) -> Option<String> {
    match value {
        AMQPValue::LongString(text) => Some(String::from_utf8_lossy(text.as_bytes()).into_owned()),
        AMQPValue::ShortString(text) => Some(text.as_str().to_owned()),
        _ => None,
    }
}

fn integer(value: &AMQPValue) -> Option<u64> {
    match *value {
        AMQPValue::ShortShortInt(n) => u64::try_from(n).ok(),
        AMQPValue::ShortShortUInt(n) => Some(n.into()),
        AMQPValue::ShortInt(n) => u64::try_from(n).ok(),
        AMQPValue::ShortUInt(n) => Some(n.into()),
        AMQPValue::LongInt(n) => u64::try_from(n).ok(),
        AMQPValue::LongUInt(n) => Some(n.into()),
        AMQPValue::LongLongInt(n) => u64::try_from(n).ok(),
        AMQPValue::Timestamp(n) => Some(n),
        _ => None,
    }
}

fn format_time(secs: u64) -> Option<String> {
    i64::try_from(secs)
        .ok()
        .map(imagepipe_common::time::rfc3339_secs)
}

fn rfc3339<S: Serializer>(secs: &Option<u64>, serializer: S) -> Result<S::Ok, S::Error> {
    match secs.and_then(format_time) {
        Some(time) => serializer.serialize_str(&time),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use imagepipe_common::amqp::Envelope;
    use imagepipe_proto::v1::ImageArchive;
    use lapin::types::FieldArray;

    use super::*;

    fn long(text: &str) -> AMQPValue {
        AMQPValue::LongString(text.into())
    }

    /// An `x-death` entry as RabbitMQ writes it.
    fn death(queue: &str, reason: &str, count: i64, time: u64) -> AMQPValue {
        let mut entry = FieldTable::default();
        entry.insert("count".into(), AMQPValue::LongLongInt(count));
        entry.insert("reason".into(), long(reason));
        entry.insert("queue".into(), long(queue));
        entry.insert("time".into(), AMQPValue::Timestamp(time));
        entry.insert("exchange".into(), long("imagepipe"));
        entry.insert(
            "routing-keys".into(),
            AMQPValue::FieldArray(FieldArray::from(vec![long("image.archive")])),
        );
        AMQPValue::FieldTable(entry)
    }

    /// A dead letter as the dead-letter queue hands it over: the contract's properties plus `extra` headers.
    fn dead_delivery(extra: Vec<(&str, AMQPValue)>) -> Delivery {
        let mut delivery = Delivery::mock(
            7,
            "imagepipe.dlx".into(),
            "image.archive".into(),
            false,
            vec![0; 1234],
        );
        let properties = Envelope {
            routing_key: "image.archive",
            job_id: "job-1",
            trace_id: "trace-1",
            persistent: true,
            mandatory: true,
        }
        .properties::<ImageArchive>();
        let mut headers = properties.headers().clone().unwrap_or_default();
        for (name, value) in extra {
            headers.insert(name.into(), value);
        }
        delivery.properties = properties.with_headers(headers);
        delivery
    }

    #[test]
    fn a_rejected_archive_is_summarised_from_its_x_death() {
        let delivery = dead_delivery(vec![
            (
                "x-death",
                AMQPValue::FieldArray(FieldArray::from(vec![
                    death("imagepipe.archive", "rejected", 2, 1_700_000_000),
                    death("imagepipe.transform", "delivery_limit", 1, 1_600_000_000),
                ])),
            ),
            ("x-first-death-queue", long("imagepipe.transform")),
            ("x-first-death-reason", long("delivery_limit")),
        ]);

        let letter = DeadLetter::of(&delivery);

        assert_eq!(
            letter,
            DeadLetter {
                job_id: "job-1".into(),
                trace_id: "trace-1".into(),
                message_type: "imagepipe.v1.ImageArchive".into(),
                bytes: 1234,
                queue: "imagepipe.archive".into(),
                reason: DeathReason::Rejected,
                deaths: 3,
                exchange: "imagepipe".into(),
                routing_key: "image.archive".into(),
                died_at_secs: Some(1_700_000_000),
                replayed: 0,
            }
        );
        assert_eq!(letter.died_at().as_deref(), Some("2023-11-14T22:13:20Z"));
    }

    #[test]
    fn death_entries_keep_rabbitmqs_order_and_tolerate_odd_types() {
        let mut odd = FieldTable::default();
        odd.insert("count".into(), AMQPValue::LongInt(4));
        odd.insert("reason".into(), AMQPValue::ShortString("maxlen".into()));
        let mut headers = FieldTable::default();
        headers.insert(
            "x-death".into(),
            AMQPValue::FieldArray(FieldArray::from(vec![
                AMQPValue::FieldTable(odd),
                long("not a table"),
                death("q", "expired", 1, 5),
            ])),
        );

        let deaths = Death::all_in(&headers);

        assert_eq!(deaths.len(), 2);
        assert_eq!(deaths[0].reason, DeathReason::Maxlen);
        assert_eq!(deaths[0].count, 4);
        assert_eq!(deaths[0].queue, "");
        assert_eq!(deaths[0].time_secs, None);
        assert_eq!(deaths[1].reason, DeathReason::Expired);
        assert_eq!(deaths[1].routing_keys, vec!["image.archive".to_owned()]);
        assert!(Death::all_in(&FieldTable::default()).is_empty());
    }

    #[test]
    fn without_x_death_the_first_and_last_death_headers_are_read() {
        let delivery = dead_delivery(vec![
            ("x-first-death-queue", long("imagepipe.transform")),
            ("x-first-death-reason", long("delivery_limit")),
            ("x-first-death-exchange", long("imagepipe")),
            ("x-last-death-reason", long("rejected")),
            (HEADER_REPLAYED, AMQPValue::LongLongInt(2)),
        ]);

        let letter = DeadLetter::of(&delivery);

        assert_eq!(letter.queue, "imagepipe.transform");
        assert_eq!(letter.reason, DeathReason::Rejected, "the last death wins");
        assert_eq!(letter.exchange, "imagepipe");
        assert_eq!(letter.routing_key, "image.archive", "the delivery's key");
        assert_eq!((letter.deaths, letter.died_at_secs), (0, None));
        assert_eq!(letter.replayed, 2);
    }

    #[test]
    fn a_bare_message_has_an_unknown_reason() {
        let letter = DeadLetter::of(&Delivery::mock(1, "".into(), "k".into(), false, vec![]));
        assert_eq!(letter.reason.as_str(), "unknown");
        assert_eq!(
            (letter.job_id.as_str(), letter.routing_key.as_str()),
            ("", "k")
        );
    }

    #[test]
    fn reasons_round_trip_rabbitmqs_names() {
        for name in [
            "rejected",
            "delivery_limit",
            "expired",
            "maxlen",
            "something_new",
        ] {
            assert_eq!(DeathReason::parse(name).as_str(), name);
        }
        assert_eq!(
            DeathReason::parse("delivery_limit"),
            DeathReason::DeliveryLimit
        );
    }

    #[test]
    fn replay_headers_drop_the_death_records_and_count_the_replay() {
        let delivery = dead_delivery(vec![
            (
                "x-death",
                AMQPValue::FieldArray(FieldArray::from(vec![death("q", "rejected", 1, 1)])),
            ),
            ("x-first-death-queue", long("q")),
            ("x-first-death-reason", long("rejected")),
            ("x-first-death-exchange", long("imagepipe")),
            ("x-last-death-queue", long("q")),
            ("x-delivery-count", AMQPValue::LongLongInt(3)),
            ("x-custom", long("kept")),
        ]);

        let headers = replay_headers(delivery.properties.headers().as_ref());
        let names: Vec<&str> = headers.inner().keys().map(ShortString::as_str).collect();
        assert_eq!(names, ["x-custom", "x-job-id", "x-replayed", "x-trace-id"]);
        assert_eq!(
            headers.inner().get(HEADER_REPLAYED),
            Some(&AMQPValue::LongLongInt(1))
        );

        let mut again = headers.clone();
        again.insert(
            "x-death".into(),
            AMQPValue::FieldArray(FieldArray::default()),
        );
        let twice = replay_headers(Some(&again));
        assert_eq!(
            twice.inner().get(HEADER_REPLAYED),
            Some(&AMQPValue::LongLongInt(2))
        );
        assert!(!twice.contains_key("x-death"));
        assert_eq!(
            replay_headers(None).inner().get(HEADER_REPLAYED),
            Some(&AMQPValue::LongLongInt(1))
        );
    }

    #[test]
    fn a_selection_picks_by_job_id() {
        let letter = DeadLetter::of(&dead_delivery(vec![]));
        assert!(Selection::All.selects(&letter));
        assert!(Selection::Jobs(vec!["other".into(), "job-1".into()]).selects(&letter));
        assert!(!Selection::Jobs(vec!["other".into()]).selects(&letter));
    }

    #[test]
    fn json_names_the_reason_and_writes_the_time_as_rfc3339() {
        let mut letter = DeadLetter::of(&dead_delivery(vec![(
            "x-death",
            AMQPValue::FieldArray(FieldArray::from(vec![death("q", "delivery_limit", 1, 0)])),
        )]));
        let json = serde_json::to_value(&letter).unwrap();
        assert_eq!(json["reason"], "delivery_limit");
        assert_eq!(json["died_at"], "1970-01-01T00:00:00Z");
        assert_eq!(json["job_id"], "job-1");
        assert_eq!(json["bytes"], 1234);
        letter.died_at_secs = None;
        assert!(serde_json::to_value(&letter).unwrap()["died_at"].is_null());
    }
}
