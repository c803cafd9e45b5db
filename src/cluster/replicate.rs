//! A `/write` body written to every owner: this node's share through the durable path,
//! the others' through the peer pool, hints for the owners that are down, the answer by the
//! consistency level ([`consistency::write_to_owners`]).
//!
//! Wired today only for the fixed cluster of the test-only `[cluster] debug-node-id` and
//! `debug-static-peers` settings, where every node owns every shard: the server then hands
//! every `/write` body to a large-write thread (never an event loop: this blocks on peers),
//! which calls [`ReplicatedWrites::write`] with the whole body. With the replicated meta, a
//! body's points must first be split by shard group (each has its own owners); that split,
//! and the other write paths (inputs, Prometheus, `SELECT … INTO`), wait for it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::consistency::{
    write_to_owners, ClusterTransport, ConsistencyError, ConsistencyLevel, OwnerReport,
    OwnerTransport, PendingWrite,
};
use super::hinted_handoff::HintedHandoff;
use super::local::{ack_of, LocalShardWriter};
use super::rpc::{PeerError, PeerPool, ShardWrite};
use super::view::ClusterView;
use crate::ingest::plan::{WriteOutcome, WriteScratch};
use crate::line_protocol::Precision;
use crate::meta::MetaStore;
use crate::query::into::{write_timed_lines_durably, Destination, IntoWriter, TimedLines};

/// What a node needs to replicate writes.
pub struct ReplicatedWrites {
    /// the cluster
    pub view: Arc<dyn ClusterView>,
    /// connections to the peers
    pub pool: Arc<PeerPool>,
    /// the hinted-handoff queues (`None`: `[hinted-handoff] enabled = false`)
    pub hints: Option<Arc<HintedHandoff>>,
    /// databases and retention policies
    pub meta: Arc<MetaStore>,
    /// this node's durable write path
    pub writer: IntoWriter,
    /// `[cluster] shard-writer-timeout`
    pub shard_writer_timeout: Duration,
}

/// What a replicated write did.
#[derive(Debug)]
pub struct ReplicatedOutcome {
    /// this node's own outcome, when it is an owner (its parse errors and rejections are
    /// the answer's, as for any write)
    pub local: Option<Result<WriteOutcome, String>>,
    /// whether the consistency level was met
    pub consistency: Result<(), ConsistencyError>,
    /// each owner's part
    pub report: OwnerReport,
}

/// A write to replicate.
pub struct BodyWrite<'a> {
    /// the database
    pub database: &'a str,
    /// the retention policy (resolved: never empty)
    pub retention_policy: &'a str,
    /// `precision`
    pub precision: Precision,
    /// the request's arrival
    pub now_ns: i64,
    /// the body, whole lines
    pub lines: &'a [u8],
    /// `consistency`
    pub level: ConsistencyLevel,
}

impl ReplicatedWrites {
    /// Writes `body` to every owner of its shard and decides by its level.
    pub fn write(&self, body: &BodyWrite<'_>) -> ReplicatedOutcome {
        let placement = match self
            .view
            .owners(body.database, body.retention_policy, body.now_ns)
        {
            Ok(placement) => placement,
            Err(error) => {
                let refusal = ConsistencyError::WriteFailed {
                    last_error: Some(error),
                };
                return ReplicatedOutcome {
                    local: None,
                    consistency: Err(refusal),
                    report: OwnerReport::default(),
                };
            }
        };
        let write = ShardWrite {
            database: body.database.to_string(),
            retention_policy: body.retention_policy.to_string(),
            shard_group_id: placement.shard_group_id,
            lines: body.lines.to_vec(),
            precision: body.precision,
            now_ns: body.now_ns,
        };
        let local_writer = LocalShardWriter {
            meta: &self.meta,
            writer: &self.writer,
            owner_check: None,
        };
        let transport = KeepingLocalOutcome {
            inner: ClusterTransport {
                view: self.view.as_ref(),
                pool: &self.pool,
                local: &local_writer,
            },
            replicated: self,
            local: Mutex::new(None),
        };
        let (consistency, report) = write_to_owners(
            &placement.owners,
            self.view.local_node(),
            &write,
            body.level,
            &transport,
            self.hints.as_deref(),
            self.shard_writer_timeout,
        );
        let local = sluice_base::locks::lock(&transport.local).take();
        ReplicatedOutcome {
            local,
            consistency,
            report,
        }
    }
}

/// The cluster transport, but this node's share keeps its full outcome for the answer.
struct KeepingLocalOutcome<'a> {
    inner: ClusterTransport<'a>,
    replicated: &'a ReplicatedWrites,
    local: Mutex<Option<Result<WriteOutcome, String>>>,
}

impl OwnerTransport for KeepingLocalOutcome<'_> {
    fn begin<'a>(
        &'a self,
        node: u64,
        write: &ShardWrite,
        deadline: std::time::Instant,
    ) -> Result<Box<dyn PendingWrite + 'a>, PeerError> {
        self.inner.begin(node, write, deadline)
    }

    fn write_local(&self, write: &ShardWrite) -> Result<u64, PeerError> {
        let destination = Destination {
            database: &write.database,
            retention_policy: &write.retention_policy,
        };
        let timed = TimedLines {
            lines: &write.lines,
            precision: write.precision,
            now_ns: write.now_ns,
        };
        let meta = self.replicated.meta.snapshot();
        let mut scratch = WriteScratch::default();
        let outcome = write_timed_lines_durably(
            &timed,
            &destination,
            &meta,
            &self.replicated.writer,
            &mut scratch,
        );
        let ack = ack_of(outcome.clone(), &write.lines);
        *sluice_base::locks::lock(&self.local) = Some(outcome);
        ack.into_result()
    }
}
