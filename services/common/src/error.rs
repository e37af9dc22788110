//! Errors of the shared plumbing.

/// What can go wrong talking to the broker.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The AMQP client reported an error (connection, channel or protocol).
    #[error("AMQP error: {0}")]
    Amqp(#[from] lapin::Error),
    /// No broker connection could be had from the pool.
    #[error("could not get a broker connection: {0}")]
    Pool(#[from] deadpool_lapin::PoolError),
    /// The broker refused a publish (negative confirm), e.g. because the target queue is full.
    #[error("the broker refused the message for `{routing_key}` (queue full or unavailable)")]
    Nacked {
        /// Routing key of the refused message.
        routing_key: String,
    },
    /// A mandatory publish had no queue to go to.
    #[error("no queue is bound for `{routing_key}`; the message was returned")]
    Unroutable {
        /// Routing key of the returned message.
        routing_key: String,
    },
    /// The message is larger than the broker accepts (`AMQP_MAX_MESSAGE_BYTES`); it was not sent.
    #[error(
        "a message of {bytes} bytes for `{routing_key}` exceeds the broker's limit of {limit} bytes"
    )]
    MessageTooLarge {
        /// Routing key of the refused message.
        routing_key: String,
        /// Its encoded size.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
    /// The broker did not answer in time.
    #[error("timed out after {seconds} s waiting for {what}")]
    Timeout {
        /// What was waited for.
        what: &'static str,
        /// How long.
        seconds: u64,
    },
    /// A configuration value is unusable.
    #[error("invalid configuration: {0}")]
    Config(String),
}

impl Error {
    /// Whether retrying later may succeed (broker or database hiccup, full queue) as opposed to a bug or bad
    /// configuration.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        !matches!(
            self,
            Error::Config(_) | Error::Unroutable { .. } | Error::MessageTooLarge { .. }
        )
    }
}
