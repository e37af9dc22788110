//! What a save costs the database: the commands the driver sends, counted with its command monitoring. A job is
//! stored in five round trips however many chunks and outputs it has, and a batch of job events in two.

use std::sync::{Arc, Mutex};

use imagepipe_archive::{
    ArchiveStore, JobHistory,
    testkit::{done_archive, mongodb_uri, unique_database},
};
use imagepipe_proto::v1::{JobEvent, JobStatus, job_event};
use mongodb::{
    Client, Database, event::EventHandler, event::command::CommandEvent, options::ClientOptions,
};

use crate::helpers::{stored, unique};

/// A database of its own on a client that writes down the name of every command sent to that database.
async fn counted_database() -> (Database, Arc<Mutex<Vec<String>>>) {
    let name = unique_database("archive_rt");
    let sent = Arc::new(Mutex::new(Vec::new()));
    let mut options = ClientOptions::parse(mongodb_uri()).await.unwrap();
    let (log, database) = (Arc::clone(&sent), name.clone());
    options.command_event_handler = Some(EventHandler::callback(move |event| {
        if let CommandEvent::Started(started) = event
            && started.db == database
        {
            log.lock().unwrap().push(started.command_name);
        }
    }));
    let client = Client::with_options(options).unwrap();
    (client.database(&name), sent)
}

fn take(sent: &Mutex<Vec<String>>) -> Vec<String> {
    std::mem::take(&mut *sent.lock().unwrap())
}

#[tokio::test]
async fn a_job_is_stored_in_five_round_trips_and_a_batch_of_events_in_two() {
    let (database, sent) = counted_database().await;
    let store = ArchiveStore::open(database.clone(), "images")
        .await
        .unwrap();
    let history = JobHistory::open(&database).await.unwrap();
    take(&sent);

    // Three chunks of original, two of output: still one insert for all chunks, one for both files.
    let job_id = unique("job");
    let archive = done_archive(&job_id, 600_000, 300_000);
    stored(store.save(&archive).await.unwrap());
    assert_eq!(
        take(&sent),
        ["find", "insert", "insert", "update", "find"],
        "tombstone, chunks, files, job document, tombstone"
    );

    // Saved again (a redelivery): the first try meets its own chunks and the save goes file by file, skipping
    // both complete files.
    stored(store.save(&archive).await.unwrap());
    let again = take(&sent);
    assert_eq!(again[..2], ["find", "insert"], "{again:?}");
    assert_eq!(
        again.iter().filter(|name| *name == "insert").count(),
        1,
        "nothing rewritten: {again:?}"
    );
    assert_eq!(
        again.iter().filter(|name| *name == "delete").count(),
        0,
        "nothing removed: {again:?}"
    );

    let events: Vec<JobEvent> = (0..10)
        .map(|n| JobEvent {
            job_id: job_id.clone(),
            trace_id: "t".into(),
            kind: job_event::Kind::Started as i32,
            at_ms: 1_700_000_000_000 + n,
            by: "tf-1".into(),
            status: JobStatus::Processing as i32,
            ..JobEvent::default()
        })
        .collect();
    let outcomes = history.record_all(&events).await;
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    assert_eq!(
        take(&sent),
        ["insert", "find"],
        "events, then their jobs' tombstones"
    );
    database.drop().await.unwrap();
}
