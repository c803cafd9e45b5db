//! The OpenTSDB input's HTTP endpoint, as InfluxDB's OpenTSDB service answers on the input's
//! port (the event loop tells HTTP from telnet lines by the first line): `POST /api/put`
//! bodies are decoded by [`opentsdb`](super::opentsdb) and planned like any write.
//!
//! Owns the routing and answers of that port only; HTTP framing, gzip and the rendering of a
//! write's outcome are the `http` module's, which knows nothing of inputs.

use crate::http::framing::Request;
use crate::http::handlers::Action;
use crate::http::response::Response;
use crate::http::write::{into_plan, HttpWriteContext, WritePlan, WriteScratch};
use crate::inputs::opentsdb;
use crate::inputs::InputService;
use crate::line_protocol::Precision;

/// Routes a request that arrived on an OpenTSDB input's port, as InfluxDB's OpenTSDB service
/// answers: `POST /api/put` with a JSON body (one object or an array; gzip allowed) becomes a
/// durable write into the input's database, answered 204 once it is fsynced; body errors are
/// plain-text 400s; `/api/metadata/put` is accepted and ignored.
pub fn route_http_request(
    request: &Request,
    service: &InputService,
    write_context: &HttpWriteContext<'_>,
    scratch: &mut WriteScratch,
) -> Action {
    let route = opentsdb::route_http(request.head.method.as_str(), &request.head.path);
    if let Some((status, text)) = route.fixed_answer() {
        return Action::RespondBare(match status {
            204 => Response::empty(204),
            _ if text.is_empty() => Response::empty(status),
            _ => Response::plain_text(status, text),
        });
    }
    let mut inflated = Vec::new();
    let body: &[u8] = if request.head.content_encoding_gzip {
        match crate::http::gzip::gunzip_limited_detailed(
            &request.body,
            write_context.max_inflated_body_bytes,
            &mut inflated,
        ) {
            Ok(()) => &inflated,
            Err(failure) => {
                let text = opentsdb::gzip_header_error_text(&failure.influx_message());
                return Action::RespondBare(Response::plain_text(400, &text));
            }
        }
    } else {
        &request.body
    };
    let mut lines = Vec::new();
    if let Err(error) = opentsdb::parse_http_put(body, &mut lines) {
        service
            .stats
            .failed
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Action::RespondBare(Response::plain_text(
            error.0.http_status(),
            error.0.message(),
        ));
    }
    let plan = into_plan(crate::ingest::plan::plan_lines(
        &lines,
        Precision::Nanosecond,
        &service.config.database,
        &service.config.retention_policy,
        &write_context.planning,
        scratch,
    ));
    match plan {
        WritePlan::Respond(response) => Action::Respond(response),
        WritePlan::Submit {
            records,
            on_durable,
        } => {
            let points: u64 = records.iter().map(|(_, _, count)| u64::from(*count)).sum();
            service
                .stats
                .points
                .fetch_add(points, std::sync::atomic::Ordering::Relaxed);
            let answer = if on_durable.status == 204 {
                Response::empty(204)
            } else {
                on_durable
            };
            Action::Write {
                records,
                on_durable: answer,
            }
        }
    }
}
