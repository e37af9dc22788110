//! The consumer's work for one job: decode the message, announce the start, transform off the executor,
//! publish the result and the archive, announce the end (`done` or `failed`), and settle the delivery only once
//! the result and archive are confirmed.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use imagepipe_common::{
    Error as CommonError,
    amqp::{Broker, Channel, Delivery, DeliveryIds, Disposition, Envelope, Handler, Publisher},
    time::now_ms,
};
use imagepipe_proto::{
    Message,
    topology::routing,
    v1::{ImageSubmitted, Output, Variant},
};
use tracing::Instrument;

use super::{
    messages::{self, Failure, Report},
    outcome::Outcome,
};
use imagepipe_engine::{self as engine, Limits};

use crate::presets::Presets;

/// First wait before publishing an archive the broker refused again (the archive queue was full).
const ARCHIVE_RETRY_FIRST: Duration = Duration::from_millis(50);
/// Longest wait between two tries of a refused archive: short, so a job moves on soon after room appears.
const ARCHIVE_RETRY_MAX: Duration = Duration::from_secs(1);
/// How long a finished job waits at most for room in the archive queue before its delivery is requeued (to
/// be redone later, or dead-lettered at the delivery limit): long enough to ride out storage being behind or
/// restarting, short of holding a job forever when nothing stores.
const ARCHIVE_PATIENCE: Duration = Duration::from_secs(600);

/// The transformer's [`Handler`]: one instance is shared by every delivery in flight.
#[derive(Debug)]
pub struct TransformWorker {
    publisher: Arc<Publisher>,
    limits: Limits,
    presets: Arc<Presets>,
    instance_id: String,
}

impl TransformWorker {
    /// A worker publishing through `publisher`, transforming under `limits`, and signing its messages with
    /// `instance_id`.
    #[must_use]
    pub fn new(publisher: Arc<Publisher>, limits: Limits, instance_id: impl Into<String>) -> Self {
        Self {
            publisher,
            limits,
            presets: Arc::new(Presets::default()),
            instance_id: instance_id.into(),
        }
    }

    /// The same worker resolving preset variants from `presets` (instead of [`Presets::default`]).
    #[must_use]
    pub fn with_presets(self, presets: Presets) -> Self {
        Self {
            presets: Arc::new(presets),
            ..self
        }
    }

    /// Handles one delivery of the transform queue, from payload to confirmed result and archive. Never
    /// panics; what to do with the delivery follows from the returned [`Outcome`].
    pub async fn process_one(&self, delivery: &Delivery) -> Outcome {
        let ids = DeliveryIds::of(delivery);
        let span = tracing::info_span!("transform", job_id = %ids.job_id, trace_id = %ids.trace_id);
        let _in_flight = crate::metrics::in_flight();
        let clock = Instant::now();
        let outcome = self.process(delivery, &ids).instrument(span).await;
        crate::metrics::job(&outcome, clock.elapsed());
        outcome
    }

    async fn process(&self, delivery: &Delivery, ids: &DeliveryIds) -> Outcome {
        let job = match ImageSubmitted::from_payload(delivery.data.clone()) {
            Ok(job) => job,
            Err(error) => {
                tracing::error!(
                    %error,
                    message_type = %ids.message_type,
                    bytes = delivery.data.len(),
                    "Undecodable message on the transform queue; dead-lettering it."
                );
                return Outcome::Undecodable;
            }
        };
        let started_at_ms = now_ms();
        crate::metrics::bytes("in", job.original.len() as u64);
        let clock = Instant::now();
        // The start event is informative: it travels while the engine works, and its failure is only logged.
        let ((), (outcome, variants)) = tokio::join!(
            self.announce_start(&job, started_at_ms),
            self.run_engine(&job)
        );
        let report = Report {
            outcome,
            variants,
            started_at_ms,
            finished_at_ms: now_ms(),
        };
        let report = messages::within_message_limit(
            &job,
            report,
            self.publisher.broker().max_message_bytes(),
        );
        let elapsed_ms = clock.elapsed().as_millis() as u64;
        let outcome = match &report.outcome {
            Ok(outputs) => {
                for output in outputs {
                    let info = output.info.unwrap_or_default();
                    crate::metrics::bytes("out", info.bytes);
                    tracing::info!(
                        output = %output.name,
                        format = info.format().name(),
                        width = info.width,
                        height = info.height,
                        bytes = info.bytes,
                        elapsed_ms,
                        "Transformed the image."
                    );
                }
                Outcome::Done
            }
            Err(failure) => {
                tracing::warn!(code = %failure.code, error = %failure.message, elapsed_ms, "The job failed.");
                Outcome::Failed { code: failure.code }
            }
        };
        let publishing = Instant::now();
        let published = self.publish_report(&job, &report).await;
        crate::metrics::stage("publish", publishing.elapsed());
        match published {
            Ok(()) => {
                self.announce_end(&job, &report).await;
                outcome
            }
            Err(error) => {
                tracing::warn!(%error, "Could not publish the result and archive; the job will be redelivered.");
                Outcome::PublishFailed
            }
        }
    }

