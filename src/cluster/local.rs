//! A shard write applied on this node: planned with `/write`'s planner and made durable by
//! the WAL partitions (`query::into::write_lines_durably`, the path restores and `SELECT …
//! INTO` take), so its ack means what a 204 means. Runs on the calling thread (a backup
//! service thread for a peer's write, the writer's thread for its own), never an event loop.

use super::rpc::{ShardWriteAck, ShardWriteHeader, ShardWriter};
use super::view::ClusterView;
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
    /// for a peer's write: whether this node owns the write's shard group (`None`: this
    /// node's own share, placed by itself)
    pub owner_check: Option<&'a dyn ClusterView>,
}

impl ShardWriter for LocalShardWriter<'_> {
    fn write_shard(&self, header: &ShardWriteHeader, lines: &[u8]) -> ShardWriteAck {
        if let Some(view) = self.owner_check {
            if !view.owns(
                &header.database,
                &header.retention_policy,
                header.shard_group_id,
            ) {
                return ShardWriteAck {
                    write_id: 0,
                    points: 0,
                    error: Some(format!(
                        "node {} does not own shard group {} of {}.{}",
                        view.local_node(),
                        header.shard_group_id,
                        header.database,
                        header.retention_policy
                    )),
                    retryable: false,
                };
            }
        }
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
        Ok(WriteOutcome::Accepted) => ack.points = point_lines(lines),
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

/// Lines that hold a point (every one does when a write is accepted): not blank, not a
/// comment.
fn point_lines(lines: &[u8]) -> u64 {
    lines
        .split(|byte| *byte == b'\n')
        .map(|line| line.trim_ascii_start())
        .filter(|line| !line.is_empty() && !line.starts_with(b"#"))
        .count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::plan::RejectedPoints;

    #[test]
    fn acks_say_what_was_written_and_whether_a_retry_can_help() {
        let accepted = ack_of(Ok(WriteOutcome::Accepted), b"m v=1 1\n\n# note\nm v=2 2");
        assert_eq!(
            (accepted.points, &accepted.error, accepted.retryable),
            (2, &None, false)
        );
        assert_eq!(accepted.into_result(), Ok(2));

        let too_old = RejectedPoints {
            points: 3,
            beyond_retention: 2,
            ..RejectedPoints::default()
        };
        let kept = ack_of(Ok(WriteOutcome::PointsRejected(too_old)), b"");
        assert_eq!((kept.points, kept.error), (3, None));

        let bad_lines = RejectedPoints {
            points: 1,
            parse_errors: b"unable to parse 'x': missing fields".to_vec(),
            ..RejectedPoints::default()
        };
        let partial = ack_of(Ok(WriteOutcome::PointsRejected(bad_lines)), b"");
        assert!(partial.error.is_some() && !partial.retryable);
        // Its good point is durable, and every owner rejects the same line: written.
        assert_eq!(partial.into_result(), Ok(1));

        let conflict = ack_of(
            Ok(WriteOutcome::Refused(WriteRefusal::FieldTypeConflict)),
            b"",
        );
        assert!(!conflict.retryable);
        assert!(conflict.into_result().is_err_and(|e| !e.is_retryable()));

        let missing = WriteRefusal::DatabaseNotFound {
            database: "db".into(),
        };
        let not_yet = ack_of(Ok(WriteOutcome::Refused(missing)), b"");
        assert!(not_yet.retryable, "meta may not have reached this node yet");

        let wal = ack_of(Err("write failed".into()), b"m v=1 1\n");
        assert!(wal.retryable);
        assert!(wal.into_result().is_err_and(|e| e.is_retryable()));
    }
}
