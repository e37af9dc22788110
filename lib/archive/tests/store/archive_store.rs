//! The archive store: documents, exact bytes, idempotence, crash recovery.

use imagepipe_archive::{
    JobError, STALE_CHUNKS_AFTER, SpecDocument, original_id, output_id,
    testkit::{CHUNK_SIZE, done_archive, failed_archive},
};
use imagepipe_proto::v1::JobStatus;
use mongodb::bson::{Document, doc};

use crate::helpers::{
    TestDb, chunk, chunks, deletion, files, object_id_aged, stored, stored_bytes, unique,
};

const ORIGINAL_LEN: usize = 600_000;
const OUTPUT_LEN: usize = 300_000;

fn chunks_of(len: usize) -> u64 {
    len.div_ceil(CHUNK_SIZE) as u64
}

#[tokio::test]
async fn a_done_archive_is_stored_with_its_document_and_exact_bytes() {
    let db = TestDb::new("archive-t").await;
    let job_id = unique("job");
    let archive = done_archive(&job_id, ORIGINAL_LEN, OUTPUT_LEN);

    let saved = stored(db.store.save(&archive).await.unwrap());

    let document = db
        .store
        .job(&job_id)
        .await
        .unwrap()
        .expect("the job document");
    assert_eq!(document, saved, "what save returns is what is stored");
    assert_eq!(document.id, job_id);
    assert_eq!(document.trace_id, archive.trace_id);
    assert_eq!(document.status, "done");
    assert_eq!(document.job_status(), JobStatus::Done);
    assert_eq!(
        document.spec,
        SpecDocument {
            width: Some(320),
            height: Some(200),
            fit: "cover".into(),
            format: Some("jpeg".into()),
            quality: Some(80),
            ..SpecDocument::default()
        }
    );
    assert_eq!(document.filename.as_deref(), Some("holiday.png"));
    assert_eq!(document.error, None);
    assert_eq!(document.submitted_at.timestamp_millis(), 1_700_000_000_000);
    assert_eq!(document.started_at.timestamp_millis(), 1_700_000_000_250);
    assert_eq!(document.finished_at.timestamp_millis(), 1_700_000_000_500);
    assert!(document.stored_at.timestamp_millis() > 1_700_000_000_500);
    assert_eq!(
        (
            document.accepted_by.as_str(),
            document.processed_by.as_str()
        ),
        ("gw-test", "tf-test")
    );

    let original = document.original.as_ref().expect("the original");
    assert_eq!(original.gridfs_id, original_id(&job_id));
    assert_eq!(original.content_type, "image/png");
    assert_eq!((original.width, original.height), (1920, 1200));
    assert_eq!(original.bytes, ORIGINAL_LEN as u64);
    let output = document.output("default").expect("the default output");
    assert_eq!(output.gridfs_id, output_id(&job_id, "default"));
    assert_eq!(output.content_type, "image/jpeg");
    assert_eq!(
        (output.width, output.height, output.bytes),
        (320, 200, OUTPUT_LEN as u64)
    );

    let original_bytes = stored_bytes(&db, &original.gridfs_id).await;
    assert!(original_bytes == archive.original, "exact original bytes");
    let output_bytes = stored_bytes(&db, &output.gridfs_id).await;
    assert!(
        output_bytes == archive.outputs[0].data,
        "exact output bytes"
    );

    let file: Document = db
        .database
        .collection(&files())
        .find_one(doc! { "_id": &original.gridfs_id })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(file.get_str("filename").unwrap(), "holiday.png");
    let metadata = file.get_document("metadata").unwrap();
    assert_eq!(metadata.get_str("job_id").unwrap(), job_id);
    assert_eq!(metadata.get_str("role").unwrap(), "original");
    assert_eq!(metadata.get_str("content_type").unwrap(), "image/png");
    assert_eq!(metadata.get_i64("width").unwrap(), 1920);

    assert_eq!(db.store.job("no-such-job").await.unwrap(), None);
    assert_eq!(
        db.store.read_file("no-such-job/original").await.unwrap(),
        None
    );
    db.drop().await;
}

#[tokio::test]
async fn saving_the_same_archive_twice_leaves_one_of_everything() {
    let db = TestDb::new("archive-t").await;
    let job_id = unique("job");
    let archive = done_archive(&job_id, ORIGINAL_LEN, OUTPUT_LEN);
    assert!(
        chunks_of(ORIGINAL_LEN) > 1 && chunks_of(OUTPUT_LEN) > 1,
        "several chunks per file"
    );

    db.store.save(&archive).await.unwrap();
    db.store.save(&archive).await.unwrap();

    assert_eq!(db.count("jobs", doc! {}).await, 1);
    assert_eq!(db.count(&files(), doc! {}).await, 2);
    assert_eq!(
        db.count(&chunks(), doc! { "files_id": original_id(&job_id) })
            .await,
        chunks_of(ORIGINAL_LEN)
    );
    assert_eq!(
        db.count(&chunks(), doc! {}).await,
        chunks_of(ORIGINAL_LEN) + chunks_of(OUTPUT_LEN)
    );
    let original = stored_bytes(&db, &original_id(&job_id)).await;
    assert!(original == archive.original);
    db.drop().await;
}

