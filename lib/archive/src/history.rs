//! The jobs' history: one small document per job event in the `job_events` collection, written by the activity
//! consumer and read back, in time order, for a job's timeline.
//!
//! Recording is idempotent: an event's `_id` is derived from what it says (`{job_id}/{kind}/{at_ms}/{by}`), and
//! it is upserted, so a redelivered event leaves one document. Two starts of the same job (a redelivery to
//! another transformer) differ in time or replica, and both stay: they are what happened.
//!
//! A deleted job's history goes with the job. Its `deleted` event stays behind as a tombstone (`_id`
//! `{job_id}/deleted`) so that an event still in flight when the job was deleted does not start a new
//! history: the deletion writes the tombstone, then removes the other events; an event is written, then
//! removed again if a tombstone exists. Whichever order the two run in, nothing of the job is left but the
//! tombstone.

use futures_util::TryStreamExt;
use imagepipe_proto::v1::{JobEvent, JobStatus, job_event};
use mongodb::{
    Collection, Database,
    bson::{self, Document, doc},
    error::ErrorKind,
};
use serde::{Deserialize, Serialize};

use crate::{
    JobError, StoreError,
    error::DUPLICATE_KEY,
    indexes::ensure_index,
    layout::{EVENTS_COLLECTION, tombstone_id},
};

/// One job event, as stored in `job_events`. Never carries image bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventDocument {
    /// Deterministic: see [`EventDocument::id_of`].
    #[serde(rename = "_id")]
    pub id: String,
    /// The job id.
    pub job_id: String,
    /// The trace id that follows the job through every service.
    pub trace_id: String,
    /// `accepted`, `started`, `done`, `failed`, `stored` or `deleted` (see `job_event::Kind::name`).
    pub kind: String,
    /// When it happened.
    pub at: bson::DateTime,
    /// Instance id of the replica that did this step.
    pub by: String,
    /// The job's status after this step (`queued`, `processing`, `done`, `failed`); absent when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Why the job failed, for `failed` and the `stored` event of a failed job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<JobError>,
}

impl EventDocument {
    /// The document of `event`.
    ///
    /// # Errors
    /// [`StoreError::InvalidEvent`] (permanent) when the event names no job or no known kind.
    pub fn of(event: &JobEvent) -> Result<Self, StoreError> {
        if event.job_id.is_empty() {
            return Err(StoreError::InvalidEvent("no job id".to_owned()));
        }
        let kind = event.kind();
        if kind == job_event::Kind::Unspecified {
            return Err(StoreError::InvalidEvent(format!(
                "unknown kind {} of job {}",
                event.kind, event.job_id
            )));
        }
        let status = event.status();
        let error = (!event.error_code.is_empty() || !event.error.is_empty()).then(|| JobError {
            code: event.error_code.clone(),
            message: event.error.clone(),
        });
        Ok(Self {
            id: Self::id_of(&event.job_id, kind, event.at_ms, &event.by),
            job_id: event.job_id.clone(),
            trace_id: event.trace_id.clone(),
            kind: kind.name().to_owned(),
            at: bson::DateTime::from_millis(event.at_ms),
            by: event.by.clone(),
            status: (status != JobStatus::Unspecified).then(|| status.name().to_owned()),
            error,
        })
    }

    /// The `_id` of job `job_id`'s event of `kind` at `at_ms` by `by`: `{job_id}/{kind}/{at_ms}/{by}`, and
    /// `{job_id}/deleted` for the deletion (one tombstone per job).
    #[must_use]
    pub fn id_of(job_id: &str, kind: job_event::Kind, at_ms: i64, by: &str) -> String {
        match kind {
            job_event::Kind::Deleted => tombstone_id(job_id),
            _ => format!("{job_id}/{}/{at_ms}/{by}", kind.name()),
        }
    }

    /// The kind, parsed (`None` for a name this version does not know).
    #[must_use]
    pub fn event_kind(&self) -> Option<job_event::Kind> {
        job_event::Kind::from_name(&self.kind)
    }

