//! Turning a validated upload into a queued job: publish `ImageSubmitted` (persistent, mandatory) and wait for
//! the broker's confirm; only then is the job the client's. Other replicas learn of it from a `JobEvent`.

use std::sync::Arc;

use imagepipe_common::{
    Error,
    amqp::{Envelope, Publisher},
    time::now_ms,
};
use imagepipe_proto::{
    Message as _,
    topology::routing,
    v1::{ImageInfo, ImageSubmitted, JobEvent, JobStatus, job_event},
};

use crate::{
    auth::keys::Owner,
    error::ApiError,
    intake::body::Upload,
    tracking::jobs::{Blob, JobStore},
};

/// Publishes jobs on behalf of one gateway replica.
#[derive(Debug)]
pub struct Submitter {
    publisher: Publisher,
    jobs: Arc<JobStore>,
    instance: String,
}

/// A job the broker has confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The new job's id.
    pub job_id: String,
    /// The id that follows it through every service's logs.
    pub trace_id: String,
}

impl Submitter {
    /// A submitter publishing with `publisher` as replica `instance`.
    #[must_use]
    pub fn new(publisher: Publisher, jobs: Arc<JobStore>, instance: impl Into<String>) -> Self {
        Self {
            publisher,
            jobs,
            instance: instance.into(),
        }
    }

    /// This replica's instance id.
    #[must_use]
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// The publisher (to close it at shutdown).
    #[must_use]
    pub fn publisher(&self) -> &Publisher {
        &self.publisher
    }

    /// Queues `upload`, whose header said `info`, for `owner` (none: the gateway runs open), and returns once the
    /// broker confirmed it.
    ///
    /// # Errors
    /// [`ApiError::QueueFull`] when the broker refuses it (the work queue is at its length limit),
    /// [`ApiError::MessageTooLarge`] when the job's message is larger than the broker accepts,
    /// [`ApiError::BrokerUnavailable`] when it cannot be reached, does not confirm in time, or has no queue bound.
    pub async fn submit(
        &self,
        upload: Upload,
        info: ImageInfo,
        owner: Option<&Owner>,
    ) -> Result<Accepted, ApiError> {
        let owner = owner.map(Owner::name).unwrap_or_default();
        let job_id = uuid::Uuid::new_v4().to_string();
        let trace_id = uuid::Uuid::new_v4().simple().to_string();
        // Every line from here on (and the handler's) names the job.
        let span = tracing::Span::current();
        span.record("job_id", job_id.as_str());
        span.record("trace_id", trace_id.as_str());
        let clock = crate::metrics::JobClock::start(&job_id);
        let content_type = info.format().mime_type();
        let message = ImageSubmitted {
            job_id: job_id.clone(),
            trace_id: trace_id.clone(),
            reply_routing_key: routing::result(&self.instance),
            submitted_at_ms: now_ms(),
            spec: Some(upload.options.spec),
            original: upload.bytes.clone(),
            original_info: Some(info),
            accepted_by: self.instance.clone(),
            filename: upload.filename.unwrap_or_default(),
            variants: upload.options.variants,
            owner: owner.to_owned(),
        };
        let envelope = Envelope {
            routing_key: routing::SUBMIT,
            job_id: &job_id,
            trace_id: &trace_id,
            persistent: true,
            mandatory: true,
        };
        self.publisher
            .publish(envelope, &message)
            .await
            .map_err(|error| match error {
                Error::Nacked { .. } => ApiError::QueueFull,
                Error::MessageTooLarge { bytes, limit, .. } => {
                    ApiError::MessageTooLarge { bytes, limit }
                }
                other => ApiError::BrokerUnavailable(other),
            })?;
        tracing::info!(%job_id, %trace_id, bytes = info.bytes, format = info.format().name(), "Accepted a job.");
        clock.accepted(info.format().name(), info.bytes);
        self.jobs.accepted(
            &job_id,
            Blob {
                content_type,
                data: upload.bytes,
            },
            owner,
        );
        let bytes = message.payload_len() as u64;
        self.announce(&job_id, &trace_id, owner, message.submitted_at_ms, bytes)
            .await;
        Ok(Accepted { job_id, trace_id })
    }

    /// Tells every replica about the job. Best effort: a replica that misses it still finds the job in MongoDB
    /// once stored. The event is dated `at_ms`, the submission's time, before any transformer can start the job
    /// (so the timeline never shows a start before the acceptance). It carries the job message's `bytes`, which
    /// the replicas' backlogs add up to weigh the transform queue.
    async fn announce(&self, job_id: &str, trace_id: &str, owner: &str, at_ms: i64, bytes: u64) {
        let event = JobEvent {
            job_id: job_id.to_owned(),
            trace_id: trace_id.to_owned(),
            kind: job_event::Kind::Accepted as i32,
            at_ms,
            by: self.instance.clone(),
            status: JobStatus::Queued as i32,
            owner: owner.to_owned(),
            message_bytes: bytes,
            ..JobEvent::default()
        };
        // This replica's timeline has the step even if the event cannot be published (its echo is no duplicate).
        self.jobs.apply_event(&event);
        let key = routing::event("accepted");
        let envelope = Envelope::event(&key, job_id, trace_id);
        if let Err(error) = self.publisher.publish(envelope, &event).await {
            tracing::warn!(%job_id, %error, "Could not announce the job to other replicas.");
        }
    }
}
