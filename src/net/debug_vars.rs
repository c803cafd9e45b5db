//! `/debug/vars`: the server's statistics as expvar-style JSON, rendered from one snapshot of
//! the statistics registry (`sluice_base::statistics`, the source SHOW STATS and the
//! `[monitor]` thread read too).
//!
//! Two views of the same snapshot:
//! - InfluxDB's: one key per statistic, `module` or `module:tag values` (tag values in tag
//!   order, joined by `:`), holding `{"name", "tags", "values"}` as influxd's expvar does;
//! - Sluice's own object `sluice` (`version`, connection and request counters, `partitions`,
//!   `inputs`, `storage`, `cq`), which `/metrics` flattens and scrapers already read.
//!
//! Owns the rendering only. Reads are relaxed loads: the figures of one answer need not be a
//! consistent snapshot.

use serde_json::{json, Map, Value};
use sluice_base::statistics::Statistic;

use super::Shared;

/// `/debug/vars`: expvar-style JSON of the server's statistics.
pub fn debug_vars(shared: &Shared) -> Vec<u8> {
    render(&shared.statistics.snapshot())
}

/// The document of `statistics` (see the module doc).
pub fn render(statistics: &[Statistic]) -> Vec<u8> {
    let mut document = Map::new();
    document.insert("sluice".to_string(), sluice_object(statistics));
    for statistic in statistics {
        let mut key = statistic.name.to_string();
        for (_, value) in &statistic.tags {
            key.push(':');
            key.push_str(value);
        }
        let tags: Map<String, Value> = statistic
            .tags
            .iter()
            .map(|(name, value)| (name.to_string(), Value::from(value.as_str())))
            .collect();
        document.insert(
            key,
            json!({"name": statistic.name, "tags": tags, "values": values(statistic)}),
        );
    }
    let mut out = serde_json::to_vec(&Value::Object(document)).unwrap_or_default();
    out.push(b'\n');
    out
}

fn values(statistic: &Statistic) -> Map<String, Value> {
    statistic
        .values
        .iter()
        .map(|(name, value)| (name.to_string(), Value::from(*value)))
        .collect()
}

/// The counters of module `name` (the first statistic of that name), renamed: each
/// `(counter, key)` pair puts the counter under `key`.
fn renamed(statistics: &[Statistic], name: &str, pairs: &[(&str, &str)]) -> Map<String, Value> {
    let found = statistics.iter().find(|statistic| statistic.name == name);
    renamed_from(found, pairs)
}

fn renamed_from(statistic: Option<&Statistic>, pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(counter, key)| {
            let value = statistic.and_then(|s| s.get(counter)).unwrap_or(0);
            (key.to_string(), Value::from(value))
        })
        .collect()
}

/// Sluice's own `sluice` object, built from the same snapshot.
fn sluice_object(statistics: &[Statistic]) -> Value {
    let mut object = renamed(
        statistics,
        "http",
        &[
            ("openConnections", "openConnections"),
            ("writesOk", "writesOk"),
            ("connectionsRefused", "connectionsRefused"),
            ("connectionsShed", "connectionsShed"),
            ("bodyMemoryHeld", "bodyMemoryHeld"),
            ("bodyMemoryWaits", "bodyMemoryWaits"),
        ],
    );
    object.insert("version".into(), Value::from(crate::SLUICE_VERSION));
    object.extend(renamed(statistics, "httpd", &[("req", "requests")]));
    object.extend(renamed(
        statistics,
        "write",
        &[("writeTimeout", "writesTimedOut")],
    ));
    let partitions: Vec<Value> = statistics
        .iter()
        .filter(|statistic| statistic.name == "wal")
        .map(|wal| {
            let mut partition = renamed_from(
                Some(wal),
                &[
                    ("writeOk", "batches"),
                    ("pointsWritten", "points"),
                    ("commits", "commits"),
                    ("writeErr", "failedBatches"),
                    ("droppedParts", "droppedParts"),
                ],
            );
            let index = tag(wal, "partition").parse::<u64>().unwrap_or(0);
            partition.insert("partition".into(), Value::from(index));
            Value::Object(partition)
        })
        .collect();
    object.insert("partitions".into(), Value::Array(partitions));
    let inputs: Vec<Value> = statistics
        .iter()
        .filter(|statistic| ["udp", "graphite", "collectd", "opentsdb"].contains(&statistic.name))
        .map(|input| {
            let mut fields = renamed_from(
                Some(input),
                &[
                    ("received", "received"),
                    ("bytesRx", "bytes"),
                    ("pointsRx", "points"),
                    ("pointsParseFail", "failed"),
                    ("pointsDropped", "dropped"),
                    ("batchesQueued", "batches"),
                    ("batchesTx", "batchesDurable"),
                    ("batchesTxFail", "batchesFailed"),
                ],
            );
            fields.insert("input".into(), Value::from(input.name));
            fields.insert("bindAddress".into(), Value::from(tag(input, "bind")));
            Value::Object(fields)
        })
        .collect();
    object.insert("inputs".into(), Value::Array(inputs));
    let storage = renamed(
        statistics,
        "engine",
        &[
            ("shards", "shards"),
            ("diskBytes", "diskBytes"),
            ("cacheBytes", "liveCacheBytes"),
            ("valuesApplied", "valuesApplied"),
            ("pointsSkipped", "pointsSkipped"),
            ("shardGroupsCreated", "shardGroupsCreated"),
            ("snapshots", "snapshots"),
            ("compactions", "compactions"),
            ("maintenanceErrors", "maintenanceErrors"),
            ("shardGroupsExpired", "shardGroupsExpired"),
        ],
    );
    object.insert("storage".into(), Value::Object(storage));
    let cq = renamed(
        statistics,
        "cq",
        &[("queryOk", "queryOk"), ("queryFail", "queryFail")],
    );
    object.insert("cq".into(), Value::Object(cq));
    let mut subscriber = renamed(
        statistics,
        "subscriber",
        &[
            ("pointsWritten", "pointsWritten"),
            ("writeFailures", "writeFailures"),
        ],
    );
    subscriber.extend(renamed(
        statistics,
        "subscriberQueues",
        &[("subscriptions", "subscriptions"), ("dropped", "dropped")],
    ));
    object.insert("subscriber".into(), Value::Object(subscriber));
    Value::Object(object)
}

fn tag<'a>(statistic: &'a Statistic, key: &str) -> &'a str {
    statistic
        .tags
        .iter()
        .find(|(name, _)| *name == key)
        .map(|(_, value)| value.as_str())
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_views_come_from_one_snapshot() {
        let statistics = vec![
            Statistic::new("httpd")
                .tag("bind", ":8086")
                .value("req", 5_i64),
            Statistic::new("wal")
                .tag("partition", "1")
                .value("pointsWritten", 7_i64),
            Statistic::new("udp")
                .tag("bind", ":8089")
                .value("pointsParseFail", 1_i64),
        ];
        let document: Value = serde_json::from_slice(&render(&statistics)).unwrap();
        assert_eq!(document["httpd::8086"]["values"]["req"], 5);
        assert_eq!(document["httpd::8086"]["tags"]["bind"], ":8086");
        assert_eq!(document["sluice"]["requests"], 5);
        assert_eq!(document["sluice"]["partitions"][0]["partition"], 1);
        assert_eq!(document["sluice"]["partitions"][0]["points"], 7);
        assert_eq!(document["sluice"]["inputs"][0]["input"], "udp");
        assert_eq!(document["sluice"]["inputs"][0]["failed"], 1);
        assert_eq!(document["sluice"]["cq"]["queryOk"], 0);
    }
}
