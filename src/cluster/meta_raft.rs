//! The replicated meta group: one `sluice-meta-raft` thread owns a Raft `RawNode` (the `raft`
//! crate, sans-I/O) over [`MetaLog`], ticks it, persists what it must before messages that
//! depend on it leave, applies committed entries to the [`MetaStore`] in log order, and
//! answers the proposers waiting on this node.
//!
//! Who owns what: the raft thread owns the RawNode, its log and every pending proposal; the
//! meta store owns the applied state (`meta.db`); [`MetaGroup`] is the handle every other
//! thread holds (it is the store's [`MetaReplicator`] and the transport's inbound handler)
//! and talks to the raft thread only through its bounded inbox ([`META_INBOX_DEPTH`]).
//!
//! A proposal carries `(origin node, proposal id)` as its entry context. Any node proposes:
//! a follower's RawNode forwards the proposal to the leader; while no leader is known the
//! raft thread holds it (within the proposer's deadline). When the entry is applied on the
//! origin node, the apply's answer goes back to the proposer; after `[meta]
//! propose-timeout` the proposer gives up with "timeout waiting for meta leader" (the entry
//! may still commit later: like any Raft client, a timed-out proposer cannot know).
//!
//! A single node is a one-member group: it elects itself at once at start-up, every change
//! costs one fsync of the log more than before (measured in PERFORMANCE.md), and nothing
//! else changes for it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam::channel::{Receiver, RecvTimeoutError, Sender};
use protobuf::Message as _;
use raft::eraftpb::{ConfChange, ConfChangeType, Entry, EntryType, Message};
use raft::{RawNode, StateRole};

use super::meta_log::{self, MetaLog, NodeIdentity};
use super::meta_transport::{
    self, AddressBook, Credentials, InboundHandler, Joined, MetaListener, MetaSender,
};
use crate::fsio::{FileSystem, OsFileSystem};
use crate::meta::{
    MetaApplied, MetaCommand, MetaData, MetaError, MetaReplicator, MetaStore, MetaValue,
    NodeAddresses, NodeInfo, RaftPosition,
};

/// Requests queued for the raft thread (Raft messages, proposals, leader waits).
pub const META_INBOX_DEPTH: usize = 4_096;
/// `/ping?wait_for_leader` requests waiting at once; one more is answered 503 at once.
pub const META_LEADER_WAITS_MAX: usize = 1_024;
/// Largest Raft append message, bytes.
const META_RAFT_MESSAGE_BYTES_MAX: u64 = 1 << 20;
/// Append messages in flight per follower.
const META_RAFT_INFLIGHT_MESSAGES_MAX: usize = 256;
/// How long a start-up join keeps asking for a leader.
pub const META_JOIN_TIMEOUT_MS: u64 = 30_000;
/// The text of a proposal that found no leader in time.
pub const NO_LEADER_TIMEOUT: &str = "timeout waiting for meta leader";

/// The `[meta]` settings the group runs with.
#[derive(Clone, Debug)]
pub struct MetaGroupConfig {
    /// `[meta] bind-address`, resolved
    pub bind_address: std::net::SocketAddr,
    /// `[meta] join` (or `-join`): a member's meta address, for a node that has none yet
    pub join: Option<String>,
    /// `[meta] shared-secret`, checked only with `[http] auth-enabled`
    pub secret: Vec<u8>,
    /// one tick of the Raft clock
    pub tick_interval: Duration,
    /// ticks without a leader before an election
    pub election_ticks: usize,
    /// ticks between a leader's heartbeats
    pub heartbeat_ticks: usize,
    /// how long a proposer waits for its change to be applied
    pub propose_timeout: Duration,
    /// entries the log keeps before it is compacted up to what `meta.db` holds
    pub log_compact_entries: usize,
    /// this node's HTTP and data addresses (the meta one is the bound address)
    pub addresses: NodeAddresses,
}

/// What other threads know of the group without asking the raft thread.
#[derive(Default)]
pub struct GroupStatus {
    /// the leader this node follows (itself when leader); 0: none known
    leader_id: AtomicU64,
    /// the cluster this node is in (0 until it joined one)
    cluster_id: AtomicU64,
}

