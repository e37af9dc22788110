//! Retrying an operation with exponential backoff while a dependency is away, logging one line when it starts
//! failing and one when it recovers (not one per attempt).

use std::{fmt::Display, future::Future, time::Duration};

use tokio::time::Instant;

/// First wait between attempts; doubled after each failure up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// Longest wait between attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// How long a service waits at start-up for the broker and the database before giving up.
pub const STARTUP_PATIENCE: Duration = Duration::from_secs(120);

/// Exponential backoff: 250 ms, 500 ms, 1 s, … capped at [`MAX_BACKOFF`].
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            next: FIRST_BACKOFF,
        }
    }
}

impl Backoff {
    /// The wait before the next attempt; doubles the one after.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(MAX_BACKOFF);
        delay
    }

    /// Starts again from [`FIRST_BACKOFF`] (after a success).
    pub fn reset(&mut self) {
        self.next = FIRST_BACKOFF;
    }
}

/// Runs `attempt` until it succeeds or `patience` has passed, waiting with [`Backoff`] in between. Logs a
/// warning at the first failure and a line when `what` answers again.
///
/// # Errors
/// The last attempt's error once `patience` is over.
pub async fn with_backoff<T, E, F, Fut>(
    what: &str,
    patience: Duration,
    mut attempt: F,
) -> Result<T, E>
where
    E: Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let started = Instant::now();
    let mut backoff = Backoff::default();
    let mut failures = 0_u32;
    loop {
        match attempt().await {
            Ok(value) => {
                if failures > 0 {
                    tracing::info!(
                        what,
                        attempts = failures + 1,
                        waited_ms = started.elapsed().as_millis() as u64,
                        "Reached {what}."
                    );
                }
                return Ok(value);
            }
            Err(error) => {
                let delay = backoff.next_delay();
                if started.elapsed() + delay > patience {
                    return Err(error);
                }
                if failures == 0 {
                    tracing::warn!(what, %error, patience_s = patience.as_secs(), "Cannot reach {what}; retrying with backoff.");
                } else {
                    tracing::debug!(what, %error, retry_in_ms = delay.as_millis() as u64, "Still cannot reach {what}.");
                }
                failures += 1;
                tokio::time::sleep(delay).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_resets() {
        let mut backoff = Backoff::default();
        let delays: Vec<_> = (0..8).map(|_| backoff.next_delay().as_millis()).collect();
        assert_eq!(delays, [250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
        backoff.reset();
        assert_eq!(backoff.next_delay(), FIRST_BACKOFF);
    }

    #[tokio::test(start_paused = true)]
    async fn retries_until_success() {
        let calls = AtomicU32::new(0);
        let value = with_backoff("the thing", Duration::from_secs(60), || async {
            if calls.fetch_add(1, Ordering::Relaxed) < 3 {
                Err("down")
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!(value, Ok(7));
        assert_eq!(calls.load(Ordering::Relaxed), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_its_patience() {
        let calls = AtomicU32::new(0);
        let started = Instant::now();
        let value: Result<(), _> = with_backoff("the thing", Duration::from_secs(5), || async {
            calls.fetch_add(1, Ordering::Relaxed);
            Err("down")
        })
        .await;
        assert_eq!(value, Err("down"));
        assert!(started.elapsed() <= Duration::from_secs(5));
        // 250 + 500 + 1000 + 2000 ms fit in 5 s; the next 4 s wait would not.
        assert_eq!(calls.load(Ordering::Relaxed), 5);
    }
}