    /// The status, parsed.
    #[must_use]
    pub fn job_status(&self) -> JobStatus {
        self.status
            .as_deref()
            .and_then(JobStatus::from_name)
            .unwrap_or(JobStatus::Unspecified)
    }
}

/// What recording an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// A new event of the job's history.
    Added,
    /// The same event was already there (a redelivery).
    Duplicate,
    /// The job was deleted: the event was not kept.
    AfterDeletion,
    /// A deletion: the job's history was removed (this many events), its tombstone kept.
    Deleted(u64),
}

/// Handle on `job_events`. Cheap to clone.
#[derive(Debug, Clone)]
pub struct JobHistory {
    database: Database,
    events: Collection<EventDocument>,
}

impl JobHistory {
    /// A handle on `database`'s history. Creates nothing: see [`JobHistory::open`].
    #[must_use]
    pub fn new(database: &Database) -> Self {
        Self {
            database: database.clone(),
            events: database.collection(EVENTS_COLLECTION),
        }
    }

    /// The history on `database`, creating the index its reads rely on (`job_id` + `at`) if missing.
    ///
    /// # Errors
    /// [`StoreError::Mongo`] when the database cannot be reached or refuses the index.
    pub async fn open(database: &Database) -> Result<Self, StoreError> {
        let events = database.collection::<Document>(EVENTS_COLLECTION);
        ensure_index(&events, doc! { "job_id": 1, "at": 1 }, false).await?;
        Ok(Self::new(database))
    }

    /// Records `event` (idempotently); a deletion removes the job's history instead. See the module docs.
    ///
    /// # Errors
    /// [`StoreError::InvalidEvent`] (permanent) for an event that names no job or kind; otherwise the MongoDB
    /// error, see [`StoreError::is_transient`].
    pub async fn record(&self, event: &JobEvent) -> Result<Recorded, StoreError> {
        let document = EventDocument::of(event)?;
        let written = self
            .events
            .replace_one(doc! { "_id": &document.id }, &document)
            .upsert(true)
            .await
            .map_err(StoreError::mongo("writing a job event"))?;
        if event.kind() == job_event::Kind::Deleted {
            let removed = self
                .events
                .delete_many(doc! { "job_id": &document.job_id, "_id": { "$ne": &document.id } })
                .await
                .map_err(StoreError::mongo("removing a deleted job's history"))?;
            return Ok(Recorded::Deleted(removed.deleted_count));
        }
        if self.is_deleted(&document.job_id).await? {
            self.events
                .delete_one(doc! { "_id": &document.id })
                .await
                .map_err(StoreError::mongo("removing an event of a deleted job"))?;
            return Ok(Recorded::AfterDeletion);
        }
        Ok(if written.upserted_id.is_some() {
            Recorded::Added
        } else {
            Recorded::Duplicate
        })
    }

    /// Records `events` together, with the outcome of each in their order: what [`Self::record`] does for one,
    /// in two round trips for all of them (an unordered `insert_many`, where a duplicate key is an event kept
    /// already, and one look for their jobs' tombstones), plus one more to take back events of deleted jobs.
    /// A deletion in the batch is recorded on its own, after the others.
    pub async fn record_all(&self, events: &[JobEvent]) -> Vec<Result<Recorded, StoreError>> {
        let mut outcomes: Vec<Option<Result<Recorded, StoreError>>> =
            events.iter().map(|_| None).collect();
        // Which events go into the batch: (their place in `events`, their document).
        let mut batch = Vec::with_capacity(events.len());
        for (place, event) in events.iter().enumerate() {
            if event.kind() == job_event::Kind::Deleted {
                continue;
            }
            match EventDocument::of(event) {
                Ok(document) => batch.push((place, document)),
                Err(invalid) => outcomes[place] = Some(Err(invalid)),
            }
        }
        if !batch.is_empty() {
            self.record_batch(&batch, &mut outcomes).await;
        }
        for (place, event) in events.iter().enumerate() {
            if event.kind() == job_event::Kind::Deleted {
                outcomes[place] = Some(self.record(event).await);
            }
        }
        outcomes
            .into_iter()
            .map(|outcome| outcome.unwrap_or(Ok(Recorded::Duplicate)))
            .collect()
    }

