//! The status document clients see: `{"id", "status", "links", "result"?, "outputs"?, "error"?, "timeline"?}`.

use imagepipe_proto::v1::ImageInfo;
use serde::Serialize;

use crate::{
    tracking::jobs::{JobState, OutputInfo},
    tracking::timeline::Step,
};

/// A job's status as JSON.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct JobView {
    /// The job id.
    pub id: String,
    /// `queued`, `processing`, `done` or `failed`.
    pub status: &'static str,
    /// Where to find the job's parts.
    pub links: Links,
    /// The main result's format and size (what `links.result` serves), once done (when known).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<ResultView>,
    /// Every output, named, with its URL, once done (when known).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<OutputView>,
    /// Why the job failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorView>,
    /// The steps of the job's life, oldest first: what happened, when, and which replica did it. Complete (with
    /// the history save2db keeps) in `GET /image/{id}/status`; elsewhere what this replica heard of.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<StepView>,
}

/// One step of a job's life.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct StepView {
    /// `accepted`, `started`, `done`, `failed` or `stored`.
    pub event: &'static str,
    /// When, as RFC 3339 in UTC with milliseconds (`2025-01-01T12:00:00.123Z`).
    pub at: String,
    /// The instance id of the replica (gateway, transformer or save2db) that did it.
    pub by: String,
    /// The job's status after this step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
    /// Why the job failed, on `failed` (and on `stored` of a failed job).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorView>,
}

/// Links of a job.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Links {
    /// This status document.
    #[serde(rename = "self")]
    pub status: String,
    /// The result image.
    pub result: String,
    /// The uploaded original.
    pub original: String,
}

/// The result image's description.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ResultView {
    /// `jpeg`, `png` or `webp`.
    pub format: &'static str,
    /// MIME type.
    pub content_type: &'static str,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Size in bytes.
    pub bytes: u64,
}

/// One named output.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct OutputView {
    /// `default`, or the variant's name.
    pub name: String,
    /// Where to get it: `/image/{id}/{name}`.
    pub url: String,
    /// Format, dimensions and size.
    #[serde(flatten)]
    pub info: ResultView,
}

/// Why a job failed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ErrorView {
    /// Stable machine-readable code.
    pub code: String,
    /// Human-readable reason.
    pub message: String,
}

impl JobView {
    /// The view of job `id` in `state`, with links under `base` (empty for relative links).
    #[must_use]
    pub fn new(id: &str, state: &JobState, base: &str) -> Self {
        Self {
            id: id.to_owned(),
            status: state.status.name(),
            links: Links::new(id, base),
            result: state
                .main_output()
                .map(|output| ResultView::from(&output.info)),
            outputs: state
                .outputs
                .iter()
                .map(|output| OutputView::new(id, output, base))
                .collect(),
            error: state.failure.as_ref().map(|failure| ErrorView {
                code: failure.code.clone(),
                message: failure.message.clone(),
            }),
            timeline: state.timeline.steps().iter().map(StepView::from).collect(),
        }
    }
}

impl From<&Step> for StepView {
    fn from(step: &Step) -> Self {
        Self {
            event: step.kind.name(),
            at: imagepipe_common::time::rfc3339_millis(step.at_ms),
            by: step.by.clone(),
            status: (step.status != imagepipe_proto::v1::JobStatus::Unspecified)
                .then(|| step.status.name()),
            error: step.failure.as_ref().map(|failure| ErrorView {
                code: failure.code.clone(),
                message: failure.message.clone(),
            }),
        }
    }
}

impl Links {
    /// The links of job `id` under `base`.
    #[must_use]
    pub fn new(id: &str, base: &str) -> Self {
        Self {
            status: format!("{base}/image/{id}/status"),
            result: format!("{base}/image/{id}"),
            original: format!("{base}/image/{id}/original"),
        }
    }
}

