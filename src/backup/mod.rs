//! Online backup and restore of a running server: `sluice backup` and `sluice restore`.
//!
//! - [`service`]: the server side, a listener on the top-level `bind-address` (loopback by
//!   default) served by a fixed pool of blocking threads, never an event loop; it owns how a
//!   consistent backup is read from the live store and how a restore is written through the
//!   durable write path.
//! - [`client`]: the two commands: writing a backup directory, checking and sending one.
//! - [`manifest`]: the backup directory's layout, its manifest (written last) and the check
//!   a restore makes of every file before it sends anything.
//! - [`protocol`]: the frames and messages between them.
//!
//! A backup is logical: the meta (databases, retention policies, continuous queries, users)
//! as JSON, and per shard its points as gzip-compressed line protocol, exactly the lines
//! `sluice export` prints for that shard (`export::write_shard_points`). A restore writes the
//! points through `/write`'s planner and the WAL, so what it restores is durable and indexed
//! as any write is, and a crash during it loses nothing acknowledged.

pub mod client;
pub mod manifest;
pub mod protocol;
pub mod service;
