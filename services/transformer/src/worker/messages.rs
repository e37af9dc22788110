//! The messages a transformer sends about a job, built from the job and what the engine made of it. Pure
//! functions: the worker publishes them, tests inspect them.

use imagepipe_proto::{
    FailureCode, Message as _,
    v1::{
        ImageArchive, ImageResult, ImageSubmitted, JobEvent, JobStatus, Output, Variant, job_event,
    },
};

use imagepipe_engine::EngineError;

/// Why a job failed: a stable code and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub code: FailureCode,
    pub message: String,
}

impl Failure {
    /// The failure reported when the engine panicked (a bug: the details are in the transformer's log).
    pub(crate) fn internal() -> Self {
        Self {
            code: FailureCode::Internal,
            message: "internal error while transforming the image".to_owned(),
        }
    }
}

impl From<EngineError> for Failure {
    fn from(error: EngineError) -> Self {
        Self {
            code: error.code(),
            message: error.to_string(),
        }
    }
}

/// What became of a job: its outputs or its failure, the variants as resolved (presets filled in), and when
/// the work started and ended.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    pub outcome: Result<Vec<Output>, Failure>,
    pub variants: Vec<Variant>,
    pub started_at_ms: i64,
    pub finished_at_ms: i64,
}

impl Report {
    fn status(&self) -> JobStatus {
        if self.outcome.is_ok() {
            JobStatus::Done
        } else {
            JobStatus::Failed
        }
    }

    fn outputs(&self) -> Vec<Output> {
        self.outcome.clone().unwrap_or_default()
    }

    fn error(&self) -> (String, String) {
        match &self.outcome {
            Ok(_) => (String::new(), String::new()),
            Err(failure) => (failure.code.as_str().to_owned(), failure.message.clone()),
        }
    }
}

/// `report`, or, when the archive of `job` with its outputs would be larger than `max_message_bytes`, the
/// report of an `output_too_large` failure (whose archive carries only the original, which the gateway made
/// sure fits).
pub(crate) fn within_message_limit(
    job: &ImageSubmitted,
    report: Report,
    max_message_bytes: u64,
) -> Report {
    let bytes = archive(job, &report, "").payload_len() as u64;
    if bytes <= max_message_bytes || report.outcome.is_err() {
        return report;
    }
    Report {
        outcome: Err(Failure {
            code: FailureCode::OutputTooLarge,
            message: format!(
                "the original and its outputs come to {bytes} bytes, more than the {max_message_bytes} bytes a \
                 message may carry; ask for smaller outputs, a compressed format or fewer variants"
            ),
        }),
        ..report
    }
}

/// The `STARTED` event: `by` began working on `job` at `at_ms`.
pub(crate) fn started_event(job: &ImageSubmitted, by: &str, at_ms: i64) -> JobEvent {
    JobEvent {
        job_id: job.job_id.clone(),
        trace_id: job.trace_id.clone(),
        kind: job_event::Kind::Started as i32,
        at_ms,
        by: by.to_owned(),
        status: JobStatus::Processing as i32,
        ..JobEvent::default()
    }
}

/// The `DONE` or `FAILED` event: `by` finished `job` as `report` says, at its end (failed: with the reason).
pub(crate) fn finished_event(job: &ImageSubmitted, report: &Report, by: &str) -> JobEvent {
    let (error_code, error) = report.error();
    let kind = if report.outcome.is_ok() {
        job_event::Kind::Done
    } else {
        job_event::Kind::Failed
    };
    JobEvent {
        job_id: job.job_id.clone(),
        trace_id: job.trace_id.clone(),
        kind: kind as i32,
        at_ms: report.finished_at_ms,
        by: by.to_owned(),
        status: report.status() as i32,
        error_code,
        error,
        ..JobEvent::default()
    }
}

/// The result for the gateway that accepted `job`.
pub(crate) fn result(job: &ImageSubmitted, report: &Report, by: &str) -> ImageResult {
    let (error_code, error) = report.error();
    ImageResult {
        job_id: job.job_id.clone(),
        trace_id: job.trace_id.clone(),
        status: report.status() as i32,
        outputs: report.outputs(),
        error_code,
        error,
        finished_at_ms: report.finished_at_ms,
        processed_by: by.to_owned(),
    }
}

