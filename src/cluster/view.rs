//! What the data layer needs to know of the cluster, as a trait: this node's id, the owners
//! of the shard a point falls in, and where a node's data port is.
//!
//! The meta store (replicated by raft, with node records and `ShardGroup::owners`) will
//! implement [`ClusterView`]; until then [`StaticClusterView`] answers from a fixed table,
//! for tests and for a fixed test-only configuration. Invariant of every implementation:
//! `owners` never lists a node twice, and every node it lists has a `data_address` unless
//! it was removed meanwhile (then its writes fail and are hinted like any down node's).

use std::collections::BTreeMap;

/// A node's id in the cluster (meta's node records).
pub type NodeId = u64;

/// The shard group a point falls in and the nodes that own it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardOwners {
    /// the shard group's id (meta's)
    pub shard_group_id: u64,
    /// the owners, each once, in placement order
    pub owners: Vec<NodeId>,
}

/// The cluster as the data layer sees it.
pub trait ClusterView: Send + Sync {
    /// This node.
    fn local_node(&self) -> NodeId;
    /// The owners of the shard of `database`.`retention_policy` holding `time_ns`; `None`
    /// when the database or policy does not exist.
    fn owners(&self, database: &str, retention_policy: &str, time_ns: i64) -> Option<ShardOwners>;
    /// `host:port` of `node`'s data port (its top-level `bind-address`).
    fn data_address(&self, node: NodeId) -> Option<String>;
}

/// A fixed cluster: every shard of every database is owned by the same nodes, and shard
/// groups are `shard_group_duration_ns` long from the epoch.
#[derive(Clone, Debug)]
pub struct StaticClusterView {
    /// this node
    pub local: NodeId,
    /// every node's data address
    pub addresses: BTreeMap<NodeId, String>,
    /// the owners of every shard
    pub owners: Vec<NodeId>,
    /// length of a shard group, ns (> 0)
    pub shard_group_duration_ns: i64,
}

impl ClusterView for StaticClusterView {
    fn local_node(&self) -> NodeId {
        self.local
    }

    fn owners(
        &self,
        _database: &str,
        _retention_policy: &str,
        time_ns: i64,
    ) -> Option<ShardOwners> {
        let duration = self.shard_group_duration_ns.max(1);
        Some(ShardOwners {
            shard_group_id: time_ns.div_euclid(duration) as u64,
            owners: self.owners.clone(),
        })
    }

    fn data_address(&self, node: NodeId) -> Option<String> {
        self.addresses.get(&node).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_static_view_places_every_time_on_the_same_owners() {
        let view = StaticClusterView {
            local: 1,
            addresses: BTreeMap::from([(1, "a:8088".to_string()), (2, "b:8088".to_string())]),
            owners: vec![1, 2],
            shard_group_duration_ns: 10,
        };
        assert_eq!(view.owners("db", "rp", 25).unwrap().shard_group_id, 2);
        assert_eq!(
            view.owners("db", "rp", -1).unwrap().shard_group_id,
            u64::MAX
        );
        assert_eq!(view.owners("db", "rp", 0).unwrap().owners, vec![1, 2]);
        assert_eq!(view.data_address(2).as_deref(), Some("b:8088"));
        assert_eq!(view.data_address(3), None);
    }
}
