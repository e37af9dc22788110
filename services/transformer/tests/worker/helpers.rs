//! `spawn_app()`: a transformer on a private topology of the real broker, plus a stand-in for the gateway's
//! reply queue, and the means to submit jobs and read what comes out.

use std::time::Duration;

use clap::Parser;

use imagepipe_common::{
    amqp::{Broker, Channel, Delivery, Envelope, Publisher},
    config::AmqpArgs,
    testkit::{EVENT_TIMEOUT, amqp_url, unique},
};
use imagepipe_proto::{Message, topology::routing, v1::ImageSubmitted};
use imagepipe_transformer::{Application, Config};
use lapin::{
    BasicProperties,
    options::{
        BasicAckOptions, BasicGetOptions, BasicPublishOptions, QueueBindOptions,
        QueueDeclareOptions, QueueDeleteOptions,
    },
    types::FieldTable,
};
use tokio::{io::AsyncReadExt, io::AsyncWriteExt, sync::oneshot, task::JoinHandle};

/// The gateway instance the test jobs claim to come from.
pub const GATEWAY: &str = "test-gw";
/// The transformer's instance id in these tests.
pub const INSTANCE: &str = "tf-test";
/// How long a graceful stop may take: the transformer's grace period (30 s by default) for the jobs in flight,
/// and then some, so that a loaded machine slows the test down without failing it.
const STOP_WITHIN: Duration = Duration::from_secs(90);

/// A running transformer and the test's handles on its topology.
pub struct TestApp {
    pub broker: Broker,
    pub publisher: Publisher,
    pub channel: Channel,
    /// Where results for [`GATEWAY`] arrive.
    pub result_queue: String,
    pub health_addr: std::net::SocketAddr,
    stop: oneshot::Sender<()>,
    running: JoinHandle<anyhow::Result<()>>,
}

/// Starts a transformer (2 workers) on a fresh namespace `t-<uuid>`, with a result queue bound for
/// [`GATEWAY`].
pub async fn spawn_app() -> TestApp {
    spawn_app_with_queues(None).await
}