/// A proposal waiting for its entry to be applied here.
struct Pending {
    reply: Sender<Result<MetaApplied, MetaError>>,
    deadline: Instant,
    /// what was proposed, to propose again (same id) when the leader changes before it is
    /// applied: a proposal forwarded to a leader that died is otherwise lost
    proposal: Proposal,
}

#[derive(Clone)]
enum Proposal {
    Command(Vec<u8>),
    Membership(ConfChange),
}

/// Tells a `/ping?wait_for_leader` whether a leader was known in time.
type LeaderDelivery = Box<dyn FnOnce(bool) + Send>;

enum Inbound {
    Raft(Message),
    Propose {
        data: Vec<u8>,
        reply: Sender<Result<MetaApplied, MetaError>>,
        deadline: Instant,
    },
    ConfChange {
        change: ConfChange,
        reply: Sender<Result<MetaApplied, MetaError>>,
        deadline: Instant,
    },
    LeaderWait {
        deadline: Instant,
        deliver: Box<dyn FnOnce(bool) + Send>,
    },
    Stop,
}

/// The handle on the meta group: the store's replicator and the transport's handler.
pub struct MetaGroup {
    node_id: AtomicU64,
    /// this node's addresses as they should be in its node record (the HTTP and data
    /// ports are known only once bound, after the group started)
    addresses: Arc<RwLock<NodeAddresses>>,
    inbox: Sender<Inbound>,
    meta: Arc<MetaStore>,
    status: Arc<GroupStatus>,
    propose_timeout: Duration,
}

impl MetaGroup {
    /// This node's id.
    pub fn node_id(&self) -> u64 {
        self.node_id.load(Ordering::Acquire)
    }

    /// Sets this node's HTTP and data addresses (the meta one stays the bound address);
    /// the raft thread updates the node record once a leader is known.
    pub fn set_addresses(&self, addresses: NodeAddresses) {
        let mut current = sluice_base::locks::write(&self.addresses);
        current.http = addresses.http;
        current.data = addresses.data;
    }

    /// The leader this node knows now (0: none).
    pub fn leader_id(&self) -> u64 {
        self.status.leader_id.load(Ordering::Acquire)
    }

    /// Calls `deliver(true)` once a leader is known, or `deliver(false)` at `deadline`;
    /// never blocks (a full inbox or too many waits answer `false` at once).
    pub fn when_leader_known(&self, deadline: Instant, deliver: Box<dyn FnOnce(bool) + Send>) {
        if self.leader_id() != 0 {
            deliver(true);
            return;
        }
        if let Err(refused) = self
            .inbox
            .try_send(Inbound::LeaderWait { deadline, deliver })
        {
            if let Inbound::LeaderWait { deliver, .. } = refused.into_inner() {
                deliver(false);
            }
        }
    }

    fn propose_and_wait(
        &self,
        inbound: impl FnOnce(Sender<Result<MetaApplied, MetaError>>, Instant) -> Inbound,
    ) -> Result<MetaApplied, MetaError> {
        let deadline = Instant::now() + self.propose_timeout;
        let (reply, answer) = crossbeam::channel::bounded(1);
        if self
            .inbox
            .send_timeout(inbound(reply, deadline), self.propose_timeout)
            .is_err()
        {
            return Err(MetaError::Unavailable(NO_LEADER_TIMEOUT.into()));
        }
        let wait = deadline.saturating_duration_since(Instant::now()) + Duration::from_millis(50);
        match answer.recv_timeout(wait) {
            Ok(result) => result,
            Err(_) => Err(MetaError::Unavailable(NO_LEADER_TIMEOUT.into())),
        }
    }

    fn conf_change(
        &self,
        change_type: ConfChangeType,
        node: u64,
    ) -> Result<MetaApplied, MetaError> {
        let mut change = ConfChange::default();
        change.set_change_type(change_type);
        change.node_id = node;
        self.propose_and_wait(|reply, deadline| Inbound::ConfChange {
            change,
            reply,
            deadline,
        })
    }
}

