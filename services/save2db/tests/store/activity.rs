//! The activity log: job events published on the exchange reach `{ns}.activity`, and save2db keeps each once, in
//! time order, as the job's history; garbage is dead-lettered; a deletion removes the history.

use imagepipe_archive::{JobHistory, Recorded, layout::EVENTS_COLLECTION};
use imagepipe_common::amqp::{Channel, Envelope, ready_count};
use imagepipe_proto::{
    topology::routing,
    v1::{JobEvent, JobStatus, job_event},
};
use lapin::{
    BasicProperties,
    options::{BasicGetOptions, BasicPublishOptions},
};
use mongodb::bson::doc;

use crate::helpers::{EVENT_TIMEOUT, scratch_archive, spawn_app, wait_for};

const T0: i64 = 1_700_000_000_000;

fn event(job_id: &str, kind: job_event::Kind, at_ms: i64, by: &str, status: JobStatus) -> JobEvent {
    JobEvent {
        job_id: job_id.to_owned(),
        trace_id: format!("trace-{job_id}"),
        kind: kind as i32,
        at_ms,
        by: by.to_owned(),
        status: status as i32,
        ..JobEvent::default()
    }
}

/// A failed job's life: accepted, started, failed, stored.
fn life(job_id: &str) -> Vec<JobEvent> {
    let mut failed = event(
        job_id,
        job_event::Kind::Failed,
        T0 + 300,
        "tf-1",
        JobStatus::Failed,
    );
    failed.error_code = "decode_failed".into();
    failed.error = "not a picture".into();
    let mut stored = event(
        job_id,
        job_event::Kind::Stored,
        T0 + 400,
        "s2d-1",
        JobStatus::Failed,
    );
    stored.error_code = "decode_failed".into();
    stored.error = "not a picture".into();
    vec![
        event(
            job_id,
            job_event::Kind::Accepted,
            T0,
            "gw-1",
            JobStatus::Queued,
        ),
        event(
            job_id,
            job_event::Kind::Started,
            T0 + 100,
            "tf-1",
            JobStatus::Processing,
        ),
        failed,
        stored,
    ]
}

async fn wait_for_ready(channel: &Channel, queue: &str, count: u32) -> bool {
    wait_for(EVENT_TIMEOUT, || async {
        (ready_count(channel, queue).await.unwrap() == count).then_some(())
    })
    .await
    .is_some()
}

