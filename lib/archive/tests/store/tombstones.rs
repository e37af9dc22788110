//! A deleted job stays deleted: an archive of it that comes after the deletion (a redelivery after a crash, a
//! replay from the dead-letter queue) or during it stores nothing, and leaves nothing but the tombstone.

use imagepipe_archive::{JobHistory, Saved, layout, original_id, testkit::done_archive};
use mongodb::bson::doc;

use crate::helpers::{TestDb, chunks, deletion, files, unique};

/// Nothing of `job_id` is stored: no document, no file, no chunk, and its history is the tombstone alone.
async fn nothing_left_but_the_tombstone(db: &TestDb, job_id: &str) {
    assert_eq!(db.store.job(job_id).await.unwrap(), None, "{job_id}");
    assert_eq!(
        db.count(&files(), doc! { "metadata.job_id": job_id }).await,
        0,
        "files of {job_id}"
    );
    assert_eq!(
        db.count(&chunks(), doc! { "files_id": original_id(job_id) })
            .await,
        0,
        "chunks of {job_id}"
    );
    let history = db.store.history(job_id).await.unwrap();
    let ids: Vec<_> = history.iter().map(|event| event.id.as_str()).collect();
    assert_eq!(ids, [layout::tombstone_id(job_id)], "history of {job_id}");
}

#[tokio::test]
async fn an_archive_redelivered_after_the_deletion_does_not_bring_the_job_back() {
    let db = TestDb::new("archive-t").await;
    let job_id = unique("job");
    let archive = done_archive(&job_id, 300_000, 1_000);
    assert!(matches!(
        db.store.save(&archive).await.unwrap(),
        Saved::Stored(_)
    ));
    assert!(db.store.delete_job(&deletion(&job_id)).await.unwrap());

    // save2db crashed before its ack: the broker delivers the same archive again.
    assert_eq!(db.store.save(&archive).await.unwrap(), Saved::Deleted);

    nothing_left_but_the_tombstone(&db, &job_id).await;
    db.drop().await;
}

#[tokio::test]
async fn an_archive_racing_a_deletion_leaves_nothing_whichever_runs_first() {
    let db = TestDb::new("archive-t").await;
    // Every interleaving of a save and a deletion of the same job: the deletion starts at a different point of
    // the save each round (several chunks per file, so a save takes many round trips).
    for round in 0..12_u64 {
        let job_id = unique("job");
        let archive = done_archive(&job_id, 800_000, 300_000);
        let save = db.store.save(&archive);
        let delete = async {
            tokio::time::sleep(std::time::Duration::from_millis(round * 3)).await;
            db.store.delete_job(&deletion(&job_id)).await.unwrap();
        };
        let (saved, ()) = tokio::join!(save, delete);
        saved.unwrap();
        // Whatever came of the race, a later redelivery stores nothing either.
        assert_eq!(db.store.save(&archive).await.unwrap(), Saved::Deleted);
        nothing_left_but_the_tombstone(&db, &job_id).await;
    }
    db.drop().await;
}

#[tokio::test]
async fn deleting_twice_is_harmless_and_other_jobs_are_untouched() {
    let db = TestDb::new("archive-t").await;
    let (job_id, other) = (unique("job"), unique("job"));
    db.store
        .save(&done_archive(&job_id, 1_000, 1_000))
        .await
        .unwrap();
    db.store
        .save(&done_archive(&other, 1_000, 1_000))
        .await
        .unwrap();
    assert!(db.store.delete_job(&deletion(&job_id)).await.unwrap());
    assert!(!db.store.delete_job(&deletion(&job_id)).await.unwrap());
    nothing_left_but_the_tombstone(&db, &job_id).await;
    assert!(
        !JobHistory::new(&db.database)
            .is_deleted(&other)
            .await
            .unwrap()
    );
    assert!(db.store.job(&other).await.unwrap().is_some());
    let mut not_a_deletion = deletion(&job_id);
    not_a_deletion.kind = imagepipe_proto::v1::job_event::Kind::Stored as i32;
    assert!(db.store.delete_job(&not_a_deletion).await.is_err());
    db.drop().await;
}