    /// [`Self::record_all`]'s batch of documents, none a deletion; fills in the outcome of each.
    async fn record_batch(
        &self,
        batch: &[(usize, EventDocument)],
        outcomes: &mut [Option<Result<Recorded, StoreError>>],
    ) {
        const WRITING: &str = "writing job events";
        let written = self
            .events
            .insert_many(batch.iter().map(|(_, document)| document))
            .ordered(false)
            .await;
        for (place, _) in batch {
            outcomes[*place] = Some(Ok(Recorded::Added));
        }
        if let Err(error) = written {
            match error.kind.as_ref() {
                ErrorKind::InsertMany(failure) if failure.write_concern_error.is_none() => {
                    for write in failure.write_errors.iter().flatten() {
                        let Some((place, _)) = batch.get(write.index) else {
                            continue;
                        };
                        outcomes[*place] = Some(if write.code == DUPLICATE_KEY {
                            Ok(Recorded::Duplicate)
                        } else {
                            Err(StoreError::mongo(WRITING)(error.clone()))
                        });
                    }
                }
                _ => {
                    for (place, _) in batch {
                        outcomes[*place] = Some(Err(StoreError::mongo(WRITING)(error.clone())));
                    }
                    return;
                }
            }
        }
        // Events of a job deleted meanwhile (or before) are taken back: nothing of it is left but its tombstone.
        let mut tombstones: Vec<String> = batch
            .iter()
            .map(|(_, document)| tombstone_id(&document.job_id))
            .collect();
        tombstones.sort_unstable();
        tombstones.dedup();
        let deleted = match self.tombstones(&tombstones).await {
            Ok(deleted) => deleted,
            Err(error) => {
                for (place, _) in batch {
                    if matches!(outcomes[*place], Some(Ok(_))) {
                        outcomes[*place] = Some(Err(StoreError::mongo(
                            "looking for the jobs' tombstones",
                        )(error.clone())));
                    }
                }
                return;
            }
        };
        if deleted.is_empty() {
            return;
        }
        let late: Vec<&(usize, EventDocument)> = batch
            .iter()
            .filter(|(_, document)| deleted.contains(&tombstone_id(&document.job_id)))
            .collect();
        let ids: Vec<&str> = late
            .iter()
            .map(|(_, document)| document.id.as_str())
            .collect();
        let removed = self
            .events
            .delete_many(doc! { "_id": { "$in": ids } })
            .await;
        for (place, _) in late {
            if matches!(outcomes[*place], Some(Ok(_))) {
                outcomes[*place] = Some(match &removed {
                    Ok(_) => Ok(Recorded::AfterDeletion),
                    Err(error) => Err(StoreError::mongo("removing events of deleted jobs")(
                        error.clone(),
                    )),
                });
            }
        }
    }

    /// Which of the tombstone ids `ids` exist.
    async fn tombstones(&self, ids: &[String]) -> mongodb::error::Result<Vec<String>> {
        let found: Vec<Document> = self
            .events
            .clone_with_type::<Document>()
            .find(doc! { "_id": { "$in": ids } })
            .projection(doc! { "_id": 1 })
            .await?
            .try_collect()
            .await?;
        Ok(found
            .iter()
            .filter_map(|tombstone| tombstone.get_str("_id").ok().map(str::to_owned))
            .collect())
    }

    /// Whether job `job_id` was deleted (its tombstone exists).
    ///
    /// # Errors
    /// [`StoreError::Mongo`] when the query fails.
    pub async fn is_deleted(&self, job_id: &str) -> Result<bool, StoreError> {
        Ok(self
            .events
            .clone_with_type::<Document>()
            .find_one(doc! { "_id": tombstone_id(job_id) })
            .projection(doc! { "_id": 1 })
            .await
            .map_err(StoreError::mongo("looking for a job's tombstone"))?
            .is_some())
    }

