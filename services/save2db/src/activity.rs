//! The activity consumer: decode each `JobEvent` of the activity queue (`{ns}.activity`, bound to every
//! `job.event.*`), keep it in the job's history ([`JobHistory`]), and tell the consumer loop what to do with
//! the delivery. A `deleted` event removes the job's history: the job is gone, and so is what happened to it.

use std::time::Duration;

use imagepipe_common::{
    Error as CommonError,
    amqp::{Broker, Channel, Delivery, DeliveryIds, Disposition, Handler},
};
use imagepipe_proto::{Message, v1::JobEvent};
use tracing::{Instrument, debug, error, info, info_span, warn};

use imagepipe_archive::{JobHistory, Recorded, StoreError};

use crate::group_commit::GroupCommit;

/// Events in flight at once: each is small, and those in flight together are written together (see
/// [`crate::group_commit`]), so many more than the archive consumer's.
pub const PREFETCH: u16 = 128;
/// How long a transient failure waits for the database to answer again before the delivery is requeued (as the
/// archive consumer does), so a short outage does not use up the queue's delivery limit.
const RETRY_WAIT: Duration = Duration::from_secs(30);
/// How often the database is probed during that wait.
const RETRY_PROBE: Duration = Duration::from_millis(500);

/// What became of one event.
#[derive(Debug)]
pub enum ActivityOutcome {
    /// Kept (or found kept, or dropped as an event of a deleted job): acknowledge.
    Recorded(Recorded),
    /// Writing failed for a reason that may pass: requeue (the delivery limit dead-letters it eventually).
    Retry(StoreError),
    /// Poison: not a job event, or one that names no job or kind. Dead-letter it.
    Rejected(String),
}

impl ActivityOutcome {
    /// What the consumer loop does with the delivery.
    #[must_use]
    pub fn disposition(&self) -> Disposition {
        match self {
            ActivityOutcome::Recorded(_) => Disposition::Ack,
            ActivityOutcome::Retry(_) => Disposition::Requeue,
            ActivityOutcome::Rejected(_) => Disposition::DeadLetter,
        }
    }
}

/// The activity queue's [`Handler`].
#[derive(Debug, Clone)]
pub struct ActivityWorker {
    history: JobHistory,
    writer: GroupCommit,
}

impl ActivityWorker {
    /// A worker keeping events in `history`, through a [`GroupCommit`] it starts (so within a Tokio runtime).
    #[must_use]
    pub fn new(history: JobHistory) -> Self {
        Self {
            writer: GroupCommit::start(history.clone()),
            history,
        }
    }

    /// Handles one delivery: decodes it, records it, and says what to do with the delivery. Never panics.
    pub async fn process_one(&self, delivery: &Delivery) -> ActivityOutcome {
        let ids = DeliveryIds::of(delivery);
        let span = info_span!("activity", job_id = %ids.job_id, trace_id = %ids.trace_id);
        self.process(delivery, &ids).instrument(span).await
    }

    async fn process(&self, delivery: &Delivery, ids: &DeliveryIds) -> ActivityOutcome {
        if !ids.message_type.is_empty() && ids.message_type != JobEvent::TYPE {
            let reason = format!("unexpected message type `{}`", ids.message_type);
            warn!(%reason, "Dead-lettering a message that is not a job event.");
            return ActivityOutcome::Rejected(reason);
        }
        let event = match JobEvent::from_payload(delivery.data.clone()) {
            Ok(event) => event,
            Err(decode) => {
                warn!(error = %decode, "Dead-lettering an undecodable job event.");
                return ActivityOutcome::Rejected(decode.to_string());
            }
        };
        let kind = event.kind().name();
        let by = event.by.clone();
        match self.writer.record(event).await {
            Ok(recorded) => {
                match recorded {
                    Recorded::Added => debug!(kind, %by, "Kept a job event."),
                    Recorded::Duplicate => debug!(kind, "Already kept this job event."),
                    Recorded::AfterDeletion => {
                        debug!(kind, "Dropped an event of a job deleted already.");
                    }
                    Recorded::Deleted(events) => {
                        info!(events, "Removed the history of a deleted job.");
                    }
                }
                ActivityOutcome::Recorded(recorded)
            }
            Err(store) if store.is_transient() => {
                warn!(error = %store, kind, "Could not keep a job event; requeueing it once the database answers.");
                self.wait_for_database().await;
                ActivityOutcome::Retry(store)
            }
            Err(store) => {
                error!(error = %store, kind, "Dead-lettering a job event that cannot be kept.");
                ActivityOutcome::Rejected(store.to_string())
            }
        }
    }

    /// Waits until the database takes writes again (a writable primary answers), for at most [`RETRY_WAIT`].
    async fn wait_for_database(&self) {
        let _ = tokio::time::timeout(RETRY_WAIT, async {
            while self.history.writable().await.is_err() {
                tokio::time::sleep(RETRY_PROBE).await;
            }
        })
        .await;
    }
}

impl Handler for ActivityWorker {
    async fn prepare(&self, broker: &Broker, _channel: &Channel) -> Result<String, CommonError> {
        broker.declare_topology().await?;
        Ok(broker.topology().activity_queue())
    }

    async fn handle(&self, delivery: &Delivery) -> Disposition {
        self.process_one(delivery).await.disposition()
    }
}

#[cfg(test)]
mod tests {
    use imagepipe_archive::ArchiveArgs;
    use imagepipe_common::amqp::Envelope;
    use imagepipe_proto::v1::ImageArchive;

    use super::*;

    /// A worker whose database is never reached: nothing listens on port 1, and nothing is asked of it.
    async fn offline_worker() -> ActivityWorker {
        let args = ArchiveArgs::new(
            "mongodb://127.0.0.1:1/?directConnection=true&serverSelectionTimeoutMS=100",
            "offline",
        );
        let database = imagepipe_archive::connect(&args, "test").await.unwrap();
        ActivityWorker::new(JobHistory::new(&database))
    }

    fn delivery<M: Message>(message: &M) -> Delivery {
        let mut delivery = Delivery::mock(
            1,
            "t".into(),
            "job.event.started".into(),
            false,
            message.to_payload(),
        );
        delivery.properties = Envelope::event("job.event.started", "j1", "t1").properties::<M>();
        delivery
    }

    #[tokio::test]
    async fn garbage_and_strangers_are_dead_lettered_without_touching_the_database() {
        let worker = offline_worker().await;
        let mut garbage = delivery(&JobEvent::default());
        garbage.data = vec![0xff, 0xff, 0xff];
        let outcome = worker.process_one(&garbage).await;
        assert!(
            matches!(outcome, ActivityOutcome::Rejected(_)),
            "{outcome:?}"
        );
        assert_eq!(outcome.disposition(), Disposition::DeadLetter);

        let stranger = delivery(&ImageArchive::default());
        let outcome = worker.process_one(&stranger).await;
        assert!(
            matches!(&outcome, ActivityOutcome::Rejected(reason) if reason.contains("ImageArchive")),
            "{outcome:?}"
        );
    }

    #[tokio::test]
    async fn an_event_without_a_job_is_poison_not_a_retry() {
        let worker = offline_worker().await;
        let outcome = worker.process_one(&delivery(&JobEvent::default())).await;
        assert!(
            matches!(outcome, ActivityOutcome::Rejected(_)),
            "{outcome:?}"
        );
    }
}