#[tokio::test]
async fn events_become_the_jobs_history_once_each_and_garbage_is_dead_lettered() {
    let app = spawn_app().await;
    let job_id = uuid::Uuid::new_v4().to_string();
    let events = life(&job_id);
    // Out of order, and the start twice (a redelivery of the same message).
    for event in [&events[3], &events[1], &events[0], &events[1], &events[2]] {
        let key = routing::event(event.kind().name());
        let envelope = Envelope::event(&key, &job_id, &event.trace_id);
        app.publisher.publish(envelope, event).await.unwrap();
    }
    // Garbage on an event key: not a protobuf job event at all.
    let channel = app.broker.channel().await.unwrap();
    channel
        .basic_publish(
            app.broker.topology().exchange().into(),
            "job.event.started".into(),
            BasicPublishOptions::default(),
            b"\xff\xff\xff not an event",
            BasicProperties::default(),
        )
        .await
        .unwrap();

    let history = wait_for(EVENT_TIMEOUT, || async {
        let history = app.db.store.history(&job_id).await.unwrap();
        (history.len() == 4).then_some(history)
    })
    .await
    .expect("the four events are kept");
    let kinds: Vec<&str> = history.iter().map(|event| event.kind.as_str()).collect();
    assert_eq!(kinds, ["accepted", "started", "failed", "stored"]);
    let by: Vec<&str> = history.iter().map(|event| event.by.as_str()).collect();
    assert_eq!(by, ["gw-1", "tf-1", "tf-1", "s2d-1"]);
    assert!(history.windows(2).all(|pair| pair[0].at <= pair[1].at));
    assert_eq!(history[0].trace_id, format!("trace-{job_id}"));
    assert_eq!(history[2].status.as_deref(), Some("failed"));
    assert_eq!(history[2].error.as_ref().unwrap().code, "decode_failed");
    assert_eq!(history[1].error, None);

    // The garbage waits in the dead-letter queue, not redelivered forever.
    let dead_letters = app.broker.topology().dead_letter_queue();
    assert!(
        wait_for_ready(&channel, &dead_letters, 1).await,
        "the garbage event is dead-lettered"
    );
    let letter = channel
        .basic_get(
            dead_letters.as_str().into(),
            BasicGetOptions { no_ack: true },
        )
        .await
        .unwrap()
        .expect("a dead letter");
    assert_eq!(letter.delivery.data, b"\xff\xff\xff not an event");
    assert!(
        wait_for_ready(&channel, &app.broker.topology().activity_queue(), 0).await,
        "the activity queue ends empty"
    );
    // No duplicate: exactly one document per event.
    assert_eq!(
        app.db
            .count(EVENTS_COLLECTION, doc! { "job_id": &job_id })
            .await,
        4
    );

    // A deletion removes the history.
    let deleted = event(
        &job_id,
        job_event::Kind::Deleted,
        T0 + 900,
        "gw-2",
        JobStatus::Unspecified,
    );
    let key = routing::event("deleted");
    let envelope = Envelope::event(&key, &job_id, &deleted.trace_id);
    app.publisher.publish(envelope, &deleted).await.unwrap();
    let gone = wait_for(EVENT_TIMEOUT, || async {
        let history = app.db.store.history(&job_id).await.unwrap();
        (history.len() == 1).then_some(history)
    })
    .await
    .expect("only the deletion's tombstone is left");
    assert_eq!(gone[0].kind, "deleted");
    assert_eq!(gone[0].by, "gw-2");

    let _ = channel.close(200, "done".into()).await;
    app.clean_up().await;
}

#[tokio::test]
async fn recording_is_idempotent_and_a_deleted_job_gets_no_new_history() {
    let db = scratch_archive().await;
    let history = JobHistory::open(&db.database).await.unwrap();
    let job_id = uuid::Uuid::new_v4().to_string();
    let other = uuid::Uuid::new_v4().to_string();
    let events = life(&job_id);
    for event in &events {
        assert_eq!(history.record(event).await.unwrap(), Recorded::Added);
    }
    assert_eq!(
        history.record(&events[1]).await.unwrap(),
        Recorded::Duplicate
    );
    // A second start by another transformer (a redelivery) is another step of the job's life.
    let restarted = event(
        &job_id,
        job_event::Kind::Started,
        T0 + 150,
        "tf-2",
        JobStatus::Processing,
    );
    assert_eq!(history.record(&restarted).await.unwrap(), Recorded::Added);
    history.record(&life(&other)[0]).await.unwrap();
    let kept = history.events(&job_id).await.unwrap();
    let steps: Vec<(&str, &str)> = kept
        .iter()
        .map(|event| (event.kind.as_str(), event.by.as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            ("accepted", "gw-1"),
            ("started", "tf-1"),
            ("started", "tf-2"),
            ("failed", "tf-1"),
            ("stored", "s2d-1")
        ]
    );

    let deleted = event(
        &job_id,
        job_event::Kind::Deleted,
        T0 + 900,
        "gw-1",
        JobStatus::Unspecified,
    );
    assert_eq!(
        history.record(&deleted).await.unwrap(),
        Recorded::Deleted(5)
    );
    // An event still in flight when the job was deleted does not bring its history back.
    assert_eq!(
        history.record(&events[3]).await.unwrap(),
        Recorded::AfterDeletion
    );
    let left = history.events(&job_id).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].kind, "deleted");
    // Another job's history is untouched.
    assert_eq!(history.events(&other).await.unwrap().len(), 1);
    assert_eq!(
        history.record(&deleted).await.unwrap(),
        Recorded::Deleted(0),
        "a redelivered deletion is harmless"
    );
    db.drop().await;
}

