//! `GET /images`: the stored jobs, newest first, a page at a time.
//!
//! Jobs are read from the `jobs` collection (so only jobs save2db has stored: done or failed), sorted by
//! `submitted_at` then id, both descending. A page's `next` cursor is the last item's sort key and id,
//! `<submitted_at ms>_<id>` ([`CURSOR_PATTERN`], which the API document publishes: every string of that form is
//! a valid cursor, and an empty one asks for the first page): the next page starts right after that item, so a walk through the pages never repeats or
//! skips a job while new jobs arrive.

use std::collections::HashMap;

use imagepipe_archive::{ArchiveStore, JobDocument, JobPosition};
use serde::Serialize;

use crate::{
    auth::keys::Owner,
    error::{ApiError, ErrorCode},
    http::view::{ErrorView, Links},
};

/// Items on a page when the client does not say.
pub const DEFAULT_LIMIT: u32 = 20;
/// Most items on one page.
pub const MAX_LIMIT: u32 = 100;
/// The statuses a listing can be narrowed to (stored jobs are done or failed).
pub const LISTED_STATUSES: [&str; 2] = ["done", "failed"];
/// The form of a cursor, as the API document states it: the sort key in milliseconds, `_`, the job id; or empty,
/// as if absent (the first page). [`decode_cursor`] accepts exactly the non-empty strings of this form.
pub const CURSOR_PATTERN: &str = "^([0-9]{1,14}_[0-9A-Za-z-]{1,64})?$";
/// Most digits of a cursor's time: 14 reach the year 5138, within every MongoDB server's and driver's dates.
const CURSOR_MAX_DIGITS: usize = 14;
/// Longest id in a cursor.
const CURSOR_MAX_ID: usize = 64;

/// A validated `GET /images` query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Items on the page, 1 to [`MAX_LIMIT`].
    pub limit: u32,
    /// Only jobs of this status.
    pub status: Option<&'static str>,
    /// Start after this job.
    pub after: Option<JobPosition>,
}

impl ListQuery {
    /// Reads `limit`, `status` and `cursor` from a query string's parameters (others are ignored).
    ///
    /// # Errors
    /// [`ApiError::InvalidOption`] for a bad `limit` or `status`, `invalid_cursor` for a cursor this API did
    /// not hand out.
    pub fn parse(query: &HashMap<String, String>) -> Result<Self, ApiError> {
        let limit = match query.get("limit") {
            None => DEFAULT_LIMIT,
            Some(value) => value
                .parse::<u32>()
                .ok()
                .filter(|limit| (1..=MAX_LIMIT).contains(limit))
                .ok_or_else(|| {
                    ApiError::InvalidOption(format!(
                        "limit must be a whole number from 1 to {MAX_LIMIT}, not `{value}`"
                    ))
                })?,
        };
        let status = match query.get("status").map(String::as_str) {
            None | Some("") => None,
            Some(value) => Some(
                LISTED_STATUSES
                    .into_iter()
                    .find(|status| *status == value)
                    .ok_or_else(|| {
                        ApiError::InvalidOption(format!(
                            "status must be `done` or `failed` (only stored jobs are listed), not `{value}`"
                        ))
                    })?,
            ),
        };
        let after = match query.get("cursor").map(String::as_str) {
            None | Some("") => None,
            Some(cursor) => Some(decode_cursor(cursor)?),
        };
        Ok(Self {
            limit,
            status,
            after,
        })
    }
}

/// One page of jobs.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct JobPage {
    /// The jobs, newest first.
    pub items: Vec<JobItem>,
    /// The cursor of the next page, `null` on the last one.
    pub next: Option<String>,
}

/// One stored job in a listing.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct JobItem {
    /// The job id.
    pub id: String,
    /// `done` or `failed`.
    pub status: String,
    /// When a gateway accepted it (RFC 3339, UTC, milliseconds: `2025-01-31T12:00:00.000Z`).
    pub submitted_at: String,
    /// The client's file name, if it sent one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// The names of its outputs (empty for a failed job).
    pub outputs: Vec<String>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorView>,
    /// Where to find its parts.
    pub links: Links,
}

impl JobItem {
    /// The item of a stored job, its links under `base`.
    #[must_use]
    pub fn new(document: &JobDocument, base: &str) -> Self {
        Self {
            id: document.id.clone(),
            status: document.status.clone(),
            submitted_at: imagepipe_common::time::rfc3339_millis(
                document.submitted_at.timestamp_millis(),
            ),
            filename: document.filename.clone(),
            outputs: document
                .outputs
                .iter()
                .map(|file| file.name.clone())
                .collect(),
            error: document.error.as_ref().map(|error| ErrorView {
                code: error.code.clone(),
                message: error.message.clone(),
            }),
            links: Links::new(&document.id, base),
        }
    }
}

