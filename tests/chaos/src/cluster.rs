//! The cluster run's broker: a three-node RabbitMQ cluster run by `deploy/local/rabbit-cluster`, which the
//! harness calls as a subprocess (`leader QUEUE` prints the number of the node leading a quorum queue, `kill N`
//! SIGKILLs node N, `start-node N` starts it again and waits until it is back), each within a time limit (the
//! script waits for a lock other users of the cluster may hold). Its queues are seen through
//! [`crate::management`].

use std::{
    collections::BTreeSet,
    io::Read,
    os::unix::process::CommandExt,
    path::PathBuf,
    process::{Command, Output, Stdio},
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use crate::{
    Error,
    clock::{Clock, human},
    management::Management,
};

/// How long `start-node` may take (it waits until the node and its queues' replicas are back).
const START_NODE_TIMEOUT: Duration = Duration::from_secs(300);
/// How long the script's other commands may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// Control over the cluster: the control script, and the management API.
#[derive(Debug, Clone)]
pub struct RabbitCluster {
    ctl: PathBuf,
    management: Management,
    /// Nodes killed and not started again yet: an interrupted run starts them.
    killed: Arc<Mutex<BTreeSet<u32>>>,
}

impl RabbitCluster {
    /// Control through the script `ctl`, and the queues through `management`.
    #[must_use]
    pub fn new(ctl: impl Into<PathBuf>, management: Management) -> Self {
        Self {
            ctl: ctl.into(),
            management,
            killed: Arc::default(),
        }
    }

    /// The number of the node leading the quorum queue `queue`.
    ///
    /// # Errors
    /// [`Error::Rabbitmqctl`] when the script fails or prints no node number.
    pub async fn leader(&self, queue: &str) -> Result<u32, Error> {
        let output = self.run(&["leader", queue]).await?;
        node_number(&output).ok_or_else(|| Error::Rabbitmqctl {
            command: format!("{} leader {queue}", self.ctl.display()),
            output: format!("printed {:?}, not a node number", output.trim()),
        })
    }

    /// SIGKILLs node `node`.
    ///
    /// # Errors
    /// [`Error::Rabbitmqctl`] when the script fails.
    pub async fn kill(&self, node: u32) -> Result<(), Error> {
        lock(&self.killed).insert(node);
        self.run(&["kill", &node.to_string()]).await.map(drop)
    }

    /// Starts node `node` again and waits until it is back in the cluster.
    ///
    /// # Errors
    /// [`Error::Rabbitmqctl`] when the script fails.
    pub async fn start_node(&self, node: u32) -> Result<(), Error> {
        self.run(&["start-node", &node.to_string()]).await?;
        lock(&self.killed).remove(&node);
        Ok(())
    }

    /// The nodes this run killed and did not start again.
    #[must_use]
    pub fn left_killed(&self) -> Vec<u32> {
        lock(&self.killed).iter().copied().collect()
    }

    /// The cluster's management API.
    #[must_use]
    pub fn management(&self) -> &Management {
        &self.management
    }

    /// Starts again every node this run killed and did not start again (after an interruption).
    pub async fn start_killed_nodes(&self, clock: Clock) {
        for node in self.left_killed() {
            clock.say(format_args!(
                "Starting RabbitMQ node {node} again (the run was interrupted while it was down)"
            ));
            if let Err(error) = self.start_node(node).await {
                clock.say(format_args!("Could not start node {node} again: {error}"));
            }
        }
    }

    async fn run(&self, args: &[&str]) -> Result<String, Error> {
        let command_line = format!("{} {}", self.ctl.display(), args.join(" "));
        let timeout = if args.first() == Some(&"start-node") {
            START_NODE_TIMEOUT
        } else {
            COMMAND_TIMEOUT
        };
        let mut command = Command::new(&self.ctl);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let output = tokio::task::spawn_blocking(move || output_within(command, timeout))
            .await
            .map_err(|error| Error::Task(error.to_string()))?;
        match output {
            Ok(Some(output)) if output.status.success() => {
                Ok(String::from_utf8_lossy(&output.stdout).into_owned())
            }
            Ok(Some(output)) => Err(Error::command_failed(command_line, &output)),
            Ok(None) => Err(Error::Rabbitmqctl {
                command: command_line,
                output: format!("did not finish within {}; killed it", human(timeout)),
            }),
            Err(error) => Err(Error::Rabbitmqctl {
                command: command_line,
                output: error.to_string(),
            }),
        }
    }
}

/// Runs `command` (in a process group of its own) and collects its output; `None` when it did not finish
/// within `timeout`, in which case its whole process group is killed.
fn output_within(mut command: Command, timeout: Duration) -> std::io::Result<Option<Output>> {
    let mut child = command.spawn()?;
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = read(
        child
            .stdout
            .take()
            .map(|pipe| Box::new(pipe) as Box<dyn Read + Send>),
    );
    let stderr = read(
        child
            .stderr
            .take()
            .map(|pipe| Box::new(pipe) as Box<dyn Read + Send>),
    );
    let deadline = std::time::Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if std::time::Instant::now() >= deadline {
            if let Ok(group) = libc::pid_t::try_from(child.id()) {
                // SAFETY: `kill` has no memory effects; the group is our unreaped child's own (process_group(0)).
                unsafe { libc::kill(-group, libc::SIGKILL) };
            }
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    Ok(status.map(|status| Output {
        status,
        stdout,
        stderr,
    }))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The node number a `leader` answer gives (one number on a line).
fn node_number(output: &str) -> Option<u32> {
    output.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_command_past_its_time_is_killed() {
        let mut command = Command::new("sh");
        command
            .args(["-c", "echo started; sleep 30"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let started = std::time::Instant::now();
        assert!(
            output_within(command, Duration::from_millis(300))
                .unwrap()
                .is_none()
        );
        assert!(started.elapsed() < Duration::from_secs(20));
        let mut command = Command::new("sh");
        command.args(["-c", "echo 2"]).stdout(Stdio::piped());
        let output = output_within(command, Duration::from_secs(60))
            .unwrap()
            .unwrap();
        assert!(output.status.success());
        assert_eq!(output.stdout, b"2\n");
    }

    #[test]
    fn a_leader_is_a_number() {
        assert_eq!(node_number("2\n"), Some(2));
        assert_eq!(node_number(" 3 "), Some(3));
        assert_eq!(node_number(""), None);
        assert_eq!(node_number("rabbit@x"), None);
    }

    #[tokio::test]
    async fn the_script_is_asked_and_killed_nodes_are_remembered() {
        let dir = std::env::temp_dir().join(format!("chaos-cluster-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("rabbit-cluster");
        let calls = dir.join("calls");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho \"$@\" >>{}\ncase $1 in\n  leader) echo 'starting' >&2; echo 3 ;;\n  \
                 start-node) [ \"$2\" = 1 ] && exit 1 ;;\nesac\nexit 0\n",
                calls.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let cluster = RabbitCluster::new(&script, Management::new(Vec::new()));
        assert_eq!(cluster.leader("ns.transform").await.unwrap(), 3);
        cluster.kill(3).await.unwrap();
        cluster.kill(1).await.unwrap();
        assert_eq!(cluster.left_killed(), [1, 3]);
        cluster.start_node(3).await.unwrap();
        let error = cluster.start_node(1).await.unwrap_err();
        assert!(error.to_string().contains("start-node 1"), "{error}");
        assert_eq!(cluster.left_killed(), [1]);
        assert_eq!(
            std::fs::read_to_string(&calls).unwrap(),
            "leader ns.transform\nkill 3\nkill 1\nstart-node 3\nstart-node 1\n"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
