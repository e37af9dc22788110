//! Building and running a transformer replica: the same [`Application`] runs in `main` and in tests.

use std::{future::Future, net::SocketAddr, sync::Arc};

use anyhow::Context;
use futures_util::FutureExt;
use imagepipe_common::{
    amqp::{Broker, ConsumerOptions, ConsumerState, Publisher, consume, redact},
    health::{self, Readiness},
    instance,
};
use tokio::net::TcpListener;

use crate::{config::Config, worker::TransformWorker};

/// A transformer replica, connected and bound, not yet consuming.
#[derive(Debug)]
pub struct Application {
    broker: Broker,
    publisher: Arc<Publisher>,
    worker: Arc<TransformWorker>,
    options: ConsumerOptions,
    listener: TcpListener,
    addr: SocketAddr,
}

impl Application {
    /// Connects to the broker, declares the topology (so a broker problem shows at start, not later) and binds
    /// the health endpoints.
    ///
    /// # Errors
    /// When the broker cannot be reached or refuses the topology, or the health address cannot be bound.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let instance_id = config
            .instance_id
            .clone()
            .unwrap_or_else(instance::generated);
        let connection_name = format!("imagepipe-transformer {instance_id}");
        let broker = Broker::new(&config.amqp, &connection_name)
            .context("Failed to set up the broker connection pool")?;
        broker.wait_and_declare().await.with_context(|| {
            format!(
                "Failed to connect to the broker at {} and declare the topology",
                redact(&config.amqp.amqp_url)
            )
        })?;
        let listener = health::bind(config.http_addr)
            .await
            .context("Failed to bind the health endpoints")?;
        let addr = listener
            .local_addr()
            .context("Failed to read the health address")?;

        crate::metrics::register();
        let publisher = Arc::new(Publisher::new(broker.clone()));
        let worker = Arc::new(
            TransformWorker::new(Arc::clone(&publisher), config.limits(), instance_id.clone())
                .with_presets(config.presets.clone()),
        );
        let options = ConsumerOptions {
            name: format!("transformer-{instance_id}"),
            prefetch: config.workers,
            grace: config.shutdown_grace(),
        };
        tracing::info!(
            %addr,
            %instance_id,
            workers = config.workers,
            max_pixels = config.max_pixels,
            queue = %broker.topology().transform_queue(),
            "Transformer ready."
        );
        Ok(Self {
            broker,
            publisher,
            worker,
            options,
            listener,
            addr,
        })
    }

    /// The address of the health endpoints (the real port when configured with port 0).
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Consumes jobs and serves `/healthz` + `/readyz` until `shutdown` completes; then stops consuming, lets
    /// the jobs in flight finish (within the grace period) and closes the channels.
    ///
    /// # Errors
    /// When the health server task fails.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let shutdown = shutdown.shared();
        let state = Arc::new(ConsumerState::default());
        let readiness = Readiness::default()
            .with_broker(self.broker.clone())
            .with_consumer(Arc::clone(&state));
        let health = tokio::spawn(health::serve(self.listener, readiness, shutdown.clone()));
        consume(self.broker, self.worker, self.options, state, shutdown).await;
        self.publisher.close().await;
        health.await.context("The health server task failed")?;
        tracing::info!("Transformer stopped.");
        Ok(())
    }
}
