//! Group commit for the activity log: the job events that the activity consumer handles at the same time are
//! written to MongoDB together ([`JobHistory::record_all`]), so that a busy pipeline costs the database a few
//! round trips per batch of events instead of two per event.
//!
//! One task writes. A handler hands its event over and waits for that event's outcome. The task takes every
//! event waiting when it is free, up to [`MAX_BATCH`], writes them, answers each, and goes again: on an idle
//! pipeline an event is written at once, alone; under load the events that arrived during one write make the
//! next batch. Nothing waits for a batch to fill. Each event is still acknowledged only after its own outcome,
//! so a crash loses nothing: unacknowledged events are redelivered and their writes are idempotent.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use imagepipe_archive::{JobHistory, Recorded, StoreError};
use imagepipe_proto::v1::JobEvent;
use tokio::sync::{mpsc, oneshot};

/// The most events written in one batch (the activity consumer's prefetch bounds it too).
pub const MAX_BATCH: usize = 256;

/// One event waiting to be written, and where its outcome goes.
struct Pending {
    event: JobEvent,
    outcome: oneshot::Sender<Result<Recorded, StoreError>>,
}

/// Hands events to the writing task. Cheap to clone; the task ends when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct GroupCommit {
    history: JobHistory,
    pending: mpsc::UnboundedSender<Pending>,
    writes: Arc<AtomicU64>,
}

impl GroupCommit {
    /// Starts the writing task on `history`. Must be called within a Tokio runtime.
    #[must_use]
    pub fn start(history: JobHistory) -> Self {
        let (pending, queue) = mpsc::unbounded_channel();
        let writes = Arc::new(AtomicU64::new(0));
        tokio::spawn(write_batches(history.clone(), queue, Arc::clone(&writes)));
        Self {
            history,
            pending,
            writes,
        }
    }

    /// How many batches the task has written so far.
    #[must_use]
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    /// Records `event` with whatever other events are waiting, and returns its own outcome: what
    /// [`JobHistory::record`] would. Should the writing task be gone, the event is written on its own.
    ///
    /// # Errors
    /// As [`JobHistory::record`]; [`StoreError::Interrupted`] (transient: the delivery is requeued) when the task
    /// stopped with the event in hand, before answering.
    pub async fn record(&self, event: JobEvent) -> Result<Recorded, StoreError> {
        let (outcome, answer) = oneshot::channel();
        if let Err(mpsc::error::SendError(unsent)) = self.pending.send(Pending { event, outcome }) {
            return self.history.record(&unsent.event).await;
        }
        answer.await.unwrap_or(Err(StoreError::Interrupted(
            "the activity log's writer stopped",
        )))
    }
}

/// The writing task: takes what is waiting, writes it, answers, until every [`GroupCommit`] is dropped.
async fn write_batches(
    history: JobHistory,
    mut queue: mpsc::UnboundedReceiver<Pending>,
    writes: Arc<AtomicU64>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let events: Vec<JobEvent> = batch
            .iter_mut()
            .map(|pending| std::mem::take(&mut pending.event))
            .collect();
        let outcomes = history.record_all(&events).await;
        writes.fetch_add(1, Ordering::Relaxed);
        crate::metrics::activity_batch(events.len());
        for (pending, outcome) in batch.drain(..).zip(outcomes) {
            // The handler may have been cancelled meanwhile (shutdown): nobody to answer.
            let _ = pending.outcome.send(outcome);
        }
    }
}
