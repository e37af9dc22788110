//! The archive consumer: decode an `ImageArchive`, store it, announce it, and tell the consumer loop what to do
//! with the delivery.

use std::time::Duration;

use imagepipe_common::{
    Error as CommonError,
    amqp::{Broker, Channel, Delivery, DeliveryIds, Disposition, Envelope, Handler, Publisher},
    time::now_ms,
};
use imagepipe_proto::{
    Message,
    topology::routing,
    v1::{ImageArchive, JobEvent, JobStatus, job_event},
};
use tracing::{Instrument, error, info_span, warn};

use imagepipe_archive::{ArchiveStore, JobDocument, Saved, StoreError};

/// How long a transient failure waits for the database to answer again before the delivery is requeued, so
/// that a short outage does not use up the queue's delivery limit in a burst of instant redeliveries.
const RETRY_WAIT: Duration = Duration::from_secs(30);
/// How often the database is probed during that wait.
const RETRY_PROBE: Duration = Duration::from_millis(500);

/// What became of one delivery.
#[derive(Debug)]
pub enum Outcome {
    /// Stored (or found already stored): acknowledge.
    Stored(Box<JobDocument>),
    /// The job was deleted: nothing was stored again, and nothing is announced. Acknowledge.
    Deleted,
    /// Storing failed for a reason that may pass: requeue (the delivery limit dead-letters it eventually).
    Retry(StoreError),
    /// Poison: not an archive, or one that can never be stored. Dead-letter it.
    Rejected(String),
}

impl Outcome {
    /// What the consumer loop does with the delivery.
    #[must_use]
    pub fn disposition(&self) -> Disposition {
        match self {
            Outcome::Stored(_) | Outcome::Deleted => Disposition::Ack,
            Outcome::Retry(_) => Disposition::Requeue,
            Outcome::Rejected(_) => Disposition::DeadLetter,
        }
    }
}

/// save2db's [`Handler`]: stores each archive and publishes a `stored` job event.
#[derive(Debug)]
pub struct ArchiveWorker {
    store: ArchiveStore,
    events: Publisher,
    instance_id: String,
}

impl ArchiveWorker {
    /// A worker storing into `store` and publishing events through `events`, as replica `instance_id`.
    #[must_use]
    pub fn new(store: ArchiveStore, events: Publisher, instance_id: impl Into<String>) -> Self {
        Self {
            store,
            events,
            instance_id: instance_id.into(),
        }
    }

    /// The event publisher (to close it at shutdown).
    #[must_use]
    pub fn publisher(&self) -> &Publisher {
        &self.events
    }

    /// Handles one delivery: decodes it, stores it, publishes the `stored` event (a failed publish is only
    /// logged: the job is stored either way), and says what to do with the delivery.
    pub async fn process_one(&self, delivery: &Delivery) -> Outcome {
        let ids = DeliveryIds::of(delivery);
        let span = info_span!("archive", job_id = %ids.job_id, trace_id = %ids.trace_id);
        let _in_flight = crate::metrics::in_flight();
        let outcome = self.process(delivery, &ids).instrument(span).await;
        crate::metrics::outcome(&outcome);
        outcome
    }

    async fn process(&self, delivery: &Delivery, ids: &DeliveryIds) -> Outcome {
        if !ids.message_type.is_empty() && ids.message_type != ImageArchive::TYPE {
            let reason = format!("unexpected message type `{}`", ids.message_type);
            warn!(%reason, "Dead-lettering a message that is not an archive.");
            return Outcome::Rejected(reason);
        }
        let archive = match ImageArchive::from_payload(delivery.data.clone()) {
            Ok(archive) => archive,
            Err(decode) => {
                warn!(error = %decode, "Dead-lettering an undecodable archive.");
                return Outcome::Rejected(decode.to_string());
            }
        };
        let storing = std::time::Instant::now();
        let saved = self.store.save(&archive).await;
        crate::metrics::store_duration(saved.is_ok(), storing.elapsed());
        let document = match saved {
            Ok(Saved::Stored(document)) => document,
            Ok(Saved::Deleted) => return Outcome::Deleted,
            Err(store) if store.is_transient() => {
                warn!(error = %store, "Could not store the archive; requeueing it once the database answers.");
                self.wait_for_database().await;
                return Outcome::Retry(store);
            }
            Err(store) => {
                error!(error = %store, "Dead-lettering an archive that cannot be stored.");
                return Outcome::Rejected(store.to_string());
            }
        };
        if let Err(publish) = self.announce(&document).await {
            warn!(error = %publish, "Stored, but could not publish the stored event.");
        }
        Outcome::Stored(document)
    }

    /// Waits until the database takes writes again (a writable primary answers), for at most [`RETRY_WAIT`].
    async fn wait_for_database(&self) {
        let _ = tokio::time::timeout(RETRY_WAIT, async {
            while self.store.writable().await.is_err() {
                tokio::time::sleep(RETRY_PROBE).await;
            }
        })
        .await;
    }

    async fn announce(&self, document: &JobDocument) -> Result<(), CommonError> {
        let status = document.job_status();
        let (error_code, error) = document
            .error
            .as_ref()
            .map(|error| (error.code.clone(), error.message.clone()))
            .unwrap_or_default();
        let event = JobEvent {
            job_id: document.id.clone(),
            trace_id: document.trace_id.clone(),
            kind: job_event::Kind::Stored as i32,
            at_ms: now_ms(),
            by: self.instance_id.clone(),
            status: status as i32,
            error_code,
            error,
            owner: document.owner.clone().unwrap_or_default(),
            ..JobEvent::default()
        };
        debug_assert!(matches!(status, JobStatus::Done | JobStatus::Failed));
        let routing_key = routing::event("stored");
        let envelope = Envelope::event(&routing_key, &document.id, &document.trace_id);
        self.events.publish(envelope, &event).await
    }
}

impl Handler for ArchiveWorker {
    async fn prepare(&self, broker: &Broker, _channel: &Channel) -> Result<String, CommonError> {
        broker.declare_topology().await?;
        Ok(broker.topology().archive_queue())
    }

    async fn handle(&self, delivery: &Delivery) -> Disposition {
        self.process_one(delivery).await.disposition()
    }
}
