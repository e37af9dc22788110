//! One child process of the harness (a service or the database server): how to start it again with the same
//! command, environment and log file, and how to stop it (SIGTERM with a grace period, or SIGKILL).
//!
//! Every child runs in its own process group, so a Ctrl-C at the terminal reaches only the harness, which then
//! stops the children in order. A [`Process`] that is dropped while its child runs kills the child: a panic or
//! an early return never leaves a service behind.

use std::{
    fs::{File, OpenOptions},
    io::Write,
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use crate::Error;

/// How often a stopping process is checked.
const POLL: Duration = Duration::from_millis(20);

/// A child process the harness may start, stop and start again.
#[derive(Debug)]
pub struct Process {
    name: String,
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    log: PathBuf,
    child: Option<Child>,
}

impl Process {
    /// A process called `name` (in progress lines and its log file's header) running `program`, its output
    /// appended to `log`. Not started yet.
    #[must_use]
    pub fn new(name: impl Into<String>, program: impl Into<PathBuf>, log: PathBuf) -> Self {
        Self {
            name: name.into(),
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            log,
            child: None,
        }
    }

    /// Adds a command-line argument.
    #[must_use]
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Sets an environment variable (on top of the harness's own environment).
    #[must_use]
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// The name of this process in the run.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where its output goes.
    #[must_use]
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// The error saying this process is not running as it should (`problem`), pointing at its log.
    pub fn not_running(&self, problem: String) -> Error {
        Error::NotRunning {
            name: self.name().to_owned(),
            problem,
            log: self.log().to_owned(),
        }
    }

    /// The pid of the running child, if any.
    #[must_use]
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Starts the child (again), appending a header line and then its output to the log. Returns its pid.
    ///
    /// # Errors
    /// [`Error::Io`] when the log cannot be opened, [`Error::Process`] when the program cannot be started.
    pub fn start(&mut self) -> Result<u32, Error> {
        if let Some(pid) = self.pid().filter(|_| self.is_running()) {
            return Ok(pid);
        }
        self.child = None;
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(Error::io("cannot open", &self.log))?;
        writeln!(
            log,
            "\n--- {}: starting {} {}",
            unix_time(),
            self.program.display(),
            self.args.join(" ")
        )
        .map_err(Error::io("cannot write", &self.log))?;
        let stderr: File = log
            .try_clone()
            .map_err(Error::io("cannot open", &self.log))?;
        let child = Command::new(&self.program)
            .args(&self.args)
            .envs(self.env.iter().map(|(key, value)| (key, value)))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr)
            .process_group(0)
            .spawn()
            .map_err(|source| Error::Process {
                action: "start",
                name: self.name.clone(),
                source,
            })?;
        let pid = child.id();
        self.child = Some(child);
        Ok(pid)
    }

    /// The child's exit status once it has exited (reaping it); `None` while it runs or when it was never
    /// started.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|child| child.try_wait().ok().flatten())
    }

    /// Whether the child runs.
    pub fn is_running(&mut self) -> bool {
        self.child.is_some() && self.exit_status().is_none()
    }

    /// SIGKILLs the child and waits until it is gone. Returns its pid, or `None` when it was not running.
    ///
    /// # Errors
    /// [`Error::Process`] when the signal cannot be sent.
    pub async fn kill(&mut self) -> Result<Option<u32>, Error> {
        if !self.is_running() {
            self.child = None;
            return Ok(None);
        }
        let pid = self.pid();
        self.signal(libc::SIGKILL)?;
        while self.exit_status().is_none() {
            tokio::time::sleep(POLL).await;
        }
        self.child = None;
        Ok(pid)
    }

    /// Sends SIGTERM and waits up to `grace` for the child to exit, then SIGKILLs it. Returns the exit status
    /// (`None` when it was not running) and whether it had to be killed.
    ///
    /// # Errors
    /// [`Error::Process`] when a signal cannot be sent.
    pub async fn terminate(&mut self, grace: Duration) -> Result<Stopped, Error> {
        if !self.is_running() {
            let status = self.exit_status();
            self.child = None;
            return Ok(Stopped {
                status,
                killed: false,
            });
        }
        self.signal(libc::SIGTERM)?;
        let deadline = tokio::time::Instant::now() + grace;
        let mut killed = false;
        let status = loop {
            if let Some(status) = self.exit_status() {
                break status;
            }
            if !killed && tokio::time::Instant::now() >= deadline {
                self.signal(libc::SIGKILL)?;
                killed = true;
            }
            tokio::time::sleep(POLL).await;
        };
        self.child = None;
        Ok(Stopped {
            status: Some(status),
            killed,
        })
    }

    fn signal(&mut self, signal: libc::c_int) -> Result<(), Error> {
        let Some(pid) = self.pid() else {
            return Ok(());
        };
        let pid = libc::pid_t::try_from(pid).map_err(|_| Error::Process {
            action: "signal",
            name: self.name.clone(),
            source: std::io::Error::other("pid out of range"),
        })?;
        // SAFETY: `kill` has no memory effects. The pid is our own child's, which we have not reaped (a reaped
        // child's `Child` is dropped first), so the pid cannot have been reused by another process.
        let result = unsafe { libc::kill(pid, signal) };
        if result == 0 {
            Ok(())
        } else {
            Err(Error::Process {
                action: "signal",
                name: self.name.clone(),
                source: std::io::Error::last_os_error(),
            })
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child
            && matches!(child.try_wait(), Ok(None))
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// How a process ended when asked to stop.
#[derive(Debug, Clone, Copy)]
pub struct Stopped {
    /// Its exit status, or `None` when it was not running.
    pub status: Option<ExitStatus>,
    /// Whether it had to be killed after the grace period.
    pub killed: bool,
}

/// Seconds since the epoch, for log headers.
fn unix_time() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}.{:03} (unix time)", now.as_secs(), now.subsec_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("chaos-process-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[tokio::test]
    async fn terminate_stops_a_process_and_start_runs_it_again() {
        let dir = log_dir();
        let mut process = Process::new("sleeper", "sleep", dir.join("sleeper.log")).arg("30");
        let first = process.start().unwrap();
        assert!(process.is_running());
        // `sleep` exits at SIGTERM at once; the grace only has to outlast a loaded machine's scheduling.
        let stopped = process.terminate(Duration::from_secs(60)).await.unwrap();
        assert!(!stopped.killed);
        assert!(!stopped.status.unwrap().success());
        assert!(!process.is_running());
        let second = process.start().unwrap();
        assert_ne!(first, second);
        assert_eq!(process.kill().await.unwrap(), Some(second));
        assert_eq!(process.kill().await.unwrap(), None);
        let log = std::fs::read_to_string(dir.join("sleeper.log")).unwrap();
        assert_eq!(log.matches("starting sleep 30").count(), 2);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_process_that_ignores_sigterm_is_killed_after_the_grace() {
        let dir = log_dir();
        let log = dir.join("stubborn.log");
        let mut process = Process::new("stubborn", "sh", log.clone())
            .arg("-c")
            .arg("trap '' TERM; echo trapped; while :; do sleep 0.1; done");
        process.start().unwrap();
        // SIGTERM only once the shell ignores it (it says so in its log), or it would simply die of it.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while !std::fs::read_to_string(&log).is_ok_and(|text| text.contains("\ntrapped\n")) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the shell never set its trap"
            );
            tokio::time::sleep(POLL).await;
        }
        let stopped = process.terminate(Duration::from_millis(300)).await.unwrap();
        assert!(stopped.killed);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn dropping_a_running_process_kills_it() {
        let dir = log_dir();
        let mut process = Process::new("orphan", "sleep", dir.join("orphan.log")).arg("30");
        let pid = process.start().unwrap();
        drop(process);
        assert!(!Path::new(&format!("/proc/{pid}")).exists());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
