//! Inputs beside HTTP: UDP line protocol, Graphite, collectd and OpenTSDB.
//!
//! STUB of the service layer; the protocol decoders live in the submodules and turn their
//! input into line protocol, which then takes the same path as a `/write` body.

pub mod collectd;
pub mod graphite;
pub mod opentsdb;
