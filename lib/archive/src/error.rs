//! The archive's errors, and which of them are worth retrying.

use mongodb::error::{
    ErrorKind, GridFsErrorKind, RETRYABLE_ERROR, RETRYABLE_WRITE_ERROR, SYSTEM_OVERLOADED_ERROR,
    TRANSIENT_TRANSACTION_ERROR, WriteFailure,
};

/// Server error codes that no retry can fix: the request itself is wrong, or the server refuses it for good.
const PERMANENT_CODES: &[i32] = &[
    2,     // BadValue
    9,     // FailedToParse
    13,    // Unauthorized
    14,    // TypeMismatch
    18,    // AuthenticationFailed
    121,   // DocumentValidationFailure
    10334, // BSONObjectTooLarge
];

/// MongoDB's code for a write refused by a unique index.
pub(crate) const DUPLICATE_KEY: i32 = 11_000;

/// What can go wrong storing or reading archives.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The archive cannot be stored as it is (no job id, a job that has not ended, clashing output names).
    /// Permanent: the message is poison.
    #[error("invalid archive: {0}")]
    InvalidArchive(String),
    /// The job event cannot be kept (no job id, an unknown kind). Permanent: the message is poison.
    #[error("invalid job event: {0}")]
    InvalidEvent(String),
    /// MongoDB failed an operation.
    #[error("MongoDB failed while {action}: {source}")]
    Mongo {
        /// What was being done.
        action: &'static str,
        /// The driver's error.
        #[source]
        source: mongodb::error::Error,
    },
    /// A GridFS stream failed for a reason other than MongoDB.
    #[error("GridFS stream failed while {action}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The stream's error.
        #[source]
        source: std::io::Error,
    },
    /// The write was handed to a task that stopped before it said how the write went (the activity log's
    /// group commit, at shutdown): whether it was written is unknown, and writing again is harmless.
    #[error("the write was interrupted before its outcome was known: {0}")]
    Interrupted(&'static str),
    /// The server answers but takes no writes: a replica set member that is not (or no longer) the primary,
    /// during an election or a step-down. Transient.
    #[error("the database takes no writes now (no writable primary)")]
    NotWritable,
    /// Another writer (a second save2db replica storing another version of the same job) held this GridFS file
    /// for longer than a save waits: its chunks are neither committed nor stale yet. Transient.
    #[error("another writer is storing GridFS file {0}")]
    Contended(String),
}

impl StoreError {
    /// Wraps a driver error.
    pub(crate) fn mongo(action: &'static str) -> impl FnOnce(mongodb::error::Error) -> Self {
        move |source| StoreError::Mongo { action, source }
    }

    /// Wraps a GridFS stream error, unwrapping the driver error the stream carries when there is one.
    pub(crate) fn stream(action: &'static str) -> impl FnOnce(std::io::Error) -> Self {
        move |error| {
            let driver = error
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<mongodb::error::Error>())
                .cloned();
            match driver {
                Some(source) => StoreError::Mongo { action, source },
                None => StoreError::Io {
                    action,
                    source: error,
                },
            }
        }
    }

    /// Whether trying again later may succeed. Transient: network errors and timeouts, no server to select, a
    /// primary stepping down, write-concern failures, duplicate keys from a concurrent writer of the same job,
    /// and any server error not known to be permanent (the queue's delivery limit
    /// dead-letters a message that never succeeds). Permanent: an invalid archive, a document the server
    /// refuses (too large, invalid), authentication and authorisation failures, serialisation bugs.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::InvalidArchive(_) | StoreError::InvalidEvent(_) => false,
            StoreError::Mongo { source, .. } => is_transient_mongo(source),
            StoreError::Io { .. }
            | StoreError::Interrupted(_)
            | StoreError::NotWritable
            | StoreError::Contended(_) => true,
        }
    }
}

fn is_transient_mongo(error: &mongodb::error::Error) -> bool {
    if [
        RETRYABLE_WRITE_ERROR,
        RETRYABLE_ERROR,
        TRANSIENT_TRANSACTION_ERROR,
        SYSTEM_OVERLOADED_ERROR,
    ]
    .iter()
    .any(|label| error.contains_label(label))
    {
        return true;
    }
    match error.kind.as_ref() {
        ErrorKind::InvalidArgument { .. }
        | ErrorKind::Authentication { .. }
        | ErrorKind::BsonSerialization(_)
        | ErrorKind::BsonDeserialization(_)
        | ErrorKind::InvalidTlsConfig { .. }
        | ErrorKind::IncompatibleServer { .. } => false,
        ErrorKind::GridFs(GridFsErrorKind::AbortError {
            original_error,
            delete_error,
            ..
        }) => {
            original_error.as_ref().is_none_or(is_transient_mongo)
                && is_transient_mongo(delete_error)
        }
        _ => !error_codes(error)
            .iter()
            .any(|code| PERMANENT_CODES.contains(code)),
    }
}

/// The server error codes an error carries.
fn error_codes(error: &mongodb::error::Error) -> Vec<i32> {
    match error.kind.as_ref() {
        ErrorKind::Command(command) => vec![command.code],
        ErrorKind::Write(WriteFailure::WriteError(write)) => vec![write.code],
        ErrorKind::Write(WriteFailure::WriteConcernError(concern)) => vec![concern.code],
        ErrorKind::InsertMany(insert) => insert
            .write_errors
            .iter()
            .flatten()
            .map(|write| write.code)
            .chain(
                insert
                    .write_concern_error
                    .iter()
                    .map(|concern| concern.code),
            )
            .collect(),
        ErrorKind::GridFs(GridFsErrorKind::AbortError {
            original_error: Some(original),
            ..
        }) => error_codes(original),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_archives_are_permanent() {
        assert!(!StoreError::InvalidArchive("no job id".into()).is_transient());
    }

    #[test]
    fn stream_io_errors_and_interrupted_writes_are_transient() {
        let io = StoreError::stream("uploading")(std::io::Error::other("socket closed"));
        assert!(matches!(io, StoreError::Io { .. }));
        assert!(io.is_transient());
        assert!(StoreError::Interrupted("the writer stopped").is_transient());
    }

    #[test]
    fn a_driver_error_inside_a_stream_error_is_unwrapped() {
        let driver = mongodb::error::Error::custom("boom".to_owned());
        let wrapped = std::io::Error::other(driver);
        let error = StoreError::stream("uploading")(wrapped);
        assert!(matches!(error, StoreError::Mongo { .. }), "{error:?}");
    }
}
