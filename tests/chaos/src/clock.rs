//! The run's clock: every progress line carries the UTC wall time and the seconds since the run started, so a
//! line here can be matched with the services' log lines.

use std::{
    fmt::Display,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

/// When the run started. Cheap to copy.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: Instant,
}

impl Clock {
    /// A clock starting now.
    #[must_use]
    pub fn start() -> Self {
        Self {
            start: Instant::now(),
        }
    }

    /// Time since the start.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Prints one timestamped progress line.
    pub fn say(&self, message: impl Display) {
        println!("{}", line(SystemTime::now(), self.elapsed(), message));
    }
}

/// `HH:MM:SS.mmm +SSSS.Ss  message`, the wall time in UTC.
fn line(now: SystemTime, elapsed: Duration, message: impl Display) -> String {
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since_epoch.as_secs() % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:03} +{:>6.1}s  {message}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
        since_epoch.subsec_millis(),
        elapsed.as_secs_f64(),
    )
}

/// A duration as people read it: `850 ms`, `42.1 s`, `3 min 12 s`.
#[must_use]
pub fn human(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds < 1.0 {
        format!("{} ms", duration.as_millis())
    } else if seconds < 60.0 {
        format!("{seconds:.1} s")
    } else {
        let whole = duration.as_secs();
        format!("{} min {:02} s", whole / 60, whole % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_carry_utc_time_and_elapsed_seconds() {
        let now = UNIX_EPOCH + Duration::from_millis(86_400_000 * 3 + 3_723_045);
        assert_eq!(
            line(now, Duration::from_millis(12_340), "SIGKILL transformer-1"),
            "01:02:03.045 +  12.3s  SIGKILL transformer-1"
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human(Duration::from_millis(850)), "850 ms");
        assert_eq!(human(Duration::from_millis(42_140)), "42.1 s");
        assert_eq!(human(Duration::from_secs(192)), "3 min 12 s");
    }
}
