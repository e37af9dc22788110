//! The exactly-once checks: what a [`Snapshot`] holds against the jobs the gateway accepted.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::{ChunkRow, FileRow, JobRow, Snapshot};
use crate::submit::Accepted;

/// How many of `chunks` belong to no file in `file_ids`.
#[must_use]
pub fn orphan_chunks(chunks: &[ChunkRow], file_ids: &HashSet<String>) -> u64 {
    chunks
        .iter()
        .filter(|chunk| !file_ids.contains(&chunk.files_id))
        .count() as u64
}

/// What the checks found in MongoDB.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    /// Accepted jobs with a document.
    pub stored: usize,
    /// Accepted jobs without a document.
    pub not_stored: Vec<String>,
    /// Accepted jobs whose document says other than `done`.
    pub not_done: Vec<String>,
    /// More than one of something that should be there once: a job's documents, or a file of a job that its
    /// document does not name (`job: what`).
    pub duplicates: Vec<String>,
    /// Files a document names that are not there, and documents without an original (`job: what`).
    pub missing_files: Vec<String>,
    /// Files whose chunks do not add up, and originals whose length is not what was uploaded.
    pub bad_files: Vec<String>,
    /// Documents whose outputs are not the ones the gateway's status listed.
    pub output_mismatches: Vec<String>,
    /// Chunks without a `files` document.
    pub orphan_chunks: u64,
    /// Job documents of jobs the client was not told were accepted (the broker had queued a job the gateway
    /// answered `503` for).
    pub extras: Vec<String>,
}

impl Findings {
    /// Whether anything found means a job was not stored exactly once.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        self.not_stored.is_empty()
            && self.not_done.is_empty()
            && self.duplicates.is_empty()
            && self.missing_files.is_empty()
            && self.bad_files.is_empty()
            && self.output_mismatches.is_empty()
            && self.orphan_chunks == 0
    }
}

/// Checks `snapshot` against the `accepted` jobs. `outputs` holds, per job, the output names the gateway's
/// status listed (jobs missing from it are not compared).
#[must_use]
pub fn analyse(
    accepted: &[Accepted],
    outputs: &HashMap<String, Vec<String>>,
    snapshot: &Snapshot,
) -> Findings {
    let mut findings = Findings::default();
    let mut documents: HashMap<&str, Vec<&JobRow>> = HashMap::new();
    for job in &snapshot.jobs {
        documents.entry(job.id.as_str()).or_default().push(job);
    }
    let mut files_of_job: HashMap<&str, Vec<&FileRow>> = HashMap::new();
    for file in &snapshot.files {
        if let Some(job_id) = &file.job_id {
            files_of_job.entry(job_id.as_str()).or_default().push(file);
        }
    }
    let accepted_ids: HashSet<&str> = accepted.iter().map(|job| job.id.as_str()).collect();

    for job in accepted {
        let id = job.id.as_str();
        let Some(rows) = documents.get(id) else {
            findings.not_stored.push(job.id.clone());
            continue;
        };
        findings.stored += 1;
        if rows.len() > 1 {
            findings
                .duplicates
                .push(format!("{id}: {} job documents", rows.len()));
        }
        let document = rows[0];
        if document.status != "done" {
            findings
                .not_done
                .push(format!("{id}: stored as {}", document.status));
        }
        let stored_files = files_of_job.get(id).map(Vec::as_slice).unwrap_or_default();
        check_files(job, document, stored_files, &mut findings);
        if let Some(names) = outputs.get(id) {
            let listed: BTreeSet<&str> = names.iter().map(String::as_str).collect();
            let stored: BTreeSet<&str> = document
                .outputs
                .iter()
                .map(|(name, _)| name.as_str())
                .collect();
            if listed != stored {
                findings.output_mismatches.push(format!(
                    "{id}: the status lists {listed:?}, the document {stored:?}"
                ));
            }
        }
    }
    findings.extras = documents
        .keys()
        .filter(|id| !accepted_ids.contains(*id))
        .map(|id| (*id).to_owned())
        .collect();
    findings.extras.sort();
    findings.bad_files.extend(chunk_problems(snapshot));
    let file_ids: HashSet<String> = snapshot.files.iter().map(|file| file.id.clone()).collect();
    findings.orphan_chunks = orphan_chunks(&snapshot.chunks, &file_ids);
    findings
}

