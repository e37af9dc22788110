//! Percentiles of a set of durations, by the nearest-rank method: what every latency figure of a report is.

use serde::Serialize;

/// Percentiles of a set of durations, in milliseconds (all zero for an empty set).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Percentiles {
    /// How many.
    pub count: usize,
    /// The median.
    pub p50: f64,
    /// The 95th percentile.
    pub p95: f64,
    /// The 99th percentile.
    pub p99: f64,
    /// The largest.
    pub max: f64,
}

impl Percentiles {
    /// Of `values` (milliseconds), by the nearest-rank method.
    #[must_use]
    pub fn of(mut values: Vec<f64>) -> Self {
        if values.is_empty() {
            return Self::default();
        }
        values.sort_by(f64::total_cmp);
        let rank = |percent: f64| {
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                clippy::cast_precision_loss
            )]
            let index = ((percent / 100.0 * values.len() as f64).ceil() as usize)
                .clamp(1, values.len())
                - 1;
            values[index]
        };
        Self {
            count: values.len(),
            p50: rank(50.0),
            p95: rank(95.0),
            p99: rank(99.0),
            max: values[values.len() - 1],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let figures = Percentiles::of((1..=100).map(f64::from).rev().collect());
        assert_eq!(
            (
                figures.count,
                figures.p50,
                figures.p95,
                figures.p99,
                figures.max
            ),
            (100, 50.0, 95.0, 99.0, 100.0)
        );
        assert_eq!(Percentiles::of(vec![7.0]).p99, 7.0);
        assert_eq!(Percentiles::of(Vec::new()), Percentiles::default());
    }
}