/// The archive for save2db: the original, the outputs, and everything known about the job.
pub(crate) fn archive(job: &ImageSubmitted, report: &Report, by: &str) -> ImageArchive {
    let (error_code, error) = report.error();
    ImageArchive {
        job_id: job.job_id.clone(),
        trace_id: job.trace_id.clone(),
        status: report.status() as i32,
        spec: job.spec.clone(),
        original: job.original.clone(),
        original_info: job.original_info,
        outputs: report.outputs(),
        error_code,
        error,
        submitted_at_ms: job.submitted_at_ms,
        started_at_ms: report.started_at_ms,
        finished_at_ms: report.finished_at_ms,
        accepted_by: job.accepted_by.clone(),
        processed_by: by.to_owned(),
        filename: job.filename.clone(),
        variants: report.variants.clone(),
        owner: job.owner.clone(),
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use imagepipe_proto::v1::{ImageFormat, ImageInfo, TransformSpec};

    use super::*;

    fn job() -> ImageSubmitted {
        ImageSubmitted {
            job_id: "job-1".into(),
            trace_id: "trace-1".into(),
            reply_routing_key: "image.result.gw".into(),
            submitted_at_ms: 10,
            spec: Some(TransformSpec {
                width: Some(5),
                ..TransformSpec::default()
            }),
            original: Bytes::from_static(b"original"),
            original_info: Some(ImageInfo {
                format: ImageFormat::Png as i32,
                width: 10,
                height: 10,
                bytes: 8,
            }),
            accepted_by: "gw".into(),
            filename: "a.png".into(),
            owner: "alice".into(),
            ..ImageSubmitted::default()
        }
    }

    fn output() -> Output {
        Output {
            name: "default".into(),
            data: Bytes::from_static(b"result"),
            info: None,
        }
    }

    #[test]
    fn done_job_carries_its_output_everywhere() {
        let thumb = Variant {
            name: "default".into(),
            spec: Some(TransformSpec::default()),
        };
        let report = Report {
            outcome: Ok(vec![output()]),
            variants: vec![thumb.clone()],
            started_at_ms: 20,
            finished_at_ms: 30,
        };
        let result = result(&job(), &report, "tf");
        assert_eq!(result.status(), JobStatus::Done);
        assert_eq!(result.outputs, vec![output()]);
        assert_eq!(
            (result.job_id.as_str(), result.trace_id.as_str()),
            ("job-1", "trace-1")
        );
        assert_eq!(
            (result.finished_at_ms, result.processed_by.as_str()),
            (30, "tf")
        );
        assert!(result.error_code.is_empty());

        let archive = archive(&job(), &report, "tf");
        assert_eq!(archive.status(), JobStatus::Done);
        assert_eq!(archive.original, Bytes::from_static(b"original"));
        assert_eq!(archive.outputs, vec![output()]);
        assert_eq!(
            (
                archive.submitted_at_ms,
                archive.started_at_ms,
                archive.finished_at_ms
            ),
            (10, 20, 30)
        );
        assert_eq!(archive.spec, job().spec);
        assert_eq!(
            archive.variants,
            [thumb],
            "the resolved variants are archived"
        );
        assert_eq!(archive.original_info, job().original_info);
        assert_eq!(
            (archive.accepted_by.as_str(), archive.filename.as_str()),
            ("gw", "a.png")
        );
        assert_eq!(archive.owner, "alice", "the owner travels to save2db");
    }

    #[test]
    fn failed_job_keeps_the_original_and_says_why() {
        let report = Report {
            outcome: Err(EngineError::DecodeFailed("bad bytes".into()).into()),
            variants: Vec::new(),
            started_at_ms: 1,
            finished_at_ms: 2,
        };
        let result = result(&job(), &report, "tf");
        assert_eq!(result.status(), JobStatus::Failed);
        assert_eq!(result.error_code, "decode_failed");
        assert!(result.error.contains("bad bytes"));
        assert!(result.outputs.is_empty());
        let archive = archive(&job(), &report, "tf");
        assert_eq!(archive.status(), JobStatus::Failed);
        assert_eq!(archive.error_code, "decode_failed");
        assert_eq!(archive.original, Bytes::from_static(b"original"));
    }

    #[test]
    fn outputs_too_large_for_one_message_fail_the_job() {
        let report = Report {
            outcome: Ok(vec![output()]),
            variants: Vec::new(),
            started_at_ms: 1,
            finished_at_ms: 2,
        };
        let size = archive(&job(), &report, "").payload_len() as u64;
        let kept = within_message_limit(&job(), report.clone(), size);
        assert!(kept.outcome.is_ok());
        let failed = within_message_limit(&job(), report, size - 1);
        let failure = failed.outcome.unwrap_err();
        assert_eq!(failure.code, FailureCode::OutputTooLarge);
        assert!(failure.message.contains(&format!("{size} bytes")));
        // The failure's archive still carries the original.
        let failed = Report {
            outcome: Err(failure),
            ..failed
        };
        assert_eq!(archive(&job(), &failed, "").original, job().original);
    }

    #[test]
    fn finished_events_say_done_or_failed_and_why() {
        let done = Report {
            outcome: Ok(vec![output()]),
            variants: Vec::new(),
            started_at_ms: 20,
            finished_at_ms: 30,
        };
        let event = finished_event(&job(), &done, "tf");
        assert_eq!(event.kind(), job_event::Kind::Done);
        assert_eq!(event.status(), JobStatus::Done);
        assert_eq!((event.by.as_str(), event.at_ms), ("tf", 30));
        assert_eq!(event.trace_id, "trace-1");
        assert!(event.error_code.is_empty() && event.error.is_empty());
        let failed = Report {
            outcome: Err(EngineError::DecodeFailed("bad bytes".into()).into()),
            ..done
        };
        let event = finished_event(&job(), &failed, "tf");
        assert_eq!(event.kind(), job_event::Kind::Failed);
        assert_eq!(event.status(), JobStatus::Failed);
        assert_eq!(event.error_code, "decode_failed");
        assert!(event.error.contains("bad bytes"));
    }

    #[test]
    fn started_event_says_processing() {
        let event = started_event(&job(), "tf", 42);
        assert_eq!(event.kind(), job_event::Kind::Started);
        assert_eq!(event.status(), JobStatus::Processing);
        assert_eq!((event.by.as_str(), event.at_ms), ("tf", 42));
        assert_eq!(Failure::internal().code, FailureCode::Internal);
    }
}
