//! `/write` at the HTTP edge: the request's parameters and body encoding, and the answer
//! InfluxDB would give for a planned write, decided before the points are durable and sent
//! only once they are.
//!
//! Runs on the event loop that owns the connection. Planning itself (series keys, field
//! types, records per partition) is `ingest::plan`; this module owns what only HTTP has:
//! `db`/`rp`/`precision`/`consistency`, gzip, and rendering a [`WriteOutcome`] as a status,
//! InfluxDB's JSON error text and the `X-Sluice-Bad-Lines` header. A body larger than
//! `write-piece-size` (as sent, or once decoded: a gzip body is inflated here only that far)
//! is not planned here but routed to a large-write thread (`http::large_write`).

use std::time::Duration;

use crate::cluster::consistency::ConsistencyLevel;
use crate::http::framing::Request;
use crate::http::gzip::{self, GunzipStream, GzipFailure};
use crate::http::large_write::LargeWriteTarget;
use crate::http::query_string::query_param;
use crate::http::response::Response;
use crate::ingest::plan::{plan_points, write_target, PlannedWrite, WriteOutcome, WriteRefusal};
pub use crate::ingest::plan::{WriteContext, WriteScratch};
use crate::line_protocol::Precision;
use crate::meta::{Database, MetaData, RetentionPolicy};

/// What the event loop does with a write request.
pub enum WritePlan {
    /// answer now; nothing to make durable
    Respond(Response),
    /// make these records durable, then answer `on_durable`
    Submit {
        /// (partition, record, point count)
        records: Vec<(usize, Vec<u8>, u32)>,
        /// the answer once every record is durable
        on_durable: Response,
    },
}

/// Where a `/write` request is planned.
pub enum WriteRoute {
    /// planned on the event loop
    Planned(WritePlan),
    /// too large for the event loop: its body goes to a large-write thread
    Large(LargeWriteTarget),
}

/// What an HTTP write needs besides its request.
pub struct HttpWriteContext<'a> {
    /// the planner's inputs
    pub planning: WriteContext<'a>,
    /// `[http] max-inflated-body-size`: bound on a gzip body once decoded
    pub max_inflated_body_bytes: usize,
    /// `[http] write-piece-size`: most bytes of a body (as sent, or once decoded) planned on
    /// the event loop; a larger body is a large write
    pub write_piece_bytes: usize,
}

/// Plans a `/write` request whose body (as sent, or once gzip-decoded) is at most
/// `write-piece-size`; a larger one is routed to a large-write thread.
pub fn plan_write(
    request: &Request,
    params: &[(String, String)],
    http_context: &HttpWriteContext<'_>,
    scratch: &mut WriteScratch,
) -> WriteRoute {
    let context = &http_context.planning;
    // 1.6.7's order: the target, then the consistency level, then the body.
    let (database, policy) = match target_of(params, context.meta) {
        Ok(target) => target,
        Err(answer) => return WriteRoute::Planned(WritePlan::Respond(answer)),
    };
    match query_param(params, "consistency").unwrap_or("") {
        "" | "any" | "one" | "quorum" | "all" => {}
        _ => {
            let refusal = Response::json_error(400, "invalid consistency level");
            return WriteRoute::Planned(WritePlan::Respond(refusal));
        }
    }
    // InfluxDB treats an unknown precision as nanoseconds.
    let precision = Precision::from_param(query_param(params, "precision").unwrap_or(""))
        .unwrap_or(Precision::Nanosecond);
    let large = || {
        WriteRoute::Large(LargeWriteTarget {
            database: database.name.clone(),
            retention_policy: policy.name.clone(),
            precision,
            now_ns: context.now_ns,
            gzip: request.head.content_encoding_gzip,
            consistency: ConsistencyLevel::parse(query_param(params, "consistency").unwrap_or(""))
                .unwrap_or(ConsistencyLevel::One),
        })
    };
    let piece_bytes = http_context.write_piece_bytes;
    if !request.head.content_encoding_gzip {
        if request.body.len() > piece_bytes {
            return large();
        }
        let planned = plan_points(&request.body, precision, database, policy, context, scratch);
        return WriteRoute::Planned(into_plan(planned));
    }
    // A body whose trailer says it inflates past a piece goes to a large-write thread
    // without being inflated here (the thread checks everything). Else inflate at most one
    // byte more than a piece: a body that fits is planned here, as before; a larger one
    // (a trailer can lie, and only the last member has its size there) goes too.
    let declared = gzip::declared_last_member_size(&request.body);
    if declared.is_some_and(|size| size as usize > piece_bytes) {
        return large();
    }
    let mut decoded = std::mem::take(&mut scratch.decoded_body);
    decoded.clear();
    let mut stream = GunzipStream::new(&request.body, http_context.max_inflated_body_bytes);
    let plan = match stream.read_into(&mut decoded, piece_bytes.saturating_add(1)) {
        Ok(true) if decoded.len() <= piece_bytes => {
            let planned = plan_points(&decoded, precision, database, policy, context, scratch);
            WriteRoute::Planned(into_plan(planned))
        }
        Ok(_) => large(),
        Err(failure) => WriteRoute::Planned(WritePlan::Respond(gzip_refusal(failure))),
    };
    scratch.decoded_body = decoded;
    plan
}