/// [`spawn_app`] with its queues sized from `budget` bytes and messages of at most `max_message` bytes
/// (`None`: the defaults), the test's broker handle sized the same.
pub async fn spawn_app_with_queues(sizes: Option<(u64, u64)>) -> TestApp {
    let namespace = unique("t");
    let url = amqp_url();
    let mut args = AmqpArgs::new(url.clone(), namespace.clone());
    if let Some((budget, max_message)) = sizes {
        args.amqp_queue_budget_bytes = budget;
        args.amqp_max_message_bytes = max_message;
    }
    let broker = Broker::new(&args, "transformer-tests").expect("broker handle");
    let channel = broker
        .channel()
        .await
        .expect("a channel on the test broker");
    broker.declare_topology().await.expect("topology");
    let result_queue = broker.topology().gateway_queue(GATEWAY);
    channel
        .queue_declare(
            result_queue.as_str().into(),
            QueueDeclareOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("result queue");
    channel
        .queue_bind(
            result_queue.as_str().into(),
            broker.topology().exchange().into(),
            routing::result(GATEWAY).into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("result binding");

    let budget = args.amqp_queue_budget_bytes.to_string();
    let max_message = args.amqp_max_message_bytes.to_string();
    let config = Config::try_parse_from([
        "imagepipe-transformer",
        "--amqp-url",
        &url,
        "--amqp-namespace",
        &namespace,
        "--amqp-queue-budget-bytes",
        &budget,
        "--amqp-max-message-bytes",
        &max_message,
        "--http-addr",
        "127.0.0.1:0",
        "--workers",
        "2",
        "--instance-id",
        INSTANCE,
    ])
    .expect("config");
    let app = Application::build(config)
        .await
        .expect("the transformer starts");
    let health_addr = app.addr();
    let (stop, stopped) = oneshot::channel();
    let running = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    TestApp {
        publisher: Publisher::new(broker.clone()),
        broker,
        channel,
        result_queue,
        health_addr,
        stop,
        running,
    }
}

/// A job for `original` from [`GATEWAY`].
pub fn job(original: Vec<u8>, spec: imagepipe_proto::v1::TransformSpec) -> ImageSubmitted {
    let id = uuid::Uuid::new_v4().to_string();
    ImageSubmitted {
        trace_id: format!("trace-{id}"),
        job_id: id,
        reply_routing_key: routing::result(GATEWAY),
        submitted_at_ms: imagepipe_common::time::now_ms(),
        spec: Some(spec),
        original: original.into(),
        original_info: None,
        accepted_by: GATEWAY.into(),
        filename: "test-image".into(),
        variants: Vec::new(),
        owner: String::new(),
    }
}

impl TestApp {
    /// Publishes `job` as the gateway does: mandatory, persistent, confirmed.
    pub async fn submit(&self, job: &ImageSubmitted) {
        let envelope = Envelope {
            routing_key: routing::SUBMIT,
            job_id: &job.job_id,
            trace_id: &job.trace_id,
            persistent: true,
            mandatory: true,
        };
        self.publisher
            .publish(envelope, job)
            .await
            .expect("the broker confirms the job");
    }

    /// Publishes raw bytes with the submit routing key (a producer that breaks the contract).
    pub async fn submit_raw(&self, payload: &[u8]) {
        let confirm = self
            .channel
            .basic_publish(
                self.broker.topology().exchange().into(),
                routing::SUBMIT.into(),
                BasicPublishOptions::default(),
                payload,
                BasicProperties::default(),
            )
            .await
            .expect("publish");
        confirm.await.expect("published");
    }

    /// The next message on `queue` (acked), decoded as `M`, waiting up to [`EVENT_TIMEOUT`] for it.
    pub async fn next<M: Message>(&self, queue: &str) -> (M, Delivery) {
        let delivery = self.next_delivery(queue).await;
        let message = M::from_payload(delivery.data.clone()).expect("a valid contract message");
        (message, delivery)
    }

    /// The next delivery on `queue` (acked), waiting up to [`EVENT_TIMEOUT`] for it.
    pub async fn next_delivery(&self, queue: &str) -> Delivery {
        let deadline = tokio::time::Instant::now() + EVENT_TIMEOUT;
        loop {
            let got = self
                .channel
                .basic_get(queue.into(), BasicGetOptions::default())
                .await
                .expect("basic.get");
            if let Some(message) = got {
                message
                    .delivery
                    .acker
                    .ack(BasicAckOptions::default())
                    .await
                    .expect("ack");
                return message.delivery;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no message on {queue} within {EVENT_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Messages ready on `queue` now.
    pub async fn ready_count(&self, queue: &str) -> u32 {
        ready_count(&self.channel, queue).await
    }

    /// `GET path` on the health endpoints: the status code and the body.
    pub async fn get_health(&self, path: &str) -> (u16, String) {
        let mut stream = tokio::net::TcpStream::connect(self.health_addr)
            .await
            .expect("health port");
        let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut response = String::new();
        stream.read_to_string(&mut response).await.expect("read");
        let status = response
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .expect("an HTTP status line");
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_owned())
            .unwrap_or_default();
        (status, body)
    }

    /// Stops the transformer gracefully (it finishes and settles what is in flight), and returns the handles
    /// still needed to inspect the queues afterwards.
    pub async fn stop(self) -> Stopped {
        let _ = self.stop.send(());
        tokio::time::timeout(STOP_WITHIN, self.running)
            .await
            .expect("the transformer stops, its grace period over at the latest")
            .expect("the transformer task")
            .expect("the transformer ran without error");
        self.publisher.close().await;
        Stopped {
            broker: self.broker,
            channel: self.channel,
            result_queue: self.result_queue,
        }
    }
}

/// What remains of a [`TestApp`] after its transformer stopped.
pub struct Stopped {
    pub broker: Broker,
    pub channel: Channel,
    result_queue: String,
}

impl Stopped {
    /// Messages ready on `queue`: after a graceful stop, unacked deliveries are back to ready, so this counts
    /// every message the transformer did not settle.
    pub async fn ready_count(&self, queue: &str) -> u32 {
        ready_count(&self.channel, queue).await
    }

    /// Deletes the test's queue and the whole private topology.
    pub async fn clean_up(self) {
        self.channel
            .queue_delete(
                self.result_queue.as_str().into(),
                QueueDeleteOptions::default(),
            )
            .await
            .expect("delete the result queue");
        let _ = self.channel.close(200, "done".into()).await;
        self.broker
            .delete_topology()
            .await
            .expect("delete the topology");
    }
}

async fn ready_count(channel: &Channel, queue: &str) -> u32 {
    imagepipe_common::amqp::ready_count(channel, queue)
        .await
        .expect("queue exists")
}
