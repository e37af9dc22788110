//! The replica's reply queue: results of the jobs it accepted (`image.result.<instance>`) and every job event
//! (`job.event.*`: accepted, started, done, failed, stored, deleted), fed into the [`JobStore`]. A `deleted`
//! event makes the replica forget the job, whichever replica deleted it.
//!
//! The queue is not exclusive: it outlives a dropped connection (so results published while the gateway
//! reconnects wait for it) and expires a minute after its replica is gone for good.

use std::sync::Arc;

use imagepipe_common::{
    Error,
    amqp::{Broker, DeliveryIds, Disposition, Handler},
};
use imagepipe_proto::{
    Message,
    topology::routing,
    v1::{ImageResult, JobEvent, job_event},
};
use lapin::{Channel, message::Delivery, options::QueueDeclareOptions};

use crate::tracking::jobs::JobStore;

/// Consumes one replica's reply queue.
#[derive(Debug)]
pub struct ReplyHandler {
    jobs: Arc<JobStore>,
    instance: String,
}

impl ReplyHandler {
    /// The handler of replica `instance`, updating `jobs`.
    #[must_use]
    pub fn new(jobs: Arc<JobStore>, instance: impl Into<String>) -> Self {
        Self {
            jobs,
            instance: instance.into(),
        }
    }

    /// Applies one delivery to the job store. Unknown or undecodable messages are logged and dropped: nothing
    /// on this queue is worth keeping if this replica cannot read it.
    pub fn process_one(&self, delivery: &Delivery) {
        let ids = DeliveryIds::of(delivery);
        let span = tracing::info_span!("reply", job_id = %ids.job_id, trace_id = %ids.trace_id);
        let _entered = span.enter();
        let payload = delivery.data.clone();
        match ids.message_type.as_str() {
            ImageResult::TYPE => match ImageResult::from_payload(payload) {
                Ok(result) => {
                    tracing::info!(job_id = %result.job_id, trace_id = %result.trace_id, status = result.status().name(), "Result arrived.");
                    self.jobs.apply_result(&result);
                    crate::metrics::job_finished(&result.job_id, result.status().name());
                }
                Err(error) => {
                    tracing::warn!(job_id = %ids.job_id, %error, "Dropped an unreadable result.")
                }
            },
            JobEvent::TYPE => match JobEvent::from_payload(payload) {
                Ok(event) => {
                    if event.kind() == job_event::Kind::Deleted {
                        tracing::info!(job_id = %event.job_id, trace_id = %event.trace_id, "Forgetting a deleted job.");
                    } else {
                        tracing::debug!(job_id = %event.job_id, kind = ?event.kind(), "Job event.");
                    }
                    self.jobs.apply_event(&event);
                }
                Err(error) => {
                    tracing::warn!(job_id = %ids.job_id, %error, "Dropped an unreadable job event.")
                }
            },
            other => {
                tracing::warn!(message_type = other, job_id = %ids.job_id, "Dropped a message of an unknown type.");
            }
        }
    }
}

/// Declares replica `instance`'s reply queue (bounded: see [`Topology::gateway_queue_arguments`]) and binds it
/// to its result key and to every job event; returns its name. Idempotent. The gateway calls it before it
/// serves its first request (so the result of a job it accepts always has a queue to land in, even before the
/// consumer attaches) and again on every (re)connect.
///
/// [`Topology::gateway_queue_arguments`]: imagepipe_proto::topology::Topology::gateway_queue_arguments
///
/// # Errors
/// [`Error::Amqp`] when the broker refuses the declaration or a binding.
pub async fn declare_reply_queue(broker: &Broker, instance: &str) -> Result<String, Error> {
    let topology = broker.topology();
    let queue = topology.gateway_queue(instance);
    let bindings = [routing::result(instance), routing::EVENTS.to_owned()]
        .map(|key| (topology.exchange(), key));
    broker
        .declare_queue(
            &queue,
            QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            },
            &topology.gateway_queue_arguments(),
            &bindings,
        )
        .await?;
    Ok(queue)
}

impl Handler for ReplyHandler {
    async fn prepare(&self, broker: &Broker, _channel: &Channel) -> Result<String, Error> {
        broker.declare_topology().await?;
        declare_reply_queue(broker, &self.instance).await
    }

    async fn handle(&self, delivery: &Delivery) -> Disposition {
        self.process_one(delivery);
        Disposition::Ack
    }
}

#[cfg(test)]
mod tests {
    use imagepipe_common::amqp::Envelope;
    use imagepipe_proto::v1::JobStatus;

    use super::*;

    fn delivery<M: Message>(message: &M) -> Delivery {
        let mut delivery = Delivery::mock(1, "ex".into(), "k".into(), false, message.to_payload());
        delivery.properties = Envelope::event("k", "j1", "t1").properties::<M>();
        delivery
    }

    #[test]
    fn results_and_events_reach_the_store() {
        let jobs = Arc::new(JobStore::new(10, 1 << 20));
        let handler = ReplyHandler::new(Arc::clone(&jobs), "gw");
        handler.process_one(&delivery(&JobEvent {
            job_id: "j1".into(),
            kind: job_event::Kind::Started as i32,
            ..JobEvent::default()
        }));
        assert_eq!(jobs.state("j1").unwrap().status, JobStatus::Processing);
        handler.process_one(&delivery(&ImageResult {
            job_id: "j1".into(),
            status: JobStatus::Failed as i32,
            error_code: "decode_failed".into(),
            ..ImageResult::default()
        }));
        assert_eq!(jobs.state("j1").unwrap().status, JobStatus::Failed);
        handler.process_one(&delivery(&JobEvent {
            job_id: "j1".into(),
            kind: job_event::Kind::Deleted as i32,
            ..JobEvent::default()
        }));
        assert_eq!(jobs.state("j1"), None, "a deleted job is forgotten");
        assert!(jobs.is_deleted("j1"));
    }

    #[test]
    fn garbage_is_dropped_without_harm() {
        let jobs = Arc::new(JobStore::new(10, 1 << 20));
        let handler = ReplyHandler::new(Arc::clone(&jobs), "gw");
        let mut garbage = delivery(&JobEvent::default());
        garbage.data = vec![0xff, 0xff, 0xff];
        handler.process_one(&garbage);
        assert_eq!(jobs.state("j1"), None);
    }
}