impl OutputView {
    /// The view of job `id`'s `output`, its URL under `base`.
    #[must_use]
    pub fn new(id: &str, output: &OutputInfo, base: &str) -> Self {
        Self {
            name: output.name.clone(),
            url: format!("{base}/image/{id}/{}", output.name),
            info: ResultView::from(&output.info),
        }
    }
}

impl From<&ImageInfo> for ResultView {
    fn from(info: &ImageInfo) -> Self {
        Self {
            format: info.format().name(),
            content_type: info.format().mime_type(),
            width: info.width,
            height: info.height,
            bytes: info.bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use imagepipe_proto::v1::{ImageFormat, JobStatus};

    use super::*;
    use crate::tracking::jobs::JobFailure;

    #[test]
    fn a_queued_job_has_links_and_nothing_else() {
        let view = JobView::new("abc", &JobState::queued(), "");
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "id": "abc",
                "status": "queued",
                "links": {
                    "self": "/image/abc/status",
                    "result": "/image/abc",
                    "original": "/image/abc/original"
                }
            })
        );
    }

    #[test]
    fn done_and_failed_jobs_say_what_happened() {
        let mut state = JobState::queued();
        state.status = JobStatus::Done;
        state.outputs = vec![OutputInfo {
            name: "thumb".into(),
            info: ImageInfo {
                format: ImageFormat::Webp as i32,
                width: 10,
                height: 5,
                bytes: 99,
            },
        }];
        let json = serde_json::to_value(JobView::new("a", &state, "http://x")).unwrap();
        assert_eq!(json["links"]["result"], "http://x/image/a");
        assert_eq!(json["result"]["content_type"], "image/webp");
        assert_eq!(json["result"]["width"], 10);
        assert_eq!(
            json["outputs"],
            serde_json::json!([{
                "name": "thumb",
                "url": "http://x/image/a/thumb",
                "format": "webp",
                "content_type": "image/webp",
                "width": 10,
                "height": 5,
                "bytes": 99
            }])
        );
        let mut state = JobState::queued();
        state.status = JobStatus::Failed;
        state.failure = Some(JobFailure {
            code: "decode_failed".into(),
            message: "bad".into(),
        });
        let json = serde_json::to_value(JobView::new("a", &state, "")).unwrap();
        assert_eq!(json["status"], "failed");
        assert_eq!(json["error"]["code"], "decode_failed");
        assert!(json.get("timeline").is_none(), "no steps, no timeline");
    }

    #[test]
    fn the_timeline_says_what_happened_when_and_by_whom() {
        use imagepipe_proto::v1::job_event::Kind;

        let step = |kind, at_ms, by: &str, status| Step {
            kind,
            at_ms,
            by: by.into(),
            status,
            failure: None,
        };
        let mut state = JobState::queued();
        state.timeline.record(step(
            Kind::Accepted,
            1_700_000_000_000,
            "gw-1",
            JobStatus::Queued,
        ));
        let mut failed = step(Kind::Failed, 1_700_000_000_250, "tf-1", JobStatus::Failed);
        failed.failure = Some(JobFailure {
            code: "decode_failed".into(),
            message: "bad".into(),
        });
        state.timeline.record(failed);
        state.timeline.record(step(
            Kind::Stored,
            1_700_000_000_300,
            "s2d-1",
            JobStatus::Unspecified,
        ));
        let json = serde_json::to_value(JobView::new("a", &state, "")).unwrap();
        assert_eq!(
            json["timeline"],
            serde_json::json!([
                {"event": "accepted", "at": "2023-11-14T22:13:20.000Z", "by": "gw-1", "status": "queued"},
                {"event": "failed", "at": "2023-11-14T22:13:20.250Z", "by": "tf-1", "status": "failed",
                 "error": {"code": "decode_failed", "message": "bad"}},
                {"event": "stored", "at": "2023-11-14T22:13:20.300Z", "by": "s2d-1"}
            ])
        );
    }
}
