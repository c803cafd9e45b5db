//! The server's statistics source: the counters the event loops, the WAL partitions, the
//! storage engine and the inputs own, reported to the registry
//! ([`sluice_base::statistics`]) under InfluxDB 1.6.7's module and counter names where
//! Sluice has the same thing, and under names of its own (said so in the README) where it
//! has something else.
//!
//! Owns the translation only: every counter is updated by its component. Modules, in the
//! order listed: `runtime`, `httpd` (tag `bind`), `write`, `wal` (one per partition, tag
//! `partition`), `engine`, `shard` (one per shard: `database`, `id`, `path`,
//! `retentionPolicy`), `http` (Sluice's own: connections, writes answered
//! 204, request-body memory), `subscriber` and Sluice's `subscriberQueues`, then one per input (`udp`, `graphite`,
//! `collectd`, `opentsdb`, tag `bind`; Graphite also `proto`).

use std::sync::atomic::Ordering;

use sluice_base::statistics::{runtime_statistic, Statistic, StatisticsSource};

use super::Shared;
use crate::config::InputKind;
use crate::inputs::InputService;

impl StatisticsSource for Shared {
    fn collect(&self, out: &mut Vec<Statistic>) {
        out.push(runtime_statistic());
        out.push(self.httpd_statistic());
        out.push(self.write_statistic());
        for (index, partition) in self.ingest.stats.iter().enumerate() {
            out.push(
                Statistic::new("wal")
                    .tag("partition", index.to_string())
                    .value("writeOk", partition.batches.load(Ordering::Relaxed))
                    .value("writeErr", partition.failed_batches.load(Ordering::Relaxed))
                    .value("pointsWritten", partition.points.load(Ordering::Relaxed))
                    .value("commits", partition.commits.load(Ordering::Relaxed))
                    .value(
                        "currentSegmentDiskBytes",
                        partition.segment_bytes.load(Ordering::Relaxed),
                    )
                    .value(
                        "droppedParts",
                        partition.dropped_parts.load(Ordering::Relaxed),
                    ),
            );
        }
        out.push(self.engine_statistic());
        self.shard_statistics(out);
        out.push(
            Statistic::new("http")
                .value(
                    "openConnections",
                    self.open_connections.load(Ordering::Relaxed),
                )
                .value(
                    "connectionsRefused",
                    self.stats.connections_refused.load(Ordering::Relaxed),
                )
                .value(
                    "connectionsShed",
                    self.stats.connections_shed.load(Ordering::Relaxed),
                )
                .value("writesOk", self.stats.writes_ok.load(Ordering::Relaxed))
                .value("bodyMemoryHeld", self.body_memory.held_bytes())
                .value(
                    "bodyMemoryWaits",
                    self.body_memory.waits.load(Ordering::Relaxed),
                ),
        );
        // influxd's module with its three counters (Sluice never fails to create a
        // subscriber), and Sluice's own next to it: batches dropped at a full queue, and the
        // subscriptions forwarded to.
        let subscriber = &self.subscriber_stats;
        out.push(
            Statistic::new("subscriber")
                .value("createFailures", 0_i64)
                .value(
                    "pointsWritten",
                    subscriber.points_written.load(Ordering::Relaxed),
                )
                .value(
                    "writeFailures",
                    subscriber.write_failures.load(Ordering::Relaxed),
                ),
        );
        out.push(
            Statistic::new("subscriberQueues")
                .value("dropped", subscriber.dropped.load(Ordering::Relaxed))
                .value(
                    "subscriptions",
                    subscriber.subscriptions.load(Ordering::Relaxed),
                ),
        );
        for input in &self.inputs {
            out.push(input_statistic(input));
        }
    }
}

impl Shared {
    fn httpd_statistic(&self) -> Statistic {
        let stats = &self.stats;
        let load = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
        let active = |gauge: &std::sync::atomic::AtomicI64| gauge.load(Ordering::Relaxed).max(0);
        Statistic::new("httpd")
            .tag("bind", self.config.http.bind_address.clone())
            .value("authFail", load(&stats.auth_failures))
            .value("clientError", load(&stats.client_errors))
            .value("pingReq", load(&stats.ping_requests))
            // Points a partial write leaves out are not counted apart yet.
            .value("pointsWrittenDropped", 0_i64)
            .value("pointsWrittenFail", load(&stats.points_written_fail))
            .value("pointsWrittenOK", load(&stats.points_written_ok))
            .value("promReadReq", load(&stats.prometheus_read_requests))
            .value("promWriteReq", load(&stats.prometheus_write_requests))
            .value("queryReq", load(&stats.query_requests))
            .value("queryReqDurationNs", load(&stats.query_request_duration_ns))
            .value("queryRespBytes", load(&stats.query_response_bytes))
            // A panic aborts the process (`panic = "abort"`): none is ever recovered.
            .value("recoveredPanics", 0_i64)
            .value("req", load(&stats.requests))
            .value("reqActive", active(&stats.active_requests))
            .value("reqDurationNs", load(&stats.request_duration_ns))
            .value("serverError", load(&stats.server_errors))
            .value("statusReq", load(&stats.status_requests))
            .value("writeReq", load(&stats.write_requests))
            .value("writeReqActive", active(&stats.active_write_requests))
            .value("writeReqBytes", load(&stats.write_request_bytes))
            .value("writeReqDurationNs", load(&stats.write_request_duration_ns))
    }

