//! A `/write` body written to every owner: this node's share through the durable path,
//! the others' through the peer pool, hints for the owners that are down, the answer by the
//! consistency level ([`consistency::write_to_owners`]).
//!
//! A node in a cluster (its replicated meta lists another node, or the test-only
//! `[cluster] debug-node-id`) hands every `/write` body to a large-write thread (never an
//! event loop: this blocks on peers), which calls [`ReplicatedWrites::write`]. The body is
//! cut by shard group (each point's time; a line that does not parse goes with the
//! request's "now", where the owners' planners report it), and each group's lines are
//! written to that group's owners. The other write paths (inputs, Prometheus,
//! `SELECT … INTO`, continuous queries) still write locally only.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::consistency::{
    write_to_owners, ClusterTransport, ConsistencyError, ConsistencyLevel, OwnerReport,
    OwnerTransport, PendingWrite,
};
use super::hinted_handoff::HintedHandoff;
use super::local::{ack_of, LocalShardWriter};
use super::rpc::{PeerError, PeerPool, ShardWrite};
use super::view::{ClusterView, ShardOwners};
use crate::ingest::plan::{WriteOutcome, WriteScratch};
use crate::line_protocol::Precision;
use crate::line_protocol::{Parser, Scratch};
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
    /// Writes `body` to every owner of each shard group it falls in and decides by its
    /// level: every group must meet it; this node's outcome is its first share's that was
    /// not a plain success.
    pub fn write(&self, body: &BodyWrite<'_>) -> ReplicatedOutcome {
        let groups = match self.cut_by_shard_group(body) {
            Ok(groups) => groups,
            Err(error) => {
                return ReplicatedOutcome {
                    local: None,
                    consistency: Err(ConsistencyError::WriteFailed {
                        last_error: Some(error),
                    }),
                    report: OwnerReport::default(),
                }
            }
        };
        let mut combined: Option<ReplicatedOutcome> = None;
        for (placement, lines) in groups {
            let outcome = self.write_group(body, placement, &lines);
            combined = Some(match combined {
                None => outcome,
                Some(mut so_far) => {
                    let plain = matches!(so_far.local, None | Some(Ok(WriteOutcome::Accepted)));
                    if plain && outcome.local.is_some() {
                        so_far.local = outcome.local;
                    }
                    if so_far.consistency.is_ok() {
                        so_far.consistency = outcome.consistency;
                    }
                    so_far
                        .report
                        .acknowledged
                        .extend(outcome.report.acknowledged);
                    so_far.report.hinted.extend(outcome.report.hinted);
                    so_far.report.failed.extend(outcome.report.failed);
                    so_far
                }
            });
        }
        combined.unwrap_or_else(|| ReplicatedOutcome {
            // A body without a point (blank lines, comments): nothing to place.
            local: Some(Ok(WriteOutcome::Accepted)),
            consistency: Ok(()),
            report: OwnerReport::default(),
        })
    }

    /// The body's lines by shard group, in the order groups first appear (each line is
    /// copied once, into its group's share).
    fn cut_by_shard_group(
        &self,
        body: &BodyWrite<'_>,
    ) -> Result<Vec<(ShardOwners, Vec<u8>)>, String> {
        let mut groups: Vec<(ShardOwners, Vec<(usize, usize)>)> = Vec::new();
        let mut parser = Parser::new(body.lines, body.precision, body.now_ns)
            .accept_crlf(true)
            .accept_unsigned(true);
        let mut scratch = Scratch::default();
        loop {
            let start = parser.position();
            let time_ns = match parser.next_point(&mut scratch) {
                None => break,
                Some(Ok(point)) => point.timestamp_ns,
                Some(Err(_)) => body.now_ns,
            };
            let end = parser.position();
            let known = groups
                .iter()
                .position(|(placement, _)| placement.contains_time(time_ns));
            let index = match known {
                Some(index) => index,
                None => {
                    let placement =
                        self.view
                            .owners(body.database, body.retention_policy, time_ns)?;
                    match groups
                        .iter()
                        .position(|(known, _)| known.shard_group_id == placement.shard_group_id)
                    {
                        Some(index) => index,
                        None => {
                            groups.push((placement, Vec::new()));
                            groups.len() - 1
                        }
                    }
                }
            };
            if let Some((_, ranges)) = groups.get_mut(index) {
                ranges.push((start, end));
            }
        }
        Ok(groups
            .into_iter()
            .map(|(placement, ranges)| {
                let mut lines = Vec::new();
                for (start, end) in ranges {
                    lines.extend_from_slice(body.lines.get(start..end).unwrap_or_default());
                    if !lines.ends_with(b"\n") {
                        lines.push(b'\n');
                    }
                }
                (placement, lines)
            })
            .collect())
    }

    /// Writes one shard group's lines to its owners.
    fn write_group(
        &self,
        body: &BodyWrite<'_>,
        placement: ShardOwners,
        lines: &[u8],
    ) -> ReplicatedOutcome {
        let write = ShardWrite {
            database: body.database.to_string(),
            retention_policy: body.retention_policy.to_string(),
            shard_group_id: placement.shard_group_id,
            lines: lines.to_vec(),
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