/// The page `query` asks for, with links under `base`: only `caller`'s jobs, or every job when the gateway runs
/// open (`caller` is `None`).
///
/// # Errors
/// [`ApiError::StoreUnavailable`] when MongoDB cannot be read.
pub async fn list(
    archive: &ArchiveStore,
    caller: Option<&Owner>,
    query: &ListQuery,
    base: &str,
) -> Result<JobPage, ApiError> {
    // One more than asked for tells whether there is a next page.
    let mut documents = archive
        .list_jobs(
            caller.map(Owner::name),
            query.status,
            query.after.as_ref(),
            query.limit + 1,
        )
        .await?;
    let more = documents.len() > query.limit as usize;
    documents.truncate(query.limit as usize);
    let next = more
        .then(|| documents.last())
        .flatten()
        .map(|last| encode_cursor(&JobPosition::of(last)));
    Ok(JobPage {
        items: documents
            .iter()
            .map(|document| JobItem::new(document, base))
            .collect(),
        next,
    })
}

/// The cursor of `position` (see [`CURSOR_PATTERN`]).
#[must_use]
pub fn encode_cursor(position: &JobPosition) -> String {
    format!("{}_{}", position.submitted_at_ms, position.id)
}

/// The position a cursor names: any string of [`CURSOR_PATTERN`]'s form.
///
/// # Errors
/// `invalid_cursor` for anything else.
pub fn decode_cursor(cursor: &str) -> Result<JobPosition, ApiError> {
    let invalid = || {
        ApiError::bad_request(
            ErrorCode::InvalidCursor,
            format!(
                "`{cursor}` is not a cursor (`<milliseconds>_<job id>`); pass the `next` of the previous page as it is, or leave cursor out for the first page"
            ),
        )
    };
    let (millis, id) = cursor.split_once('_').ok_or_else(invalid)?;
    let digits_fit = (1..=CURSOR_MAX_DIGITS).contains(&millis.len())
        && millis.bytes().all(|byte| byte.is_ascii_digit());
    let id_fits = (1..=CURSOR_MAX_ID).contains(&id.len())
        && id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-');
    if !digits_fit || !id_fits {
        return Err(invalid());
    }
    Ok(JobPosition {
        submitted_at_ms: millis.parse().map_err(|_| invalid())?,
        id: id.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn cursors_round_trip_and_strangers_are_refused() {
        let position = JobPosition {
            submitted_at_ms: 1_700_000_000_123,
            id: "0f8e6c1e-8d0c-4a57-9d0e-1c1f6d3a9b11".into(),
        };
        let cursor = encode_cursor(&position);
        assert_eq!(cursor, "1700000000123_0f8e6c1e-8d0c-4a57-9d0e-1c1f6d3a9b11");
        assert_eq!(decode_cursor(&cursor).unwrap(), position);
        // Every string of the documented form is a cursor, the longest too.
        let longest = format!("{}_{}", "9".repeat(14), "a-Z".repeat(21) + "z");
        assert_eq!(decode_cursor(&longest).unwrap().id.len(), 64);
        assert_eq!(decode_cursor("0_-").unwrap().submitted_at_ms, 0);
        for bad in [
            "%%%",
            "123",                            // no id
            "_abc",                           // no time
            "123_",                           // empty id
            "x1_abc",                         // not a time
            "-1_abc",                         // negative
            "1_a_b",                          // `_` in the id
            "1_a.b",                          // `.` in the id
            "1_abc\n",                        // a trailing line break
            &format!("{}_a", "1".repeat(15)), // too many digits
            &format!("1_{}", "a".repeat(65)), // too long an id
            "djE6MTIz",                       // base64, as cursors once were
        ] {
            let error = decode_cursor(bad).unwrap_err();
            assert_eq!(error.code(), "invalid_cursor", "{bad}");
            assert_eq!(error.status(), 400);
        }
    }

    #[test]
    fn the_query_has_defaults_and_limits() {
        let parsed = ListQuery::parse(&query(&[])).unwrap();
        assert_eq!(
            parsed,
            ListQuery {
                limit: DEFAULT_LIMIT,
                status: None,
                after: None
            }
        );
        let cursor = encode_cursor(&JobPosition {
            submitted_at_ms: 5,
            id: "j".into(),
        });
        let parsed = ListQuery::parse(&query(&[
            ("limit", "100"),
            ("status", "failed"),
            ("cursor", &cursor),
            ("other", "ignored"),
        ]))
        .unwrap();
        assert_eq!(parsed.limit, 100);
        assert_eq!(parsed.status, Some("failed"));
        assert_eq!(parsed.after.unwrap().submitted_at_ms, 5);
        for (key, value) in [
            ("limit", "0"),
            ("limit", "101"),
            ("limit", "ten"),
            ("limit", "-1"),
            ("status", "queued"),
            ("status", "DONE"),
        ] {
            let error = ListQuery::parse(&query(&[(key, value)])).unwrap_err();
            assert_eq!(error.code(), "invalid_option", "{key}={value}");
            assert!(error.to_string().contains(value), "{error}");
        }
        let error = ListQuery::parse(&query(&[("cursor", "nope")])).unwrap_err();
        assert_eq!(error.code(), "invalid_cursor");
    }
}
