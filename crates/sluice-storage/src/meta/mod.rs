//! The meta store: databases, their retention policies, continuous queries and
//! subscriptions, users and their privileges, persisted atomically.
//!
//! Owns `<meta dir>/meta.db`. Readers take a cheap snapshot (`Arc<MetaData>`); writers are
//! serialised by one mutex, build a new snapshot, persist it (write temp file, fsync, rename,
//! fsync directory) and only then publish it, so what any reader sees is on disk.
//!
//! File format (little-endian):
//! ```text
//! magic "SLUICEMT" | version u32 = 1 | body_len u32 | crc32(body) u32 | body
//! body: next_database_id u64 | next_shard_group_id u64 | next_shard_id u64
//!       | database_count u32 | database*
//! database: id u64 | name (u32 len + bytes) | default_rp (u32 len + bytes) | rp_count u32 | rp*
//! rp: name (u32 len + bytes) | duration_ns i64 (0 = infinite) | shard_group_duration_ns i64
//!     | replication u32 | shard_group_count u32 | shard_group*
//! shard_group: id u64 | start_ns i64 | end_ns i64 | shard_id u64
//! version 3 adds, after the databases:
//!       user_count u32 | user*
//! user: name (u32 len + bytes) | password_hash (u32 len + bytes) | admin u8 (0/1)
//!       | privilege_count u32 | (database (u32 len + bytes) | privilege u8 (0 none,
//!       1 read, 2 write, 3 all))*
//! version 4 adds, after the users, for each database in the order above:
//!       cq_count u32 | (name (u32 len + bytes) | query (u32 len + bytes))*
//! version 5 adds, after the continuous queries, for each database in the order above:
//!       subscription_count u32 | subscription*
//! subscription: name (u32 len + bytes) | retention_policy (u32 len + bytes)
//!       | mode u8 (0 ANY, 1 ALL) | destination_count u32 | (destination (u32 len + bytes))*
//! version 6 adds, after the subscriptions, the cluster part:
//!       cluster_id u64 | applied_index u64 | applied_term u64
//!       | voter_count u32 | voter u64* | learner_count u32 | learner u64*
//!       | next_node_id u64 | node_count u32
//!       | (id u64 | meta_address | http_address | data_address (u32 len + bytes each))*
//!       | for each shard group in the order above: owner_count u32 | owner u64*
//! ```
//! Every mutation is a [`MetaCommand`] applied by [`command::apply`]: directly (a store
//! without replicator, as a single node was before clustering), or, once the server
//! installed a [`MetaReplicator`], through the replicated log, each node applying the
//! committed commands in log order ([`MetaStore::apply_committed`]). `meta.db` is then the
//! applied state at `applied_index`, which is also what a Raft snapshot carries.
//! Version 1 files (before shard groups) are read as having none; version 1 and 2 files
//! (before users) as having no user; versions 1 to 3 (before continuous queries) as having
//! no continuous query; versions 1 to 4 as having no subscription; versions 1 to 5 as never
//! clustered (cluster id 0, no nodes, shard groups without owners). The store never hashes or checks a password: it keeps
//! the hash it is given (the query layer hashes with bcrypt).
//! Database ids are never reused: WAL records carry the id, so the points of a dropped
//! database are recognised and skipped even if a database of the same name is created again.

pub mod command;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

pub use command::{apply, MetaApplied, MetaCommand, MetaValue, NodeAddresses, PrivilegeChange};

use sluice_base::fsio::{FileSystem, OsFileSystem};
use sluice_model::bytes::{put_bytes_u32, Reader};

const MAGIC: &[u8; 8] = b"SLUICEMT";
const FORMAT_VERSION: u32 = 6;
const FORMAT_VERSION_WITHOUT_CLUSTER: u32 = 5;
const FORMAT_VERSION_WITHOUT_SUBSCRIPTIONS: u32 = 4;
const FORMAT_VERSION_WITHOUT_CONTINUOUS_QUERIES: u32 = 3;
const FORMAT_VERSION_WITHOUT_USERS: u32 = 2;
const FORMAT_VERSION_WITHOUT_SHARD_GROUPS: u32 = 1;
/// InfluxDB's text when a user does not exist.
pub const USER_NOT_FOUND: &str = "user not found";
/// InfluxDB's text when a user of that name exists (with another password or admin flag).
pub const USER_EXISTS: &str = "user already exists";
/// InfluxDB's text when a subscription of that name exists on the retention policy.
pub const SUBSCRIPTION_EXISTS: &str = "subscription already exists";
/// InfluxDB's text when DROP SUBSCRIPTION names none.
pub const SUBSCRIPTION_NOT_FOUND: &str = "subscription not found";
/// InfluxDB's text when a continuous query of that name exists with another query.
pub const CONTINUOUS_QUERY_EXISTS: &str = "continuous query already exists";
const FILE_NAME: &str = "meta.db";
/// Name of the retention policy every new database gets unless told otherwise.
pub const DEFAULT_RETENTION_POLICY: &str = "autogen";
const NANOS_PER_HOUR: i64 = 3_600_000_000_000;

/// A retention policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// name
    pub name: String,
    /// how long data is kept, ns; 0 = forever
    pub duration_ns: i64,
    /// span of one shard group, ns
    pub shard_group_duration_ns: i64,
    /// replication factor (always 1 on a single node, but kept as given)
    pub replication: u32,
    /// shard groups holding data, by start time
    pub shard_groups: Vec<ShardGroup>,
}

impl RetentionPolicy {
    /// The shard group whose time range holds `timestamp_ns`.
    pub fn shard_group_at(&self, timestamp_ns: i64) -> Option<&ShardGroup> {
        self.shard_groups
            .iter()
            .find(|group| group.start_ns <= timestamp_ns && timestamp_ns < group.end_ns)
    }

    /// The same policy's settings, without shard groups (for comparing policies).
    fn settings_equal(&self, other: &RetentionPolicy) -> bool {
        self.name == other.name
            && self.duration_ns == other.duration_ns
            && self.shard_group_duration_ns == other.shard_group_duration_ns
            && self.replication == other.replication
    }
}

/// A shard group: the span of time one shard of a retention policy holds (one shard per
/// group; its copies live on `owners`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardGroup {
    /// never-reused id
    pub id: u64,
    /// first nanosecond held
    pub start_ns: i64,
    /// first nanosecond no longer held
    pub end_ns: i64,
    /// the group's shard (its data directory is named by this id)
    pub shard_id: u64,
    /// ids of the nodes holding a copy of the shard, `REPLICATION` of them placed in turn
    /// over the nodes (empty in a store no replicated group ever ran over)
    pub owners: Vec<u64>,
}

/// Nanoseconds from 0001-01-01T00:00:00Z (Go's zero time) to the Unix epoch. InfluxDB
/// truncates shard group starts relative to Go's zero time, not the Unix epoch, so weekly
/// groups start on Mondays; Sluice places its groups the same way.
const GO_ZERO_TIME_TO_UNIX_EPOCH_NS: i128 = 62_135_596_800 * 1_000_000_000;

/// The `[start, end)` of the shard group of `duration_ns` that holds `timestamp_ns`.
pub fn shard_group_bounds(timestamp_ns: i64, duration_ns: i64) -> (i64, i64) {
    let duration = i128::from(duration_ns.max(1));
    let since_zero = i128::from(timestamp_ns) + GO_ZERO_TIME_TO_UNIX_EPOCH_NS;
    let start = i128::from(timestamp_ns) - since_zero.rem_euclid(duration);
    let end = start + duration;
    let clamp = |value: i128| value.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
    (clamp(start), clamp(end))
}

