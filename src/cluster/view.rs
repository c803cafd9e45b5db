//! What the data layer needs to know of the cluster, as a trait: this node's id, the owners
//! of the shard a point falls in, and where a node's data port is.
//!
//! [`MetaClusterView`] answers from the replicated meta store: a shard group's owners are
//! `ShardGroup::owners` (placed by the policy's `REPLICATION` over the nodes when the group
//! is created, through the meta group as the write path creates groups), a node's data
//! port is its node record's. [`StaticClusterView`] answers from a fixed table, for unit
//! tests and the test-only `[cluster] debug-node-id`. Invariant of every implementation:
//! `owners` never lists a node twice, and every node it lists has a `data_address` unless
//! it was removed meanwhile (then its writes fail and are hinted like any down node's).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::meta::MetaStore;

/// A node's id in the cluster (meta's node records).
pub type NodeId = u64;

/// The shard group a point falls in and the nodes that own it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardOwners {
    /// the shard group's id (meta's)
    pub shard_group_id: u64,
    /// the owners, each once, in placement order
    pub owners: Vec<NodeId>,
    /// first nanosecond the group holds
    pub start_ns: i64,
    /// first nanosecond it no longer holds
    pub end_ns: i64,
}

impl ShardOwners {
    /// Whether the group holds `time_ns`.
    pub fn contains_time(&self, time_ns: i64) -> bool {
        self.start_ns <= time_ns && time_ns < self.end_ns
    }
}

/// The cluster as the data layer sees it.
pub trait ClusterView: Send + Sync {
    /// This node.
    fn local_node(&self) -> NodeId;
    /// The owners of the shard of `database`.`retention_policy` holding `time_ns` (the
    /// group created if there is none yet); an error says why there are none (no such
    /// database or policy, or the group could not be created).
    fn owners(
        &self,
        database: &str,
        retention_policy: &str,
        time_ns: i64,
    ) -> Result<ShardOwners, String>;
    /// `host:port` of `node`'s data port (its top-level `bind-address`).
    fn data_address(&self, node: NodeId) -> Option<String>;
    /// Whether this node is one of several now: a node alone keeps the single-node write
    /// path.
    fn clustered(&self) -> bool {
        true
    }
    /// Whether this node owns shard group `shard_group_id` of `database`.`retention_policy`
    /// (a peer's write to a group it does not own is refused); true when it cannot tell.
    fn owns(&self, _database: &str, _retention_policy: &str, _shard_group_id: u64) -> bool {
        true
    }
}

/// The cluster as the replicated meta store describes it.
pub struct MetaClusterView {
    /// this node's id (its node record's)
    pub local: NodeId,
    /// the meta store, replicated by the meta group
    pub meta: Arc<MetaStore>,
}

impl ClusterView for MetaClusterView {
    fn local_node(&self) -> NodeId {
        self.local
    }

    fn owners(
        &self,
        database: &str,
        retention_policy: &str,
        time_ns: i64,
    ) -> Result<ShardOwners, String> {
        let state = self.meta.snapshot();
        let not_found = || format!("database not found: {database}");
        let db = state.database(database).ok_or_else(not_found)?;
        let policy = if retention_policy.is_empty() {
            db.default_retention_policy.as_str()
        } else {
            retention_policy
        };
        if db.retention_policy(policy).is_none() {
            return Err(format!("retention policy not found: {policy}"));
        }
        let group = self
            .meta
            .shard_group_for(db.id, policy, time_ns)
            .map_err(|e| format!("creating the shard group: {e}"))?
            .ok_or_else(not_found)?;
        // A group created before this store had node records (a single node's, later
        // joined by others) has no owners: it stays where it was written.
        let owners = if group.owners.is_empty() {
            vec![self.local]
        } else {
            group.owners
        };
        Ok(ShardOwners {
            shard_group_id: group.id,
            owners,
            start_ns: group.start_ns,
            end_ns: group.end_ns,
        })
    }

    fn data_address(&self, node: NodeId) -> Option<String> {
        let state = self.meta.snapshot();
        let record = state.node(node)?;
        Some(record.addresses.data.clone()).filter(|address| !address.is_empty())
    }

    fn clustered(&self) -> bool {
        self.meta.snapshot().nodes.len() > 1
    }

    fn owns(&self, database: &str, retention_policy: &str, shard_group_id: u64) -> bool {
        let state = self.meta.snapshot();
        let Some(group) = state
            .database(database)
            .and_then(|db| db.retention_policy(retention_policy))
            .and_then(|rp| rp.shard_groups.iter().find(|g| g.id == shard_group_id))
        else {
            // Not (yet) in this node's copy of meta: it may lag the writer's; accept.
            return true;
        };
        group.owners.is_empty() || group.owners.contains(&self.local)
    }
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
    ) -> Result<ShardOwners, String> {
        let duration = self.shard_group_duration_ns.max(1);
        let index = time_ns.div_euclid(duration);
        Ok(ShardOwners {
            shard_group_id: index as u64,
            owners: self.owners.clone(),
            start_ns: index.saturating_mul(duration),
            end_ns: index.saturating_add(1).saturating_mul(duration),
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