/// InfluxDB's answer to a gzip body that cannot be decoded: 400 with Go's text, or 413 for
/// one past `max-inflated-body-size` (Sluice's own bound).
pub fn gzip_refusal(failure: GzipFailure) -> Response {
    let message = match failure {
        GzipFailure::TooLarge => "Request Entity Too Large: body is larger than max-inflated-body-size after gzip decoding".to_string(),
        other => other.influx_message(),
    };
    Response::json_error(failure.status(), &message)
}

/// The answer to a write whose records a partition could not make durable.
pub fn wal_failure_answer() -> Response {
    Response::json_error(
        500,
        "write failed: the write-ahead log could not be synced to disk",
    )
}

/// The answer to a write that waited `timeout` for room in the partition queues. A request
/// is all-or-nothing, so nothing of it was written; a large write made durable piece by
/// piece (`in_pieces`) keeps the pieces that were durable before this one (README, "Large
/// writes").
pub fn queue_timeout_answer(timeout: Duration, in_pieces: bool) -> Response {
    let written = if in_pieces {
        "the pieces of this write made durable before stay written"
    } else {
        "nothing of this request was written"
    };
    let message = format!(
        "write queue full: timed out after {} waiting for the WAL partitions; {written}, retry it",
        crate::config::format_duration(timeout)
    );
    Response::json_error(503, &message)
}

/// The database and retention policy `db` and `rp` name, or InfluxDB's answer: 400 without
/// `db`, 404 for an unknown database, 500 for an unknown retention policy. Shared by every
/// HTTP write endpoint (`/write`, Prometheus remote write).
pub fn target_of<'m>(
    params: &[(String, String)],
    meta: &'m MetaData,
) -> Result<(&'m Database, &'m RetentionPolicy), Response> {
    let database_name = query_param(params, "db").unwrap_or("");
    if database_name.is_empty() {
        return Err(Response::json_error(400, "database is required"));
    }
    let rp_name = query_param(params, "rp").unwrap_or("");
    write_target(meta, database_name, rp_name)
        .map_err(|refusal| render(&WriteOutcome::Refused(refusal)))
}

/// The event loop's plan for a planned write: answer now, or once the records are durable.
pub fn into_plan(planned: PlannedWrite) -> WritePlan {
    let answer = render(&planned.outcome);
    if planned.records.is_empty() {
        WritePlan::Respond(answer)
    } else {
        WritePlan::Submit {
            records: planned.records,
            on_durable: answer,
        }
    }
}

/// InfluxDB 1.6.7's answer for `outcome`: 204, or its status and `{"error":…}` text.
pub fn render(outcome: &WriteOutcome) -> Response {
    match outcome {
        WriteOutcome::Accepted => Response::no_content(),
        WriteOutcome::Refused(refusal) => {
            let status = match refusal {
                WriteRefusal::DatabaseNotFound { .. } => 404,
                WriteRefusal::RetentionPolicyNotFound { .. } => 500,
                WriteRefusal::FieldTypeConflict => 400,
            };
            Response::json_error(status, &refusal.to_string())
        }
        WriteOutcome::PointsRejected(rejected) => {
            let mut response = Response::json_error(400, &rejected.to_string());
            let told_by_drop = rejected.dropped > 0 || rejected.beyond_retention > 0;
            if !told_by_drop && !rejected.bad_line_numbers.is_empty() {
                let numbers: Vec<String> = rejected
                    .bad_line_numbers
                    .iter()
                    .map(usize::to_string)
                    .collect();
                response
                    .headers
                    .push(("X-Sluice-Bad-Lines", numbers.join(",")));
            }
            response
        }
    }
}
