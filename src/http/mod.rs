//! HTTP/1.1 for the event loops: request framing, query strings, responses, and the
//! InfluxDB-compatible endpoint handlers.
pub mod admin;
pub mod auth;
pub mod framing;
pub mod gzip;
pub mod handlers;
pub mod large_write;
pub mod metrics;
pub mod prometheus;
pub mod query_string;
pub mod response;
pub mod write;
pub mod write_v2;
