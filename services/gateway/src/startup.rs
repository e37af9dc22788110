//! Building and running the gateway: connect to the broker and MongoDB, declare the topology and this replica's
//! reply queue, bind the HTTP port, then serve and consume replies until told to stop.

use std::{future::Future, net::SocketAddr, sync::Arc};

use anyhow::Context as _;
use futures_util::FutureExt as _;
use imagepipe_archive::ArchiveStore;
use imagepipe_common::{
    amqp::{Broker, ConsumerOptions, ConsumerState, Publisher, consume},
    health::Readiness,
    instance,
    retry::{STARTUP_PATIENCE, with_backoff},
};
use tokio::{net::TcpListener, sync::watch};

use crate::{
    config::Config,
    http::routes::{AppState, routes},
    intake::admission::Admission,
    intake::publish::Submitter,
    tracking::jobs::JobStore,
    tracking::lookup::Lookup,
    tracking::replies::{ReplyHandler, declare_reply_queue},
};

/// Replies (results carry image bytes) in flight at once on the reply queue.
const REPLY_PREFETCH: u16 = 32;

/// A built gateway, ready to run.
pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    instance: String,
    broker: Broker,
    state: AppState,
    readiness: Readiness,
    consumer: Arc<ConsumerState>,
    config: Config,
    stopping: watch::Sender<bool>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("addr", &self.addr)
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Connects, declares the topology and binds the HTTP port (port 0 picks a free one).
    ///
    /// # Errors
    /// When the API keys are misconfigured, the broker or MongoDB cannot be reached, or the address cannot be
    /// bound.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        config.validate()?;
        let keys = Arc::new(config.api_keys().context("Failed to load the API keys")?);
        if keys.is_open() {
            tracing::warn!(
                "No API keys configured (GATEWAY_API_KEYS, GATEWAY_API_KEYS_FILE): the gateway runs open, every \
                 client can see, fetch, list and delete every job."
            );
        } else {
            let owners = keys.owner_count();
            tracing::info!(
                owners,
                keys = keys.key_count(),
                "API keys configured ({owners} owners): jobs are private to their owner."
            );
        }
        let instance = config
            .instance_id
            .clone()
            .unwrap_or_else(instance::generated);
        let broker = Broker::new(&config.amqp, &format!("imagepipe-gateway {instance}"))
            .context("Failed to configure the broker connection")?;
        broker
            .wait_and_declare()
            .await
            .context("Failed to connect to RabbitMQ and declare the topology")?;
        // The reply queue exists before the first job is accepted: a result published before the consumer
        // attaches waits in it instead of being dropped as unroutable.
        with_backoff("RabbitMQ", STARTUP_PATIENCE, || {
            declare_reply_queue(&broker, &instance)
        })
        .await
        .context("Failed to declare the reply queue")?;
        let database = imagepipe_archive::connect(&config.archive, "imagepipe-gateway")
            .await
            .context("Failed to connect to MongoDB")?;
        let archive = with_backoff("MongoDB", STARTUP_PATIENCE, || {
            ArchiveStore::open(database.clone(), &config.archive.mongodb_bucket)
        })
        .await
        .context("Failed to open the GridFS archive")?;
        let jobs = Arc::new(JobStore::new(config.max_tracked_jobs, config.cache_bytes));
        let submitter =
            Submitter::new(Publisher::new(broker.clone()), Arc::clone(&jobs), &instance);
        let stopping = watch::Sender::new(false);
        let transform_bytes = u64::try_from(broker.topology().transform_bound().max_bytes)
            .context("The transform queue's byte bound is negative")?;
        let admission = Admission::new(Arc::clone(&jobs), config.max_queue_wait())
            .with_queue_bytes(transform_bytes);
        let state = AppState {
            submitter: Arc::new(submitter),
            admission: admission.clone(),
            lookup: Lookup::new(Arc::clone(&jobs), archive),
            jobs,
            max_upload_bytes: config.max_upload_bytes,
            max_pixels: config.max_pixels,
            link_base: config.link_base().into(),
            keys,
            stopping: stopping.subscribe(),
        };
        let consumer = Arc::new(ConsumerState::default());
        let readiness = Readiness::default()
            .with_broker(broker.clone())
            .with_database(state.lookup.archive().clone(), |archive| async move {
                archive.ping().await
            })
            .with_consumer(Arc::clone(&consumer))
            .with_load(move || {
                let load = admission.load();
                (load.status == "overloaded", serde_json::json!(load))
            });
        let listener = TcpListener::bind(config.http_addr)
            .await
            .with_context(|| format!("Failed to listen on {}", config.http_addr))?;
        let addr = listener.local_addr()?;
        Ok(Self {
            listener,
            addr,
            instance,
            broker,
            state,
            readiness,
            consumer,
            config,
            stopping,
        })
    }

    /// The address the HTTP API listens on.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// This replica's instance id.
    #[must_use]
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Serves HTTP and consumes replies until `shutdown` completes; then stops accepting, finishes the requests
    /// in flight (those still running after the shutdown grace period are dropped) and closes its broker
    /// channels.
    ///
    /// # Errors
    /// Currently none after a successful build; the signature leaves room for fatal runtime errors.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let stopping = self.stopping;
        let shutdown = async move {
            shutdown.await;
            // Live status streams end, so the graceful shutdown does not wait for them.
            stopping.send_replace(true);
        }
        .shared();
        let handler = Arc::new(ReplyHandler::new(
            Arc::clone(&self.state.jobs),
            &self.instance,
        ));
        let options = ConsumerOptions {
            name: format!("gateway-{}", self.instance),
            prefetch: REPLY_PREFETCH,
            grace: self.config.shutdown_grace(),
        };
        let replies = tokio::spawn(consume(
            self.broker.clone(),
            handler,
            options,
            self.consumer,
            shutdown.clone(),
        ));
        tracing::info!(addr = %self.addr, instance = %self.instance, "Gateway listening.");
        let submitter = Arc::clone(&self.state.submitter);
        let grace = self.config.shutdown_grace();
        let server = warp::serve(routes(self.state, self.readiness))
            .incoming(self.listener)
            .graceful(shutdown.clone())
            .run();
        let overdue = async move {
            shutdown.await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            () = server => {}
            () = overdue => tracing::warn!(
                grace_secs = grace.as_secs(),
                "Requests were still in flight after the shutdown grace period; closing them."
            ),
        }
        let _ = replies.await;
        submitter.publisher().close().await;
        tracing::info!("Gateway stopped.");
        Ok(())
    }
}
