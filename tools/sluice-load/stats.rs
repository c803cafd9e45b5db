//! Per-request measurements: latency histograms and error tallies.
//!
//! Owns: recording (each worker thread has its own, merged at the end — no sharing on the hot
//! path) and the percentile summary. Latencies are in microseconds, recorded with 3 significant
//! digits, clamped to [`LATENCY_US_MAX`].

use crate::json::Json;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::time::Duration;

/// Highest latency the histograms track; longer requests are recorded as this.
pub const LATENCY_US_MAX: u64 = 3_600_000_000;
/// Significant decimal digits kept by the histograms.
const LATENCY_SIGNIFICANT_DIGITS: u8 = 3;

/// Failed requests by label: an HTTP status (`"400"`), or a transport failure (`"timeout"`).
pub type ErrorTally = BTreeMap<String, u64>;

/// Adds `other` into `into`.
pub fn merge_errors(into: &mut ErrorTally, other: &ErrorTally) {
    for (label, count) in other {
        *into.entry(label.clone()).or_insert(0) += count;
    }
}

/// A latency histogram in microseconds.
#[derive(Clone)]
pub struct Latency {
    histogram: Histogram<u64>,
}

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

impl Latency {
    /// An empty histogram.
    pub fn new() -> Latency {
        match Histogram::new_with_bounds(1, LATENCY_US_MAX, LATENCY_SIGNIFICANT_DIGITS) {
            Ok(histogram) => Latency { histogram },
            Err(error) => panic!("BUG: constant histogram bounds rejected: {error:?}"),
        }
    }

    /// Records one request.
    pub fn record(&mut self, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.histogram
            .saturating_record(micros.clamp(1, LATENCY_US_MAX));
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &Latency) {
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.histogram.add(&other.histogram);
    }

    /// Percentiles of what was recorded.
    pub fn summary(&self) -> LatencySummary {
        let h = &self.histogram;
        LatencySummary {
            count: h.len(),
            min_us: if h.is_empty() { 0 } else { h.min() },
            mean_us: if h.is_empty() { 0.0 } else { h.mean() },
            p50_us: h.value_at_quantile(0.50),
            p90_us: h.value_at_quantile(0.90),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
            max_us: h.max(),
        }
    }
}

/// Latency percentiles in microseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct LatencySummary {
    /// Requests recorded.
    pub count: u64,
    /// Fastest.
    pub min_us: u64,
    /// Mean.
    pub mean_us: f64,
    /// Median.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Slowest.
    pub max_us: u64,
}

impl LatencySummary {
    /// As a JSON object.
    pub fn to_json(&self) -> Json {
        Json::object([
            ("count", Json::UInt(self.count)),
            ("min_us", Json::UInt(self.min_us)),
            ("mean_us", Json::Float((self.mean_us * 10.0).round() / 10.0)),
            ("p50_us", Json::UInt(self.p50_us)),
            ("p90_us", Json::UInt(self.p90_us)),
            ("p99_us", Json::UInt(self.p99_us)),
            ("p999_us", Json::UInt(self.p999_us)),
            ("max_us", Json::UInt(self.max_us)),
        ])
    }

    /// One human-readable line.
    pub fn line(&self) -> String {
        format!(
            "p50 {} us  p90 {} us  p99 {} us  p99.9 {} us  max {} us  (n={})",
            self.p50_us, self.p90_us, self.p99_us, self.p999_us, self.max_us, self.count
        )
    }
}

/// Errors as a JSON object `{label: count}`.
pub fn errors_json(errors: &ErrorTally) -> Json {
    Json::object(
        errors
            .iter()
            .map(|(label, count)| (label.clone(), Json::UInt(*count))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_merge() {
        let mut a = Latency::new();
        let mut b = Latency::new();
        for micros in 1..=1000 {
            a.record(Duration::from_micros(micros));
        }
        b.record(Duration::from_secs(2));
        a.merge(&b);
        let summary = a.summary();
        assert_eq!(summary.count, 1001);
        assert_eq!(summary.min_us, 1);
        assert!((495..=505).contains(&summary.p50_us), "{summary:?}");
        assert!((985..=995).contains(&summary.p99_us), "{summary:?}");
        assert!(summary.max_us >= 1_999_000);
        let empty = Latency::new().summary();
        assert_eq!((empty.count, empty.max_us, empty.min_us), (0, 0, 0));
    }
}
