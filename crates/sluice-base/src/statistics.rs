//! The statistics registry: the one place every reader of the server's counters asks
//! (`SHOW STATS`, the `[monitor]` thread writing `_internal`, `/debug/vars` and, through it,
//! `/metrics`).
//!
//! ```text
//!  owners of counters (atomics, updated where the work happens)
//!    net/http/ingest/storage/inputs ──▶ the server's source   (root crate: `net::statistics`)
//!    query executor, CQs, databases  ──▶ the query source      (`sluice_query::statistics`)
//!                                            │ registered (weakly) at start-up
//!                                            ▼
//!                               Statistics::snapshot() ──▶ Vec<Statistic>
//!                    SHOW STATS · _internal points · /debug/vars · /metrics
//! ```
//!
//! Owns the snapshot type ([`Statistic`]: InfluxDB's *module* name, tags, integer values)
//! and the list of sources; it owns no counter. A source is registered as a `Weak`, so the
//! registry never keeps a component alive (the query context holds the registry and is one
//! of its sources) and a component that is gone simply stops reporting.
//!
//! Invariants: at most [`STATISTICS_SOURCES_MAX`] sources; a snapshot's values are sorted by
//! name (as influxd prints its columns) and each name appears once; reads are relaxed loads,
//! so the figures of one snapshot need not be consistent with each other.

use std::sync::{Arc, RwLock, Weak};

/// Most sources a registry takes (the server registers two).
pub const STATISTICS_SOURCES_MAX: usize = 16;

/// One module's counters, as `SHOW STATS` answers one series and `_internal` stores one point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statistic {
    /// the module (`httpd`, `write`, `database`, ...): series name and measurement
    pub name: &'static str,
    /// tags telling instances apart (`bind`, `database`, ...), sorted by key
    pub tags: Vec<(&'static str, String)>,
    /// the counters, sorted by name once in a snapshot
    pub values: Vec<(&'static str, i64)>,
}

impl Statistic {
    /// A statistic without tags.
    pub fn new(name: &'static str) -> Statistic {
        Statistic {
            name,
            tags: Vec::new(),
            values: Vec::new(),
        }
    }

    /// This statistic with one more tag.
    pub fn tag(mut self, key: &'static str, value: impl Into<String>) -> Statistic {
        self.tags.push((key, value.into()));
        self
    }

    /// This statistic with one more counter (an unsigned counter past `i64::MAX` is
    /// reported as `i64::MAX`, the largest integer InfluxQL has).
    pub fn value(mut self, name: &'static str, value: impl TryInto<i64>) -> Statistic {
        self.values
            .push((name, value.try_into().unwrap_or(i64::MAX)));
        self
    }

    /// The value of counter `name`, if this statistic has it.
    pub fn get(&self, name: &str) -> Option<i64> {
        self.values
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| *value)
    }

    fn normalise(&mut self) {
        self.tags.sort_by(|a, b| a.0.cmp(b.0));
        self.values.sort_by(|a, b| a.0.cmp(b.0));
        self.values.dedup_by(|later, earlier| later.0 == earlier.0);
    }
}

/// Something that owns counters and reports them as statistics.
pub trait StatisticsSource: Send + Sync {
    /// Appends this source's statistics, in the order they are to be listed.
    fn collect(&self, out: &mut Vec<Statistic>);
}

/// A registry is full.
#[derive(Debug, PartialEq, Eq)]
pub struct TooManySources;

impl std::fmt::Display for TooManySources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "more than {STATISTICS_SOURCES_MAX} statistics sources registered"
        )
    }
}

/// The sources of a server's statistics, in registration order.
#[derive(Default)]
pub struct Statistics {
    sources: RwLock<Vec<Weak<dyn StatisticsSource>>>,
}

impl Statistics {
    /// An empty registry.
    pub fn new() -> Arc<Statistics> {
        Arc::new(Statistics::default())
    }

    /// Adds a source; its statistics follow those of the sources registered before it.
    pub fn register(&self, source: Weak<dyn StatisticsSource>) -> Result<(), TooManySources> {
        let mut sources = crate::locks::write(&self.sources);
        sources.retain(|source| source.strong_count() > 0);
        if sources.len() >= STATISTICS_SOURCES_MAX {
            return Err(TooManySources);
        }
        sources.push(source);
        Ok(())
    }

    /// Every live source's statistics now, each with its tags and values sorted.
    pub fn snapshot(&self) -> Vec<Statistic> {
        let sources: Vec<Arc<dyn StatisticsSource>> = crate::locks::read(&self.sources)
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        let mut out = Vec::new();
        for source in sources {
            source.collect(&mut out);
        }
        for statistic in &mut out {
            statistic.normalise();
        }
        out
    }
}

/// The `runtime` module: what the kernel says of this process (`/proc/self/status`):
/// resident and virtual memory, threads. Sluice has no garbage
/// collector, so InfluxDB's Go heap figures have no counterpart; these take their place.
pub fn runtime_statistic() -> Statistic {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |key: &str| -> i64 {
        status
            .lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
            .and_then(|rest| rest.split_whitespace().next()?.parse::<i64>().ok())
            .unwrap_or(0)
    };
    const BYTES_PER_KIB: i64 = 1024;
    Statistic::new("runtime")
        .value("NumThreads", field("Threads"))
        .value(
            "ResidentBytes",
            field("VmRSS").saturating_mul(BYTES_PER_KIB),
        )
        .value(
            "ResidentPeakBytes",
            field("VmHWM").saturating_mul(BYTES_PER_KIB),
        )
        .value(
            "VirtualBytes",
            field("VmSize").saturating_mul(BYTES_PER_KIB),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(u64);

    impl StatisticsSource for Fixed {
        fn collect(&self, out: &mut Vec<Statistic>) {
            out.push(
                Statistic::new("httpd")
                    .tag("bind", ":8086")
                    .value("writeReq", self.0)
                    .value("req", 7_u64)
                    .value("big", u64::MAX),
            );
        }
    }

    #[test]
    fn snapshot_sorts_values_and_forgets_dropped_sources() {
        let registry = Statistics::new();
        let source: Arc<dyn StatisticsSource> = Arc::new(Fixed(3));
        registry.register(Arc::downgrade(&source)).unwrap();
        let snapshot = registry.snapshot();
        assert_eq!(snapshot.len(), 1);
        let names: Vec<_> = snapshot[0].values.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, ["big", "req", "writeReq"]);
        assert_eq!(snapshot[0].get("writeReq"), Some(3));
        assert_eq!(snapshot[0].get("big"), Some(i64::MAX));
        drop(source);
        assert!(registry.snapshot().is_empty());
    }

    #[test]
    fn runtime_reports_this_process() {
        let runtime = runtime_statistic();
        assert!(runtime.get("ResidentBytes").unwrap() > 0);
        assert!(runtime.get("NumThreads").unwrap() >= 1);
    }

    #[test]
    fn the_number_of_sources_is_bounded() {
        let registry = Statistics::new();
        let source: Arc<dyn StatisticsSource> = Arc::new(Fixed(1));
        for _ in 0..STATISTICS_SOURCES_MAX {
            registry.register(Arc::downgrade(&source)).unwrap();
        }
        assert_eq!(
            registry.register(Arc::downgrade(&source)),
            Err(TooManySources)
        );
    }
}
