//! How long the clients went without an accepted upload while a fault lasted. A fault's window runs from the
//! moment it was done to the stack (a process killed, a primary stepped down) until the stack was whole again
//! plus a few seconds; its gap is the longest stretch of that window with no `202` answer in it, the window's
//! edges included (no `202` at all in a window of 10 s is a gap of 10 s). The same measure outside every window
//! says what gap the steady stream has anyway, to compare with.

use std::time::Duration;

use tokio::time::Instant;

use crate::clock::human;

/// One fault of the timeline, as the gaps need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultWindow {
    /// What was done (`kill -9 RabbitMQ node 2 (leads the transform queue)`).
    pub fault: String,
    /// When it was done.
    pub from: Instant,
    /// When the stack was whole again (every process running and ready, the balancer routing to every
    /// gateway), or `None` when it did not become whole.
    pub whole_at: Option<Instant>,
    /// When the window closes: `whole_at` plus a few seconds, or when the timeline moved on.
    pub to: Instant,
}

/// A fault's window and the longest gap in accepted uploads within it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultGap {
    /// What was done.
    pub fault: String,
    /// How long the stack took to be whole again (`None`: it did not).
    pub recovery: Option<Duration>,
    /// How long the window was (cut at the end of the uploads).
    pub window: Duration,
    /// The longest stretch of the window without a `202`.
    pub longest_gap: Duration,
    /// How many uploads were accepted within the window.
    pub accepted: usize,
    /// Whether the fault came while uploads were still going on (a fault after them proves nothing).
    pub under_load: bool,
}

impl std::fmt::Display for FaultGap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.under_load {
            return write!(f, "- (the uploads had ended before this fault)");
        }
        let recovery = self
            .recovery
            .map_or_else(|| "not whole again".to_owned(), human);
        write!(
            f,
            "{} (window {}, whole again after {recovery}, {} accepted)",
            human(self.longest_gap),
            human(self.window),
            self.accepted
        )
    }
}

/// The longest stretch of `[from, to]` without one of `accepted` (any order); zero for an empty window.
#[must_use]
pub fn longest_gap(accepted: &[Instant], from: Instant, to: Instant) -> Duration {
    if to <= from {
        return Duration::ZERO;
    }
    let mut inside: Vec<Instant> = accepted
        .iter()
        .copied()
        .filter(|at| (from..=to).contains(at))
        .collect();
    inside.sort_unstable();
    let mut previous = from;
    let mut longest = Duration::ZERO;
    for at in inside.into_iter().chain(std::iter::once(to)) {
        longest = longest.max(at.saturating_duration_since(previous));
        previous = at;
    }
    longest
}

/// Each window's gap, the windows cut at `uploads_ended` (after it a gap says nothing about the stack).
#[must_use]
pub fn fault_gaps(
    windows: &[FaultWindow],
    accepted: &[Instant],
    uploads_ended: Instant,
) -> Vec<FaultGap> {
    windows
        .iter()
        .map(|window| {
            let to = window.to.min(uploads_ended);
            FaultGap {
                fault: window.fault.clone(),
                recovery: window
                    .whole_at
                    .map(|whole| whole.saturating_duration_since(window.from)),
                window: to.saturating_duration_since(window.from),
                longest_gap: longest_gap(accepted, window.from, to),
                accepted: accepted
                    .iter()
                    .filter(|at| (window.from..=to).contains(at))
                    .count(),
                under_load: window.from < uploads_ended,
            }
        })
        .collect()
}

