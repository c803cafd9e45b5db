//! The writer side of a replicated write: send a shard write to every owner of the shard
//! (this node's own share through the local durable path), hint what a remote owner could
//! not take, and decide the answer by the `/write` `consistency` parameter.
//!
//! Meaning (InfluxDB Enterprise's, from its clustering documentation and the 0.9–0.11
//! `cluster/points_writer.go` that Enterprise grew from):
//!
//! | level | the write succeeds when |
//! |---|---|
//! | `any` | any owner acknowledged it, or it was handed off to a hinted-handoff queue |
//! | `one` | one owner acknowledged it |
//! | `quorum` | `owners / 2 + 1` owners acknowledged it |
//! | `all` | every owner acknowledged it |
//!
//! An acknowledgement means durable on that owner (its WAL fsync), as a 204 does. A hint
//! counts only for `any`, but every remote owner that failed for a reason a retry may cure
//! (down, timed out, connection broken, overloaded) gets one whatever the level, so the
//! owner catches up when it returns. A refusal for good (the owner's answer says a retry
//! cannot succeed) is not hinted. Failure texts are Enterprise's error values: `timeout`
//! (an owner did not answer within `shard-writer-timeout` and too few acknowledged),
//! `partial write` (some owners acknowledged, fewer than the level needs), and, when none
//! did, the last owner's error (`write failed` when there is none to tell).
//!
//! Sending: every remote owner's write is sent before any answer is awaited, then this
//! node's share is written, then the answers are read, each until the common deadline. So
//! the owners work in parallel without a thread per request, and the wait is the slowest
//! owner's (at most `shard-writer-timeout`).

use std::time::{Duration, Instant};

use super::hinted_handoff::HintedHandoff;
use super::rpc::{PeerError, PeerPool, ShardWrite, ShardWriteHeader, ShardWriter};
use super::view::{ClusterView, NodeId};

/// The `/write` `consistency` parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsistencyLevel {
    /// an acknowledgement or a hint
    Any,
    /// one acknowledgement (the default)
    One,
    /// a majority of the owners
    Quorum,
    /// every owner
    All,
}

impl ConsistencyLevel {
    /// The level a `consistency` value names; an empty one is `one` (InfluxDB's default).
    pub fn parse(text: &str) -> Option<ConsistencyLevel> {
        Some(match text {
            "any" => ConsistencyLevel::Any,
            "" | "one" => ConsistencyLevel::One,
            "quorum" => ConsistencyLevel::Quorum,
            "all" => ConsistencyLevel::All,
            _ => return None,
        })
    }

    /// Acknowledgements needed of `owners` owners (`any`: one acknowledgement or hint).
    pub fn required(self, owners: usize) -> usize {
        match self {
            ConsistencyLevel::Any | ConsistencyLevel::One => 1,
            ConsistencyLevel::Quorum => owners / 2 + 1,
            ConsistencyLevel::All => owners,
        }
    }
}

/// Why a replicated write did not reach its consistency level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsistencyError {
    /// an owner did not answer in time, and too few acknowledged
    Timeout,
    /// some owners acknowledged, fewer than the level needs
    PartialWrite {
        /// acknowledgements
        acknowledged: usize,
        /// what the level needs
        required: usize,
    },
    /// no owner acknowledged (and, for `any`, nothing was hinted)
    WriteFailed {
        /// the last owner's error, if any
        last_error: Option<String>,
    },
}

impl std::fmt::Display for ConsistencyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConsistencyError::Timeout => f.write_str("timeout"),
            ConsistencyError::PartialWrite { .. } => f.write_str("partial write"),
            ConsistencyError::WriteFailed {
                last_error: Some(text),
            } => f.write_str(text),
            ConsistencyError::WriteFailed { last_error: None } => f.write_str("write failed"),
        }
    }
}

/// What happened at each owner.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OwnerReport {
    /// owners that acknowledged
    pub acknowledged: Vec<NodeId>,
    /// owners whose write was handed off to hinted handoff
    pub hinted: Vec<NodeId>,
    /// owners that failed, with why (hinted ones too)
    pub failed: Vec<(NodeId, PeerError)>,
}

/// A remote owner's write, sent, its answer not read yet.
pub trait PendingWrite {
    /// Reads the answer until `deadline`; the points written.
    fn finish(self: Box<Self>, deadline: Instant) -> Result<u64, PeerError>;
}

impl PendingWrite for super::rpc::InFlight<'_> {
    fn finish(self: Box<Self>, deadline: Instant) -> Result<u64, PeerError> {
        super::rpc::InFlight::finish(*self, deadline)
    }
}

/// How the coordinator reaches the owners.
pub trait OwnerTransport {
    /// Sends `write` to remote owner `node`.
    fn begin<'a>(
        &'a self,
        node: NodeId,
        write: &ShardWrite,
        deadline: Instant,
    ) -> Result<Box<dyn PendingWrite + 'a>, PeerError>;
    /// Writes this node's share durably.
    fn write_local(&self, write: &ShardWrite) -> Result<u64, PeerError>;
}

