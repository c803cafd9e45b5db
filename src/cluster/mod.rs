//! The cluster layer (issue 20).
//!
//! The meta half: the meta store replicated by a Raft group (`meta_raft`: the
//! `sluice-meta-raft` thread; `meta_log`: its durable log; `meta_transport`: the TCP
//! transport on `[meta] bind-address`). Data placement reads `ShardGroup::owners` and the
//! node records of the meta state.
//!
//! The data half: how a write reaches every owner of its shard, what happens when an owner
//! is down, and how per-owner query results are merged.
//!
//! - [`view`]: [`view::ClusterView`], the little the data half needs to know of the cluster
//!   (this node, a shard's owners, a node's data address), with a static, test-only
//!   implementation (not yet one over the replicated meta store).
//! - [`rpc`]: the peer write RPC on the data port (the top-level `bind-address`, shared with
//!   backup and restore): a peer session in the backup protocol's framing, its shared-secret
//!   handshake, the server side (served by the backup service's threads) and the client
//!   side, a bounded pool of connections per peer.
//! - [`local`]: a shard write applied on this node through the durable write path.
//! - [`hinted_handoff`]: the durable, bounded, per-destination queue of writes an owner
//!   could not take, and its delivery thread.
//! - [`consistency`]: the writer-side coordinator: sends a shard write to every owner and
//!   decides the answer by `consistency=any|one|quorum|all`.
//! - [`replicate`]: a `/write` body written to every owner (wired for the test-only static
//!   cluster).
//! - [`merge`]: merging per-shard partial aggregates from several owners.
//!
//! Must not name `net`, `inputs` or `server` (tools/check_layering.py); it names `http` only
//! to implement the handlers' `LeaderWait`; it uses the backup protocol's frames and
//! `query::into`'s durable writes.

pub mod consistency;
pub mod hinted_handoff;
pub mod local;
pub mod merge;
pub mod meta_log;
pub mod meta_raft;
pub mod meta_transport;
pub mod replicate;
pub mod rpc;
pub mod view;
