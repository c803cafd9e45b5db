//! `/write` at the HTTP edge: the request's parameters and body encoding, and the answer
//! InfluxDB would give for a planned write, decided before the points are durable and sent
//! only once they are.
//!
//! Runs on the event loop that owns the connection. Planning itself (series keys, field
//! types, records per partition) is `ingest::plan`; this module owns what only HTTP has:
//! `db`/`rp`/`precision`/`consistency`, gzip, and rendering a [`WriteOutcome`] as a status,
//! InfluxDB's JSON error text and the `X-Sluice-Bad-Lines` header.

use crate::http::framing::Request;
use crate::http::gzip::{gunzip_limited_detailed, GzipFailure};
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

/// What an HTTP write needs besides its request.
pub struct HttpWriteContext<'a> {
    /// the planner's inputs
    pub planning: WriteContext<'a>,
    /// `[http] max-inflated-body-size`: bound on a gzip body once decoded
    pub max_inflated_body_bytes: usize,
}

/// Plans a `/write` request.
pub fn plan_write(
    request: &Request,
    params: &[(String, String)],
    http_context: &HttpWriteContext<'_>,
    scratch: &mut WriteScratch,
) -> WritePlan {
    let context = &http_context.planning;
    // 1.6.7's order: the target, then the consistency level, then the body.
    let (database, policy) = match target_of(params, context.meta) {
        Ok(target) => target,
        Err(answer) => return WritePlan::Respond(answer),
    };
    match query_param(params, "consistency").unwrap_or("") {
        "" | "any" | "one" | "quorum" | "all" => {}
        _ => return WritePlan::Respond(Response::json_error(400, "invalid consistency level")),
    }
    // InfluxDB treats an unknown precision as nanoseconds.
    let precision = Precision::from_param(query_param(params, "precision").unwrap_or(""))
        .unwrap_or(Precision::Nanosecond);
    let mut decoded = std::mem::take(&mut scratch.decoded_body);
    let body: &[u8] = if request.head.content_encoding_gzip {
        decoded.clear();
        match gunzip_limited_detailed(
            &request.body,
            http_context.max_inflated_body_bytes,
            &mut decoded,
        ) {
            Ok(()) => &decoded,
            Err(failure) => {
                scratch.decoded_body = decoded;
                let message = match failure {
                    GzipFailure::TooLarge => "Request Entity Too Large: body is larger than max-inflated-body-size after gzip decoding".to_string(),
                    other => other.influx_message(),
                };
                return WritePlan::Respond(Response::json_error(failure.status(), &message));
            }
        }
    } else {
        &request.body
    };
    let planned = plan_points(body, precision, database, policy, context, scratch);
    scratch.decoded_body = decoded;
    into_plan(planned)
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
