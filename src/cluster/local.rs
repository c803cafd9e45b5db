//! A shard write applied on this node: planned with `/write`'s planner and made durable by
//! the WAL partitions (`query::into::write_lines_durably`, the path restores and `SELECT …
//! INTO` take), so its ack means what a 204 means. Runs on the calling thread (a backup
//! service thread for a peer's write, the writer's thread for its own), never an event loop.

use super::rpc::{ShardWriteAck, ShardWriteHeader, ShardWriter};
use crate::ingest::plan::{WriteOutcome, WriteRefusal, WriteScratch};
use crate::line_protocol::Precision;
use crate::meta::MetaStore;
use crate::query::into::{write_timed_lines_durably, Destination, IntoWriter, TimedLines};

/// Writes shard writes into this node's store.
pub struct LocalShardWriter<'a> {
    /// databases and retention policies
    pub meta: &'a MetaStore,
    /// the partitions
    pub writer: &'a IntoWriter,
}

impl ShardWriter for LocalShardWriter<'_> {
    fn write_shard(&self, header: &ShardWriteHeader, lines: &[u8]) -> ShardWriteAck {
        let destination = Destination {
            database: &header.database,
            retention_policy: &header.retention_policy,
        };
        let meta = self.meta.snapshot();
        let mut scratch = WriteScratch::default();
        let timed = TimedLines {
            lines,
            precision: Precision::from_param(&header.precision).unwrap_or(Precision::Nanosecond),
            now_ns: header.now_ns,
        };
        let outcome =
            write_timed_lines_durably(&timed, &destination, &meta, self.writer, &mut scratch);
        ack_of(outcome, lines)
    }
}

/// The ack of a durable write's outcome: points too old for the policy count as written
/// (retention would have deleted them), a full queue or a failed WAL write may pass on a
/// retry, anything else never will.
pub fn ack_of(outcome: Result<WriteOutcome, String>, lines: &[u8]) -> ShardWriteAck {
    let mut ack = ShardWriteAck {
        write_id: 0,
        points: 0,
        error: None,
        retryable: false,
    };
    match outcome {
        Ok(WriteOutcome::Accepted) => {
            ack.points = lines.iter().filter(|byte| **byte == b'\n').count() as u64;
            if lines.last().is_some_and(|byte| *byte != b'\n') {
                ack.points += 1;
            }
        }
        Ok(WriteOutcome::PointsRejected(rejected))
            if rejected.dropped == 0 && rejected.parse_errors.is_empty() =>
        {
            ack.points = rejected.points;
        }
        Ok(WriteOutcome::PointsRejected(rejected)) => {
            ack.points = rejected.points;
            ack.error = Some(WriteOutcome::PointsRejected(rejected).to_string());
        }
        Ok(WriteOutcome::Refused(refusal)) => {
            // A database or policy missing here may be created by meta replication soon.
            ack.retryable = matches!(
                refusal,
                WriteRefusal::DatabaseNotFound { .. }
                    | WriteRefusal::RetentionPolicyNotFound { .. }
            );
            ack.error = Some(WriteOutcome::Refused(refusal).to_string());
        }
        Err(text) => {
            ack.retryable = true;
            ack.error = Some(text);
        }
    }
    ack
}