    /// Job `job_id`'s events, oldest first (events of the same millisecond in the order they happen to a job).
    /// A deleted job's history is its tombstone alone.
    ///
    /// # Errors
    /// [`StoreError::Mongo`] when the query fails or a document cannot be read.
    pub async fn events(&self, job_id: &str) -> Result<Vec<EventDocument>, StoreError> {
        let mut events: Vec<EventDocument> = self
            .events
            .find(doc! { "job_id": job_id })
            .sort(doc! { "at": 1 })
            .await
            .map_err(StoreError::mongo("reading a job's history"))?
            .try_collect()
            .await
            .map_err(StoreError::mongo("reading a job's history"))?;
        events.sort_by_key(|event| {
            let rank = event.event_kind().map_or(u8::MAX, job_event::Kind::rank);
            (event.at, rank)
        });
        Ok(events)
    }

    /// Whether the database answers now.
    ///
    /// # Errors
    /// [`StoreError::Mongo`] when it does not.
    pub async fn ping(&self) -> Result<(), StoreError> {
        crate::database::ping(&self.database).await
    }

    /// Whether the database takes writes now (see [`crate::database::writable`]).
    ///
    /// # Errors
    /// [`StoreError::NotWritable`] when it has no writable primary, [`StoreError::Mongo`] when it does not
    /// answer.
    pub async fn writable(&self) -> Result<(), StoreError> {
        crate::database::writable(&self.database).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: job_event::Kind) -> JobEvent {
        JobEvent {
            job_id: "j1".into(),
            trace_id: "t1".into(),
            kind: kind as i32,
            at_ms: 1_700_000_000_123,
            by: "tf-1".into(),
            status: JobStatus::Processing as i32,
            ..JobEvent::default()
        }
    }

    #[test]
    fn an_event_maps_to_a_small_document_with_a_deterministic_id() {
        let document = EventDocument::of(&event(job_event::Kind::Started)).unwrap();
        assert_eq!(document.id, "j1/started/1700000000123/tf-1");
        assert_eq!(document.kind, "started");
        assert_eq!(document.at.timestamp_millis(), 1_700_000_000_123);
        assert_eq!(document.status.as_deref(), Some("processing"));
        assert_eq!(document.error, None);
        assert_eq!(document.event_kind(), Some(job_event::Kind::Started));
        assert_eq!(
            EventDocument::of(&event(job_event::Kind::Started)).unwrap(),
            document,
            "the same event, the same document"
        );
        let encoded = bson::to_document(&document).unwrap();
        assert!(!encoded.contains_key("error"));
        let decoded: EventDocument = bson::from_document(encoded).unwrap();
        assert_eq!(decoded, document);
    }

    #[test]
    fn a_failure_keeps_its_reason_and_a_deletion_is_the_jobs_tombstone() {
        let mut failed = event(job_event::Kind::Failed);
        failed.status = JobStatus::Failed as i32;
        failed.error_code = "decode_failed".into();
        failed.error = "not a picture".into();
        let document = EventDocument::of(&failed).unwrap();
        assert_eq!(document.job_status(), JobStatus::Failed);
        assert_eq!(document.error.unwrap().code, "decode_failed");
        let mut deleted = event(job_event::Kind::Deleted);
        deleted.status = JobStatus::Unspecified as i32;
        let document = EventDocument::of(&deleted).unwrap();
        assert_eq!(document.id, "j1/deleted");
        assert_eq!(document.status, None);
    }

    #[test]
    fn events_without_a_job_or_a_kind_are_invalid() {
        let mut nameless = event(job_event::Kind::Started);
        nameless.job_id.clear();
        let error = EventDocument::of(&nameless).unwrap_err();
        assert!(!error.is_transient());
        let mut unknown = event(job_event::Kind::Started);
        unknown.kind = 99;
        assert!(matches!(
            EventDocument::of(&unknown),
            Err(StoreError::InvalidEvent(_))
        ));
    }
}
