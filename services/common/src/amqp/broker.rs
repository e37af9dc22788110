//! The broker handle: a pool of connections (deadpool, over the broker's nodes: see [`super::nodes`]) plus the
//! names of this process's topology.

use std::time::Duration;

use deadpool::managed::Pool;
use deadpool_lapin::{PoolConfig, Runtime, Timeouts};
use imagepipe_proto::topology::{ArgValue, Topology};
use lapin::{
    Channel, ConnectionProperties, ExchangeKind,
    options::{
        ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions,
        QueueDeleteOptions,
    },
    types::{AMQPValue, FieldTable},
};

use super::nodes::{Nodes, split_urls};
use crate::{
    Error,
    config::AmqpArgs,
    retry::{STARTUP_PATIENCE, with_backoff},
};

/// How often the client and broker exchange heartbeats, unless the URL says otherwise: a dead peer is noticed
/// after two missed beats.
const HEARTBEAT_SECS: u16 = 5;
/// How long opening a TCP connection to the broker may take, unless the URL says otherwise.
const CONNECT_TIMEOUT_MS: u64 = 5_000;
/// How long to wait for a pooled connection.
const POOL_TIMEOUT: Duration = Duration::from_secs(5);

/// A cheap-to-clone handle on the broker. Connections are opened lazily and replaced when they break.
#[derive(Clone)]
pub struct Broker {
    pool: Pool<Nodes>,
    topology: Topology,
    confirm_timeout: Duration,
    max_message_bytes: u64,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker")
            .field("topology", &self.topology)
            .finish_non_exhaustive()
    }
}