/// A database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Database {
    /// never-reused id
    pub id: u64,
    /// name
    pub name: String,
    /// name of the default retention policy
    pub default_retention_policy: String,
    /// retention policies in creation order
    pub retention_policies: Vec<RetentionPolicy>,
    /// continuous queries in creation order (SHOW CONTINUOUS QUERIES lists them so)
    pub continuous_queries: Vec<ContinuousQueryInfo>,
    /// subscriptions in creation order (SHOW SUBSCRIPTIONS lists them so)
    pub subscriptions: Vec<SubscriptionInfo>,
}

/// A subscription: where the points written to one retention policy are copied to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscriptionInfo {
    /// name, unique within its retention policy
    pub name: String,
    /// the retention policy whose writes are copied
    pub retention_policy: String,
    /// `ALL` (every destination gets every write) or `ANY` (one each, in turn)
    pub mode_all: bool,
    /// destination URLs as given (`udp://host:port`, `http://host:port`)
    pub destinations: Vec<String>,
}

/// A continuous query as stored: its name and the whole `CREATE CONTINUOUS QUERY` text
/// (sources and target qualified by database and retention policy), as InfluxDB keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContinuousQueryInfo {
    /// name, unique within its database
    pub name: String,
    /// the printed `CREATE CONTINUOUS QUERY ... END` statement
    pub query: String,
}

impl Database {
    /// The retention policy called `name`, or the default one when `name` is empty.
    pub fn retention_policy(&self, name: &str) -> Option<&RetentionPolicy> {
        let wanted = if name.is_empty() {
            &self.default_retention_policy
        } else {
            name
        };
        self.retention_policies.iter().find(|rp| rp.name == *wanted)
    }
}

/// A user's privilege on one database (InfluxQL's privilege bits: READ = 1, WRITE = 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserPrivilege {
    /// `NO PRIVILEGES` (what REVOKE leaves)
    None,
    /// `READ`
    Read,
    /// `WRITE`
    Write,
    /// `ALL PRIVILEGES`
    All,
}

impl UserPrivilege {
    /// The privilege's bits (InfluxQL's numbering, also the file encoding).
    pub fn bits(self) -> u8 {
        match self {
            UserPrivilege::None => 0,
            UserPrivilege::Read => 1,
            UserPrivilege::Write => 2,
            UserPrivilege::All => 3,
        }
    }

    /// The privilege of `bits` (only the two low bits count).
    pub fn from_bits(bits: u8) -> UserPrivilege {
        match bits & 3 {
            0 => UserPrivilege::None,
            1 => UserPrivilege::Read,
            2 => UserPrivilege::Write,
            _ => UserPrivilege::All,
        }
    }

    /// Whether this privilege includes `wanted` (ALL includes READ and WRITE).
    pub fn includes(self, wanted: UserPrivilege) -> bool {
        self.bits() & wanted.bits() == wanted.bits()
    }
}

/// A user: its bcrypt password hash, admin flag and privileges per database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserInfo {
    /// name
    pub name: String,
    /// bcrypt hash of the password (`$2a$...`); never the password
    pub password_hash: String,
    /// `WITH ALL PRIVILEGES` / `GRANT ALL PRIVILEGES TO`
    pub admin: bool,
    /// database → privilege, in database name order; REVOKE leaves `None` entries (as
    /// InfluxDB lists them)
    pub privileges: Vec<(String, UserPrivilege)>,
}

impl UserInfo {
    /// The user's privilege on `database` (`None` when never granted).
    pub fn privilege(&self, database: &str) -> UserPrivilege {
        self.privileges
            .iter()
            .find(|(name, _)| name == database)
            .map(|(_, privilege)| *privilege)
            .unwrap_or(UserPrivilege::None)
    }

    /// Whether the user may use `wanted` on `database` (admins may do anything).
    pub fn may(&self, wanted: UserPrivilege, database: &str) -> bool {
        self.admin || self.privilege(database).includes(wanted)
    }
}

/// One consistent view of all metadata.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetaData {
    /// id the next created database gets
    pub next_database_id: u64,
    /// id the next shard group gets
    pub next_shard_group_id: u64,
    /// id the next shard gets
    pub next_shard_id: u64,
    /// databases in creation order (InfluxDB lists them so)
    pub databases: Vec<Database>,
    /// users in creation order (SHOW USERS lists them so)
    pub users: Vec<UserInfo>,
    /// the cluster this state belongs to (0: never part of a replicated group); a node
    /// refuses peers of another cluster
    pub cluster_id: u64,
    /// id the next node that joins gets
    pub next_node_id: u64,
    /// the cluster's nodes, by id (each is a meta and a data node)
    pub nodes: Vec<NodeInfo>,
    /// where in the replicated log this state is
    pub raft: RaftPosition,
}

/// A member of the cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeInfo {
    /// never-reused id, assigned through the log
    pub id: u64,
    /// where it is reached
    pub addresses: NodeAddresses,
}

/// The replicated log's position this state reflects: what a Raft snapshot of it says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RaftPosition {
    /// index of the last applied log entry
    pub applied_index: u64,
    /// its term
    pub applied_term: u64,
    /// voting members after that entry
    pub voters: Vec<u64>,
    /// non-voting members after that entry
    pub learners: Vec<u64>,
}

impl MetaData {
    /// The state of a new store: ids start at 1, nothing else.
    pub fn fresh() -> MetaData {
        MetaData {
            next_database_id: 1,
            next_shard_group_id: 1,
            next_shard_id: 1,
            next_node_id: 1,
            ..MetaData::default()
        }
    }

    /// The node with id `id`.
    pub fn node(&self, id: u64) -> Option<&NodeInfo> {
        self.nodes.iter().find(|node| node.id == id)
    }

    /// The database called `name`.
    pub fn database(&self, name: &str) -> Option<&Database> {
        self.databases.iter().find(|db| db.name == name)
    }

    /// The database with id `id`.
    pub fn database_by_id(&self, id: u64) -> Option<&Database> {
        self.databases.iter().find(|db| db.id == id)
    }

    /// The user called `name`.
    pub fn user(&self, name: &str) -> Option<&UserInfo> {
        self.users.iter().find(|user| user.name == name)
    }

    /// Whether any user is an admin (with auth on, credentials are required only then).
    pub fn admin_user_exists(&self) -> bool {
        self.users.iter().any(|user| user.admin)
    }

    fn user_mut(&mut self, name: &str) -> Result<&mut UserInfo, MetaError> {
        self.users
            .iter_mut()
            .find(|user| user.name == name)
            .ok_or(MetaError::Conflict(USER_NOT_FOUND))
    }
}

/// Options of `CREATE DATABASE ... WITH ...`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetentionPolicySpec {
    /// `NAME`
    pub name: Option<String>,
    /// `DURATION`, ns (0 = INF)
    pub duration_ns: Option<i64>,
    /// `SHARD DURATION`, ns
    pub shard_group_duration_ns: Option<i64>,
    /// `REPLICATION`
    pub replication: Option<u32>,
}

/// Why a meta operation failed.
#[derive(Debug)]
pub enum MetaError {
    /// the store could not be read or written
    Io(std::io::Error),
    /// the file exists but is not a valid meta store
    Corrupt(String),
    /// InfluxDB's client errors, with its texts
    Conflict(&'static str),
    /// InfluxDB's client errors that name something (`database not found: x`)
    Rejected(String),
    /// the replicated meta group could not take the change (no leader within the bound)
    Unavailable(String),
}

/// Where a store hands its mutations when it is one replica of a group: `replicate`
/// returns once the command is committed and applied here (through
/// [`MetaStore::apply_committed`]), with the apply's answer, or fails after a bounded wait.
pub trait MetaReplicator: Send + Sync {
    /// Proposes `command` and waits for it to be applied on this node.
    fn replicate(&self, command: &MetaCommand) -> Result<MetaApplied, MetaError>;
}

impl std::fmt::Display for MetaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MetaError::Io(e) => write!(f, "meta store I/O: {e}"),
            MetaError::Corrupt(why) => write!(f, "meta store corrupt: {why}"),
            MetaError::Conflict(text) => f.write_str(text),
            MetaError::Rejected(text) => f.write_str(text),
            MetaError::Unavailable(text) => f.write_str(text),
        }
    }
}

