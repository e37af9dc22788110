//! Live status over Server-Sent Events: `GET /image/{id}/events` answers `text/event-stream` and sends
//! `event: status` with the job's status document (the same [`JobView`] as `GET /image/{id}/status`) at once and
//! on every change, and ends after the job is done or failed. A comment line (`:`) every 10 s keeps idle
//! connections open through proxies.
//!
//! Changes come from the replica's job table: every replica hears every job's events (accepted, started,
//! stored) and the accepting replica its results, and [`JobStore::watch`] wakes the stream on each. A job the
//! table does not hold (evicted from it, or forgotten while being followed) is looked up again every second
//! until it is final. A job deleted while followed gets `event: error` with `{"code": "job_not_found", …}`,
//! then the stream ends; so does every stream when the gateway shuts down (the client reconnects and carries
//! on from the current status, which is sent first).

use std::{convert::Infallible, future::Future, sync::Arc, time::Duration};

use futures_util::Stream;
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use warp::{Reply, http::HeaderValue, sse::Event};

use crate::{
    error::ApiError,
    error::rejection::ErrorBody,
    http::view::JobView,
    tracking::jobs::{JobState, JobStore},
    tracking::lookup::Lookup,
};

/// How often a job the table does not hold is looked up again.
pub const RECHECK: Duration = Duration::from_secs(1);

/// How often a job the table holds is looked up again although no change woke the stream (a safety net).
const RECHECK_WATCHED: Duration = Duration::from_secs(5);

/// Longest silence on a stream before a keep-alive comment.
const KEEP_ALIVE: Duration = Duration::from_secs(10);

/// Events waiting to be written to a slow client before the follower waits for it.
const BUFFERED_EVENTS: usize = 8;

/// Where a followed job's state comes from.
pub trait JobSource: Send + Sync + 'static {
    /// The job's current state, `None` once nobody knows it (deleted).
    fn state(
        &self,
        job_id: &str,
    ) -> impl Future<Output = Result<Option<JobState>, ApiError>> + Send;

    /// A receiver of the job's changes, if the job table holds it.
    fn watch(&self, job_id: &str) -> Option<watch::Receiver<JobState>>;
}

/// A replica's own view of jobs: its table, then MongoDB.
#[derive(Debug, Clone)]
pub struct Replica {
    /// Memory, then MongoDB.
    pub lookup: Lookup,
    /// The job table changes come from.
    pub jobs: Arc<JobStore>,
}

impl JobSource for Replica {
    fn state(
        &self,
        job_id: &str,
    ) -> impl Future<Output = Result<Option<JobState>, ApiError>> + Send {
        self.lookup.state(job_id)
    }

    fn watch(&self, job_id: &str) -> Option<watch::Receiver<JobState>> {
        self.jobs.watch(job_id)
    }
}

/// Following one job until it is final, the client leaves, or the gateway stops.
#[derive(Debug, Clone)]
pub struct Follow<S> {
    /// Where the job's state comes from.
    pub source: S,
    /// The job.
    pub job_id: String,
    /// Prefix of links in the status documents.
    pub link_base: Arc<str>,
    /// Becomes `true` when the gateway shuts down.
    pub stopping: watch::Receiver<bool>,
    /// How often a job without a watch is looked up again ([`RECHECK`]).
    pub recheck: Duration,
}

impl<S: JobSource> Follow<S> {
    /// The `text/event-stream` response following the job, starting from its state `first` (looked up by the
    /// caller, so an unknown job is answered with a `404` before any stream starts).
    #[must_use]
    pub fn reply(self, first: JobState) -> warp::reply::Response {
        let events = warp::sse::keep_alive()
            .interval(KEEP_ALIVE)
            .stream(self.events(first));
        let mut response = warp::sse::reply(events).into_response();
        // Tell buffering reverse proxies (nginx) to pass events on at once.
        response
            .headers_mut()
            .insert("x-accel-buffering", HeaderValue::from_static("no"));
        response
    }

