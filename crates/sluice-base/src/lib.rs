//! The process-level services every layer of Sluice uses: logging ([`log`], logfmt lines on
//! stderr), the file-system seam durable writers go through ([`fsio`]), per-thread
//! allocation accounting for query budgets ([`memory`]), taking locks under the panic
//! policy ([`locks`]), thread placement on CPUs
//! ([`cpu`]), and the registry every reader of the server's counters asks ([`statistics`]); with the `simulated-disk` feature (tests only), a simulated disk for the
//! fault simulations (`simulated_disk`).
//!
//! Invariants: depends on the data model only; knows nothing of storage formats, queries
//! or HTTP, so any layer may use it without reaching up.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod cpu;
pub mod fsio;
pub mod locks;
#[macro_use]
pub mod log;
pub mod memory;
#[cfg(feature = "simulated-disk")]
pub mod simulated_disk;
pub mod statistics;