impl From<std::io::Error> for MetaError {
    fn from(error: std::io::Error) -> Self {
        MetaError::Io(error)
    }
}

/// InfluxDB's shortest retention duration (one hour); also the shortest shard duration.
pub const MIN_RETENTION_DURATION_NS: i64 = NANOS_PER_HOUR;
/// InfluxDB's text for a retention duration below [`MIN_RETENTION_DURATION_NS`].
pub const DURATION_TOO_LOW: &str = "retention policy duration must be at least 1h0m0s";
/// InfluxDB's text for a retention duration shorter than its shard duration.
pub const INCOMPATIBLE_DURATIONS: &str =
    "retention policy duration must be greater than the shard duration";

/// Options of `ALTER RETENTION POLICY`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetentionPolicyChange {
    /// `DURATION`, ns (0 = INF)
    pub duration_ns: Option<i64>,
    /// `REPLICATION`
    pub replication: Option<u32>,
    /// `SHARD DURATION`, ns
    pub shard_group_duration_ns: Option<i64>,
    /// `DEFAULT`
    pub make_default: bool,
}

/// The shard duration InfluxDB stores for a requested one: derived from the retention
/// duration when 0, at least an hour otherwise.
pub fn normalised_shard_duration_ns(shard_ns: i64, retention_duration_ns: i64) -> i64 {
    if shard_ns == 0 {
        default_shard_group_duration_ns(retention_duration_ns)
    } else {
        shard_ns.max(MIN_RETENTION_DURATION_NS)
    }
}

/// InfluxDB's checks of a new policy's durations (shard duration already normalised).
fn check_durations(duration_ns: i64, shard_ns: i64) -> Result<(), MetaError> {
    if duration_ns != 0 && duration_ns < MIN_RETENTION_DURATION_NS {
        return Err(MetaError::Conflict(DURATION_TOO_LOW));
    }
    if duration_ns > 0 && duration_ns < shard_ns {
        return Err(MetaError::Conflict(INCOMPATIBLE_DURATIONS));
    }
    Ok(())
}

/// The shard group duration InfluxDB derives from a retention duration.
pub fn default_shard_group_duration_ns(retention_duration_ns: i64) -> i64 {
    const SIX_MONTHS_NS: i64 = 180 * 24 * NANOS_PER_HOUR;
    const TWO_DAYS_NS: i64 = 48 * NANOS_PER_HOUR;
    if retention_duration_ns == 0 || retention_duration_ns > SIX_MONTHS_NS {
        7 * 24 * NANOS_PER_HOUR
    } else if retention_duration_ns >= TWO_DAYS_NS {
        24 * NANOS_PER_HOUR
    } else {
        NANOS_PER_HOUR
    }
}

/// The persisted, shared meta store.
pub struct MetaStore {
    /// `None` for a read-only store, which refuses every change
    directory: Option<PathBuf>,
    /// where `meta.db` is replaced (the real disk, or a simulated one)
    file_system: Arc<dyn FileSystem>,
    current: RwLock<Arc<MetaData>>,
    writer: Mutex<()>,
    /// bumped after each published change: a reader keeping something derived from a
    /// snapshot (the subscriber's routes) rebuilds it when this moved
    generation: std::sync::atomic::AtomicU64,
    /// the published snapshot holds shard groups `meta.db` does not (their persisting
    /// failed): [`MetaStore::persist_pending`] must succeed before the WAL that holds their
    /// points may be deleted
    unpersisted: std::sync::atomic::AtomicBool,
    /// the log index whose state `meta.db` holds
    persisted_applied_index: std::sync::atomic::AtomicU64,
    /// set when the store is a replica of a Raft group: mutations go through it
    replicator: OnceLock<Arc<dyn MetaReplicator>>,
    /// the group's leader as this node last knew it (0: none); not replicated state
    leader_id: std::sync::atomic::AtomicU64,
}

impl MetaStore {
    /// Opens (or creates) the store in `directory`.
    pub fn open(directory: &Path) -> Result<MetaStore, MetaError> {
        MetaStore::open_with(directory, Arc::new(OsFileSystem))
    }

