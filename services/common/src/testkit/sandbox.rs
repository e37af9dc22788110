//! A sandbox: one test's private namespace on the real broker, and the in-process services the test started
//! in it, stopped together at the end, when the namespace's exchanges and queues are deleted.

use std::{fmt::Debug, future::Future, net::SocketAddr, time::Duration};

use futures_util::{FutureExt as _, future::BoxFuture};
use tokio::{sync::watch, task::JoinHandle};

use super::{CutProxy, amqp_url, unique, wait_ready};
use crate::{amqp::Broker, config::AmqpArgs};

/// How long a service gets to stop at teardown.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// One test's namespace and the services running in it.
#[derive(Debug)]
pub struct Sandbox {
    /// The prefix of the sandbox's exchanges and queues: `t-<uuid>`.
    pub namespace: String,
    /// The broker URL services started from now on use (the test's own handles use [`amqp_url`]).
    service_amqp_url: String,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    /// A new, empty namespace.
    #[must_use]
    pub fn new() -> Self {
        Self {
            namespace: unique("t"),
            service_amqp_url: amqp_url(),
            stop: watch::channel(false).0,
            tasks: Vec::new(),
        }
    }

    /// Services started from now on reach the broker through `proxy`.
    pub fn broker_through(&mut self, proxy: &CutProxy) {
        self.service_amqp_url = proxy.url_for(&amqp_url());
    }

    /// Services started from now on know the broker as several nodes, one through each of `proxies`: a
    /// cluster, as far as they can tell, whose nodes the test can take away one at a time.
    pub fn broker_through_nodes(&mut self, proxies: &[&CutProxy]) {
        let url = amqp_url();
        self.service_amqp_url = proxies
            .iter()
            .map(|proxy| proxy.url_for(&url))
            .collect::<Vec<_>>()
            .join(",");
    }

    /// The flags that put a service in this sandbox: its HTTP port on `127.0.0.1:0`, the broker, the
    /// namespace.
    #[must_use]
    pub fn flags(&self) -> Vec<String> {
        [
            "--http-addr",
            "127.0.0.1:0",
            "--amqp-url",
            &self.service_amqp_url,
            "--amqp-namespace",
            &self.namespace,
        ]
        .map(str::to_owned)
        .to_vec()
    }

    /// A handle on the sandbox's topology, for the test's own use (directly, never through a proxy).
    ///
    /// # Panics
    /// When the broker URL is malformed.
    #[must_use]
    pub fn broker(&self) -> Broker {
        Broker::new(
            &AmqpArgs::new(amqp_url(), &self.namespace),
            "imagepipe-tests",
        )
        .expect("a broker handle")
    }

    /// A future that completes when the sandbox is torn down: what the services run until.
    #[must_use]
    pub fn stopped(&self) -> BoxFuture<'static, ()> {
        let mut stopped = self.stop.subscribe();
        async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }
        .boxed()
    }

    /// Runs a built service, `run(stopped)`, until the sandbox is torn down, and waits until its `/readyz` (at
    /// `addr`) answers `200`.
    ///
    /// # Panics
    /// When the service does not become ready, or later fails.
    pub async fn run<F, Fut, E>(&mut self, addr: SocketAddr, run: F)
    where
        F: FnOnce(BoxFuture<'static, ()>) -> Fut,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Debug,
    {
        let running = run(self.stopped());
        self.tasks.push(tokio::spawn(async move {
            running.await.expect("the service runs until stopped");
        }));
        wait_ready(addr).await;
    }

    /// Stops every service (each within 30 s), then deletes the namespace's exchanges and queues.
    pub async fn teardown(self) {
        let _ = self.stop.send(true);
        let broker = self.broker();
        for task in self.tasks {
            let _ = tokio::time::timeout(STOP_TIMEOUT, task).await;
        }
        let _ = broker.delete_topology().await;
    }
}