impl Broker {
    /// A handle on the broker at `args.amqp_url` (one node's URL, or a cluster's, comma-separated), naming its
    /// connections `connection_name` (shown in the management console). Connects on first use, to a node picked
    /// at random, and moves to another when a node stops answering.
    ///
    /// # Errors
    /// [`Error::Config`] when the pool cannot be built from the arguments.
    pub fn new(args: &AmqpArgs, connection_name: &str) -> Result<Self, Error> {
        let topology =
            Topology::new(args.amqp_namespace.clone()).with_budget(args.amqp_queue_budget_bytes);
        topology
            .check_fits(args.amqp_max_message_bytes)
            .map_err(|why| Error::Config(format!("AMQP_QUEUE_BUDGET_BYTES: {why}")))?;
        let urls: Vec<String> = split_urls(&args.amqp_url)
            .iter()
            .map(|url| with_default_query(url))
            .collect();
        if urls.is_empty() {
            return Err(Error::Config("AMQP_URL names no broker".into()));
        }
        let name = connection_name.to_owned();
        let first = uuid::Uuid::new_v4().as_u128() as usize;
        let nodes = Nodes::new(urls, first, move || {
            ConnectionProperties::default().with_connection_name(name.clone().into())
        });
        // A create may try every node, each within its connection timeout.
        let create = POOL_TIMEOUT * u32::try_from(nodes.len()).unwrap_or(u32::MAX);
        let pool = Pool::builder(nodes)
            .config(PoolConfig {
                max_size: 4,
                timeouts: Timeouts {
                    wait: Some(POOL_TIMEOUT.max(create)),
                    create: Some(create),
                    recycle: Some(POOL_TIMEOUT),
                },
                ..PoolConfig::default()
            })
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|error| Error::Config(format!("cannot build the AMQP pool: {error}")))?;
        Ok(Self {
            pool,
            topology,
            confirm_timeout: args.confirm_timeout(),
            max_message_bytes: args.amqp_max_message_bytes,
        })
    }

    /// The names this process uses.
    #[must_use]
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// How long a publisher waits for the broker's confirm.
    #[must_use]
    pub fn confirm_timeout(&self) -> Duration {
        self.confirm_timeout
    }

    /// The largest message the broker accepts.
    #[must_use]
    pub fn max_message_bytes(&self) -> u64 {
        self.max_message_bytes
    }

    /// Opens a new channel on a pooled connection (opening or replacing the connection if needed).
    ///
    /// # Errors
    /// [`Error::Pool`] when the broker cannot be reached, [`Error::Amqp`] when it refuses the channel.
    pub async fn channel(&self) -> Result<Channel, Error> {
        let connection = self.pool.get().await?;
        Ok(connection.create_channel().await?)
    }

    /// Whether the broker answers now: opens and closes a channel on a pooled connection, a round trip, so a
    /// connection whose peer vanished since its last heartbeat fails the check too.
    ///
    /// # Errors
    /// What kept the check from succeeding.
    pub async fn check(&self) -> Result<(), Error> {
        let channel = self.channel().await?;
        channel.close(200, "readiness check".into()).await?;
        Ok(())
    }

    /// Declares the exchanges, durable queues and bindings of the topology, on channels of its own. Idempotent:
    /// every service calls it at start and after reconnecting; the arguments are the same everywhere. A queue
    /// an older release declared with other arguments is kept as it is, with a warning (see
    /// [`Broker::declare_queue`]).
    ///
    /// # Errors
    /// [`Error::Amqp`] / [`Error::Pool`] when the broker refuses a declaration or cannot be reached.
    pub async fn declare_topology(&self) -> Result<(), Error> {
        let channel = self.channel().await?;
        let durable = ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        };
        for exchange in [
            self.topology.exchange(),
            self.topology.dead_letter_exchange(),
        ] {
            channel
                .exchange_declare(
                    exchange.into(),
                    ExchangeKind::Topic,
                    durable,
                    FieldTable::default(),
                )
                .await?;
        }
        let _ = channel.close(200, "exchanges declared".into()).await;
        let durable = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        for queue in self.topology.durable_queues() {
            self.declare_queue(&queue.name, durable, &queue.arguments, &queue.bindings)
                .await?;
        }
        Ok(())
    }

    /// Declares queue `name` with `options` and `arguments` and binds it, on a channel of its own. When the
    /// queue exists with other arguments (declared by an older release, before its bounds changed), the
    /// broker refuses the declaration (`PRECONDITION_FAILED`) and closes the channel: the queue is then kept
    /// as it is, bound on a fresh channel, and a warning names the migration (docs/operations.md, "Queue
    /// bounds"). A deployment keeps running through an upgrade; its old queues just miss the new bounds.
    ///
    /// # Errors
    /// [`Error::Amqp`] / [`Error::Pool`] when the broker refuses otherwise or cannot be reached.
    pub async fn declare_queue(
        &self,
        name: &str,
        options: QueueDeclareOptions,
        arguments: &[(&'static str, ArgValue)],
        bindings: &[(String, String)],
    ) -> Result<(), Error> {
        let mut channel = self.channel().await?;
        let declared = channel
            .queue_declare(name.into(), options, field_table(arguments))
            .await;
        if let Err(error) = declared {
            if !is_precondition_failed(&error) {
                return Err(error.into());
            }
            tracing::warn!(
                queue = %name,
                %error,
                "The queue exists with other arguments (an older release declared it); keeping it as it is. \
                 It lacks the current bounds until migrated: see docs/operations.md, \"Queue bounds\"."
            );
            channel = self.channel().await?;
            ready_count(&channel, name).await?;
        }
        for (exchange, routing_key) in bindings {
            channel
                .queue_bind(
                    name.into(),
                    exchange.as_str().into(),
                    routing_key.as_str().into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }
        let _ = channel.close(200, "queue declared".into()).await;
        Ok(())
    }

    /// Connects and declares the topology on a channel of its own, waiting with backoff for up to
    /// [`STARTUP_PATIENCE`] while the broker does not answer (so services may start before it).
    ///
    /// # Errors
    /// The last error once the patience is over, or at once when the broker refuses a declaration.
    pub async fn wait_and_declare(&self) -> Result<(), Error> {
        with_backoff("RabbitMQ", STARTUP_PATIENCE, || async {
            self.declare_topology().await
        })
        .await
    }

    /// Deletes everything [`Broker::declare_topology`] declared. For tests and tools.
    ///
    /// # Errors
    /// [`Error::Amqp`] when the broker refuses a deletion.
    pub async fn delete_topology(&self) -> Result<(), Error> {
        let channel = self.channel().await?;
        for queue in self.topology.durable_queues() {
            channel
                .queue_delete(queue.name.into(), QueueDeleteOptions::default())
                .await?;
        }
        for exchange in [
            self.topology.exchange(),
            self.topology.dead_letter_exchange(),
        ] {
            channel
                .exchange_delete(exchange.into(), ExchangeDeleteOptions::default())
                .await?;
        }
        let _ = channel.close(200, "done".into()).await;
        Ok(())
    }
}

/// Messages ready on `queue` now, asked with a passive declaration (which declares nothing).
///
/// # Errors
/// [`Error::Amqp`] when the queue does not exist (the broker closes `channel`) or the channel broke.
pub async fn ready_count(channel: &Channel, queue: &str) -> Result<u32, Error> {
    let passive = QueueDeclareOptions {
        passive: true,
        ..QueueDeclareOptions::default()
    };
    Ok(channel
        .queue_declare(queue.into(), passive, FieldTable::default())
        .await?
        .message_count())
}

/// A queue's arguments as AMQP sends them.
fn field_table(arguments: &[(&'static str, ArgValue)]) -> FieldTable {
    let mut table = FieldTable::default();
    for (key, value) in arguments {
        let value = match value {
            ArgValue::Str(text) => AMQPValue::LongString((*text).into()),
            ArgValue::Name(text) => AMQPValue::LongString(text.as_str().into()),
            ArgValue::Int(number) => AMQPValue::LongLongInt(*number),
        };
        table.insert((*key).into(), value);
    }
    table
}

/// Whether the broker refused with `PRECONDITION_FAILED` (406): a redeclaration with other arguments.
fn is_precondition_failed(error: &lapin::Error) -> bool {
    matches!(error.kind(), lapin::ErrorKind::ProtocolError(amqp) if amqp.get_id() == 406)
}

/// Adds a heartbeat and a connection timeout to the URL's query unless it sets them.
fn with_default_query(url: &str) -> String {
    let mut url = url.to_owned();
    for (key, value) in [
        ("heartbeat", HEARTBEAT_SECS.to_string()),
        ("connection_timeout", CONNECT_TIMEOUT_MS.to_string()),
    ] {
        if !url.contains(&format!("{key}=")) {
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(&format!("{key}={value}"));
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_heartbeat_and_timeout_only_when_absent() {
        assert_eq!(
            with_default_query("amqp://h:5672/%2f"),
            "amqp://h:5672/%2f?heartbeat=5&connection_timeout=5000"
        );
        assert_eq!(
            with_default_query("amqp://h/%2f?heartbeat=3"),
            "amqp://h/%2f?heartbeat=3&connection_timeout=5000"
        );
    }
}
