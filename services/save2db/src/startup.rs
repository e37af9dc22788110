//! Wiring: connect MongoDB and the broker, open the store and the history, bind the health port, then consume
//! archives and job events until shutdown.

use std::{future::Future, net::SocketAddr, sync::Arc};

use anyhow::Context;
use futures_util::FutureExt as _;
use imagepipe_archive::{ArchiveStore, JobHistory};
use imagepipe_common::{
    amqp::{Broker, ConsumerOptions, ConsumerState, Publisher, consume},
    health::{self, Readiness},
    instance,
    retry::{STARTUP_PATIENCE, with_backoff},
};
use tokio::net::TcpListener;

use crate::{ActivityWorker, ArchiveWorker, Config, activity};

/// The name save2db uses for its MongoDB client and consumer.
const SERVICE: &str = "imagepipe-save2db";

/// A built save2db: connected, topology declared, health port bound, not yet consuming.
#[derive(Debug)]
pub struct Application {
    config: Config,
    /// This replica's name in job events.
    instance_id: String,
    broker: Broker,
    store: ArchiveStore,
    history: JobHistory,
    listener: TcpListener,
    addr: SocketAddr,
}

impl Application {
    /// Connects to MongoDB (opening the store and creating its indexes) and to the broker (declaring the
    /// topology), and binds the health port.
    ///
    /// # Errors
    /// When the database or broker cannot be reached, or the port cannot be bound.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let database = imagepipe_archive::connect(&config.archive, SERVICE)
            .await
            .context("Failed to configure the MongoDB client")?;
        let store = with_backoff("MongoDB", STARTUP_PATIENCE, || {
            ArchiveStore::open(database.clone(), &config.archive.mongodb_bucket)
        })
        .await
        .context("Failed to open the archive store in MongoDB")?;
        let history = with_backoff("MongoDB", STARTUP_PATIENCE, || JobHistory::open(&database))
            .await
            .context("Failed to open the job history in MongoDB")?;
        let instance_id = config
            .instance_id
            .clone()
            .unwrap_or_else(instance::generated);
        let broker = Broker::new(&config.amqp, &format!("{SERVICE} {instance_id}"))
            .context("Failed to configure the broker connection")?;
        broker
            .wait_and_declare()
            .await
            .context("Failed to connect to the broker and declare the topology")?;
        crate::metrics::register();
        let listener = health::bind(config.http_addr)
            .await
            .context("Failed to bind the health port")?;
        let addr = listener
            .local_addr()
            .context("Failed to read the health port's address")?;
        tracing::info!(%addr, bucket = %config.archive.mongodb_bucket, %instance_id, "save2db is ready.");
        Ok(Self {
            config,
            instance_id,
            broker,
            store,
            history,
            listener,
            addr,
        })
    }

    /// Where `/healthz` and `/readyz` listen.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The store this application writes to.
    #[must_use]
    pub fn store(&self) -> &ArchiveStore {
        &self.store
    }

    /// Consumes archives and serves the health routes until `shutdown` completes; then stops consuming, lets
    /// the archives in flight finish (within the grace period), and returns.
    ///
    /// # Errors
    /// None today; the signature leaves room for fatal runtime errors.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let shutdown = shutdown.shared();

        let database = self.store.clone();
        let worker = Arc::new(ArchiveWorker::new(
            self.store,
            Publisher::new(self.broker.clone()),
            self.instance_id,
        ));
        let state = Arc::new(ConsumerState::default());
        let activity_state = Arc::new(ConsumerState::default());
        let readiness = Readiness::default()
            .with_broker(self.broker.clone())
            .with_database(database, |store| async move { store.ping().await })
            .with_consumer(Arc::clone(&state))
            .with_consumer(Arc::clone(&activity_state));
        let options = ConsumerOptions {
            name: "save2db".to_owned(),
            prefetch: self.config.prefetch,
            grace: self.config.shutdown_grace(),
        };
        let consumer = consume(
            self.broker.clone(),
            Arc::clone(&worker),
            options,
            state,
            shutdown.clone(),
        );
        // The activity log: its own consumer and channel, stopped and drained like the archive consumer.
        let activity = consume(
            self.broker,
            Arc::new(ActivityWorker::new(self.history)),
            ConsumerOptions {
                name: "save2db-activity".to_owned(),
                prefetch: activity::PREFETCH,
                grace: self.config.shutdown_grace(),
            },
            activity_state,
            shutdown.clone(),
        );
        let health = health::serve(self.listener, readiness, shutdown);
        tokio::join!(consumer, activity, health);
        worker.publisher().close().await;
        tracing::info!("save2db stopped.");
        Ok(())
    }
}