    /// [`MetaStore::open`] replacing its file through `file_system`.
    pub fn open_with(
        directory: &Path,
        file_system: Arc<dyn FileSystem>,
    ) -> Result<MetaStore, MetaError> {
        sluice_base::fsio::create_directory_durably(file_system.as_ref(), directory)?;
        let data = load(&directory.join(FILE_NAME))?.unwrap_or_else(MetaData::fresh);
        let applied_index = data.raft.applied_index;
        Ok(MetaStore {
            directory: Some(directory.to_path_buf()),
            file_system,
            current: RwLock::new(Arc::new(data)),
            writer: Mutex::new(()),
            generation: std::sync::atomic::AtomicU64::new(0),
            unpersisted: std::sync::atomic::AtomicBool::new(false),
            persisted_applied_index: std::sync::atomic::AtomicU64::new(applied_index),
            replicator: OnceLock::new(),
            leader_id: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// A store over `data` that refuses every change (for `sluice export`).
    pub fn frozen(data: MetaData) -> MetaStore {
        MetaStore {
            directory: None,
            file_system: Arc::new(OsFileSystem),
            current: RwLock::new(Arc::new(data)),
            writer: Mutex::new(()),
            generation: std::sync::atomic::AtomicU64::new(0),
            unpersisted: std::sync::atomic::AtomicBool::new(false),
            persisted_applied_index: std::sync::atomic::AtomicU64::new(0),
            replicator: OnceLock::new(),
            leader_id: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// A number that changes after every published change (a cheap "has anything changed
    /// since" for readers that derive state from snapshots).
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// The file of the store in `directory`; it exists once a database was ever created.
    pub fn file_path(directory: &Path) -> PathBuf {
        directory.join(FILE_NAME)
    }

    /// Reads the store in `directory` without creating anything (for `sluice export`).
    pub fn read_only(directory: &Path) -> Result<MetaData, MetaError> {
        Ok(load(&directory.join(FILE_NAME))?.unwrap_or_default())
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<MetaData> {
        Arc::clone(&sluice_base::locks::read(&self.current))
    }

    /// Creates a database (idempotent when the options match), as `CREATE DATABASE`.
    pub fn create_database(&self, name: &str, spec: &RetentionPolicySpec) -> Result<(), MetaError> {
        self.execute(MetaCommand::CreateDatabase {
            name: name.to_string(),
            spec: spec.clone(),
        })
        .map(drop)
    }

    /// Drops a database; dropping a missing one is not an error (as InfluxDB).
    pub fn drop_database(&self, name: &str) -> Result<(), MetaError> {
        self.execute(MetaCommand::DropDatabase {
            name: name.to_string(),
        })
        .map(drop)
    }

    /// Creates a retention policy, as `CREATE RETENTION POLICY` (InfluxDB's checks and
    /// texts). An identical existing policy is not an error; `make_default` on an existing
    /// non-default one is.
    pub fn create_retention_policy(
        &self,
        database: &str,
        policy: RetentionPolicy,
        make_default: bool,
    ) -> Result<(), MetaError> {
        // Checked before anything is proposed (the apply checks again, for the log's sake).
        check_durations(policy.duration_ns, policy.shard_group_duration_ns)?;
        self.execute(MetaCommand::CreateRetentionPolicy {
            database: database.to_string(),
            policy,
            make_default,
        })
        .map(drop)
    }

    /// Changes a retention policy, as `ALTER RETENTION POLICY`; a shard group duration
    /// below an hour becomes an hour.
    pub fn alter_retention_policy(
        &self,
        database: &str,
        name: &str,
        change: &RetentionPolicyChange,
    ) -> Result<(), MetaError> {
        self.execute(MetaCommand::AlterRetentionPolicy {
            database: database.to_string(),
            name: name.to_string(),
            change: change.clone(),
        })
        .map(drop)
    }

    /// Drops a retention policy, as `DROP RETENTION POLICY` (a missing database or policy is
    /// not an error). Returns the shard ids it held, for the caller to delete.
    pub fn drop_retention_policy(&self, database: &str, name: &str) -> Result<Vec<u64>, MetaError> {
        let applied = self.execute(MetaCommand::DropRetentionPolicy {
            database: database.to_string(),
            name: name.to_string(),
        })?;
        Ok(match applied.value {
            MetaValue::ShardIds(ids) => ids,
            _ => Vec::new(),
        })
    }

    /// Removes the shard group holding shard `shard_id` (DROP SHARD; one shard per group).
    /// Returns whether a group held it.
    pub fn drop_shard(&self, shard_id: u64) -> Result<bool, MetaError> {
        Ok(self.execute(MetaCommand::DropShard { shard_id })?.changed)
    }

    /// The shard group of `database_id`/`retention_policy` holding `timestamp_ns`, created
    /// (and persisted) if there is none. `None` when the database or policy no longer exists.
    pub fn shard_group_for(
        &self,
        database_id: u64,
        retention_policy: &str,
        timestamp_ns: i64,
    ) -> Result<Option<ShardGroup>, MetaError> {
        let find = |data: &MetaData| {
            data.database_by_id(database_id)
                .and_then(|db| db.retention_policy(retention_policy))
                .map(|rp| rp.shard_group_at(timestamp_ns).cloned())
        };
        match find(&self.snapshot()) {
            None => return Ok(None),
            Some(Some(group)) => return Ok(Some(group)),
            Some(None) => {}
        }
        let command = MetaCommand::CreateShardGroup {
            database_id,
            retention_policy: retention_policy.to_string(),
            timestamp_ns,
        };
        let applied = match self.replicator.get() {
            Some(replicator) => replicator.replicate(&command)?,
            None => self.apply_local(&command, true)?,
        };
        Ok(match applied.value {
            MetaValue::ShardGroup(group) => group,
            _ => None,
        })
    }

    /// Removes shard groups (retention enforcement, DROP SHARD). Missing ones are ignored.
    pub fn delete_shard_groups(
        &self,
        database_id: u64,
        retention_policy: &str,
        shard_group_ids: &[u64],
    ) -> Result<(), MetaError> {
        self.execute(MetaCommand::DeleteShardGroups {
            database_id,
            retention_policy: retention_policy.to_string(),
            shard_group_ids: shard_group_ids.to_vec(),
        })
        .map(drop)
    }

    /// Stores a continuous query (InfluxDB's rules: a missing database is `database not
    /// found: x`; an existing name is not an error when its query text is the same, ignoring
    /// case, and [`CONTINUOUS_QUERY_EXISTS`] otherwise).
    pub fn create_continuous_query(
        &self,
        database: &str,
        name: &str,
        query: &str,
    ) -> Result<(), MetaError> {
        self.execute(MetaCommand::CreateContinuousQuery {
            database: database.to_string(),
            name: name.to_string(),
            query: query.to_string(),
        })
        .map(drop)
    }

    /// Drops a continuous query; a missing one (or database) is not an error (as 1.6.7).
    pub fn drop_continuous_query(&self, database: &str, name: &str) -> Result<(), MetaError> {
        self.execute(MetaCommand::DropContinuousQuery {
            database: database.to_string(),
            name: name.to_string(),
        })
        .map(drop)
    }

    /// Stores a subscription (InfluxDB's rules and texts: the database, then the retention
    /// policy must exist; a name is unique within its retention policy).
    pub fn create_subscription(
        &self,
        database: &str,
        subscription: SubscriptionInfo,
    ) -> Result<(), MetaError> {
        self.execute(MetaCommand::CreateSubscription {
            database: database.to_string(),
            subscription,
        })
        .map(drop)
    }

    /// Drops a subscription ([`SUBSCRIPTION_NOT_FOUND`] when there is none; a missing
    /// database or retention policy is InfluxDB's `… not found: x`).
    pub fn drop_subscription(
        &self,
        database: &str,
        retention_policy: &str,
        name: &str,
    ) -> Result<(), MetaError> {
        self.execute(MetaCommand::DropSubscription {
            database: database.to_string(),
            retention_policy: retention_policy.to_string(),
            name: name.to_string(),
        })
        .map(drop)
    }

    /// Creates a user with an already hashed password. An existing user is
    /// [`USER_EXISTS`]: the caller decides beforehand whether the statement is a repeat
    /// (same password and admin flag), which is not an error.
    pub fn create_user(
        &self,
        name: &str,
        password_hash: &str,
        admin: bool,
    ) -> Result<(), MetaError> {
        self.execute(MetaCommand::CreateUser {
            name: name.to_string(),
            password_hash: password_hash.to_string(),
            admin,
        })
        .map(drop)
    }

    /// Drops a user ([`USER_NOT_FOUND`] when there is none).
    pub fn drop_user(&self, name: &str) -> Result<(), MetaError> {
        self.execute(MetaCommand::DropUser {
            name: name.to_string(),
        })
        .map(drop)
    }

    /// Replaces a user's password hash.
    pub fn set_password_hash(&self, name: &str, password_hash: &str) -> Result<(), MetaError> {
        self.execute(MetaCommand::SetPasswordHash {
            name: name.to_string(),
            password_hash: password_hash.to_string(),
        })
        .map(drop)
    }

    /// Makes a user an admin or not.
    pub fn set_admin(&self, name: &str, admin: bool) -> Result<(), MetaError> {
        self.execute(MetaCommand::SetAdmin {
            name: name.to_string(),
            admin,
        })
        .map(drop)
    }

    /// Changes a user's privilege on a database (the user is checked first, then the
    /// database, as InfluxDB does).
    pub fn set_privilege(
        &self,
        name: &str,
        database: &str,
        change: PrivilegeChange,
    ) -> Result<(), MetaError> {
        self.execute(MetaCommand::ChangePrivilege {
            user: name.to_string(),
            database: database.to_string(),
            change,
        })
        .map(drop)
    }

    /// Runs a membership command (join, address change, DROP SERVER) through the same path
    /// as every other mutation.
    pub fn change_membership(&self, command: MetaCommand) -> Result<MetaApplied, MetaError> {
        self.execute(command)
    }

    /// Writes `meta.db` if the published snapshot holds changes it does not (shard groups
    /// created while it could not be written). The snapshot thread calls it before it
    /// deletes WAL segments: their points' groups must be durable first.
    pub fn persist_pending(&self) -> Result<(), MetaError> {
        use std::sync::atomic::Ordering;
        if !self.unpersisted.load(Ordering::Acquire) {
            return Ok(());
        }
        let _serialised = sluice_base::locks::lock(&self.writer);
        let Some(directory) = &self.directory else {
            return Ok(());
        };
        let current = self.snapshot();
        persist(self.file_system.as_ref(), directory, &current)?;
        self.persisted_applied_index
            .store(current.raft.applied_index, Ordering::Release);
        self.unpersisted.store(false, Ordering::Release);
        Ok(())
    }

    /// Hands every later mutation to `replicator` (the server's Raft group) instead of
    /// applying it here; the replicator applies committed commands with
    /// [`MetaStore::apply_committed`]. Installed once, at start-up.
    pub fn install_replicator(&self, replicator: Arc<dyn MetaReplicator>) {
        if self.replicator.set(replicator).is_err() {
            panic!("BUG: a meta replicator installed twice");
        }
    }

    /// Records the meta group's leader as this node knows it (the raft thread calls it).
    pub fn set_leader(&self, node_id: u64) {
        self.leader_id
            .store(node_id, std::sync::atomic::Ordering::Release);
    }

    /// The meta group's leader as this node knows it (0: none, or not replicated).
    pub fn leader(&self) -> u64 {
        self.leader_id.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Whether mutations go through a replicator.
    pub fn is_replicated(&self) -> bool {
        self.replicator.get().is_some()
    }

    /// The highest log index whose state `meta.db` holds (the Raft log may be compacted up
    /// to it, never past it).
    pub fn persisted_applied_index(&self) -> u64 {
        self.persisted_applied_index
            .load(std::sync::atomic::Ordering::Acquire)
    }

    fn execute(&self, command: MetaCommand) -> Result<MetaApplied, MetaError> {
        match self.replicator.get() {
            Some(replicator) => replicator.replicate(&command),
            None => self.apply_local(&command, false),
        }
    }

    /// Applies `command` here (a store without a replicator): persisted and published when
    /// it changed something. With `publish_unpersisted` (a shard group a durable point
    /// needs), a failed write of `meta.db` still publishes the change (the point is in the
    /// WAL, which is kept until [`MetaStore::persist_pending`] succeeds).
    fn apply_local(
        &self,
        command: &MetaCommand,
        publish_unpersisted: bool,
    ) -> Result<MetaApplied, MetaError> {
        let _serialised = sluice_base::locks::lock(&self.writer);
        let mut next = (*self.snapshot()).clone();
        let applied = command::apply(&mut next, command)?;
        if !applied.changed {
            return Ok(applied);
        }
        let Some(directory) = &self.directory else {
            return Err(MetaError::Conflict("the meta store is read-only"));
        };
        match persist(self.file_system.as_ref(), directory, &next) {
            // Everything published is now in the file, held changes included.
            Ok(()) => self
                .unpersisted
                .store(false, std::sync::atomic::Ordering::Release),
            Err(error) if publish_unpersisted => {
                sluice_base::log_error!("meta", "cannot write meta.db; a new shard group is held in memory and the WAL kept until it can";
                    error = error);
                self.unpersisted
                    .store(true, std::sync::atomic::Ordering::Release);
            }
            Err(error) => {
                // A failed directory sync comes after the rename: the refused change may
                // be in place, and a restart would read it. Put back what is published.
                if persist(self.file_system.as_ref(), directory, &self.snapshot()).is_ok() {
                    self.unpersisted
                        .store(false, std::sync::atomic::Ordering::Release);
                }
                return Err(error);
            }
        }
        self.publish(next);
        Ok(applied)
    }

    /// Applies a command the replicated log committed at `index` (of `term`): every node
    /// applies the same commands in the same order. The applied position moves even when
    /// the command fails (a rejected command is still a log entry). A failed write of
    /// `meta.db` is logged and the change published anyway: the log still holds the entry
    /// (it is never compacted past [`MetaStore::persisted_applied_index`]), so a restart
    /// applies it again.
    pub fn apply_committed(
        &self,
        index: u64,
        term: u64,
        command: Option<&MetaCommand>,
    ) -> Result<MetaApplied, MetaError> {
        let _serialised = sluice_base::locks::lock(&self.writer);
        let current = self.snapshot();
        let mut next = (*current).clone();
        let result = match command {
            Some(command) => command::apply(&mut next, command),
            None => Ok(MetaApplied::default()),
        };
        let mut next = match result {
            Ok(_) => next,
            Err(_) => (*current).clone(),
        };
        next.raft.applied_index = index;
        next.raft.applied_term = term;
        let changed = matches!(&result, Ok(applied) if applied.changed);
        self.publish_replicated(next, changed);
        result
    }

    /// Replaces the whole state (a Raft snapshot from the leader, or the bootstrap of a new
    /// group), persisted before it is published.
    pub fn install_state(&self, data: MetaData) -> Result<(), MetaError> {
        let _serialised = sluice_base::locks::lock(&self.writer);
        let Some(directory) = &self.directory else {
            return Err(MetaError::Conflict("the meta store is read-only"));
        };
        persist(self.file_system.as_ref(), directory, &data)?;
        self.persisted_applied_index.store(
            data.raft.applied_index,
            std::sync::atomic::Ordering::Release,
        );
        self.publish(data);
        Ok(())
    }

    /// Records the group's membership as of the entry being applied.
    pub fn set_voters(&self, voters: Vec<u64>, learners: Vec<u64>) {
        let _serialised = sluice_base::locks::lock(&self.writer);
        let mut next = (*self.snapshot()).clone();
        next.raft.voters = voters;
        next.raft.learners = learners;
        self.publish_replicated(next, true);
    }

    /// Publishes `next` (called with the writer lock held), persisting it when `changed`.
    fn publish_replicated(&self, next: MetaData, changed: bool) {
        use std::sync::atomic::Ordering;
        if changed {
            if let Some(directory) = &self.directory {
                match persist(self.file_system.as_ref(), directory, &next) {
                    Ok(()) => {
                        self.persisted_applied_index
                            .store(next.raft.applied_index, Ordering::Release);
                        self.unpersisted.store(false, Ordering::Release);
                    }
                    Err(error) => {
                        sluice_base::log_error!("meta", "cannot write meta.db; the change is applied in memory and its log entry kept";
                            error = error);
                        self.unpersisted.store(true, Ordering::Release);
                    }
                }
            }
        }
        self.publish(next);
    }

    fn publish(&self, next: MetaData) {
        *sluice_base::locks::write(&self.current) = Arc::new(next);
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::Release);
    }
}

/// The bytes of `meta.db` for `data`: also the payload of a Raft snapshot of the meta group.
pub fn encode_state(data: &MetaData) -> Vec<u8> {
    encode(data)
}

/// The state a `meta.db` (or a Raft snapshot's payload) holds, or why it is refused.
pub fn decode_state(bytes: &[u8]) -> Result<MetaData, String> {
    decode(bytes)
}

/// The bytes of `meta.db` for `data`, as the store writes them (the fuzz target's round trip).
pub fn encode_for_fuzzing(data: &MetaData) -> Vec<u8> {
    encode(data)
}

/// What the store reads from a `meta.db` holding `bytes` (the fuzz target's entry point):
/// the metadata, or why the file is refused.
pub fn decode_for_fuzzing(bytes: &[u8]) -> Result<MetaData, String> {
    decode(bytes)
}

fn encode(data: &MetaData) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&data.next_database_id.to_le_bytes());
    body.extend_from_slice(&data.next_shard_group_id.to_le_bytes());
    body.extend_from_slice(&data.next_shard_id.to_le_bytes());
    body.extend_from_slice(&(data.databases.len() as u32).to_le_bytes());
    for db in &data.databases {
        body.extend_from_slice(&db.id.to_le_bytes());
        put_bytes_u32(&mut body, db.name.as_bytes());
        put_bytes_u32(&mut body, db.default_retention_policy.as_bytes());
        body.extend_from_slice(&(db.retention_policies.len() as u32).to_le_bytes());
        for rp in &db.retention_policies {
            put_bytes_u32(&mut body, rp.name.as_bytes());
            body.extend_from_slice(&rp.duration_ns.to_le_bytes());
            body.extend_from_slice(&rp.shard_group_duration_ns.to_le_bytes());
            body.extend_from_slice(&rp.replication.to_le_bytes());
            body.extend_from_slice(&(rp.shard_groups.len() as u32).to_le_bytes());
            for group in &rp.shard_groups {
                body.extend_from_slice(&group.id.to_le_bytes());
                body.extend_from_slice(&group.start_ns.to_le_bytes());
                body.extend_from_slice(&group.end_ns.to_le_bytes());
                body.extend_from_slice(&group.shard_id.to_le_bytes());
            }
        }
    }
    body.extend_from_slice(&(data.users.len() as u32).to_le_bytes());
    for user in &data.users {
        put_bytes_u32(&mut body, user.name.as_bytes());
        put_bytes_u32(&mut body, user.password_hash.as_bytes());
        body.push(u8::from(user.admin));
        body.extend_from_slice(&(user.privileges.len() as u32).to_le_bytes());
        for (database, privilege) in &user.privileges {
            put_bytes_u32(&mut body, database.as_bytes());
            body.push(privilege.bits());
        }
    }
    for db in &data.databases {
        body.extend_from_slice(&(db.continuous_queries.len() as u32).to_le_bytes());
        for cq in &db.continuous_queries {
            put_bytes_u32(&mut body, cq.name.as_bytes());
            put_bytes_u32(&mut body, cq.query.as_bytes());
        }
    }
    for db in &data.databases {
        body.extend_from_slice(&(db.subscriptions.len() as u32).to_le_bytes());
        for sub in &db.subscriptions {
            put_bytes_u32(&mut body, sub.name.as_bytes());
            put_bytes_u32(&mut body, sub.retention_policy.as_bytes());
            body.push(u8::from(sub.mode_all));
            body.extend_from_slice(&(sub.destinations.len() as u32).to_le_bytes());
            for destination in &sub.destinations {
                put_bytes_u32(&mut body, destination.as_bytes());
            }
        }
    }
    encode_cluster(&mut body, data);
    let mut file = Vec::with_capacity(body.len() + 20);
    file.extend_from_slice(MAGIC);
    file.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    file.extend_from_slice(&(body.len() as u32).to_le_bytes());
    file.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    file.extend_from_slice(&body);
    file
}

/// One length-prefixed UTF-8 text of a `meta.db` body.
fn read_text(body: &mut Reader<'_>) -> Result<String, String> {
    let bytes = body.bytes_u32().map_err(|_| "truncated".to_string())?;
    String::from_utf8(bytes.to_vec()).map_err(|_| "name is not UTF-8".to_string())
}

fn decode(bytes: &[u8]) -> Result<MetaData, String> {
    let truncated = |_| "truncated".to_string();
    let mut reader = Reader::new(bytes);
    if reader.take(MAGIC.len()).map_err(truncated)? != MAGIC {
        return Err("bad magic".into());
    }
    let version = reader.u32().map_err(truncated)?;
    if !(FORMAT_VERSION_WITHOUT_SHARD_GROUPS..=FORMAT_VERSION).contains(&version) {
        return Err(format!("unsupported version {version}"));
    }
    let has_shard_groups = version >= FORMAT_VERSION_WITHOUT_USERS;
    let has_users = version >= FORMAT_VERSION_WITHOUT_CONTINUOUS_QUERIES;
    let has_continuous_queries = version >= FORMAT_VERSION_WITHOUT_SUBSCRIPTIONS;
    let has_subscriptions = version >= FORMAT_VERSION;
    let body_len = reader.u32().map_err(truncated)? as usize;
    let crc = reader.u32().map_err(truncated)?;
    let body = reader.take(body_len).map_err(truncated)?;
    if crc32fast::hash(body) != crc {
        return Err("checksum mismatch".into());
    }
    let mut body = Reader::new(body);
    let next_database_id = body.u64().map_err(truncated)?;
    let (next_shard_group_id, next_shard_id) = if has_shard_groups {
        (
            body.u64().map_err(truncated)?,
            body.u64().map_err(truncated)?,
        )
    } else {
        (1, 1)
    };
    let database_count = body.u32().map_err(truncated)?;
    let mut databases = Vec::new();
    for _ in 0..database_count {
        let id = body.u64().map_err(truncated)?;
        let name = read_text(&mut body)?;
        let default_retention_policy = read_text(&mut body)?;
        let rp_count = body.u32().map_err(truncated)?;
        let mut retention_policies = Vec::new();
        for _ in 0..rp_count {
            let mut policy = RetentionPolicy {
                name: read_text(&mut body)?,
                duration_ns: body.i64().map_err(truncated)?,
                shard_group_duration_ns: body.i64().map_err(truncated)?,
                replication: body.u32().map_err(truncated)?,
                shard_groups: Vec::new(),
            };
            if has_shard_groups {
                let group_count = body.u32().map_err(truncated)?;
                for _ in 0..group_count {
                    policy.shard_groups.push(ShardGroup {
                        id: body.u64().map_err(truncated)?,
                        start_ns: body.i64().map_err(truncated)?,
                        end_ns: body.i64().map_err(truncated)?,
                        shard_id: body.u64().map_err(truncated)?,
                        owners: Vec::new(),
                    });
                }
            }
            retention_policies.push(policy);
        }
        databases.push(Database {
            continuous_queries: Vec::new(),
            subscriptions: Vec::new(),
            id,
            name,
            default_retention_policy,
            retention_policies,
        });
    }
    let users = if has_users {
        decode_users(&mut body)?
    } else {
        Vec::new()
    };
    if has_continuous_queries {
        for database in &mut databases {
            database.continuous_queries = decode_continuous_queries(&mut body)?;
        }
    }
    if has_subscriptions {
        for database in &mut databases {
            database.subscriptions = decode_subscriptions(&mut body)?;
        }
    }
    let mut data = MetaData {
        next_database_id,
        next_shard_group_id,
        next_shard_id,
        databases,
        users,
        ..MetaData::default()
    };
    if version > FORMAT_VERSION_WITHOUT_CLUSTER {
        decode_cluster(&mut body, &mut data)?;
    }
    Ok(data)
}

/// Version 6's cluster part (see the module doc).
fn encode_cluster(body: &mut Vec<u8>, data: &MetaData) {
    let put_ids = |body: &mut Vec<u8>, ids: &[u64]| {
        body.extend_from_slice(&(ids.len() as u32).to_le_bytes());
        for id in ids {
            body.extend_from_slice(&id.to_le_bytes());
        }
    };
    body.extend_from_slice(&data.cluster_id.to_le_bytes());
    body.extend_from_slice(&data.raft.applied_index.to_le_bytes());
    body.extend_from_slice(&data.raft.applied_term.to_le_bytes());
    put_ids(body, &data.raft.voters);
    put_ids(body, &data.raft.learners);
    body.extend_from_slice(&data.next_node_id.to_le_bytes());
    body.extend_from_slice(&(data.nodes.len() as u32).to_le_bytes());
    for node in &data.nodes {
        body.extend_from_slice(&node.id.to_le_bytes());
        put_bytes_u32(body, node.addresses.meta.as_bytes());
        put_bytes_u32(body, node.addresses.http.as_bytes());
        put_bytes_u32(body, node.addresses.data.as_bytes());
    }
    for db in &data.databases {
        for rp in &db.retention_policies {
            for group in &rp.shard_groups {
                put_ids(body, &group.owners);
            }
        }
    }
}

/// Reads what [`encode_cluster`] wrote.
fn decode_cluster(body: &mut Reader<'_>, data: &mut MetaData) -> Result<(), String> {
    let truncated = |_| "truncated".to_string();
    let ids = |body: &mut Reader<'_>| -> Result<Vec<u64>, String> {
        let count = body.u32().map_err(truncated)?;
        let mut ids = Vec::new();
        for _ in 0..count {
            ids.push(body.u64().map_err(truncated)?);
        }
        Ok(ids)
    };
    data.cluster_id = body.u64().map_err(truncated)?;
    data.raft.applied_index = body.u64().map_err(truncated)?;
    data.raft.applied_term = body.u64().map_err(truncated)?;
    data.raft.voters = ids(body)?;
    data.raft.learners = ids(body)?;
    data.next_node_id = body.u64().map_err(truncated)?;
    let node_count = body.u32().map_err(truncated)?;
    for _ in 0..node_count {
        let id = body.u64().map_err(truncated)?;
        let addresses = NodeAddresses {
            meta: read_text(body)?,
            http: read_text(body)?,
            data: read_text(body)?,
        };
        data.nodes.push(NodeInfo { id, addresses });
    }
    for db in &mut data.databases {
        for rp in &mut db.retention_policies {
            for group in &mut rp.shard_groups {
                group.owners = ids(body)?;
            }
        }
    }
    Ok(())
}

/// The users of a version-3 body (see the module doc).
fn decode_users(body: &mut Reader<'_>) -> Result<Vec<UserInfo>, String> {
    let truncated = |_| "truncated".to_string();
    let user_count = body.u32().map_err(truncated)?;
    let mut users = Vec::new();
    for _ in 0..user_count {
        let name = read_text(body)?;
        let password_hash = read_text(body)?;
        let admin = body.u8().map_err(truncated)? != 0;
        let privilege_count = body.u32().map_err(truncated)?;
        let mut privileges = Vec::new();
        for _ in 0..privilege_count {
            let database = read_text(body)?;
            let privilege = UserPrivilege::from_bits(body.u8().map_err(truncated)?);
            privileges.push((database, privilege));
        }
        users.push(UserInfo {
            name,
            password_hash,
            admin,
            privileges,
        });
    }
    Ok(users)
}

/// One database's continuous queries in a version-4 body (see the module doc).
fn decode_continuous_queries(body: &mut Reader<'_>) -> Result<Vec<ContinuousQueryInfo>, String> {
    let truncated = |_| "truncated".to_string();
    let count = body.u32().map_err(truncated)?;
    let mut queries = Vec::new();
    for _ in 0..count {
        queries.push(ContinuousQueryInfo {
            name: read_text(body)?,
            query: read_text(body)?,
        });
    }
    Ok(queries)
}

/// One database's subscriptions in a version-5 body (see the module doc).
fn decode_subscriptions(body: &mut Reader<'_>) -> Result<Vec<SubscriptionInfo>, String> {
    let truncated = |_| "truncated".to_string();
    let count = body.u32().map_err(truncated)?;
    let mut subscriptions = Vec::new();
    for _ in 0..count {
        let name = read_text(body)?;
        let retention_policy = read_text(body)?;
        let mode_all = body.u8().map_err(truncated)? != 0;
        let destination_count = body.u32().map_err(truncated)?;
        let mut destinations = Vec::new();
        for _ in 0..destination_count {
            destinations.push(read_text(body)?);
        }
        subscriptions.push(SubscriptionInfo {
            name,
            retention_policy,
            mode_all,
            destinations,
        });
    }
    Ok(subscriptions)
}

fn load(path: &Path) -> Result<Option<MetaData>, MetaError> {
    match fs::read(path) {
        Ok(bytes) => decode(&bytes)
            .map(Some)
            .map_err(|why| MetaError::Corrupt(format!("{}: {why}", path.display()))),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// Writes `data` so that a crash leaves either the old or the new file, never a mix.
fn persist(
    file_system: &dyn FileSystem,
    directory: &Path,
    data: &MetaData,
) -> Result<(), MetaError> {
    sluice_base::fsio::write_file_atomically(file_system, directory, FILE_NAME, &encode(data))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_drop_persist_reopen() {
        let dir = std::env::temp_dir().join(format!("sluice-meta-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let store = MetaStore::open(&dir).unwrap();
        store
            .create_database("a", &RetentionPolicySpec::default())
            .unwrap();
        store
            .create_database("b b", &RetentionPolicySpec::default())
            .unwrap();
        store
            .create_database("a", &RetentionPolicySpec::default())
            .unwrap();
        store.drop_database("b b").unwrap();
        store
            .create_database("b b", &RetentionPolicySpec::default())
            .unwrap();
        let reopened = MetaStore::open(&dir).unwrap().snapshot();
        assert_eq!(*reopened, *store.snapshot());
        let names: Vec<_> = reopened
            .databases
            .iter()
            .map(|d| (d.id, d.name.as_str()))
            .collect();
        assert_eq!(names, vec![(1, "a"), (3, "b b")]);
        assert_eq!(
            reopened.databases[0].retention_policies[0].shard_group_duration_ns,
            7 * 24 * NANOS_PER_HOUR
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn shard_groups_start_on_go_zero_time_multiples() {
        // 2026-11-26T10:00:00Z is a Thursday; InfluxDB's weekly group starts Monday 23rd.
        let thursday_ns = 1_795_687_200_000_000_000;
        let week_ns = 7 * 24 * NANOS_PER_HOUR;
        let (start, end) = shard_group_bounds(thursday_ns, week_ns);
        assert_eq!(start, 1_795_392_000_000_000_000);
        assert_eq!(end - start, week_ns);
        let (start, _) = shard_group_bounds(thursday_ns, NANOS_PER_HOUR);
        assert_eq!(start, thursday_ns);
        let (start, end) = shard_group_bounds(i64::MAX - 1, week_ns);
        assert!(start < i64::MAX && end == i64::MAX);
    }

    #[test]
    fn shard_groups_persist() {
        let dir = std::env::temp_dir().join(format!("sluice-meta-sg-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let store = MetaStore::open(&dir).unwrap();
        store
            .create_database("db", &RetentionPolicySpec::default())
            .unwrap();
        let first = store.shard_group_for(1, "", 0).unwrap().unwrap();
        let again = store.shard_group_for(1, "autogen", 5).unwrap().unwrap();
        assert_eq!(first, again);
        let later = store
            .shard_group_for(1, "", 30 * 24 * NANOS_PER_HOUR)
            .unwrap()
            .unwrap();
        assert_eq!(
            (first.id, first.shard_id, later.id, later.shard_id),
            (1, 1, 2, 2)
        );
        assert!(store.shard_group_for(9, "", 0).unwrap().is_none());
        let reopened = MetaStore::open(&dir).unwrap().snapshot();
        assert_eq!(*reopened, *store.snapshot());
        store.delete_shard_groups(1, "autogen", &[1]).unwrap();
        let groups = &store.snapshot().databases[0].retention_policies[0].shard_groups;
        assert_eq!(groups.len(), 1);
        assert_eq!(store.snapshot().next_shard_group_id, 3);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn corrupt_file_is_an_error_not_a_panic() {
        let mut bytes = encode(&MetaData {
            next_database_id: 2,
            ..MetaData::default()
        });
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        assert!(decode(&bytes).is_err());
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err());
        }
    }
}

#[cfg(test)]
mod user_tests {
    use super::*;

    fn fresh_dir(label: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sluice-meta-{label}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn users_and_privileges_persist() {
        let dir = fresh_dir("users");
        let store = MetaStore::open(&dir).unwrap();
        store
            .create_database("db", &RetentionPolicySpec::default())
            .unwrap();
        store.create_user("admin", "$2b$hash-a", true).unwrap();
        store.create_user("reader", "$2b$hash-r", false).unwrap();
        assert!(matches!(
            store.create_user("reader", "x", false),
            Err(MetaError::Conflict(USER_EXISTS))
        ));
        store
            .set_privilege("reader", "db", PrivilegeChange::Set(UserPrivilege::All))
            .unwrap();
        store
            .set_privilege("reader", "db", PrivilegeChange::Revoke(UserPrivilege::Read))
            .unwrap();
        assert!(matches!(
            store.set_privilege("ghost", "nodb", PrivilegeChange::Set(UserPrivilege::Read)),
            Err(MetaError::Conflict(USER_NOT_FOUND))
        ));
        assert!(store
            .set_privilege("reader", "nodb", PrivilegeChange::Set(UserPrivilege::Read))
            .is_err());
        store.set_password_hash("reader", "$2b$hash-r2").unwrap();
        let reopened = MetaStore::open(&dir).unwrap().snapshot();
        assert_eq!(*reopened, *store.snapshot());
        let reader = reopened.user("reader").unwrap();
        assert_eq!(reader.privilege("db"), UserPrivilege::Write);
        assert!(reader.may(UserPrivilege::Write, "db") && !reader.may(UserPrivilege::Read, "db"));
        assert_eq!(reader.password_hash, "$2b$hash-r2");
        assert!(reopened.admin_user_exists());
        store.drop_database("db").unwrap();
        assert!(store
            .snapshot()
            .user("reader")
            .unwrap()
            .privileges
            .is_empty());
        store.drop_user("admin").unwrap();
        assert!(!store.snapshot().admin_user_exists());
        assert!(store.drop_user("admin").is_err());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn version_2_files_are_read_as_having_no_user() {
        let data = MetaData {
            next_database_id: 7,
            next_shard_group_id: 3,
            next_shard_id: 4,
            ..MetaData::default()
        };
        let current = encode(&data);
        // A version-2 file is the same body without the trailing user count.
        let body = &current[20..current.len() - 4];
        let mut old = Vec::new();
        old.extend_from_slice(MAGIC);
        old.extend_from_slice(&FORMAT_VERSION_WITHOUT_USERS.to_le_bytes());
        old.extend_from_slice(&(body.len() as u32).to_le_bytes());
        old.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
        old.extend_from_slice(body);
        assert_eq!(decode(&old).unwrap(), data);
        assert!(decode(&[MAGIC.as_slice(), &5u32.to_le_bytes()].concat()).is_err());
    }

    #[test]
    fn continuous_queries_persist_and_go_with_their_database() {
        let dir = fresh_dir("cqs");
        let store = MetaStore::open(&dir).unwrap();
        let spec = RetentionPolicySpec::default();
        store.create_database("a", &spec).unwrap();
        store.create_database("b", &spec).unwrap();
        let text = "CREATE CONTINUOUS QUERY q ON a BEGIN SELECT count(v) INTO a.autogen.x \
                    FROM a.autogen.m GROUP BY time(1s) END";
        store.create_continuous_query("a", "q", text).unwrap();
        store
            .create_continuous_query("a", "q", &text.to_lowercase())
            .unwrap();
        store.create_continuous_query("b", "q", "other").unwrap();
        let exists = store
            .create_continuous_query("a", "q", "other")
            .unwrap_err();
        assert_eq!(exists.to_string(), CONTINUOUS_QUERY_EXISTS);
        let missing = store
            .create_continuous_query("nope", "q", text)
            .unwrap_err();
        assert_eq!(missing.to_string(), "database not found: nope");
        drop(store);
        let store = MetaStore::open(&dir).unwrap();
        let snapshot = store.snapshot();
        let queries = &snapshot.database("a").unwrap().continuous_queries;
        assert_eq!(queries.len(), 1);
        assert_eq!(queries[0].query, text);
        store.drop_continuous_query("a", "q").unwrap();
        store.drop_continuous_query("a", "q").unwrap();
        store.drop_continuous_query("nope", "q").unwrap();
        store.drop_database("b").unwrap();
        store.create_database("b", &spec).unwrap();
        drop(store);
        let snapshot = MetaStore::open(&dir).unwrap().snapshot();
        assert!(snapshot
            .databases
            .iter()
            .all(|db| db.continuous_queries.is_empty()));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn version_3_files_are_read_as_having_no_continuous_query() {
        let mut data = MetaData {
            next_database_id: 2,
            ..MetaData::default()
        };
        data.databases.push(Database {
            id: 1,
            name: "db".to_string(),
            default_retention_policy: DEFAULT_RETENTION_POLICY.to_string(),
            retention_policies: Vec::new(),
            continuous_queries: Vec::new(),
            subscriptions: Vec::new(),
        });
        let current = encode(&data);
        // A version-3 file is the same body without the trailing per-database CQ and
        // subscription counts (one database: 4 + 4 bytes).
        let body = &current[20..current.len() - 8];
        let mut old = Vec::new();
        old.extend_from_slice(MAGIC);
        old.extend_from_slice(&FORMAT_VERSION_WITHOUT_CONTINUOUS_QUERIES.to_le_bytes());
        old.extend_from_slice(&(body.len() as u32).to_le_bytes());
        old.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
        old.extend_from_slice(body);
        assert_eq!(decode(&old).unwrap(), data);
    }

    #[test]
    fn subscriptions_persist_and_go_with_their_policy() {
        let dir = fresh_dir("subscriptions");
        let store = MetaStore::open(&dir).unwrap();
        let spec = RetentionPolicySpec::default();
        store.create_database("a", &spec).unwrap();
        let subscription = |name: &str, policy: &str| SubscriptionInfo {
            name: name.to_string(),
            retention_policy: policy.to_string(),
            mode_all: name == "s1",
            destinations: vec!["udp://127.0.0.1:1".into(), "http://127.0.0.1:2".into()],
        };
        store
            .create_subscription("a", subscription("s1", "autogen"))
            .unwrap();
        store
            .create_subscription("a", subscription("s2", "autogen"))
            .unwrap();
        let exists = store.create_subscription("a", subscription("s1", "autogen"));
        assert_eq!(exists.unwrap_err().to_string(), SUBSCRIPTION_EXISTS);
        let no_rp = store.create_subscription("a", subscription("s3", "nope"));
        assert_eq!(
            no_rp.unwrap_err().to_string(),
            "retention policy not found: nope"
        );
        let no_db = store.create_subscription("nope", subscription("s3", "autogen"));
        assert_eq!(no_db.unwrap_err().to_string(), "database not found: nope");
        drop(store);
        let store = MetaStore::open(&dir).unwrap();
        let subscriptions = store
            .snapshot()
            .database("a")
            .unwrap()
            .subscriptions
            .clone();
        assert_eq!(
            subscriptions,
            vec![subscription("s1", "autogen"), subscription("s2", "autogen")]
        );
        store.drop_subscription("a", "autogen", "s2").unwrap();
        let missing = store.drop_subscription("a", "autogen", "s2").unwrap_err();
        assert_eq!(missing.to_string(), SUBSCRIPTION_NOT_FOUND);
        store.drop_retention_policy("a", "autogen").unwrap();
        drop(store);
        let snapshot = MetaStore::open(&dir).unwrap().snapshot();
        assert!(snapshot.database("a").unwrap().subscriptions.is_empty());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn version_4_files_are_read_as_having_no_subscription() {
        let mut data = MetaData {
            next_database_id: 2,
            ..MetaData::default()
        };
        data.databases.push(Database {
            id: 1,
            name: "db".to_string(),
            default_retention_policy: DEFAULT_RETENTION_POLICY.to_string(),
            retention_policies: Vec::new(),
            continuous_queries: vec![ContinuousQueryInfo {
                name: "q".into(),
                query: "CREATE CONTINUOUS QUERY q ON db BEGIN SELECT 1 END".into(),
            }],
            subscriptions: Vec::new(),
        });
        let current = encode(&data);
        // A version-4 file is the same body without the trailing subscription count.
        let body = &current[20..current.len() - 4];
        let mut old = Vec::new();
        old.extend_from_slice(MAGIC);
        old.extend_from_slice(&FORMAT_VERSION_WITHOUT_SUBSCRIPTIONS.to_le_bytes());
        old.extend_from_slice(&(body.len() as u32).to_le_bytes());
        old.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
        old.extend_from_slice(body);
        assert_eq!(decode(&old).unwrap(), data);
    }
}