/// Sends `write` to every one of `owners` (this node's share locally, `local` being this
/// node), hints the remote failures a retry may cure, and decides by `level`.
pub fn write_to_owners(
    owners: &[NodeId],
    local: NodeId,
    write: &ShardWrite,
    level: ConsistencyLevel,
    transport: &dyn OwnerTransport,
    hints: Option<&HintedHandoff>,
    timeout: Duration,
) -> (Result<(), ConsistencyError>, OwnerReport) {
    let deadline = Instant::now() + timeout;
    let mut report = OwnerReport::default();
    let mut pending = Vec::with_capacity(owners.len());
    for &node in owners.iter().filter(|&&node| node != local) {
        match transport.begin(node, write, deadline) {
            Ok(sent) => pending.push((node, sent)),
            Err(error) => report.failed.push((node, error)),
        }
    }
    if owners.contains(&local) {
        match transport.write_local(write) {
            Ok(_) => report.acknowledged.push(local),
            Err(error) => report.failed.push((local, error)),
        }
    }
    for (node, sent) in pending {
        match sent.finish(deadline) {
            Ok(_) => report.acknowledged.push(node),
            Err(error) => report.failed.push((node, error)),
        }
    }
    if let Some(hints) = hints {
        hint_failures(&mut report, local, write, hints);
    }
    (decide(level, owners.len(), &report), report)
}

fn hint_failures(
    report: &mut OwnerReport,
    local: NodeId,
    write: &ShardWrite,
    hints: &HintedHandoff,
) {
    let created_ns = crate::time::now_ns();
    for (node, error) in &report.failed {
        if *node == local || !error.is_retryable() {
            continue;
        }
        match hints.hint(*node, write, created_ns) {
            Ok(()) => report.hinted.push(*node),
            Err(hint_error) => {
                crate::log_warn!("cluster", "a write an owner missed could not be hinted"; node = *node, error = hint_error);
            }
        }
    }
}

/// The answer `level` gives for what the owners did.
pub fn decide(
    level: ConsistencyLevel,
    owners: usize,
    report: &OwnerReport,
) -> Result<(), ConsistencyError> {
    let acknowledged = report.acknowledged.len();
    let required = level.required(owners);
    let met = match level {
        ConsistencyLevel::Any => acknowledged + report.hinted.len() >= 1,
        _ => acknowledged >= required,
    };
    if met {
        return Ok(());
    }
    if report.failed.iter().any(|(_, e)| *e == PeerError::Timeout) {
        return Err(ConsistencyError::Timeout);
    }
    if acknowledged > 0 {
        return Err(ConsistencyError::PartialWrite {
            acknowledged,
            required,
        });
    }
    Err(ConsistencyError::WriteFailed {
        last_error: report.failed.last().map(|(_, e)| e.to_string()),
    })
}

/// The transport of a running node: remote owners through the peer pool at the address the
/// cluster view gives, this node's share through `local`.
pub struct ClusterTransport<'a> {
    /// where the owners are
    pub view: &'a dyn ClusterView,
    /// connections to them
    pub pool: &'a PeerPool,
    /// this node's durable write path
    pub local: &'a dyn ShardWriter,
}

impl OwnerTransport for ClusterTransport<'_> {
    fn begin<'a>(
        &'a self,
        node: NodeId,
        write: &ShardWrite,
        deadline: Instant,
    ) -> Result<Box<dyn PendingWrite + 'a>, PeerError> {
        let address = self
            .view
            .data_address(node)
            .ok_or_else(|| PeerError::Unreachable(format!("node {node} has no data address")))?;
        Ok(Box::new(self.pool.begin(&address, write, deadline)?))
    }

    fn write_local(&self, write: &ShardWrite) -> Result<u64, PeerError> {
        let header = ShardWriteHeader {
            write_id: 0,
            database: write.database.clone(),
            retention_policy: write.retention_policy.clone(),
            shard_group_id: write.shard_group_id,
            precision: super::rpc::precision_param(write.precision).to_string(),
            now_ns: write.now_ns,
        };
        self.local.write_shard(&header, &write.lines).into_result()
    }
}

/// Hint delivery through the peer pool (`hinted_handoff::DeliveryThread`'s transport).
pub struct PeerHintTransport {
    /// where the owners are
    pub view: std::sync::Arc<dyn ClusterView>,
    /// connections to them
    pub pool: std::sync::Arc<PeerPool>,
    /// how long one delivery may take (`shard-writer-timeout`)
    pub timeout: Duration,
}

impl super::hinted_handoff::HintTransport for PeerHintTransport {
    fn deliver(&self, node: NodeId, write: &ShardWrite) -> Result<(), PeerError> {
        let address = self
            .view
            .data_address(node)
            .ok_or_else(|| PeerError::Unreachable(format!("node {node} has no data address")))?;
        self.pool
            .write(&address, write, Instant::now() + self.timeout)
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests;
