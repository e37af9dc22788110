//! Open-loop rates as `--rate` and `--steps` take them: one rate for the whole load (`20`), or a schedule of
//! phases (`40:120,10:60`: 40 jobs a second for 120 s, then 10 a second for 60 s), and where each phase sits in
//! the load's time ([`Span`]), which the report's windows follow.

use std::time::Duration;

use serde::Serialize;

/// One phase of a schedule: a rate held for a while.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Phase {
    /// Jobs started per second.
    pub rate: f64,
    /// For how many seconds.
    pub secs: u64,
}

/// What `--rate` says.
#[derive(Debug, Clone, PartialEq)]
pub enum Rate {
    /// One rate, for `--duration` seconds.
    Constant(f64),
    /// Phases one after the other; their total is the load's length.
    Schedule(Vec<Phase>),
}

/// A stretch of the load at one offered rate (none for a closed loop), from the load's start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    /// Jobs started per second, in an open loop.
    pub rate: Option<f64>,
    /// When it starts.
    pub start: Duration,
    /// When it ends.
    pub end: Duration,
}

impl Rate {
    /// `--rate`'s value: a positive number of jobs per second, or `RATE:SECONDS,RATE:SECONDS,…` (each rate
    /// positive, each length a whole number of seconds, at least 1).
    ///
    /// # Errors
    /// What is wrong with `text`, in words for the command line.
    pub fn parse(text: &str) -> Result<Self, String> {
        if !text.contains([':', ',']) {
            return positive_rate(text).map(Self::Constant);
        }
        text.split(',')
            .map(|phase| {
                let (rate, secs) = phase.split_once(':').ok_or_else(|| {
                    format!(
                        "`{phase}` is not RATE:SECONDS (a schedule is RATE:SECONDS,RATE:SECONDS,…)"
                    )
                })?;
                let secs = match secs.trim().parse::<u64>() {
                    Ok(secs) if secs > 0 => secs,
                    _ => {
                        return Err(format!(
                            "`{secs}` in `{phase}` is not a whole number of seconds, at least 1"
                        ));
                    }
                };
                Ok(Phase {
                    rate: positive_rate(rate)?,
                    secs,
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self::Schedule)
    }

    /// The phases of a load that lasts `duration` unless this is a schedule (whose own total wins).
    #[must_use]
    pub fn phases(&self, duration: Duration) -> Vec<Phase> {
        match self {
            Self::Constant(rate) => vec![Phase {
                rate: *rate,
                secs: duration.as_secs(),
            }],
            Self::Schedule(phases) => phases.clone(),
        }
    }
}

/// A positive, finite number of jobs per second.
///
/// # Errors
/// When `text` is anything else.
pub fn positive_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!(
            "`{text}` is not a positive number of jobs per second"
        )),
    }
}

/// Where `phases` sit in the load's time, one after the other from its start.
#[must_use]
pub fn spans(phases: &[Phase]) -> Vec<Span> {
    let mut start = Duration::ZERO;
    phases
        .iter()
        .map(|phase| {
            let end = start + Duration::from_secs(phase.secs);
            let span = Span {
                rate: Some(phase.rate),
                start,
                end,
            };
            start = end;
            span
        })
        .collect()
}

/// How long `phases` last together.
#[must_use]
pub fn total(phases: &[Phase]) -> Duration {
    Duration::from_secs(phases.iter().map(|phase| phase.secs).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_is_a_number_or_a_schedule() {
        assert_eq!(Rate::parse("20"), Ok(Rate::Constant(20.0)));
        assert_eq!(Rate::parse("0.5"), Ok(Rate::Constant(0.5)));
        assert_eq!(
            Rate::parse("40:120, 10:60"),
            Ok(Rate::Schedule(vec![
                Phase {
                    rate: 40.0,
                    secs: 120
                },
                Phase {
                    rate: 10.0,
                    secs: 60
                },
            ]))
        );
        assert_eq!(
            Rate::parse("2.5:3"),
            Ok(Rate::Schedule(vec![Phase { rate: 2.5, secs: 3 }]))
        );
        for bad in [
            "", "0", "-1", "inf", "NaN", "x", "40:", ":10", "40:0", "40:1.5", "40:10,", "40,10",
            "40:10:5", "0:10",
        ] {
            assert!(Rate::parse(bad).is_err(), "{bad}");
        }
        assert!(
            Rate::parse("40:0")
                .unwrap_err()
                .contains("whole number of seconds"),
            "says why"
        );
    }

    #[test]
    fn phases_follow_one_another() {
        let schedule = Rate::parse("40:120,10:60").unwrap();
        let phases = schedule.phases(Duration::from_secs(30));
        assert_eq!(
            total(&phases),
            Duration::from_secs(180),
            "the schedule wins"
        );
        let spans = spans(&phases);
        assert_eq!(
            spans
                .iter()
                .map(|span| (span.rate, span.start.as_secs(), span.end.as_secs()))
                .collect::<Vec<_>>(),
            [(Some(40.0), 0, 120), (Some(10.0), 120, 180)]
        );
        let constant = Rate::Constant(5.0).phases(Duration::from_secs(30));
        assert_eq!(
            constant,
            [Phase {
                rate: 5.0,
                secs: 30
            }]
        );
    }
}
