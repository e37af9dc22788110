//! The broker, from the harness's side: stopping and starting the RabbitMQ application with `rabbitmqctl`
//! (as root: through `sudo -n` when the harness is not root), and reading how many messages the run's queues
//! hold with passive declarations.

use std::{
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use imagepipe_common::amqp::Broker;
use lapin::{options::QueueDeclareOptions, types::FieldTable};

use crate::Error;

/// Runs `rabbitmqctl -n NODE stop_app` / `start_app`, and remembers whether it left the application stopped.
#[derive(Debug, Clone)]
pub struct RabbitmqControl {
    program: String,
    node: String,
    stopped: Arc<AtomicBool>,
}

impl RabbitmqControl {
    /// Control over `node` through `program` (`rabbitmqctl`).
    #[must_use]
    pub fn new(program: impl Into<String>, node: impl Into<String>) -> Self {
        Self {
            program: program.into(),
            node: node.into(),
            stopped: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Stops the RabbitMQ application (the Erlang node keeps running): every connection drops, classic
    /// non-durable queues go away, quorum queues keep their messages.
    ///
    /// # Errors
    /// [`Error::Rabbitmqctl`] when the command fails.
    pub async fn stop_app(&self) -> Result<(), Error> {
        self.stopped.store(true, Ordering::SeqCst);
        self.run("stop_app").await
    }

    /// Starts the RabbitMQ application again.
    ///
    /// # Errors
    /// [`Error::Rabbitmqctl`] when the command fails.
    pub async fn start_app(&self) -> Result<(), Error> {
        self.run("start_app").await?;
        self.stopped.store(false, Ordering::SeqCst);
        Ok(())
    }

    /// Whether `stop_app` ran (or was attempted) without a successful `start_app` after it: an interrupted run
    /// must start the broker again.
    #[must_use]
    pub fn left_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    async fn run(&self, action: &str) -> Result<(), Error> {
        let argv = self.argv(action, is_root(), rabbitmq_env());
        let command_line = argv.join(" ");
        let output =
            tokio::task::spawn_blocking(move || Command::new(&argv[0]).args(&argv[1..]).output())
                .await
                .map_err(|error| Error::Rabbitmqctl {
                    command: command_line.clone(),
                    output: error.to_string(),
                })?;
        match output {
            Ok(output) if output.status.success() => Ok(()),
            Ok(output) => Err(Error::command_failed(command_line, &output)),
            Err(error) => Err(Error::Rabbitmqctl {
                command: command_line,
                output: error.to_string(),
            }),
        }
    }

    /// The command line: `rabbitmqctl -n NODE ACTION`, or through `sudo -n env RABBITMQ_…=… ` when not root
    /// (sudo drops the environment, and the broker's scripts read `RABBITMQ_*` variables).
    fn argv(&self, action: &str, root: bool, env: Vec<(String, String)>) -> Vec<String> {
        let mut argv = Vec::new();
        if !root {
            argv.extend(["sudo".to_owned(), "-n".to_owned(), "env".to_owned()]);
            argv.extend(env.into_iter().map(|(key, value)| format!("{key}={value}")));
        }
        argv.extend([
            self.program.clone(),
            "-n".to_owned(),
            self.node.clone(),
            action.to_owned(),
        ]);
        argv
    }
}

fn is_root() -> bool {
    // SAFETY: `geteuid` only reads the process's credentials; it cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The `RABBITMQ_*` variables of the harness's environment (as `deploy/local/lib.sh` hands them on).
fn rabbitmq_env() -> Vec<(String, String)> {
    std::env::vars()
        .filter(|(key, _)| key.starts_with("RABBITMQ_") && key != "RABBITMQ_CONSOLE_PORT")
        .collect()
}

/// Messages waiting in the run's durable queues.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepths {
    /// In `<ns>.transform`.
    pub transform: u32,
    /// In `<ns>.archive`.
    pub archive: u32,
    /// In `<ns>.dead-letter`.
    pub dead_letter: u32,
}

impl QueueDepths {
    /// All of them.
    #[must_use]
    pub fn total(&self) -> u64 {
        u64::from(self.transform) + u64::from(self.archive) + u64::from(self.dead_letter)
    }
}

impl std::fmt::Display for QueueDepths {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "transform {}, archive {}, dead-letter {}",
            self.transform, self.archive, self.dead_letter
        )
    }
}

/// How many ready messages each of the run's queues holds (passive declarations: a queue that does not exist
/// is an error). Messages delivered to a consumer and not yet acknowledged are not counted; stop the consumers
/// first to count everything.
///
/// # Errors
/// [`Error::Connection`] when the broker cannot be reached or a queue does not exist.
pub async fn queue_depths(broker: &Broker) -> Result<QueueDepths, Error> {
    let channel = broker
        .channel()
        .await
        .map_err(Error::connection("opening a channel"))?;
    let topology = broker.topology();
    let mut depths = [0_u32; 3];
    for (depth, queue) in depths.iter_mut().zip([
        topology.transform_queue(),
        topology.archive_queue(),
        topology.dead_letter_queue(),
    ]) {
        let declared = channel
            .queue_declare(
                queue.as_str().into(),
                QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|error| Error::Connection {
                action: "counting a queue's messages",
                source: error.into(),
            })?;
        *depth = declared.message_count();
    }
    let _ = channel.close(200, "done".into()).await;
    let [transform, archive, dead_letter] = depths;
    Ok(QueueDepths {
        transform,
        archive,
        dead_letter,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_runs_rabbitmqctl_directly() {
        let control = RabbitmqControl::new("rabbitmqctl", "rabbit@localhost");
        assert_eq!(
            control.argv("stop_app", true, vec![("RABBITMQ_X".into(), "1".into())]),
            ["rabbitmqctl", "-n", "rabbit@localhost", "stop_app"]
        );
    }

    #[test]
    fn others_go_through_sudo_with_the_rabbitmq_variables() {
        let control = RabbitmqControl::new("/usr/sbin/rabbitmqctl", "rabbit@h");
        assert_eq!(
            control.argv(
                "start_app",
                false,
                vec![("RABBITMQ_CONF_ENV_FILE".into(), "/x".into())]
            ),
            [
                "sudo",
                "-n",
                "env",
                "RABBITMQ_CONF_ENV_FILE=/x",
                "/usr/sbin/rabbitmqctl",
                "-n",
                "rabbit@h",
                "start_app"
            ]
        );
    }

    #[test]
    fn depths_add_up() {
        let depths = QueueDepths {
            transform: 1,
            archive: 2,
            dead_letter: 3,
        };
        assert_eq!(depths.total(), 6);
        assert_eq!(depths.to_string(), "transform 1, archive 2, dead-letter 3");
    }
}
