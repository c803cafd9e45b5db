//! `/debug/vars`: the server's counters as expvar-style JSON, read from the state the event
//! loops share (connections and requests of `net`, partitions of ingest, the inputs, the
//! storage engine, the continuous-query counters of the query layer).
//!
//! Owns the rendering only; every counter is owned (and updated) by its component. Reads are
//! relaxed loads: the figures of one answer need not be a consistent snapshot.

use std::sync::atomic::Ordering;

use super::Shared;

/// `/debug/vars`: expvar-style JSON of the server's counters.
pub fn debug_vars(shared: &Shared) -> Vec<u8> {
    let stats = &shared.stats;
    let mut partitions = String::new();
    for (index, partition) in shared.ingest.stats.iter().enumerate() {
        if index > 0 {
            partitions.push(',');
        }
        partitions.push_str(&format!(
            "{{\"partition\":{index},\"batches\":{},\"points\":{},\"commits\":{},\"failedBatches\":{},\"droppedParts\":{}}}",
            partition.batches.load(Ordering::Relaxed),
            partition.points.load(Ordering::Relaxed),
            partition.commits.load(Ordering::Relaxed),
            partition.failed_batches.load(Ordering::Relaxed),
            partition.dropped_parts.load(Ordering::Relaxed),
        ));
    }
    let mut inputs = String::new();
    for (index, input) in shared.inputs.iter().enumerate() {
        if index > 0 {
            inputs.push(',');
        }
        let counters = &input.stats;
        inputs.push_str(&format!(
            "{{\"input\":\"{}\",\"bindAddress\":\"{}\",\"received\":{},\"bytes\":{},\"points\":{},\"failed\":{},\"dropped\":{},\"batches\":{},\"batchesDurable\":{},\"batchesFailed\":{}}}",
            input.config.kind.section(),
            input.config.bind_address.replace('"', ""),
            counters.received.load(Ordering::Relaxed),
            counters.bytes.load(Ordering::Relaxed),
            counters.points.load(Ordering::Relaxed),
            counters.failed.load(Ordering::Relaxed),
            counters.dropped.load(Ordering::Relaxed),
            counters.batches.load(Ordering::Relaxed),
            counters.batches_durable.load(Ordering::Relaxed),
            counters.batches_failed.load(Ordering::Relaxed),
        ));
    }
    let store = &shared.store;
    let storage = format!(
        "{{\"shards\":{},\"diskBytes\":{},\"liveCacheBytes\":{},\"valuesApplied\":{},\"pointsSkipped\":{},\"shardGroupsCreated\":{},\"snapshots\":{},\"compactions\":{},\"maintenanceErrors\":{},\"shardGroupsExpired\":{}}}",
        store.shards().len(),
        store.shards().iter().map(|s| s.disk_bytes()).sum::<u64>(),
        store.live_cache_bytes(),
        store.stats.values_applied.load(Ordering::Relaxed),
        store.stats.points_skipped.load(Ordering::Relaxed),
        store.stats.shard_groups_created.load(Ordering::Relaxed),
        store.stats.snapshots.load(Ordering::Relaxed),
        store.stats.compactions.load(Ordering::Relaxed),
        store.stats.maintenance_errors.load(Ordering::Relaxed),
        store.stats.shard_groups_expired.load(Ordering::Relaxed),
    );
    let cq_stats = &shared.queries.context().continuous_query_stats;
    let cq = format!(
        "{{\"queryOk\":{},\"queryFail\":{}}}",
        cq_stats.query_ok.load(Ordering::Relaxed),
        cq_stats.query_fail.load(Ordering::Relaxed),
    );
    let subscriber_stats = &shared.subscriber_stats;
    let subscriber = format!(
        "{{\"subscriptions\":{},\"pointsWritten\":{},\"writeFailures\":{},\"dropped\":{}}}",
        subscriber_stats.subscriptions.load(Ordering::Relaxed),
        subscriber_stats.points_written.load(Ordering::Relaxed),
        subscriber_stats.write_failures.load(Ordering::Relaxed),
        subscriber_stats.dropped.load(Ordering::Relaxed),
    );
    format!(
        "{{\"sluice\":{{\"version\":\"{}\",\"openConnections\":{},\"requests\":{},\"writesOk\":{},\"writesTimedOut\":{},\"connectionsRefused\":{},\"connectionsShed\":{},\"bodyMemoryHeld\":{},\"bodyMemoryWaits\":{},\"partitions\":[{}],\"inputs\":[{}],\"storage\":{},\"cq\":{},\"subscriber\":{}}}}}\n",
        crate::SLUICE_VERSION,
        shared.open_connections.load(Ordering::Relaxed),
        stats.requests.load(Ordering::Relaxed),
        stats.writes_ok.load(Ordering::Relaxed),
        stats.writes_timed_out.load(Ordering::Relaxed),
        stats.connections_refused.load(Ordering::Relaxed),
        stats.connections_shed.load(Ordering::Relaxed),
        shared.body_memory.held_bytes(),
        shared.body_memory.waits.load(Ordering::Relaxed),
        partitions,
        inputs,
        storage,
        cq,
        subscriber
    )
    .into_bytes()
}