    /// The events, produced by a task of their own that stops when the stream is dropped.
    pub fn events(
        self,
        first: JobState,
    ) -> impl Stream<Item = Result<Event, Infallible>> + Send + Sync {
        let (sender, mut receiver) = mpsc::channel(BUFFERED_EVENTS);
        tokio::spawn(self.run(first, sender));
        futures_util::stream::poll_fn(move |context| {
            receiver.poll_recv(context).map(|event| event.map(Ok))
        })
    }

    async fn run(mut self, first: JobState, sender: mpsc::Sender<Event>) {
        // Subscribe before looking again, and look at once: a change between the caller's lookup and the
        // subscription is not missed.
        let mut changes = self.source.watch(&self.job_id);
        if let Some(changes) = changes.as_mut() {
            changes.mark_changed();
        }
        let mut last = JobView::new(&self.job_id, &first, &self.link_base);
        if sender.send(status_event(&last)).await.is_err() || first.is_final() {
            return;
        }
        loop {
            tokio::select! {
                () = sender.closed() => return,
                _ = self.stopping.wait_for(|stopping| *stopping) => return,
                () = next_change(&mut changes, self.recheck) => {}
            }
            if changes.is_none() {
                changes = self.source.watch(&self.job_id);
            }
            let state = match self.source.state(&self.job_id).await {
                Ok(Some(state)) => state,
                Ok(None) => {
                    let gone = ApiError::JobNotFound(self.job_id.clone());
                    let _ = sender.send(error_event(&gone)).await;
                    return;
                }
                Err(error) => {
                    tracing::debug!(job_id = %self.job_id, %error, "Could not look the followed job up; trying again.");
                    continue;
                }
            };
            let view = JobView::new(&self.job_id, &state, &self.link_base);
            if view != last {
                if sender.send(status_event(&view)).await.is_err() {
                    return;
                }
                last = view;
            }
            if state.is_final() {
                return;
            }
        }
    }
}

/// Waits for the job's next change (or the safety re-check), or, without a watch, for `recheck`. A watch whose
/// job the table forgot is dropped.
async fn next_change(changes: &mut Option<watch::Receiver<JobState>>, recheck: Duration) {
    let Some(receiver) = changes.as_mut() else {
        tokio::time::sleep(recheck).await;
        return;
    };
    match tokio::time::timeout(RECHECK_WATCHED.max(recheck), receiver.changed()).await {
        Ok(Ok(())) | Err(_) => {}
        Ok(Err(_)) => *changes = None,
    }
}

fn status_event(view: &JobView) -> Event {
    event("status", view)
}

fn error_event(error: &ApiError) -> Event {
    // The same body as every error response.
    let body = ErrorBody {
        code: error.code(),
        message: error.to_string(),
    };
    event("error", &body)
}