/// The longest gap between consecutive `202`s of `[from, to]` outside every window (a stretch that a window
/// interrupts is counted up to the window's edges): what the steady stream leaves anyway.
#[must_use]
pub fn calm_gap(
    windows: &[FaultWindow],
    accepted: &[Instant],
    from: Instant,
    to: Instant,
) -> Duration {
    let mut windows: Vec<(Instant, Instant)> = windows
        .iter()
        .map(|window| (window.from, window.to))
        .collect();
    windows.sort_unstable();
    let mut longest = Duration::ZERO;
    let mut start = from;
    for (window_from, window_to) in windows {
        if window_from > start {
            longest = longest.max(longest_gap(accepted, start, window_from.min(to)));
        }
        start = start.max(window_to);
    }
    if to > start {
        longest = longest.max(longest_gap(accepted, start, to));
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(base: Instant, millis: u64) -> Instant {
        base + Duration::from_millis(millis)
    }

    fn window(base: Instant, fault: &str, from: u64, whole: Option<u64>, to: u64) -> FaultWindow {
        FaultWindow {
            fault: fault.to_owned(),
            from: at(base, from),
            whole_at: whole.map(|whole| at(base, whole)),
            to: at(base, to),
        }
    }

    #[test]
    fn the_longest_gap_counts_the_window_s_edges() {
        let base = Instant::now();
        let accepted: Vec<Instant> = [500, 4_000, 1_000, 1_500, 9_000]
            .into_iter()
            .map(|millis| at(base, millis))
            .collect();
        // 1.5 s → 4 s is the longest inside [0, 5 s].
        assert_eq!(
            longest_gap(&accepted, base, at(base, 5_000)),
            Duration::from_millis(2_500)
        );
        // From the window's start to the first 202.
        assert_eq!(
            longest_gap(&accepted, at(base, 4_100), at(base, 9_500)),
            Duration::from_millis(4_900)
        );
        // None inside: the whole window.
        assert_eq!(
            longest_gap(&accepted, at(base, 5_000), at(base, 8_000)),
            Duration::from_secs(3)
        );
        assert_eq!(
            longest_gap(&accepted, at(base, 5_000), base),
            Duration::ZERO
        );
    }

    #[test]
    fn fault_gaps_stop_at_the_end_of_the_uploads() {
        let base = Instant::now();
        let accepted: Vec<Instant> = (0..20).map(|i| at(base, i * 500)).collect();
        let windows = [
            window(base, "kill -9 gateway-1", 2_000, Some(4_000), 7_000),
            window(base, "replSetStepDown", 8_000, None, 20_000),
        ];
        let gaps = fault_gaps(&windows, &accepted, at(base, 9_700));
        assert_eq!(gaps[0].fault, "kill -9 gateway-1");
        assert_eq!(gaps[0].recovery, Some(Duration::from_secs(2)));
        assert_eq!(gaps[0].window, Duration::from_secs(5));
        assert_eq!(gaps[0].longest_gap, Duration::from_millis(500));
        assert_eq!(gaps[0].accepted, 11);
        assert!(gaps[0].under_load && gaps[1].under_load);
        assert_eq!(gaps[1].recovery, None);
        assert_eq!(gaps[1].window, Duration::from_millis(1_700));
        // The last 202 at 9.5 s, the window cut at 9.7 s.
        assert_eq!(gaps[1].longest_gap, Duration::from_millis(500));
        assert_eq!(
            gaps[1].to_string(),
            "500 ms (window 1.7 s, whole again after not whole again, 4 accepted)"
        );
        let late = fault_gaps(&windows, &accepted, at(base, 1_000));
        assert!(!late[0].under_load);
        assert_eq!(late[0].window, Duration::ZERO);
    }

    #[test]
    fn the_calm_gap_leaves_the_windows_out() {
        let base = Instant::now();
        // Steady every 0.5 s, except nothing from 3 s to 6 s (inside a window) and nothing from 8 s to 9.5 s
        // (outside).
        let accepted: Vec<Instant> = (0..24)
            .map(|i| i * 500)
            .filter(|millis| !(3_000..6_000).contains(millis) && !(8_001..9_500).contains(millis))
            .map(|millis| at(base, millis))
            .collect();
        let windows = [window(base, "kill", 2_800, Some(5_000), 6_200)];
        assert_eq!(
            calm_gap(&windows, &accepted, base, at(base, 11_500)),
            Duration::from_millis(1_500)
        );
        let whole = calm_gap(&[], &accepted, base, at(base, 11_500));
        assert_eq!(whole, Duration::from_millis(3_500));
    }
}