#[tokio::test]
async fn orphan_chunks_of_a_dead_writer_are_replaced() {
    let db = TestDb::new("archive-t").await;
    let job_id = unique("job");
    let archive = done_archive(&job_id, ORIGINAL_LEN, OUTPUT_LEN);
    // What a writer of other bytes that died after two chunks left behind, a minute ago: chunks, no files
    // document.
    let orphans = (0..2).map(|n| {
        let written = object_id_aged(STALE_CHUNKS_AFTER * 2);
        chunk(written, &original_id(&job_id), n, &[0xEE; 1000])
    });
    db.database
        .collection::<Document>(&chunks())
        .insert_many(orphans)
        .await
        .unwrap();

    db.store.save(&archive).await.unwrap();

    assert_eq!(
        db.count(&chunks(), doc! { "files_id": original_id(&job_id) })
            .await,
        chunks_of(ORIGINAL_LEN),
        "no orphan chunk is left"
    );
    let original = stored_bytes(&db, &original_id(&job_id)).await;
    assert!(
        original == archive.original,
        "exact bytes despite the orphans"
    );
    db.drop().await;
}

#[tokio::test]
async fn the_chunks_of_an_interrupted_save_of_the_same_bytes_are_completed() {
    let db = TestDb::new("archive-t").await;
    let job_id = unique("job");
    let archive = done_archive(&job_id, ORIGINAL_LEN, OUTPUT_LEN);
    // save2db died a moment ago after the first two chunks of the original: the redelivery keeps them.
    let kept: Vec<_> = (0..2_i32)
        .map(|n| {
            let start = n as usize * CHUNK_SIZE;
            let id = mongodb::bson::oid::ObjectId::new();
            (
                id,
                chunk(
                    id,
                    &original_id(&job_id),
                    n,
                    &archive.original[start..start + CHUNK_SIZE],
                ),
            )
        })
        .collect();
    db.database
        .collection::<Document>(&chunks())
        .insert_many(kept.iter().map(|(_, chunk)| chunk.clone()))
        .await
        .unwrap();

    db.store.save(&archive).await.unwrap();

    for (id, _) in &kept {
        assert_eq!(
            db.count(&chunks(), doc! { "_id": id }).await,
            1,
            "chunk kept"
        );
    }
    assert_eq!(
        db.count(&chunks(), doc! { "files_id": original_id(&job_id) })
            .await,
        chunks_of(ORIGINAL_LEN)
    );
    let original = stored_bytes(&db, &original_id(&job_id)).await;
    assert!(original == archive.original);
    db.drop().await;
}

#[tokio::test]
async fn a_file_that_lost_chunks_is_stored_again() {
    let db = TestDb::new("archive-t").await;
    let job_id = unique("job");
    let archive = done_archive(&job_id, ORIGINAL_LEN, OUTPUT_LEN);
    db.store.save(&archive).await.unwrap();
    db.database
        .collection::<Document>(&chunks())
        .delete_one(doc! { "files_id": original_id(&job_id), "n": 1 })
        .await
        .unwrap();

    db.store.save(&archive).await.unwrap();

    assert_eq!(db.count(&files(), doc! {}).await, 2);
    assert_eq!(
        db.count(&chunks(), doc! { "files_id": original_id(&job_id) })
            .await,
        chunks_of(ORIGINAL_LEN)
    );
    let original = stored_bytes(&db, &original_id(&job_id)).await;
    assert!(original == archive.original);
    db.drop().await;
}

#[tokio::test]
async fn a_failed_archive_keeps_its_reason_and_original_and_no_outputs() {
    let db = TestDb::new("archive-t").await;
    let job_id = unique("job");
    let archive = failed_archive(&job_id);

    db.store.save(&archive).await.unwrap();

    let document = db.store.job(&job_id).await.unwrap().unwrap();
    assert_eq!(document.status, "failed");
    assert_eq!(
        document.error,
        Some(JobError {
            code: "decode_failed".into(),
            message: "the image could not be decoded".into(),
        })
    );
    assert!(document.outputs.is_empty());
    let original = document.original.expect("the original is kept");
    assert_eq!(original.content_type, "application/octet-stream");
    let bytes = stored_bytes(&db, &original.gridfs_id).await;
    assert!(bytes == archive.original);
    assert_eq!(db.count(&files(), doc! {}).await, 1);
    db.drop().await;
}

#[tokio::test]
async fn delete_job_removes_files_chunks_and_document() {
    let db = TestDb::new("archive-t").await;
    let job_id = unique("job");
    let other = unique("job");
    db.store
        .save(&done_archive(&job_id, ORIGINAL_LEN, OUTPUT_LEN))
        .await
        .unwrap();
    db.store.save(&done_archive(&other, 10, 10)).await.unwrap();

    assert!(db.store.delete_job(&deletion(&job_id)).await.unwrap());

    assert_eq!(db.store.job(&job_id).await.unwrap(), None);
    assert_eq!(
        db.store.read_file(&original_id(&job_id)).await.unwrap(),
        None
    );
    assert_eq!(
        db.count(&files(), doc! { "metadata.job_id": &job_id })
            .await,
        0
    );
    assert_eq!(
        db.count(&chunks(), doc! {}).await,
        2,
        "only the other job's chunks"
    );
    assert!(db.store.job(&other).await.unwrap().is_some());
    assert!(
        !db.store.delete_job(&deletion(&job_id)).await.unwrap(),
        "nothing left to delete"
    );
    db.drop().await;
}

#[tokio::test]
async fn a_primary_takes_writes_and_says_so() {
    // The primary of the test server's replica set (or a standalone server) takes writes; a member that is not
    // primary answers pings but not this (not tried here: stepping the shared test server down would stall
    // every other test; docs/operations.md records the step-down run).
    let db = TestDb::new("archive-t").await;
    db.store.ping().await.expect("the server answers");
    db.store.writable().await.expect("the server takes writes");
    let concern = db.database.write_concern().cloned().unwrap_or_default();
    assert_eq!(concern.w, Some(mongodb::options::Acknowledgment::Majority));
    assert_eq!(concern.journal, Some(true));
    db.drop().await;
}
