//! Sluice: a time-series database server that speaks InfluxDB 1.x.
//!
//! See ARCHITECTURE.md for the threads, queues and the path of a write. Modules, in the
//! direction calls flow: `net` → `http` → {`ingest`, `query`}; `ingest` → `wal`;
//! `query` → {`influxql`, `meta`}. Nothing calls back up.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod backup;
pub mod cluster;
pub use sluice_model::bytes;
pub mod config;
pub use sluice_base::cpu;
pub mod export;
pub use sluice_base::fsio;
pub use sluice_influxql as influxql;
pub mod http;
pub use sluice_ingest as ingest;
pub mod inputs;
pub use sluice_base::log;
pub use sluice_base::memory;
pub use sluice_base::{log_at, log_debug, log_error, log_info, log_warn};
pub use sluice_line_protocol as line_protocol;
pub use sluice_model::limits;
pub use sluice_storage::meta;
pub mod net;
pub use sluice_query as query;
pub mod server;
pub use sluice_storage as storage;
pub mod store_dirs;
pub mod subscriber;
pub use sluice_model::time;
pub mod verify;
pub use sluice_storage::wal;

pub use sluice_model::INFLUXDB_COMPATIBLE_VERSION;
/// Sluice's own version.
pub const SLUICE_VERSION: &str = env!("CARGO_PKG_VERSION");
