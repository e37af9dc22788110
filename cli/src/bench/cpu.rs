//! CPU time of the processes a benchmark loads, from Linux's `/proc/<pid>/stat`, so that the report can say what
//! one job costs each of them (the client itself included).

use std::collections::BTreeMap;

/// Clock ticks per second in `/proc/<pid>/stat`: Linux's `USER_HZ`, 100 on every architecture it exports
/// to user space.
const TICKS_PER_SEC: f64 = 100.0;

/// A named set of processes (several pids may share a name: their times add up).
#[derive(Debug, Clone, Default)]
pub struct Processes(Vec<(String, u32)>);

/// CPU seconds used so far, by name.
pub type Usage = BTreeMap<String, f64>;

impl Processes {
    /// `named` (name, pid) pairs, and this process as `client`.
    #[must_use]
    pub fn new(named: &[(String, u32)]) -> Self {
        let mut all = named.to_vec();
        all.push(("client".to_owned(), std::process::id()));
        Self(all)
    }

    /// The CPU seconds (user and system, all threads) each name has used so far; a process that is gone or
    /// unreadable counts nothing.
    #[must_use]
    pub fn usage(&self) -> Usage {
        let mut usage = Usage::new();
        for (name, pid) in &self.0 {
            let seconds = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| cpu_seconds(&stat))
                .unwrap_or(0.0);
            *usage.entry(name.clone()).or_insert(0.0) += seconds;
        }
        usage
    }
}

/// User plus system time of a `/proc/<pid>/stat` line, in seconds. The command name (second field) is in
/// parentheses and may hold spaces, so the fields are counted after its closing one.
fn cpu_seconds(stat: &str) -> Option<f64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After the name: state is field 3; utime and stime are fields 14 and 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    #[allow(clippy::cast_precision_loss)] // Ticks of one process stay far below 2^52.
    Some((utime + stime) as f64 / TICKS_PER_SEC)
}

/// What each name used between `before` and `after`, in milliseconds per job.
#[must_use]
pub fn per_job(before: &Usage, after: &Usage, jobs: usize) -> BTreeMap<String, f64> {
    after
        .iter()
        .map(|(name, seconds)| {
            let used = seconds - before.get(name).copied().unwrap_or(0.0);
            #[allow(clippy::cast_precision_loss)]
            let per_job = if jobs == 0 {
                0.0
            } else {
                used * 1000.0 / jobs as f64
            };
            (name.clone(), per_job)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_give_user_plus_system_time() {
        let stat = "4242 (imagepipe gate) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 9 0 100 0 0";
        assert_eq!(cpu_seconds(stat), Some(3.0));
        assert_eq!(cpu_seconds("garbage"), None);
    }

    #[test]
    fn this_process_is_measured_as_the_client() {
        let processes = Processes::new(&[("gone".to_owned(), u32::MAX)]);
        let usage = processes.usage();
        assert_eq!(usage["gone"], 0.0);
        if std::path::Path::new("/proc/self/stat").exists() {
            let spin = (0..5_000_000_u64).fold(0_u64, |sum, n| sum.wrapping_add(n * n));
            assert!(spin > 0);
            assert!(processes.usage()["client"] >= usage["client"]);
        }
        let before = Usage::from([("a".to_owned(), 1.0)]);
        let after = Usage::from([("a".to_owned(), 1.5), ("b".to_owned(), 0.25)]);
        let costs = per_job(&before, &after, 10);
        assert!((costs["a"] - 50.0).abs() < 1e-9 && (costs["b"] - 25.0).abs() < 1e-9);
    }
}