fn event<T: Serialize>(name: &str, body: &T) -> Event {
    let data = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned());
    Event::default().event(name).data(data)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use futures_util::StreamExt;
    use imagepipe_proto::v1::{
        ImageFormat, ImageInfo, ImageResult, JobEvent, JobStatus, Output, job_event,
    };

    use super::*;

    const JOB: &str = "j1";

    /// The job table alone (no MongoDB), optionally hiding its watches to exercise the re-check.
    struct Table {
        jobs: Arc<JobStore>,
        watches: bool,
    }

    impl JobSource for Table {
        async fn state(&self, job_id: &str) -> Result<Option<JobState>, ApiError> {
            Ok(self.jobs.state(job_id))
        }

        fn watch(&self, job_id: &str) -> Option<watch::Receiver<JobState>> {
            self.watches.then(|| self.jobs.watch(job_id)).flatten()
        }
    }

    fn table(watches: bool) -> (Arc<JobStore>, watch::Sender<bool>, Follow<Table>) {
        let jobs = Arc::new(JobStore::new(100, 1 << 20));
        jobs.apply_event(&job_event(job_event::Kind::Accepted));
        let (stop, stopping) = watch::channel(false);
        let follow = Follow {
            source: Table {
                jobs: Arc::clone(&jobs),
                watches,
            },
            job_id: JOB.into(),
            link_base: "".into(),
            stopping,
            recheck: Duration::from_millis(20),
        };
        (jobs, stop, follow)
    }

    fn job_event(kind: job_event::Kind) -> JobEvent {
        JobEvent {
            job_id: JOB.into(),
            kind: kind as i32,
            ..JobEvent::default()
        }
    }

    fn done() -> ImageResult {
        ImageResult {
            job_id: JOB.into(),
            status: JobStatus::Done as i32,
            outputs: vec![Output {
                name: "default".into(),
                data: Bytes::from_static(b"png"),
                info: Some(ImageInfo {
                    format: ImageFormat::Png as i32,
                    width: 4,
                    height: 3,
                    bytes: 3,
                }),
            }],
            ..ImageResult::default()
        }
    }

    /// The next event as `(name, data)`, `None` at the end of the stream.
    async fn next(
        stream: &mut (impl Stream<Item = Result<Event, Infallible>> + Unpin),
    ) -> Option<(String, serde_json::Value)> {
        let event = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("an event or the end within 10 s")?
            .unwrap()
            .to_string();
        let field = |name: &str| {
            event
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .map(str::to_owned)
                .unwrap_or_else(|| panic!("no {name} in {event:?}"))
        };
        Some((
            field("event:"),
            serde_json::from_str(&field("data:")).unwrap(),
        ))
    }

    #[tokio::test]
    async fn follows_a_job_and_ends_once_it_is_final() {
        for watches in [true, false] {
            let (jobs, _stop, follow) = table(watches);
            let mut stream = Box::pin(follow.events(jobs.state(JOB).unwrap()));
            let (name, data) = next(&mut stream).await.unwrap();
            assert_eq!(
                (name.as_str(), data["status"].as_str()),
                ("status", Some("queued"))
            );
            jobs.apply_event(&job_event(job_event::Kind::Started));
            let (_, data) = next(&mut stream).await.unwrap();
            assert_eq!(data["status"], "processing", "watches: {watches}");
            jobs.apply_result(&done());
            let (_, data) = next(&mut stream).await.unwrap();
            assert_eq!(data["status"], "done");
            assert_eq!(data["outputs"][0]["width"], 4);
            assert_eq!(data["links"]["result"], "/image/j1");
            assert!(
                next(&mut stream).await.is_none(),
                "the stream ends after done"
            );
        }
    }

    #[tokio::test]
    async fn a_final_job_gets_one_event() {
        let (jobs, _stop, follow) = table(true);
        jobs.apply_result(&done());
        let mut stream = Box::pin(follow.events(jobs.state(JOB).unwrap()));
        assert_eq!(next(&mut stream).await.unwrap().1["status"], "done");
        assert!(next(&mut stream).await.is_none());
    }

    #[tokio::test]
    async fn a_job_deleted_while_followed_ends_with_an_error_event() {
        let (jobs, _stop, follow) = table(true);
        let mut stream = Box::pin(follow.events(jobs.state(JOB).unwrap()));
        next(&mut stream).await.unwrap();
        jobs.forget(JOB);
        let (name, data) = next(&mut stream).await.unwrap();
        assert_eq!(
            (name.as_str(), data["code"].as_str()),
            ("error", Some("job_not_found"))
        );
        assert!(next(&mut stream).await.is_none());
    }

    #[tokio::test]
    async fn streams_end_when_the_gateway_stops() {
        let (jobs, stop, follow) = table(true);
        let mut stream = Box::pin(follow.events(jobs.state(JOB).unwrap()));
        next(&mut stream).await.unwrap();
        stop.send(true).unwrap();
        assert!(next(&mut stream).await.is_none());
    }

    #[tokio::test]
    async fn the_response_is_an_event_stream() {
        let (jobs, _stop, follow) = table(true);
        jobs.apply_result(&done());
        let response = follow.reply(jobs.state(JOB).unwrap());
        let headers = response.headers();
        assert_eq!(headers["content-type"], "text/event-stream");
        assert_eq!(headers["cache-control"], "no-cache");
        assert_eq!(headers["x-accel-buffering"], "no");
    }
}
