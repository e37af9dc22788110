//! Where everything of a job is in the database, by name: the GridFS bucket of its files, the `jobs`
//! collection of job documents, the `job_events` collection of its history, and the deterministic ids of its
//! files and of its tombstone. Every reader and writer of the archive (and the chaos test's checks) takes the
//! names from here.

/// The GridFS bucket the services use unless told otherwise (`MONGODB_BUCKET`).
pub const DEFAULT_BUCKET: &str = "images";

/// The collection holding one document per stored job (`_id` = the job id).
pub const JOBS_COLLECTION: &str = "jobs";

/// The collection holding one document per job event (the jobs' history).
pub const EVENTS_COLLECTION: &str = "job_events";

/// The GridFS `files` collection of `bucket`.
#[must_use]
pub fn files_collection(bucket: &str) -> String {
    format!("{bucket}.files")
}

/// The GridFS `chunks` collection of `bucket`.
#[must_use]
pub fn chunks_collection(bucket: &str) -> String {
    format!("{bucket}.chunks")
}

/// The GridFS id of a job's original: `{job_id}/original`.
#[must_use]
pub fn original_id(job_id: &str) -> String {
    format!("{job_id}/original")
}

/// The GridFS id of a job's output `name`: `{job_id}/output/{name}`.
#[must_use]
pub fn output_id(job_id: &str, name: &str) -> String {
    format!("{job_id}/output/{name}")
}

/// The `_id` of a deleted job's tombstone in `job_events`: `{job_id}/deleted`. While it exists, nothing of the
/// job is stored again (see [`crate::ArchiveStore::save`] and [`crate::JobHistory::record`]).
#[must_use]
pub fn tombstone_id(job_id: &str) -> String {
    format!("{job_id}/deleted")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids_are_deterministic() {
        assert_eq!(files_collection("images"), "images.files");
        assert_eq!(chunks_collection("images"), "images.chunks");
        assert_eq!(original_id("j"), "j/original");
        assert_eq!(output_id("j", "default"), "j/output/default");
        assert_eq!(tombstone_id("j"), "j/deleted");
    }
}