/// The files of one accepted job against what its document names.
fn check_files(job: &Accepted, document: &JobRow, stored: &[&FileRow], findings: &mut Findings) {
    let id = job.id.as_str();
    let mut expected: Vec<&str> = document
        .outputs
        .iter()
        .map(|(_, gridfs_id)| gridfs_id.as_str())
        .collect();
    match &document.original {
        Some((gridfs_id, length)) => {
            expected.push(gridfs_id);
            if *length != job.original_bytes {
                findings.bad_files.push(format!(
                    "{id}: original recorded as {length} bytes, {} were uploaded",
                    job.original_bytes
                ));
            }
        }
        None => findings
            .missing_files
            .push(format!("{id}: the document has no original")),
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for file in stored {
        *seen.entry(file.id.as_str()).or_default() += 1;
    }
    for gridfs_id in &expected {
        if !seen.contains_key(gridfs_id) {
            findings
                .missing_files
                .push(format!("{id}: file {gridfs_id} is missing"));
        }
    }
    for (gridfs_id, count) in seen {
        if !expected.contains(&gridfs_id) {
            findings.duplicates.push(format!(
                "{id}: file {gridfs_id} is not named by the document"
            ));
        } else if count > 1 {
            findings
                .duplicates
                .push(format!("{id}: {count} files with id {gridfs_id}"));
        }
    }
    if let Some((gridfs_id, _)) = &document.original
        && let Some(file) = stored.iter().find(|file| &file.id == gridfs_id)
        && file.length != job.original_bytes
    {
        findings.bad_files.push(format!(
            "{id}: original file holds {} bytes, {} were uploaded",
            file.length, job.original_bytes
        ));
    }
}

/// Files whose chunks are not exactly `0..ceil(length / chunkSize)`.
fn chunk_problems(snapshot: &Snapshot) -> Vec<String> {
    let mut chunks: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for chunk in &snapshot.chunks {
        chunks
            .entry(chunk.files_id.as_str())
            .or_default()
            .push(chunk.n);
    }
    let mut problems = Vec::new();
    for file in &snapshot.files {
        let expected = if file.chunk_size == 0 {
            0
        } else {
            file.length.div_ceil(file.chunk_size)
        };
        let mut numbers = chunks.get(file.id.as_str()).cloned().unwrap_or_default();
        numbers.sort_unstable();
        let complete = numbers
            .iter()
            .copied()
            .eq((0..expected).map(|n| i64::try_from(n).unwrap_or(i64::MAX)));
        if !complete {
            problems.push(format!(
                "file {}: {} chunks for {} bytes (expected {expected})",
                file.id,
                numbers.len(),
                file.length
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepted(id: &str, bytes: u64) -> Accepted {
        Accepted {
            id: id.to_owned(),
            label: format!("#{id}"),
            original_bytes: bytes,
            original_hash: 0,
            large: false,
            accepted_at: tokio::time::Instant::now(),
        }
    }

    fn job(id: &str, outputs: &[&str]) -> JobRow {
        JobRow {
            id: id.to_owned(),
            status: "done".to_owned(),
            original: Some((format!("{id}/original"), 10)),
            outputs: outputs
                .iter()
                .map(|name| ((*name).to_owned(), format!("{id}/output/{name}")))
                .collect(),
        }
    }

    fn file(id: &str, job_id: &str, length: u64) -> FileRow {
        FileRow {
            id: id.to_owned(),
            job_id: Some(job_id.to_owned()),
            length,
            chunk_size: 4,
        }
    }

    fn chunks(files_id: &str, count: i64) -> Vec<ChunkRow> {
        (0..count)
            .map(|n| ChunkRow {
                files_id: files_id.to_owned(),
                n,
            })
            .collect()
    }

    /// Job `a` stored exactly once: a 10-byte original (3 chunks of 4) and one 4-byte output (1 chunk).
    fn clean() -> Snapshot {
        Snapshot {
            jobs: vec![job("a", &["default"])],
            files: vec![
                file("a/original", "a", 10),
                file("a/output/default", "a", 4),
            ],
            chunks: [chunks("a/original", 3), chunks("a/output/default", 1)].concat(),
        }
    }

    #[test]
    fn a_job_stored_once_is_clean() {
        let outputs = HashMap::from([("a".to_owned(), vec!["default".to_owned()])]);
        let findings = analyse(&[accepted("a", 10)], &outputs, &clean());
        assert!(findings.is_clean(), "{findings:?}");
        assert_eq!(findings.stored, 1);
        assert!(findings.extras.is_empty());
    }

    #[test]
    fn chunks_without_a_file_are_orphans() {
        let mut snapshot = clean();
        snapshot.chunks.extend(chunks("b/original", 5));
        let findings = analyse(&[accepted("a", 10)], &HashMap::new(), &snapshot);
        assert_eq!(findings.orphan_chunks, 5);
        assert!(!findings.is_clean());
        let ids: HashSet<String> = ["a/original".to_owned()].into();
        assert_eq!(orphan_chunks(&snapshot.chunks, &ids), 6);
    }

    #[test]
    fn missing_unstored_and_extra_jobs_are_told_apart() {
        let mut snapshot = clean();
        snapshot.jobs.push(job("x", &[]));
        snapshot.files.retain(|file| file.id != "a/output/default");
        snapshot
            .chunks
            .retain(|chunk| chunk.files_id != "a/output/default");
        let findings = analyse(
            &[accepted("a", 10), accepted("b", 3)],
            &HashMap::new(),
            &snapshot,
        );
        assert_eq!(findings.not_stored, ["b"]);
        assert_eq!(
            findings.missing_files,
            ["a: file a/output/default is missing"]
        );
        assert_eq!(findings.extras, ["x"]);
        assert_eq!(findings.orphan_chunks, 0);
    }

    #[test]
    fn duplicates_incomplete_files_and_wrong_lengths_are_found() {
        let mut snapshot = clean();
        snapshot.jobs.push(job("a", &["default"]));
        snapshot.files.push(file("a/output/stray", "a", 4)); // And no chunk for it.
        snapshot.jobs[0].status = "failed".to_owned();
        let outputs = HashMap::from([("a".to_owned(), vec!["thumb".to_owned()])]);
        let findings = analyse(&[accepted("a", 11)], &outputs, &snapshot);
        assert_eq!(
            findings.duplicates,
            [
                "a: 2 job documents",
                "a: file a/output/stray is not named by the document"
            ]
        );
        assert_eq!(findings.not_done, ["a: stored as failed"]);
        assert_eq!(findings.output_mismatches.len(), 1);
        assert!(
            findings
                .bad_files
                .contains(&"a: original recorded as 10 bytes, 11 were uploaded".to_owned())
        );
        assert!(
            findings
                .bad_files
                .contains(&"file a/output/stray: 0 chunks for 4 bytes (expected 1)".to_owned())
        );
    }

    #[test]
    fn chunk_numbers_must_run_from_zero() {
        let mut snapshot = clean();
        snapshot
            .chunks
            .retain(|chunk| chunk.files_id != "a/original");
        snapshot
            .chunks
            .extend(chunks("a/original", 4).into_iter().skip(1));
        assert_eq!(
            chunk_problems(&snapshot),
            ["file a/original: 3 chunks for 10 bytes (expected 3)"]
        );
    }
}