    /// InfluxDB's `write` (its points writer): here, what reached the WAL partitions.
    fn write_statistic(&self) -> Statistic {
        let sum = |field: fn(&crate::ingest::partition::PartitionStats) -> u64| -> u64 {
            self.ingest.stats.iter().map(|stats| field(stats)).sum()
        };
        let batches_ok = sum(|stats| stats.batches.load(Ordering::Relaxed));
        let batches_failed = sum(|stats| stats.failed_batches.load(Ordering::Relaxed));
        let points = sum(|stats| stats.points.load(Ordering::Relaxed));
        Statistic::new("write")
            .value("pointReq", points)
            .value("pointReqLocal", points)
            .value("req", batches_ok + batches_failed)
            .value("subWriteDrop", 0_i64)
            .value("subWriteOk", 0_i64)
            .value(
                "writeDrop",
                self.store.stats.points_skipped.load(Ordering::Relaxed),
            )
            .value("writeError", batches_failed)
            .value("writeOk", batches_ok)
            .value(
                "writeTimeout",
                self.stats.writes_timed_out.load(Ordering::Relaxed),
            )
    }

    fn engine_statistic(&self) -> Statistic {
        let store = &self.store;
        let stats = &store.stats;
        let shards = store.shards();
        Statistic::new("engine")
            .value("cacheBytes", store.live_cache_bytes())
            .value("frozenCacheBytes", store.frozen_cache_bytes())
            .value("compactions", stats.compactions.load(Ordering::Relaxed))
            .value(
                "diskBytes",
                shards.iter().map(|s| s.disk_bytes()).sum::<u64>(),
            )
            .value(
                "maintenanceErrors",
                stats.maintenance_errors.load(Ordering::Relaxed),
            )
            .value(
                "pointsSkipped",
                stats.points_skipped.load(Ordering::Relaxed),
            )
            .value(
                "shardGroupsCreated",
                stats.shard_groups_created.load(Ordering::Relaxed),
            )
            .value(
                "shardGroupsExpired",
                stats.shard_groups_expired.load(Ordering::Relaxed),
            )
            .value("shards", shards.len())
            .value("snapshots", stats.snapshots.load(Ordering::Relaxed))
            .value(
                "valuesApplied",
                stats.values_applied.load(Ordering::Relaxed),
            )
    }

    fn shard_statistics(&self, out: &mut Vec<Statistic>) {
        let meta = self.meta.snapshot();
        for shard in self.store.shards() {
            let database = meta
                .databases
                .iter()
                .find(|database| database.id == shard.database_id)
                .map(|database| database.name.clone())
                .unwrap_or_default();
            out.push(
                Statistic::new("shard")
                    .tag("database", database)
                    .tag("id", shard.id.to_string())
                    .tag("path", shard.directory().display().to_string())
                    .tag("retentionPolicy", shard.retention_policy.clone())
                    .value("diskBytes", shard.disk_bytes())
                    .value("numFiles", shard.files().len()),
            );
        }
    }
}

/// One input's counters under InfluxDB's names for that input: received (`pointsRx`,
/// `bytesRx`), undecodable (`pointsParseFail`), and what reached the WAL (`batchesTx`,
/// `batchesTxFail`, `pointsTx`); `received` (datagrams or lines), `batchesQueued` and
/// `pointsDropped` (queues full) are Sluice's own.
fn input_statistic(input: &InputService) -> Statistic {
    let counters = &input.stats;
    let load = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
    let points = load(&counters.points);
    let dropped = load(&counters.dropped);
    let name = match input.config.kind {
        InputKind::Udp => "udp",
        InputKind::Graphite => "graphite",
        InputKind::Collectd => "collectd",
        InputKind::OpenTsdb => "opentsdb",
    };
    let mut statistic = Statistic::new(name).tag("bind", input.config.bind_address.clone());
    if input.config.kind == InputKind::Graphite {
        let protocol = if input.config.uses_udp() {
            "udp"
        } else {
            "tcp"
        };
        statistic = statistic.tag("proto", protocol);
    }
    statistic
        .value("batchesTx", load(&counters.batches_durable))
        .value("batchesQueued", load(&counters.batches))
        .value("batchesTxFail", load(&counters.batches_failed))
        .value("bytesRx", load(&counters.bytes))
        .value("pointsDropped", dropped)
        .value("pointsParseFail", load(&counters.failed))
        .value("pointsRx", points)
        .value("pointsTx", points.saturating_sub(dropped))
        .value("received", load(&counters.received))
}
