//! The cluster layer (issue 20). The meta half: the meta store replicated by a Raft group
//! (`meta_raft`: the `sluice-meta-raft` thread; `meta_log`: its durable log; `meta_transport`:
//! the TCP transport on `[meta] bind-address`). Data placement reads `ShardGroup::owners`
//! and the node records of the meta state.

pub mod meta_log;
pub mod meta_raft;
pub mod meta_transport;