#[tokio::test]
async fn a_batch_is_recorded_as_each_of_its_events_would_be() {
    let db = scratch_archive().await;
    let history = JobHistory::open(&db.database).await.unwrap();
    let job_id = uuid::Uuid::new_v4().to_string();
    let gone = uuid::Uuid::new_v4().to_string();
    let going = uuid::Uuid::new_v4().to_string();
    let events = life(&job_id);
    history.record(&events[0]).await.unwrap();
    history
        .record(&event(
            &gone,
            job_event::Kind::Deleted,
            T0,
            "gw-1",
            JobStatus::Unspecified,
        ))
        .await
        .unwrap();
    history.record(&life(&going)[0]).await.unwrap();
    let mut nameless = events[1].clone();
    nameless.job_id.clear();

    let batch = vec![
        events[0].clone(), // kept already: a redelivery
        events[1].clone(),
        events[1].clone(), // twice in the same batch
        events[2].clone(),
        life(&gone)[1].clone(), // of a job deleted before
        nameless,
        event(
            &going,
            job_event::Kind::Deleted,
            T0 + 900,
            "gw-2",
            JobStatus::Unspecified,
        ),
        events[3].clone(),
    ];
    let outcomes = history.record_all(&batch).await;

    assert_eq!(outcomes.len(), batch.len());
    let simple: Vec<Option<Recorded>> = outcomes.iter().map(|o| o.as_ref().ok().copied()).collect();
    assert_eq!(
        simple,
        [
            Some(Recorded::Duplicate),
            Some(Recorded::Added),
            Some(Recorded::Duplicate),
            Some(Recorded::Added),
            Some(Recorded::AfterDeletion),
            None,
            Some(Recorded::Deleted(1)),
            Some(Recorded::Added),
        ]
    );
    assert!(!outcomes[5].as_ref().unwrap_err().is_transient(), "poison");
    let kinds: Vec<String> = history
        .events(&job_id)
        .await
        .unwrap()
        .into_iter()
        .map(|event| event.kind)
        .collect();
    assert_eq!(kinds, ["accepted", "started", "failed", "stored"]);
    for job in [&gone, &going] {
        let left = history.events(job).await.unwrap();
        assert_eq!(left.len(), 1, "only the tombstone of {job}");
        assert_eq!(left[0].kind, "deleted");
    }
    db.drop().await;
}

#[tokio::test]
async fn events_handled_at_the_same_time_are_written_together() {
    let db = scratch_archive().await;
    let history = JobHistory::open(&db.database).await.unwrap();
    let commit = imagepipe_save2db::group_commit::GroupCommit::start(history.clone());
    let job_id = uuid::Uuid::new_v4().to_string();
    const EVENTS: i64 = 64;

    let handlers = (0..EVENTS).map(|n| {
        let commit = commit.clone();
        let started = event(
            &job_id,
            job_event::Kind::Started,
            T0 + n,
            "tf-1",
            JobStatus::Processing,
        );
        tokio::spawn(async move { commit.record(started).await })
    });
    let outcomes = futures_util::future::join_all(handlers).await;

    for outcome in outcomes {
        assert_eq!(outcome.unwrap().unwrap(), Recorded::Added);
    }
    assert_eq!(
        history.events(&job_id).await.unwrap().len(),
        usize::try_from(EVENTS).unwrap()
    );
    let writes = commit.writes();
    assert!(
        (1..=EVENTS as u64 / 4).contains(&writes),
        "{EVENTS} events in {writes} writes: the events waiting while one batch is written make the next"
    );
    // Alone, an event is written at once.
    let alone = event(
        &job_id,
        job_event::Kind::Done,
        T0 + 500,
        "tf-1",
        JobStatus::Done,
    );
    assert_eq!(commit.record(alone).await.unwrap(), Recorded::Added);
    assert_eq!(commit.writes(), writes + 1);
    db.drop().await;
}