impl MetaReplicator for MetaGroup {
    fn replicate(&self, command: &MetaCommand) -> Result<MetaApplied, MetaError> {
        if let MetaCommand::RemoveNode { id } = command {
            let state = self.meta.snapshot();
            if state.node(*id).is_none() {
                return Err(MetaError::Rejected(format!("server not found: {id}")));
            }
            if *id == self.node_id() && state.nodes.len() == 1 {
                return Err(MetaError::Rejected("cannot remove the last server".into()));
            }
            if state.raft.voters.contains(id) || state.raft.learners.contains(id) {
                self.conf_change(ConfChangeType::RemoveNode, *id)?;
            }
        }
        let data = command.encode();
        self.propose_and_wait(|reply, deadline| Inbound::Propose {
            data,
            reply,
            deadline,
        })
    }
}

impl InboundHandler for MetaGroup {
    fn raft_message(&self, message: Message) {
        let _ = self.inbox.try_send(Inbound::Raft(message));
    }

    fn join(&self, addresses: NodeAddresses) -> Result<Joined, String> {
        let applied = self
            .replicate(&MetaCommand::AddNode { addresses })
            .map_err(|e| e.to_string())?;
        let MetaValue::NodeId(node_id) = applied.value else {
            panic!("BUG: AddNode answered {applied:?}");
        };
        if !self.meta.snapshot().raft.voters.contains(&node_id) {
            self.conf_change(ConfChangeType::AddNode, node_id)
                .map_err(|e| e.to_string())?;
        }
        let state = self.meta.snapshot();
        crate::log_info!("meta", "node joined"; node = node_id, voters = format!("{:?}", state.raft.voters));
        Ok(Joined {
            node_id,
            cluster_id: state.cluster_id,
            peers: state
                .nodes
                .iter()
                .map(|node| (node.id, node.addresses.meta.clone()))
                .collect(),
        })
    }

    fn cluster_id(&self) -> u64 {
        self.status.cluster_id.load(Ordering::Acquire)
    }
}

/// The running meta group: its threads and the handle.
pub struct MetaService {
    group: Arc<MetaGroup>,
    raft_thread: Option<JoinHandle<()>>,
    listener: Option<MetaListener>,
}

impl MetaService {
    /// The handle (for `/ping?wait_for_leader` and the server).
    pub fn group(&self) -> Arc<MetaGroup> {
        Arc::clone(&self.group)
    }

    /// The meta address bound.
    pub fn local_address(&self) -> Option<std::net::SocketAddr> {
        self.listener.as_ref().map(MetaListener::local_address)
    }

    /// Stops the raft thread, then the transport.
    pub fn stop(mut self) {
        let _ = self.group.inbox.send(Inbound::Stop);
        if let Some(thread) = self.raft_thread.take() {
            let _ = thread.join();
        }
        if let Some(listener) = self.listener.take() {
            listener.stop();
        }
    }
}

