//! The JSON documents the gateway answers with, as far as the client reads them.

use serde::Deserialize;

/// The parts of a status document the client uses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct JobStatus {
    /// The job id.
    pub id: String,
    /// `queued`, `processing`, `done` or `failed`.
    pub status: String,
    /// Every output, once done.
    #[serde(default)]
    pub outputs: Vec<OutputInfo>,
    /// The main result (what `GET /image/{id}` serves), once done.
    #[serde(default)]
    pub result: Option<ResultInfo>,
    /// Why it failed.
    #[serde(default)]
    pub error: Option<ErrorBody>,
    /// The steps of the job's life, oldest first.
    #[serde(default)]
    pub timeline: Vec<TimelineStep>,
}

/// One step of a job's life.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TimelineStep {
    /// `accepted`, `started`, `done`, `failed` or `stored`.
    pub event: String,
    /// When (RFC 3339, UTC, milliseconds).
    pub at: String,
    /// The replica that did it.
    pub by: String,
}

/// One output of a job.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OutputInfo {
    /// `default`, or the variant's name.
    pub name: String,
    /// `jpeg`, `png`, `webp`, …
    pub format: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// The main result of a job.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ResultInfo {
    /// `jpeg`, `png`, `webp`, …
    pub format: String,
}

/// One page of `GET /images`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct JobPage {
    /// The jobs, newest first.
    pub items: Vec<ListedJob>,
    /// The next page's cursor.
    pub next: Option<String>,
}

/// One job of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ListedJob {
    /// The job id.
    pub id: String,
    /// `done` or `failed`.
    pub status: String,
    /// When it was submitted (RFC 3339).
    pub submitted_at: String,
    /// The client's file name.
    #[serde(default)]
    pub filename: Option<String>,
    /// Its outputs' names.
    #[serde(default)]
    pub outputs: Vec<String>,
    /// Why it failed.
    #[serde(default)]
    pub error: Option<ErrorBody>,
}

/// The API's error body, and a failed job's reason.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ErrorBody {
    /// Stable code.
    pub code: String,
    /// Explanation.
    #[serde(default)]
    pub message: String,
}

/// The body of a `422` for a failed job.
#[derive(Debug, Deserialize)]
pub(crate) struct FailedBody {
    /// The gateway's sentence.
    pub message: String,
    /// The job, with its reason.
    #[serde(default)]
    pub job: Option<FailedJob>,
}

/// The job in a [`FailedBody`].
#[derive(Debug, Deserialize)]
pub(crate) struct FailedJob {
    /// Why it failed.
    pub error: Option<ErrorBody>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_documents_and_pages_parse() {
        let status: JobStatus = serde_json::from_value(serde_json::json!({
            "id": "j",
            "status": "done",
            "links": {"self": "/image/j/status"},
            "result": {"format": "png", "width": 1},
            "outputs": [{"name": "default", "url": "/image/j/default", "format": "png", "width": 1, "height": 1, "bytes": 9}]
        }))
        .unwrap();
        assert_eq!(status.outputs[0].name, "default");
        assert_eq!(status.result.unwrap().format, "png");
        let queued: JobStatus =
            serde_json::from_value(serde_json::json!({"id": "j", "status": "queued"})).unwrap();
        assert!(queued.outputs.is_empty());
        let page: JobPage = serde_json::from_value(serde_json::json!({
            "items": [{"id": "j", "status": "failed", "submitted_at": "2025-01-01T00:00:00Z", "outputs": [],
                       "error": {"code": "decode_failed", "message": "bad"}, "links": {}}],
            "next": null
        }))
        .unwrap();
        assert_eq!(page.items[0].error.as_ref().unwrap().code, "decode_failed");
        assert_eq!(page.next, None);
    }
}
