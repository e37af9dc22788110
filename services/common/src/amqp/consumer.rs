//! The consumer loop every worker runs: (re)connect, declare, consume with a prefetch, hand each delivery to a
//! [`Handler`], act on its [`Disposition`], and on shutdown cancel, finish what is in flight, and close.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use futures_util::StreamExt;
use lapin::{
    Channel,
    message::Delivery,
    options::{
        BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions,
        BasicQosOptions, BasicRejectOptions,
    },
    types::FieldTable,
};
use tokio::{task::JoinSet, time::Instant};

use super::{Broker, metrics};
use crate::{Error, retry::Backoff};

/// What to do with a delivery once it has been handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Done (or failed permanently and reported as such): remove it from the queue.
    Ack,
    /// Failed for a reason that may pass (broker or database hiccup): deliver it again. The quorum queue's
    /// delivery limit dead-letters it if it never succeeds.
    Requeue,
    /// Poison (undecodable message): send it to the dead-letter queue now.
    DeadLetter,
}

/// A consumer's work.
pub trait Handler: Send + Sync + 'static {
    /// Declares what the consumer needs on a fresh `channel` and returns the queue to consume. Called at start
    /// and after every reconnection.
    fn prepare(
        &self,
        broker: &Broker,
        channel: &Channel,
    ) -> impl Future<Output = Result<String, Error>> + Send;

    /// Handles one delivery; must not panic (a panic is treated as [`Disposition::Requeue`]).
    fn handle(&self, delivery: &Delivery) -> impl Future<Output = Disposition> + Send;
}

/// How a consumer runs.
#[derive(Debug, Clone)]
pub struct ConsumerOptions {
    /// Consumer tag prefix, shown in the management console.
    pub name: String,
    /// Deliveries in flight at once (AMQP prefetch).
    pub prefetch: u16,
    /// How long in-flight deliveries may take to finish at shutdown.
    pub grace: Duration,
}

/// Whether the consumer is attached to its queue right now (for `/readyz`).
#[derive(Debug, Default)]
pub struct ConsumerState {
    consuming: AtomicBool,
}

impl ConsumerState {
    /// Whether the consumer is attached.
    #[must_use]
    pub fn is_consuming(&self) -> bool {
        self.consuming.load(Ordering::Relaxed)
    }

    /// A state that says attached, for tests of what reads it.
    #[cfg(test)]
    pub(crate) fn attached() -> Self {
        Self {
            consuming: AtomicBool::new(true),
        }
    }
}

enum SessionEnd {
    Shutdown,
}

/// Runs the consumer until `shutdown` completes, reconnecting with backoff whenever the connection or channel
/// is lost. At shutdown the consumer is cancelled, in-flight deliveries get `options.grace` to finish and be
/// acknowledged, and the channel is closed.
pub async fn consume<H: Handler>(
    broker: Broker,
    handler: Arc<H>,
    options: ConsumerOptions,
    state: Arc<ConsumerState>,
    shutdown: impl Future<Output = ()> + Send,
) {
    let mut shutdown = std::pin::pin!(shutdown);
    let mut in_flight = JoinSet::new();
    let mut backoff = Backoff::default();
    // When the broker was lost, and how many reconnection attempts have failed since: one line at the loss,
    // one at the recovery, the attempts in between at debug level.
    let mut outage: Option<(Instant, u32)> = None;
    loop {
        let session = run_session(
            &broker,
            &handler,
            &options,
            &state,
            &mut shutdown,
            &mut in_flight,
            &mut outage,
        );
        match session.await {
            Ok(SessionEnd::Shutdown) => break,
            Err(error) => {
                state.consuming.store(false, Ordering::Relaxed);
                let delay = match &mut outage {
                    None => {
                        backoff.reset();
                        let delay = backoff.next_delay();
                        tracing::warn!(
                            consumer = %options.name,
                            %error,
                            "Lost the broker; reconnecting with backoff (deliveries not yet acknowledged will be redelivered)."
                        );
                        outage = Some((Instant::now(), 1));
                        delay
                    }
                    Some((_, attempts)) => {
                        *attempts += 1;
                        let delay = backoff.next_delay();
                        tracing::debug!(consumer = %options.name, %error, retry_in_ms = delay.as_millis() as u64, "Still cannot reach the broker.");
                        delay
                    }
                };
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = &mut shutdown => break,
                }
            }
        }
    }
    state.consuming.store(false, Ordering::Relaxed);
    drain(&mut in_flight, options.grace, &options.name).await;
}

