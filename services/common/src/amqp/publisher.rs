//! Confirmed publishing: every publish waits for the broker's confirm, and a refusal is an error the caller sees.

use imagepipe_proto::Message;
use lapin::{Channel, Confirmation, options::BasicPublishOptions, options::ConfirmSelectOptions};
use tokio::sync::Mutex;

use super::{Broker, Envelope, metrics};
use crate::Error;

/// Publishes contract messages on one confirm-mode channel shared by all callers, reopening it when it breaks.
#[derive(Debug)]
pub struct Publisher {
    broker: Broker,
    channel: Mutex<Option<Channel>>,
}

impl Publisher {
    /// A publisher on `broker`'s exchange. Opens its channel on first use.
    #[must_use]
    pub fn new(broker: Broker) -> Self {
        Self {
            broker,
            channel: Mutex::new(None),
        }
    }

    /// The broker this publisher uses.
    #[must_use]
    pub fn broker(&self) -> &Broker {
        &self.broker
    }

    /// Publishes `message` to the topology's exchange and waits for the broker's confirm.
    ///
    /// # Errors
    /// - [`Error::Nacked`]: the broker refused it (e.g. the queue is full);
    /// - [`Error::Unroutable`]: mandatory, and no queue is bound for the routing key;
    /// - [`Error::MessageTooLarge`]: larger than the broker accepts; nothing was sent;
    /// - [`Error::Timeout`]: no confirm within the configured time (the message may or may not be queued);
    /// - [`Error::Pool`] / [`Error::Amqp`]: the broker is unreachable or the channel broke.
    pub async fn publish<M: Message>(
        &self,
        envelope: Envelope<'_>,
        message: &M,
    ) -> Result<(), Error> {
        let bytes = message.payload_len() as u64;
        let limit = self.broker.max_message_bytes();
        if bytes > limit {
            metrics::published(M::TYPE, "too_large");
            return Err(Error::MessageTooLarge {
                routing_key: envelope.routing_key.to_owned(),
                bytes,
                limit,
            });
        }
        let channel = self
            .channel()
            .await
            .inspect_err(|_| metrics::published(M::TYPE, "failed"))?;
        let payload = message.to_payload();
        let options = BasicPublishOptions {
            mandatory: envelope.mandatory,
            immediate: false,
        };
        let outcome = async {
            let confirm = channel
                .basic_publish(
                    self.broker.topology().exchange().into(),
                    envelope.routing_key.into(),
                    options,
                    &payload,
                    envelope.properties::<M>(),
                )
                .await?;
            let timeout = self.broker.confirm_timeout();
            match tokio::time::timeout(timeout, confirm).await {
                Ok(confirmation) => Ok(confirmation?),
                Err(_) => Err(Error::Timeout {
                    what: "a publisher confirm",
                    seconds: timeout.as_secs(),
                }),
            }
        }
        .await;
        let routing_key = envelope.routing_key.to_owned();
        metrics::published(
            M::TYPE,
            match &outcome {
                Ok(Confirmation::Ack(None) | Confirmation::NotRequested) => "acked",
                Ok(Confirmation::Ack(Some(_))) => "unroutable",
                Ok(Confirmation::Nack(_)) => "nacked",
                Err(Error::Timeout { .. }) => "timeout",
                Err(_) => "failed",
            },
        );
        match outcome {
            Ok(Confirmation::Ack(None) | Confirmation::NotRequested) => Ok(()),
            Ok(Confirmation::Ack(Some(_))) => Err(Error::Unroutable { routing_key }),
            Ok(Confirmation::Nack(_)) => Err(Error::Nacked { routing_key }),
            Err(error) => {
                // The channel's state is unknown now: start the next publish on a fresh one.
                self.forget(&channel).await;
                Err(error)
            }
        }
    }

    /// Closes the channel (at shutdown).
    pub async fn close(&self) {
        if let Some(channel) = self.channel.lock().await.take() {
            let _ = channel.close(200, "shutting down".into()).await;
        }
    }

    async fn channel(&self) -> Result<Channel, Error> {
        let mut slot = self.channel.lock().await;
        if let Some(channel) = slot.as_ref().filter(|channel| channel.status().connected()) {
            return Ok(channel.clone());
        }
        let channel = self.broker.channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        *slot = Some(channel.clone());
        Ok(channel)
    }

    async fn forget(&self, broken: &Channel) {
        let mut slot = self.channel.lock().await;
        if slot
            .as_ref()
            .is_some_and(|channel| channel.id() == broken.id())
            && let Some(channel) = slot.take()
        {
            let _ = channel.close(200, "reopening".into()).await;
        }
    }
}
