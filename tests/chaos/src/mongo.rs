//! The run's database server: SecantusDB on disk, so it can be stopped and started again with its data. It
//! answers as the primary of a single-node replica set (`secantus`), so its primary can also be stepped down
//! (`replSetStepDown`): for the step-down's seconds it answers as a secondary and refuses writes, then elects
//! itself again.

use std::{path::PathBuf, time::Duration};

use mongodb::{Database, bson::doc};

use crate::{Error, clock::human, process::Process};

/// How long the database server gets to accept connections.
const MONGO_START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the database server gets to stop after SIGTERM.
const MONGO_STOP_GRACE: Duration = Duration::from_secs(20);

/// The run's SecantusDB server.
#[derive(Debug)]
pub struct MongoServer {
    /// The process.
    pub process: Process,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its data directory.
    pub storage: PathBuf,
}

impl MongoServer {
    /// The connection string of this server.
    #[must_use]
    pub fn uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}/?directConnection=true", self.port)
    }

    /// Starts the server (again, on the same port and data) and waits until it accepts connections.
    ///
    /// # Errors
    /// [`Error::NotRunning`] when it exits or does not listen in time; the errors of [`Process::start`].
    pub async fn start(&mut self) -> Result<u32, Error> {
        let pid = self.process.start()?;
        let deadline = tokio::time::Instant::now() + MONGO_START_TIMEOUT;
        loop {
            if let Some(status) = self.process.exit_status() {
                return Err(self.process.not_running(format!("exited with {status}")));
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return Ok(pid);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(self.process.not_running(format!(
                    "did not listen on port {} within {}",
                    self.port,
                    human(MONGO_START_TIMEOUT)
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops the server with SIGTERM (it flushes its data), killing it after a grace period.
    ///
    /// # Errors
    /// The errors of [`Process::terminate`].
    pub async fn stop(&mut self) -> Result<crate::process::Stopped, Error> {
        self.process.terminate(MONGO_STOP_GRACE).await
    }
}

/// Steps the primary down for `seconds` (`{replSetStepDown: seconds, secondaryCatchUpPeriodSecs: 1, force:
/// true}`, what a single-node replica set needs: there is no secondary to catch up) and checks that it no longer
/// takes writes. MongoDB closes connections on a step-down, so an error that says the connection went is taken
/// as done too, if the server then answers as no primary.
///
/// # Errors
/// [`Error::StepDown`] when the command is refused, or the server still answers as a writable primary.
pub async fn step_down(database: &Database, seconds: u32) -> Result<(), Error> {
    let admin = database.client().database("admin");
    let command = doc! {
        "replSetStepDown": i64::from(seconds),
        "secondaryCatchUpPeriodSecs": 1_i64,
        "force": true,
    };
    let answer = admin.run_command(command).await;
    match imagepipe_archive::database::writable(database).await {
        Err(imagepipe_archive::StoreError::NotWritable) => Ok(()),
        Ok(()) => Err(Error::StepDown(match answer {
            Ok(reply) => format!("it answered {reply} and still takes writes"),
            Err(error) => format!("{error}, and it still takes writes"),
        })),
        Err(error) => Err(Error::StepDown(format!(
            "{}; asking whether it takes writes: {error}",
            answer.map_or_else(|error| error.to_string(), |reply| reply.to_string())
        ))),
    }
}

/// Waits until the database takes writes again; returns whether it did within `timeout`.
pub async fn wait_writable(database: &Database, timeout: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if imagepipe_archive::database::writable(database)
            .await
            .is_ok()
        {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
