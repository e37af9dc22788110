//! What can stop the chaos test from running to its verdict. A service losing jobs is not an error: that is a
//! finding, and goes into the [`Report`](crate::report::Report).

use std::path::PathBuf;

/// Why the harness could not run (or finish) the test.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be created, written or removed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// To what.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// A process could not be started or signalled.
    #[error("cannot {action} {name}: {source}")]
    Process {
        /// What was being done (`start`, `signal`).
        action: &'static str,
        /// The process's name in this run (`gateway`, `transformer-1`, …).
        name: String,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// A service or server exited, or did not become ready, while the harness needed it.
    #[error("{name} {problem}; its log is {log}")]
    NotRunning {
        /// The process's name in this run.
        name: String,
        /// What went wrong (`exited with …`, `was not ready within 90 s`).
        problem: String,
        /// Where its output is.
        log: PathBuf,
    },
    /// `rabbitmqctl`, or the RabbitMQ cluster's control script, failed.
    #[error("`{command}` failed: {output}")]
    Rabbitmqctl {
        /// The command line.
        command: String,
        /// Its exit status and output.
        output: String,
    },
    /// No node of the RabbitMQ cluster's management API answered with its queues.
    #[error("the RabbitMQ management API did not list the queues: {0}")]
    Management(String),
    /// The database's primary could not be stepped down.
    #[error("cannot step the database's primary down: {0}")]
    StepDown(String),
    /// The harness's own HTTP client failed in a way retrying does not cover.
    #[error("HTTP client error: {0}")]
    Http(#[from] reqwest::Error),
    /// The harness's own MongoDB queries failed.
    #[error("MongoDB error while {action}: {source}")]
    Mongo {
        /// What was being done.
        action: &'static str,
        /// The driver's error.
        #[source]
        source: mongodb::error::Error,
    },
    /// The harness's connection to MongoDB failed.
    #[error("error while {action}: {source}")]
    Archive {
        /// What was being done.
        action: &'static str,
        /// The error.
        #[source]
        source: imagepipe_archive::StoreError,
    },
    /// The harness's own broker calls failed.
    #[error("error while {action}: {source}")]
    Connection {
        /// What was being done.
        action: &'static str,
        /// The error.
        #[source]
        source: imagepipe_common::Error,
    },
    /// A test image could not be encoded.
    #[error("cannot encode test image {label}: {source}")]
    Image {
        /// Which image of the workload.
        label: String,
        /// The encoder's error.
        #[source]
        source: image::ImageError,
    },
    /// A task of the harness panicked or was cancelled.
    #[error("a harness task failed: {0}")]
    Task(String),
    /// SIGINT or SIGTERM arrived.
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    /// `command` ran and exited unsuccessfully: its status and output.
    pub(crate) fn command_failed(command: String, output: &std::process::Output) -> Self {
        Self::Rabbitmqctl {
            command,
            output: format!(
                "{}: {}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout).trim(),
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        }
    }

    /// A closure wrapping an I/O error about `path`.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }

    /// A closure wrapping a MongoDB error.
    pub(crate) fn mongo(action: &'static str) -> impl FnOnce(mongodb::error::Error) -> Self {
        move |source| Self::Mongo { action, source }
    }

    /// A closure wrapping an error of the archive library (the MongoDB connection).
    pub(crate) fn archive(
        action: &'static str,
    ) -> impl FnOnce(imagepipe_archive::StoreError) -> Self {
        move |source| Self::Archive { action, source }
    }

    /// A closure wrapping an error of the shared plumbing (the broker).
    pub(crate) fn connection(action: &'static str) -> impl FnOnce(imagepipe_common::Error) -> Self {
        move |source| Self::Connection { action, source }
    }
}