async fn run_session<H: Handler>(
    broker: &Broker,
    handler: &Arc<H>,
    options: &ConsumerOptions,
    state: &ConsumerState,
    shutdown: &mut std::pin::Pin<&mut (impl Future<Output = ()> + Send)>,
    in_flight: &mut JoinSet<()>,
    outage: &mut Option<(Instant, u32)>,
) -> Result<SessionEnd, Error> {
    let channel = broker.channel().await?;
    let queue = handler.prepare(broker, &channel).await?;
    let role: Arc<str> = metrics::queue_role(broker.topology().namespace(), &queue).into();
    channel
        .basic_qos(options.prefetch.max(1), BasicQosOptions::default())
        .await?;
    let tag = format!("{}-{}", options.name, uuid::Uuid::new_v4().simple());
    let mut consumer = channel
        .basic_consume(
            queue.as_str().into(),
            tag.as_str().into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    state.consuming.store(true, Ordering::Relaxed);
    match outage.take() {
        Some((since, attempts)) => tracing::info!(
            consumer = %options.name,
            %queue,
            outage_ms = since.elapsed().as_millis() as u64,
            attempts,
            "Reconnected to the broker; consuming again."
        ),
        None => {
            tracing::info!(consumer = %options.name, %queue, prefetch = options.prefetch, "Consuming.")
        }
    }
    loop {
        tokio::select! {
            next = consumer.next() => match next {
                Some(Ok(delivery)) => {
                    metrics::delivered(&role, delivery.redelivered);
                    let handler = Arc::clone(handler);
                    let role = Arc::clone(&role);
                    in_flight.spawn(async move { settle(&*handler, delivery, &role).await });
                }
                Some(Err(error)) => return Err(error.into()),
                None => return Err(Error::Config(format!("the broker cancelled consumer {tag}"))),
            },
            Some(joined) = in_flight.join_next(), if !in_flight.is_empty() => {
                if let Err(error) = joined {
                    tracing::error!(%error, "A delivery task died; its message will be redelivered.");
                }
            }
            () = &mut *shutdown => {
                tracing::info!(consumer = %options.name, "Cancelling the consumer; finishing deliveries in flight.");
                let _ = channel.basic_cancel(tag.as_str().into(), BasicCancelOptions::default()).await;
                state.consuming.store(false, Ordering::Relaxed);
                drain(in_flight, options.grace, &options.name).await;
                let _ = channel.close(200, "shutting down".into()).await;
                return Ok(SessionEnd::Shutdown);
            }
        }
    }
}

async fn settle<H: Handler>(handler: &H, delivery: Delivery, role: &str) {
    let disposition = handler.handle(&delivery).await;
    metrics::settled(
        role,
        match disposition {
            Disposition::Ack => "ack",
            Disposition::Requeue => "requeue",
            Disposition::DeadLetter => "dead_letter",
        },
    );
    let result = match disposition {
        Disposition::Ack => delivery.acker.ack(BasicAckOptions::default()).await,
        Disposition::Requeue => {
            delivery
                .acker
                .nack(BasicNackOptions {
                    multiple: false,
                    requeue: true,
                })
                .await
        }
        Disposition::DeadLetter => {
            delivery
                .acker
                .reject(BasicRejectOptions { requeue: false })
                .await
        }
    };
    if let Err(error) = result {
        tracing::warn!(%error, ?disposition, "Could not settle a delivery; the broker will redeliver it.");
    }
}

async fn drain(in_flight: &mut JoinSet<()>, grace: Duration, name: &str) {
    if in_flight.is_empty() {
        return;
    }
    let finished = tokio::time::timeout(grace, async {
        while in_flight.join_next().await.is_some() {}
    })
    .await;
    if finished.is_err() {
        tracing::warn!(consumer = %name, left = in_flight.len(), "Grace period over; abandoning deliveries in flight (they will be redelivered).");
        in_flight.abort_all();
    }
}
