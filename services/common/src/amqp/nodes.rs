//! The broker's nodes: `AMQP_URL` may name several (the nodes of a RabbitMQ cluster, comma-separated), and the
//! connection pool opens each new connection to the first of them that answers.
//!
//! Each process starts at a node of its own (picked at random, so that many replicas spread their connections
//! over the cluster) and stays there while it answers. When a pooled connection breaks, the next one is tried on
//! the nodes after the one it was on, so a lost node costs one failed recycle, not a connect timeout per
//! connection. What a node's loss does to work in flight is the consumers' and publishers' business: a consumer
//! reconnects and re-declares through the pool, its unacknowledged deliveries are redelivered by the broker, and
//! a publish whose confirm never came is answered as an error, never as a success (see [`crate::amqp`]).

use std::sync::atomic::{AtomicUsize, Ordering};

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use lapin::ConnectionProperties;

/// A broker connection, with the node it was opened to.
#[derive(Debug)]
pub struct NodeConnection {
    connection: lapin::Connection,
    node: usize,
}

impl std::ops::Deref for NodeConnection {
    type Target = lapin::Connection;

    fn deref(&self) -> &lapin::Connection {
        &self.connection
    }
}

/// The pool's connection manager over the broker's nodes.
pub struct Nodes {
    urls: Vec<String>,
    /// The node new connections try first.
    next: AtomicUsize,
    /// The node of the last connection opened (`usize::MAX`: none yet), so a move to another node is logged once.
    connected: AtomicUsize,
    properties: Box<dyn Fn() -> ConnectionProperties + Send + Sync>,
}

impl std::fmt::Debug for Nodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nodes")
            .field(
                "urls",
                &self.urls.iter().map(|url| redact(url)).collect::<Vec<_>>(),
            )
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl Nodes {
    /// Connections to `urls` (at least one), each opened with `properties`, starting at the node `first` (modulo
    /// their number).
    #[must_use]
    pub fn new(
        urls: Vec<String>,
        first: usize,
        properties: impl Fn() -> ConnectionProperties + Send + Sync + 'static,
    ) -> Self {
        assert!(!urls.is_empty(), "a broker needs at least one node");
        let next = AtomicUsize::new(first % urls.len());
        Self {
            urls,
            next,
            connected: AtomicUsize::new(usize::MAX),
            properties: Box::new(properties),
        }
    }

    /// How many nodes there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.urls.len()
    }

    /// The node new connections try first.
    #[cfg(test)]
    fn preferred(&self) -> usize {
        self.next.load(Ordering::Relaxed)
    }
}

impl managed::Manager for Nodes {
    type Type = NodeConnection;
    type Error = lapin::Error;

    async fn create(&self) -> Result<NodeConnection, lapin::Error> {
        let first = self.next.load(Ordering::Relaxed);
        let mut failure = None;
        for offset in 0..self.urls.len() {
            let node = (first + offset) % self.urls.len();
            match lapin::Connection::connect(&self.urls[node], (self.properties)()).await {
                Ok(connection) => {
                    if self.connected.swap(node, Ordering::Relaxed) != node {
                        tracing::info!(node = %redact(&self.urls[node]), "Connected to a broker node.");
                    }
                    self.next.store(node, Ordering::Relaxed);
                    return Ok(NodeConnection { connection, node });
                }
                Err(error) => {
                    if self.urls.len() > 1 {
                        tracing::warn!(node = %redact(&self.urls[node]), %error, "A broker node did not answer.");
                    }
                    failure = Some(error);
                }
            }
        }
        Err(failure.expect("at least one node was tried"))
    }

    async fn recycle(
        &self,
        connection: &mut NodeConnection,
        _: &Metrics,
    ) -> RecycleResult<lapin::Error> {
        if connection.status().connected() {
            return Ok(());
        }
        // Its node may be gone: new connections start at the next one (unless another broken connection of the
        // same node moved on already).
        let after = (connection.node + 1) % self.urls.len();
        let _ = self.next.compare_exchange(
            connection.node,
            after,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        Err(RecycleError::message(format!(
            "the connection to {} is not connected: {:?}",
            redact(&self.urls[connection.node]),
            connection.status()
        )))
    }
}

/// The node URLs of `AMQP_URL`: one URL, or several separated by commas (blanks around them ignored).
#[must_use]
pub fn split_urls(urls: &str) -> Vec<String> {
    urls.split(',')
        .map(str::trim)
        .filter(|url| !url.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `urls` (one URL or a comma-separated list) without passwords, for logs and error messages.
#[must_use]
pub fn redact(urls: &str) -> String {
    split_urls(urls)
        .iter()
        .map(|url| redact_one(url))
        .collect::<Vec<_>>()
        .join(",")
}

fn redact_one(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_url_or_a_comma_separated_list() {
        assert_eq!(split_urls("amqp://a/%2f"), ["amqp://a/%2f"]);
        assert_eq!(
            split_urls(" amqp://a:5672/%2f , amqp://b:5672/%2f,,"),
            ["amqp://a:5672/%2f", "amqp://b:5672/%2f"]
        );
    }

    #[test]
    fn redacts_every_password() {
        assert_eq!(
            redact("amqp://guest:secret@127.0.0.1:5672/%2f"),
            "amqp://guest:***@127.0.0.1:5672/%2f"
        );
        assert_eq!(redact("amqp://host/%2f"), "amqp://host/%2f");
        assert_eq!(
            redact("amqp://u:p@a/%2f,amqp://u:q@b/%2f"),
            "amqp://u:***@a/%2f,amqp://u:***@b/%2f"
        );
    }

    #[tokio::test]
    async fn a_node_that_does_not_answer_is_skipped_and_the_one_that_does_is_kept() {
        use managed::Manager as _;
        // Nothing listens on port 1; the test broker does.
        let dead = "amqp://guest:guest@127.0.0.1:1/%2f?connection_timeout=1000".to_owned();
        let live = std::env::var("AMQP_URL")
            .unwrap_or_else(|_| crate::config::DEFAULT_AMQP_URL.to_owned());
        let nodes = Nodes::new(vec![dead, live], 0, ConnectionProperties::default);
        let connection = nodes.create().await.expect("the second node answers");
        assert_eq!(connection.node, 1);
        assert_eq!(
            nodes.preferred(),
            1,
            "the node that answered is tried first from now on"
        );
        connection.close(200, "test".into()).await.unwrap();
    }
}