    async fn announce_start(&self, job: &ImageSubmitted, at_ms: i64) {
        let event = messages::started_event(job, &self.instance_id, at_ms);
        let routing_key = routing::event("started");
        let envelope = Envelope::event(&routing_key, &job.job_id, &job.trace_id);
        if let Err(error) = self.publisher.publish(envelope, &event).await {
            tracing::warn!(%error, "Could not publish the started event; carrying on.");
        }
    }

    /// Publishes the `done` or `failed` event once the result and archive are confirmed, and waits for its own
    /// confirm (so it is not lost at shutdown). Informative like the start event: a failure is only logged, the
    /// job is done either way.
    async fn announce_end(&self, job: &ImageSubmitted, report: &Report) {
        let event = messages::finished_event(job, report, &self.instance_id);
        let routing_key = routing::event(event.kind().name());
        let envelope = Envelope::event(&routing_key, &job.job_id, &job.trace_id);
        if let Err(error) = self.publisher.publish(envelope, &event).await {
            tracing::warn!(%error, kind = event.kind().name(), "Could not publish the job's end event; carrying on.");
        }
    }

    /// Resolves the job's preset variants and runs the engine on a blocking thread; a panic there becomes an
    /// `internal` failure. Returns the outcome and the variants as resolved (empty for a job without variants).
    async fn run_engine(
        &self,
        job: &ImageSubmitted,
    ) -> (Result<Vec<Output>, Failure>, Vec<Variant>) {
        let variants = match self.presets.resolve(&job.variants) {
            Ok(variants) => variants,
            Err(error) => return (Err(error.into()), job.variants.clone()),
        };
        let original = job.original.clone();
        let spec = job.spec.clone().unwrap_or_default();
        let limits = self.limits;
        let work = {
            let variants = variants.clone();
            move || {
                if variants.is_empty() {
                    engine::transform(&original, &spec, &limits)
                } else {
                    engine::transform_variants(&original, &variants, &limits)
                }
            }
        };
        let outcome = match tokio::task::spawn_blocking(work).await {
            Ok(Ok(transformed)) => {
                crate::metrics::stages(&transformed.timings);
                Ok(transformed.outputs)
            }
            Ok(Err(error)) => Err(error.into()),
            Err(error) => {
                tracing::error!(%error, "The image engine panicked; failing the job as internal.");
                Err(Failure::internal())
            }
        };
        (outcome, variants)
    }

    /// Publishes the archive (mandatory: save2db's queue must exist) and the result (not mandatory: the
    /// accepting gateway may be gone, and its exclusive queue with it), both persistent, concurrently.
    async fn publish_report(
        &self,
        job: &ImageSubmitted,
        report: &Report,
    ) -> Result<(), CommonError> {
        let archive = messages::archive(job, report, &self.instance_id);
        let result = messages::result(job, report, &self.instance_id);
        let envelope = |routing_key, mandatory| Envelope {
            routing_key,
            job_id: &job.job_id,
            trace_id: &job.trace_id,
            persistent: true,
            mandatory,
        };
        let publish_result = async {
            if job.reply_routing_key.is_empty() {
                tracing::warn!("The job names no reply routing key; only archiving its result.");
                return Ok(());
            }
            match self
                .publisher
                .publish(envelope(&job.reply_routing_key, false), &result)
                .await
            {
                // The accepting gateway's reply queue refused it (its broker node is down, say). The archive
                // carries the same result, and that gateway reads the job from MongoDB once it is stored:
                // transforming the job again could not reach the queue any better, and would only spend the
                // job's deliveries until it is dead-lettered.
                Err(CommonError::Nacked { .. }) => {
                    tracing::warn!(
                        reply_routing_key = %job.reply_routing_key,
                        "The gateway's reply queue refused the result; it is archived all the same."
                    );
                    Ok(())
                }
                other => other,
            }
        };
        let (archived, replied) = tokio::join!(
            self.publish_archive(envelope(routing::ARCHIVE, true), &archive),
            publish_result
        );
        archived.and(replied)
    }

