//! The query layer's statistics: the counters of the query executor, the continuous-query
//! counters and the `database` module (measurements and series per database), reported to
//! the server's registry ([`sluice_base::statistics`]) under InfluxDB 1.6.7's module and
//! counter names.
//!
//! Owns the executor counters ([`QueryExecutorStats`], updated by `run_statements` around
//! every query, CQs included) and the translation of this crate's counters into
//! statistics; `SHOW STATS` and the `[monitor]` thread read them back through the registry.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use sluice_base::statistics::{Statistic, StatisticsSource};

use crate::QueryContext;

/// The query executor's counters (InfluxDB's `queryExecutor` module).
#[derive(Debug, Default)]
pub struct QueryExecutorStats {
    /// queries running now
    active: AtomicI64,
    /// queries started
    executed: AtomicU64,
    /// queries done
    finished: AtomicU64,
    /// time spent running queries, ns
    duration_ns: AtomicU64,
}

impl QueryExecutorStats {
    /// A query starts.
    pub(crate) fn started(&self) {
        self.active.fetch_add(1, Ordering::Relaxed);
        self.executed.fetch_add(1, Ordering::Relaxed);
    }

    /// A query that [`QueryExecutorStats::started`] is done after `took`.
    pub(crate) fn finished(&self, took: Duration) {
        self.active.fetch_sub(1, Ordering::Relaxed);
        self.finished.fetch_add(1, Ordering::Relaxed);
        let took_ns = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.duration_ns.fetch_add(took_ns, Ordering::Relaxed);
    }

    fn statistic(&self) -> Statistic {
        Statistic::new("queryExecutor")
            .value("queriesActive", self.active.load(Ordering::Relaxed).max(0))
            .value("queriesExecuted", self.executed.load(Ordering::Relaxed))
            .value("queriesFinished", self.finished.load(Ordering::Relaxed))
            .value("queryDurationNs", self.duration_ns.load(Ordering::Relaxed))
            // A panic aborts the process (`panic = "abort"`): none is ever recovered.
            .value("recoveredPanics", 0_i64)
    }
}

impl StatisticsSource for QueryContext {
    /// `queryExecutor`, one `database` per database (in meta order), `cq`.
    fn collect(&self, out: &mut Vec<Statistic>) {
        out.push(self.executor_stats.statistic());
        for database in &self.meta.snapshot().databases {
            let (measurements, series) = self
                .store
                .series_index(database.id)
                .map(|index| (index.measurements().len(), index.series_count()))
                .unwrap_or((0, 0));
            out.push(
                Statistic::new("database")
                    .tag("database", database.name.clone())
                    .value("numMeasurements", measurements)
                    .value("numSeries", series),
            );
        }
        let cq = &self.continuous_query_stats;
        out.push(
            Statistic::new("cq")
                .value("queryOk", cq.query_ok.load(Ordering::Relaxed))
                .value("queryFail", cq.query_fail.load(Ordering::Relaxed)),
        );
    }
}

/// One value of a diagnostics module.
#[derive(Clone, Debug, PartialEq)]
pub enum DiagnosticValue {
    /// text (paths, addresses, durations as Go prints them)
    String(String),
    /// a count or a size
    Integer(i64),
    /// a switch
    Boolean(bool),
}

/// One module of `SHOW DIAGNOSTICS` that does not change while the server runs
/// (`config-httpd`, `runtime`, ...), filled in by the server at start-up.
#[derive(Clone, Debug, PartialEq)]
pub struct DiagnosticModule {
    /// the module: the series name
    pub name: String,
    /// its columns and values, in the order to print (influxd sorts them by name)
    pub columns: Vec<(String, DiagnosticValue)>,
}

/// What `SHOW DIAGNOSTICS` answers beside `build`: the start time (for `system`'s `started`
/// and `uptime`), the host name (`network`) and the server's fixed modules.
#[derive(Clone, Debug)]
pub struct Diagnostics {
    /// wall-clock time the server started, ns since the epoch
    pub started_ns: i64,
    /// monotonic time the server started (uptime)
    pub started: std::time::Instant,
    /// the host's name (`network` `hostname`, and the `hostname` tag of `_internal`)
    pub hostname: String,
    /// the fixed modules, `runtime` and `config*`
    pub modules: Vec<DiagnosticModule>,
}

impl Default for Diagnostics {
    fn default() -> Diagnostics {
        Diagnostics {
            started_ns: sluice_model::time::now_ns(),
            started: std::time::Instant::now(),
            hostname: String::new(),
            modules: Vec::new(),
        }
    }
}
