//! Everything a command can fail with.

use std::path::PathBuf;

/// Why a request or command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The server URL cannot be used.
    #[error("`{0}` is not a usable server URL: give it as http://host:port")]
    BadServer(String),
    /// The API key cannot be sent in a header.
    #[error(
        "the API key contains characters an HTTP header cannot carry; give the key exactly as it was issued"
    )]
    BadApiKey,
    /// The gateway could not be reached, or the connection broke.
    #[error("could not reach the gateway at {url}: {source}")]
    Unreachable {
        /// The URL asked for.
        url: String,
        /// What went wrong.
        #[source]
        source: reqwest::Error,
    },
    /// The gateway refused the request with its `{"code", "message"}`.
    #[error("{code}: {message}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The API's stable error code.
        code: String,
        /// What was wrong.
        message: String,
    },
    /// The job ran and failed; `code` and `message` are the job's own reason (`decode_failed`, …).
    #[error("{code}: {message}")]
    JobFailed {
        /// The job's error code.
        code: String,
        /// The job's error message.
        message: String,
    },
    /// The job did not finish in time.
    #[error("job {id} has not finished after {seconds} s")]
    Timeout {
        /// The job id.
        id: String,
        /// How long the client waited.
        seconds: u64,
    },
    /// The gateway answered something that is not imagepipe's API.
    #[error("unexpected answer from {url}: {detail}")]
    Unexpected {
        /// The URL asked for.
        url: String,
        /// What was wrong with it.
        detail: String,
    },
    /// An input path is missing or unreadable.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An output cannot be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl CliError {
    /// The stable code to show in a summary: the API's or the job's code, else a client-side one.
    #[must_use]
    pub fn code(&self) -> &str {
        match self {
            CliError::Api { code, .. } | CliError::JobFailed { code, .. } => code,
            CliError::BadServer(_) => "bad_server",
            CliError::BadApiKey => "bad_api_key",
            CliError::Unreachable { .. } => "unreachable",
            CliError::Timeout { .. } => "timeout",
            CliError::Unexpected { .. } => "unexpected_answer",
            CliError::Read { .. } => "read_failed",
            CliError::Write { .. } => "write_failed",
        }
    }

    /// The explanation without the code.
    #[must_use]
    pub fn message(&self) -> String {
        match self {
            CliError::Api { message, .. } | CliError::JobFailed { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }
}