    /// Publishes the archive; while the broker refuses it because the archive queue is full (storage is
    /// behind), holds the job and tries again after a short, growing wait, up to [`ARCHIVE_PATIENCE`]. The
    /// delivery stays unacknowledged meanwhile, so with every prefetch slot held the transformer takes no new
    /// job: the transform queue fills instead, and gateways refuse new uploads with `503`. That is the
    /// pipeline's back-pressure, end to end.
    async fn publish_archive<M: Message>(
        &self,
        envelope: Envelope<'_>,
        archive: &M,
    ) -> Result<(), CommonError> {
        let started = Instant::now();
        let mut delay = ARCHIVE_RETRY_FIRST;
        let mut held = None;
        loop {
            match self.publisher.publish(envelope, archive).await {
                Err(CommonError::Nacked { .. }) if started.elapsed() + delay < ARCHIVE_PATIENCE => {
                    crate::metrics::archive_refused();
                    if held.is_none() {
                        tracing::info!(
                            "The archive queue is full (storage is behind); holding the job until it has room."
                        );
                        held = Some(crate::metrics::held_for_archive());
                    }
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(ARCHIVE_RETRY_MAX);
                }
                outcome => {
                    if held.is_some() && outcome.is_ok() {
                        tracing::info!(
                            held_ms = started.elapsed().as_millis() as u64,
                            "The archive queue took the held job."
                        );
                    }
                    return outcome;
                }
            }
        }
    }
}

impl Handler for TransformWorker {
    async fn prepare(&self, broker: &Broker, _channel: &Channel) -> Result<String, CommonError> {
        broker.declare_topology().await?;
        Ok(broker.topology().transform_queue())
    }

    async fn handle(&self, delivery: &Delivery) -> Disposition {
        self.process_one(delivery).await.disposition()
    }
}

#[cfg(test)]
mod tests {
    use imagepipe_common::config::AmqpArgs;

    use super::*;

    /// A worker whose broker is never reached: nothing listens on port 1.
    fn offline_worker() -> TransformWorker {
        let args = AmqpArgs::new("amqp://guest:guest@127.0.0.1:1/%2f", "t-offline");
        let broker = Broker::new(&args, "test").unwrap();
        TransformWorker::new(
            Arc::new(Publisher::new(broker)),
            Limits::default(),
            "tf-test",
        )
    }

    #[tokio::test]
    async fn undecodable_payload_is_dead_lettered() {
        let delivery = Delivery::mock(
            1,
            "t-offline".into(),
            "image.submit".into(),
            false,
            vec![0xff, 0xff, 0xff],
        );
        let outcome = offline_worker().process_one(&delivery).await;
        assert_eq!(outcome, Outcome::Undecodable);
        assert_eq!(outcome.disposition(), Disposition::DeadLetter);
    }

    #[tokio::test]
    async fn unreachable_broker_requeues() {
        let job = ImageSubmitted {
            job_id: "job".into(),
            reply_routing_key: "image.result.gw".into(),
            original: bytes::Bytes::from_static(b"not an image"),
            ..ImageSubmitted::default()
        };
        let delivery = Delivery::mock(
            1,
            "t-offline".into(),
            "image.submit".into(),
            false,
            job.to_payload(),
        );
        let outcome = offline_worker().process_one(&delivery).await;
        assert_eq!(outcome, Outcome::PublishFailed);
        assert_eq!(outcome.disposition(), Disposition::Requeue);
    }
}