/// Starts the meta group over `meta`: binds the meta port, joins or creates the cluster
/// (a node that never was in one and is given no `join` creates its own, as node 1),
/// starts the threads and installs the group as the store's replicator.
pub fn start(
    config: &MetaGroupConfig,
    meta: Arc<MetaStore>,
    meta_dir: &std::path::Path,
) -> Result<MetaService, String> {
    let file_system: Arc<dyn FileSystem> = Arc::new(OsFileSystem);
    let address = config.bind_address;
    let listener = std::net::TcpListener::bind(address)
        .map_err(|e| format!("meta service: listening on {address} ([meta] bind-address): {e}"))?;
    let local_address = listener.local_addr().map_err(|e| e.to_string())?;
    let mut addresses = config.addresses.clone();
    addresses.meta = local_address.to_string();
    let dir = meta_log::raft_dir(meta_dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;

    let status = Arc::new(GroupStatus::default());
    let (inbox, inbox_receiver) = crossbeam::channel::bounded(META_INBOX_DEPTH);
    let shared_addresses = Arc::new(RwLock::new(addresses.clone()));
    let group = Arc::new(MetaGroup {
        node_id: AtomicU64::new(0),
        addresses: Arc::clone(&shared_addresses),
        inbox,
        meta: Arc::clone(&meta),
        status: Arc::clone(&status),
        propose_timeout: config.propose_timeout,
    });
    let meta_listener = MetaListener::start(listener, config.secret.clone(), group.clone())?;
    let address_book: AddressBook = Arc::default();

    let identity = establish_identity(
        config,
        &meta,
        &dir,
        file_system.as_ref(),
        &addresses,
        &address_book,
    )?;
    group.node_id.store(identity.node_id, Ordering::Release);
    status
        .cluster_id
        .store(identity.cluster_id, Ordering::Release);
    let credentials = Arc::new(RwLock::new(Credentials {
        cluster_id: identity.cluster_id,
        secret: config.secret.clone(),
    }));

    let log = MetaLog::open(&dir, Arc::clone(&file_system), Arc::clone(&meta))?;
    let raft_config = raft::Config {
        id: identity.node_id,
        election_tick: config.election_ticks,
        heartbeat_tick: config.heartbeat_ticks,
        applied: meta.snapshot().raft.applied_index,
        max_size_per_msg: META_RAFT_MESSAGE_BYTES_MAX,
        max_inflight_msgs: META_RAFT_INFLIGHT_MESSAGES_MAX,
        check_quorum: true,
        pre_vote: true,
        ..raft::Config::default()
    };
    raft_config
        .validate()
        .map_err(|e| format!("meta raft config: {e}"))?;
    let logger = slog::Logger::root(slog::Discard, slog::o!());
    let mut node =
        RawNode::new(&raft_config, log, &logger).map_err(|e| format!("meta raft: {e}"))?;
    let voters = meta.snapshot().raft.voters.clone();
    if voters == [identity.node_id] {
        // A one-member group needs no election timeout to know it leads.
        let _ = node.campaign();
    }
    refresh_address_book(&meta.snapshot(), &address_book);
    let sender = MetaSender::start(identity.node_id, credentials, Arc::clone(&address_book))?;
    let raft_loop = RaftLoop {
        node,
        node_id: identity.node_id,
        meta: Arc::clone(&meta),
        status,
        sender,
        address_book,
        addresses: shared_addresses,
        pending: HashMap::new(),
        held: Vec::new(),
        leader_waits: Vec::new(),
        next_proposal_id: 1,
        tick_interval: config.tick_interval,
        log_compact_entries: config.log_compact_entries.max(1),
        seen_generation: u64::MAX,
        addresses_checked_at: None,
    };
    let raft_thread = std::thread::Builder::new()
        .name("sluice-meta-raft".into())
        .spawn(move || raft_loop.run(inbox_receiver))
        .map_err(|e| format!("meta raft thread: {e}"))?;
    meta.install_replicator(group.clone());
    crate::log_info!("meta", "meta service listening"; address = local_address,
        node = identity.node_id, cluster = format!("{:016x}", identity.cluster_id));
    Ok(MetaService {
        group,
        raft_thread: Some(raft_thread),
        listener: Some(meta_listener),
    })
}

/// Reads this node's identity, or makes one: by joining `config.join`, or by creating a
/// cluster of one (this node, id 1, the state it has).
fn establish_identity(
    config: &MetaGroupConfig,
    meta: &MetaStore,
    dir: &std::path::Path,
    file_system: &dyn FileSystem,
    addresses: &NodeAddresses,
    address_book: &AddressBook,
) -> Result<NodeIdentity, String> {
    let state = meta.snapshot();
    if let Some(identity) = meta_log::read_identity(dir)? {
        if identity.cluster_id == state.cluster_id {
            if let Some(join) = &config.join {
                // Already a member: the join target must be of the same cluster.
                let credentials = Credentials {
                    cluster_id: identity.cluster_id,
                    secret: config.secret.clone(),
                };
                if let Err(error) = meta_transport::check_peer(join, &credentials, identity.node_id)
                {
                    if error.contains("refused this node") {
                        return Err(format!("cannot join {join}: {error}"));
                    }
                }
            }
            return Ok(identity);
        }
    }
    match &config.join {
        Some(join) => {
            if state.cluster_id != 0 || !state.databases.is_empty() {
                // A node with a state of its own would have it replaced by the cluster's.
                let credentials = Credentials {
                    cluster_id: state.cluster_id.max(1),
                    secret: config.secret.clone(),
                };
                meta_transport::check_peer(join, &credentials, 0)
                    .map_err(|e| format!("cannot join {join}: {e}"))?;
                return Err(format!(
                    "cannot join {join}: this node already has a meta store of its own ({}); start it with an empty [meta] dir",
                    meta_dir_hint(dir)
                ));
            }
            let credentials = Credentials {
                cluster_id: 0,
                secret: config.secret.clone(),
            };
            let joined = meta_transport::request_join(
                join,
                &credentials,
                addresses,
                Duration::from_millis(META_JOIN_TIMEOUT_MS),
            )
            .map_err(|e| format!("cannot join {join}: {e}"))?;
            {
                let mut book = sluice_base::locks::write(address_book);
                for (id, address) in &joined.peers {
                    book.insert(*id, address.clone());
                }
            }
            let identity = NodeIdentity {
                node_id: joined.node_id,
                cluster_id: joined.cluster_id,
            };
            meta_log::write_identity(file_system, dir, identity)?;
            crate::log_info!("meta", "joined the cluster"; via = join, node = identity.node_id);
            Ok(identity)
        }
        None => {
            let identity = NodeIdentity {
                node_id: 1,
                cluster_id: new_cluster_id(),
            };
            meta.install_state(bootstrap_state(&state, identity, addresses))
                .map_err(|e| format!("meta: {e}"))?;
            meta_log::write_identity(file_system, dir, identity)?;
            crate::log_info!("meta", "created a cluster of one"; node = 1,
                cluster = format!("{:016x}", identity.cluster_id));
            Ok(identity)
        }
    }
}

fn meta_dir_hint(raft_dir: &std::path::Path) -> String {
    raft_dir
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

/// The state of a new one-member group: what the store held, with this node as node 1,
/// the only voter and the owner of every existing shard group, at log index 1.
fn bootstrap_state(
    state: &MetaData,
    identity: NodeIdentity,
    addresses: &NodeAddresses,
) -> MetaData {
    let mut next = state.clone();
    next.cluster_id = identity.cluster_id;
    next.next_node_id = next.next_node_id.max(identity.node_id + 1);
    next.nodes = vec![NodeInfo {
        id: identity.node_id,
        addresses: addresses.clone(),
    }];
    next.raft = RaftPosition {
        applied_index: 1,
        applied_term: 1,
        voters: vec![identity.node_id],
        learners: Vec::new(),
    };
    for db in &mut next.databases {
        for rp in &mut db.retention_policies {
            for group in &mut rp.shard_groups {
                if group.owners.is_empty() {
                    group.owners = vec![identity.node_id];
                }
            }
        }
    }
    next
}

/// A cluster id unlikely to repeat: time, process id and the address of a stack value,
/// hashed (no randomness crate needed for a value that only has to differ).
fn new_cluster_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    hasher.write_u128(now);
    hasher.write_u32(std::process::id());
    hasher.finish().max(1)
}

fn refresh_address_book(state: &MetaData, book: &AddressBook) {
    let mut book = sluice_base::locks::write(book);
    for node in &state.nodes {
        book.insert(node.id, node.addresses.meta.clone());
    }
}

/// The raft thread's state.
struct RaftLoop {
    node: RawNode<MetaLog>,
    node_id: u64,
    meta: Arc<MetaStore>,
    status: Arc<GroupStatus>,
    sender: MetaSender,
    address_book: AddressBook,
    addresses: Arc<RwLock<NodeAddresses>>,
    /// proposals in the log, by id, waiting to be applied here
    pending: HashMap<u64, Pending>,
    /// proposals held while no leader is known
    held: Vec<Inbound>,
    leader_waits: Vec<(Instant, LeaderDelivery)>,
    next_proposal_id: u64,
    tick_interval: Duration,
    log_compact_entries: usize,
    seen_generation: u64,
    addresses_checked_at: Option<Instant>,
}

impl RaftLoop {
    fn run(mut self, inbox: Receiver<Inbound>) {
        let mut next_tick = Instant::now() + self.tick_interval;
        loop {
            let wait = next_tick.saturating_duration_since(Instant::now());
            match inbox.recv_timeout(wait) {
                Ok(Inbound::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                Ok(inbound) => self.take(inbound),
                Err(RecvTimeoutError::Timeout) => {}
            }
            // Take whatever else is queued before the next Ready: one fsync for all.
            while let Ok(inbound) = inbox.try_recv() {
                if matches!(inbound, Inbound::Stop) {
                    return self.stop();
                }
                self.take(inbound);
            }
            if Instant::now() >= next_tick {
                self.node.tick();
                next_tick += self.tick_interval;
                if next_tick < Instant::now() {
                    next_tick = Instant::now() + self.tick_interval;
                }
                self.housekeeping();
            }
            if let Err(error) = self.on_ready() {
                crate::log_error!("meta", "the meta group stops on this node: its log cannot be written";
                    error = error);
                break;
            }
            self.publish_status();
        }
        self.stop();
    }

    fn stop(self) {
        self.status.leader_id.store(0, Ordering::Release);
        for (_, deliver) in self.leader_waits {
            deliver(false);
        }
        self.sender.stop();
    }

    fn take(&mut self, inbound: Inbound) {
        match inbound {
            Inbound::Raft(message) => {
                let _ = self.node.step(message);
            }
            Inbound::LeaderWait { deadline, deliver } => {
                if self.node.raft.leader_id != 0 {
                    deliver(true);
                } else if self.leader_waits.len() >= META_LEADER_WAITS_MAX {
                    deliver(false);
                } else {
                    self.leader_waits.push((deadline, deliver));
                }
            }
            proposal @ (Inbound::Propose { .. } | Inbound::ConfChange { .. }) => {
                self.propose(proposal)
            }
            Inbound::Stop => {}
        }
    }

    fn propose(&mut self, proposal: Inbound) {
        if self.node.raft.leader_id == 0 {
            if self.held.len() < META_INBOX_DEPTH {
                self.held.push(proposal);
            } else {
                fail(proposal);
            }
            return;
        }
        let id = self.next_proposal_id;
        self.next_proposal_id += 1;
        let (proposal, reply, deadline) = match proposal {
            Inbound::Propose {
                data,
                reply,
                deadline,
            } => (Proposal::Command(data), reply, deadline),
            Inbound::ConfChange {
                change,
                reply,
                deadline,
            } => (Proposal::Membership(change), reply, deadline),
            _ => return,
        };
        match self.propose_with_id(id, proposal.clone()) {
            Ok(()) => {
                self.pending.insert(
                    id,
                    Pending {
                        reply,
                        deadline,
                        proposal,
                    },
                );
            }
            Err(error) => {
                let _ = reply.try_send(Err(MetaError::Unavailable(format!(
                    "meta proposal dropped: {error}"
                ))));
            }
        }
    }

    fn propose_with_id(&mut self, id: u64, proposal: Proposal) -> raft::Result<()> {
        let mut context = self.node_id.to_le_bytes().to_vec();
        context.extend_from_slice(&id.to_le_bytes());
        match proposal {
            Proposal::Command(data) => self.node.propose(context, data),
            Proposal::Membership(change) => self.node.propose_conf_change(context, change),
        }
    }

    /// Proposes again (same ids) what is still pending, for a new leader. Every command is
    /// declarative (create if missing, drop if present, set to a value), so one applied
    /// twice changes nothing the first did not; the proposer gets the first answer.
    fn propose_pending_again(&mut self) {
        let mut ids: Vec<u64> = self.pending.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            let Some(proposal) = self.pending.get(&id).map(|p| p.proposal.clone()) else {
                continue;
            };
            let _ = self.propose_with_id(id, proposal);
        }
    }

    /// Once a tick: expire waits, retry held proposals, keep the address book and this
    /// node's record current, compact the log.
    fn housekeeping(&mut self) {
        let now = Instant::now();
        let leader_known = self.node.raft.leader_id != 0;
        let waits = std::mem::take(&mut self.leader_waits);
        for (deadline, deliver) in waits {
            if leader_known {
                deliver(true);
            } else if now >= deadline {
                deliver(false);
            } else {
                self.leader_waits.push((deadline, deliver));
            }
        }
        self.pending
            .retain(|_, pending| pending.deadline + Duration::from_secs(1) > now);
        let held = std::mem::take(&mut self.held);
        for proposal in held {
            let expired = match &proposal {
                Inbound::Propose { deadline, .. } | Inbound::ConfChange { deadline, .. } => {
                    now >= *deadline
                }
                _ => true,
            };
            if expired {
                fail(proposal);
            } else {
                self.propose(proposal);
            }
        }
        let generation = self.meta.generation();
        if generation != self.seen_generation {
            self.seen_generation = generation;
            refresh_address_book(&self.meta.snapshot(), &self.address_book);
        }
        self.keep_own_record_current(now);
        self.maybe_compact();
    }

    /// Proposes this node's addresses when its record differs (it restarted on other
    /// ports), at most once per second, without waiting.
    fn keep_own_record_current(&mut self, now: Instant) {
        if self.node.raft.leader_id == 0
            || self
                .addresses_checked_at
                .is_some_and(|at| now.duration_since(at) < Duration::from_secs(1))
        {
            return;
        }
        self.addresses_checked_at = Some(now);
        let state = self.meta.snapshot();
        let Some(record) = state.node(self.node_id) else {
            return;
        };
        let addresses = sluice_base::locks::read(&self.addresses).clone();
        if record.addresses == addresses {
            return;
        }
        let command = MetaCommand::UpdateNode {
            id: self.node_id,
            addresses,
        };
        let (reply, _) = crossbeam::channel::bounded(1);
        self.propose(Inbound::Propose {
            data: command.encode(),
            reply,
            deadline: now + Duration::from_secs(5),
        });
    }

    fn maybe_compact(&mut self) {
        let log = self.node.store();
        if log.len() <= self.log_compact_entries {
            return;
        }
        let upto = self.meta.persisted_applied_index();
        if upto <= log.snapshot_index() {
            return;
        }
        if let Err(error) = self.node.mut_store().compact_to(upto) {
            crate::log_warn!("meta", "raft log compaction failed"; error = error);
        }
    }

    fn publish_status(&mut self) {
        let leader = match self.node.raft.state {
            StateRole::Leader => self.node_id,
            _ => self.node.raft.leader_id,
        };
        let previous = self.status.leader_id.swap(leader, Ordering::AcqRel);
        if previous != leader {
            self.meta.set_leader(leader);
            crate::log_info!("meta", "meta leader changed"; leader = leader, node = self.node_id);
            if leader != 0 {
                for (_, deliver) in std::mem::take(&mut self.leader_waits) {
                    deliver(true);
                }
                if previous != 0 || leader != self.node_id {
                    self.propose_pending_again();
                }
                let held = std::mem::take(&mut self.held);
                for proposal in held {
                    self.propose(proposal);
                }
            }
        }
    }

    fn send(&self, messages: Vec<Message>) {
        for message in messages {
            self.sender.send(message);
        }
    }

    fn on_ready(&mut self) -> Result<(), String> {
        if !self.node.has_ready() {
            return Ok(());
        }
        let mut ready = self.node.ready();
        if !ready.messages().is_empty() {
            self.send(ready.take_messages());
        }
        if !ready.snapshot().is_empty() {
            let snapshot = ready.snapshot().clone();
            let mut state = crate::meta::decode_state(snapshot.get_data())
                .map_err(|e| format!("meta snapshot from the leader: {e}"))?;
            let metadata = snapshot.get_metadata();
            state.raft.applied_index = metadata.index;
            state.raft.applied_term = metadata.term;
            state.raft.voters = metadata.get_conf_state().voters.clone();
            state.raft.learners = metadata.get_conf_state().learners.clone();
            self.meta
                .install_state(state)
                .map_err(|e| format!("installing a meta snapshot: {e}"))?;
            self.node.mut_store().apply_snapshot(&snapshot)?;
            crate::log_info!("meta", "installed a meta snapshot"; index = metadata.index);
        }
        let committed = ready.take_committed_entries();
        self.apply(committed)?;
        if !ready.entries().is_empty() {
            let entries = ready.entries().clone();
            self.node.mut_store().append(&entries)?;
        }
        if let Some(hard_state) = ready.hs() {
            let hard_state = hard_state.clone();
            self.node.mut_store().set_hard_state(&hard_state)?;
        }
        if !ready.persisted_messages().is_empty() {
            self.send(ready.take_persisted_messages());
        }
        let mut light = self.node.advance(ready);
        if let Some(commit) = light.commit_index() {
            self.node.mut_store().set_commit(commit);
        }
        self.send(light.take_messages());
        let committed = light.take_committed_entries();
        self.apply(committed)?;
        self.node.advance_apply();
        Ok(())
    }

    fn apply(&mut self, entries: Vec<Entry>) -> Result<(), String> {
        for entry in entries {
            let result = match entry.get_entry_type() {
                EntryType::EntryNormal if entry.get_data().is_empty() => {
                    self.meta.apply_committed(entry.index, entry.term, None)
                }
                EntryType::EntryNormal => match MetaCommand::decode(entry.get_data()) {
                    Ok(command) => {
                        self.meta
                            .apply_committed(entry.index, entry.term, Some(&command))
                    }
                    Err(error) => {
                        crate::log_error!("meta", "a meta log entry does not decode; skipped";
                            index = entry.index, error = error);
                        self.meta.apply_committed(entry.index, entry.term, None)
                    }
                },
                EntryType::EntryConfChange => self.apply_conf_change(&entry)?,
                EntryType::EntryConfChangeV2 => {
                    self.meta.apply_committed(entry.index, entry.term, None)
                }
            };
            self.answer(&entry, result);
        }
        Ok(())
    }

    fn apply_conf_change(
        &mut self,
        entry: &Entry,
    ) -> Result<Result<MetaApplied, MetaError>, String> {
        let change = ConfChange::parse_from_bytes(entry.get_data())
            .map_err(|e| format!("meta conf change does not decode: {e}"))?;
        let conf_state = self
            .node
            .apply_conf_change(&change)
            .map_err(|e| format!("meta conf change: {e}"))?;
        self.node.mut_store().set_conf_state(conf_state.clone());
        let result = self.meta.apply_committed(entry.index, entry.term, None);
        self.meta
            .set_voters(conf_state.voters.clone(), conf_state.learners.clone());
        crate::log_info!("meta", "meta membership changed"; voters = format!("{:?}", conf_state.voters));
        Ok(result)
    }

    fn answer(&mut self, entry: &Entry, result: Result<MetaApplied, MetaError>) {
        let context = entry.get_context();
        if context.len() != 16 {
            return;
        }
        let mut word = [0u8; 8];
        word.copy_from_slice(&context[..8]);
        if u64::from_le_bytes(word) != self.node_id {
            return;
        }
        word.copy_from_slice(&context[8..]);
        if let Some(pending) = self.pending.remove(&u64::from_le_bytes(word)) {
            let _ = pending.reply.try_send(result);
        }
    }
}

fn fail(proposal: Inbound) {
    match proposal {
        Inbound::Propose { reply, .. } | Inbound::ConfChange { reply, .. } => {
            let _ = reply.try_send(Err(MetaError::Unavailable(NO_LEADER_TIMEOUT.into())));
        }
        Inbound::LeaderWait { deliver, .. } => deliver(false),
        _ => {}
    }
}

impl crate::http::handlers::LeaderWait for MetaGroup {
    fn when_leader_known(&self, deadline: Instant, deliver: Box<dyn FnOnce(bool) + Send>) {
        MetaGroup::when_leader_known(self, deadline, deliver);
    }
}
