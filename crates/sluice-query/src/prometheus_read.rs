//! The answer of a Prometheus remote read: the results of its one
//! `SELECT value … GROUP BY *` (built by `http::prometheus`) as a snappy-compressed protobuf
//! `ReadResponse`, as InfluxDB 1.6.7 answers it.
//!
//! Owns the encoding only: one `QueryResult` holding one `TimeSeries` per result series,
//! its labels the series' non-empty tags in key order (so `__name__` when the points came
//! from a remote write), its samples the rows whose value is a float (1.6.7 leaves out
//! integers, strings and booleans, and a series left with no sample), time in
//! milliseconds. A statement error is a 400 with its text.

use crate::answer::{AnswerOutcome, QueryAnswer, PROTOBUF_CONTENT_TYPE};
use crate::result::{StatementResult, Value};

/// The remote read answer for `results`.
pub fn response(results: &[StatementResult]) -> QueryAnswer {
    if let Some(error) = results.iter().find_map(|result| result.error.as_deref()) {
        return QueryAnswer::refused(AnswerOutcome::BadRequest, error);
    }
    let mut query_result = Vec::new();
    for series in results.iter().flat_map(|result| &result.series) {
        let mut time_series = Vec::new();
        // GROUP BY * lists every tag key of the measurement; a series without one has it
        // empty, and Prometheus has no empty labels.
        for (key, value) in series.tags.iter().filter(|(_, value)| !value.is_empty()) {
            let mut label = Vec::new();
            bytes_field(1, key.as_bytes(), &mut label);
            bytes_field(2, value.as_bytes(), &mut label);
            bytes_field(1, &label, &mut time_series);
        }
        let value_column = series.columns.iter().position(|c| c == "value");
        let mut samples = 0usize;
        for row in &series.values {
            let (Some(Value::Time(time_ns)), Some(Value::Float(value))) =
                (row.first(), value_column.and_then(|column| row.get(column)))
            else {
                continue;
            };
            let mut sample = Vec::with_capacity(20);
            varint(1 << 3 | 1, &mut sample);
            sample.extend_from_slice(&value.to_bits().to_le_bytes());
            varint(2 << 3, &mut sample);
            varint(time_ns.div_euclid(1_000_000) as u64, &mut sample);
            bytes_field(2, &sample, &mut time_series);
            samples += 1;
        }
        if samples > 0 {
            bytes_field(1, &time_series, &mut query_result);
        }
    }
    let mut read_response = Vec::with_capacity(query_result.len() + 8);
    bytes_field(1, &query_result, &mut read_response);
    match snap::raw::Encoder::new().compress_vec(&read_response) {
        Ok(body) => QueryAnswer {
            content_encoding: Some("snappy"),
            ..QueryAnswer::ran(PROTOBUF_CONTENT_TYPE, body)
        },
        Err(error) => QueryAnswer::refused(AnswerOutcome::Failed, &format!("snappy: {error}")),
    }
}

/// Appends `value` as a protobuf varint (the one protobuf writer of Sluice; the remote-write
/// tests build their requests with it too).
pub fn varint(mut value: u64, out: &mut Vec<u8>) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Appends field `number` holding `payload` (wire type 2: bytes or a message).
pub fn bytes_field(number: u64, payload: &[u8], out: &mut Vec<u8>) {
    varint(number << 3 | 2, out);
    varint(payload.len() as u64, out);
    out.extend_from_slice(payload);
}
