//! A query's answer as the query layer produces it: how the request ended, the body and its
//! encoding. Nothing here knows HTTP; `http::query_answer` renders an answer as InfluxDB's
//! status line and headers.
//!
//! Invariant: `error` is set exactly when `outcome` is not [`AnswerOutcome::Ran`] (InfluxDB
//! repeats a refused request's message in a header); a statement's own error is part of a
//! `Ran` answer's body, as InfluxDB answers it with 200.

use sluice_model::gojson::push_json_string;

/// `Content-Type` of a JSON answer.
pub const JSON_CONTENT_TYPE: &str = "application/json";
/// `Content-Type` of a CSV answer (`Accept: application/csv` or `text/csv`).
pub const CSV_CONTENT_TYPE: &str = "text/csv";
/// `Content-Type` of a Prometheus remote read answer.
pub const PROTOBUF_CONTENT_TYPE: &str = "application/x-protobuf";

/// How a query request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerOutcome {
    /// the statements ran (each statement's own error, if any, is in the body)
    Ran,
    /// the request itself was bad: its parameters or its InfluxQL (InfluxDB: 400)
    BadRequest,
    /// its sender may not run it (InfluxDB: 403)
    Forbidden,
    /// the server cannot take it now: the query queue is full, or it is shutting down (503)
    Unavailable,
    /// the answer could not be built (500)
    Failed,
}

/// One whole answer (or, for a streamed one, its head: the body then follows in pieces).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryAnswer {
    /// how the request ended
    pub outcome: AnswerOutcome,
    /// the body's media type
    pub content_type: &'static str,
    /// the body's encoding (`snappy` for a Prometheus remote read), if any
    pub content_encoding: Option<&'static str>,
    /// a refused request's message; `None` when the statements ran
    pub error: Option<String>,
    /// the encoded body
    pub body: Vec<u8>,
}

impl QueryAnswer {
    /// The statements ran; `body` is JSON.
    pub fn json(body: Vec<u8>) -> QueryAnswer {
        QueryAnswer::ran(JSON_CONTENT_TYPE, body)
    }

    /// The statements ran; `body` is of `content_type`.
    pub fn ran(content_type: &'static str, body: Vec<u8>) -> QueryAnswer {
        QueryAnswer {
            outcome: AnswerOutcome::Ran,
            content_type,
            content_encoding: None,
            error: None,
            body,
        }
    }

    /// A refused request: InfluxDB's JSON error body `{"error":"<message>"}`.
    pub fn refused(outcome: AnswerOutcome, message: &str) -> QueryAnswer {
        if outcome == AnswerOutcome::Ran {
            panic!("BUG: a refusal must say why the statements did not run");
        }
        let mut body = Vec::with_capacity(message.len() + 16);
        body.extend_from_slice(b"{\"error\":");
        push_json_string(&mut body, message.as_bytes());
        body.extend_from_slice(b"}\n");
        QueryAnswer {
            outcome,
            content_type: JSON_CONTENT_TYPE,
            content_encoding: None,
            error: Some(message.to_string()),
            body,
        }
    }
}
