//! Meta mutations as commands: every change to [`MetaData`] is a [`MetaCommand`], and one
//! deterministic [`apply`] turns a command and a state into the next state.
//!
//! Owns the command's binary encoding (the payload of a meta Raft log entry) and the rules
//! of every mutation (InfluxDB's checks and texts). Must not read a clock, a random number,
//! the environment or anything but its two arguments: a replicated log applied on two nodes
//! must give equal [`MetaData`] (the property test below checks it).
//!
//! Encoding (little-endian), one command per log entry:
//! ```text
//! version u8 = 1 | kind u8 | fields of the kind, in declaration order:
//!   string: u32 len + UTF-8 bytes     u64/i64/u32: fixed width    bool: u8 (0/1)
//!   Option<T>: u8 (0 none, 1 some) + T    Vec<T>: u32 count + T*
//! ```
//! A decoder refuses an unknown version or kind, trailing bytes, and any count larger than
//! the bytes left could hold (so input never drives an allocation past its own size).

use sluice_model::bytes::{put_bytes_u32, Reader};

use super::{
    check_durations, default_shard_group_duration_ns, normalised_shard_duration_ns,
    shard_group_bounds, ContinuousQueryInfo, Database, MetaData, MetaError, NodeInfo,
    RetentionPolicy, RetentionPolicyChange, RetentionPolicySpec, ShardGroup, SubscriptionInfo,
    UserInfo, UserPrivilege, CONTINUOUS_QUERY_EXISTS, DEFAULT_RETENTION_POLICY, DURATION_TOO_LOW,
    INCOMPATIBLE_DURATIONS, MIN_RETENTION_DURATION_NS, SUBSCRIPTION_EXISTS, SUBSCRIPTION_NOT_FOUND,
    USER_EXISTS, USER_NOT_FOUND,
};

/// Version byte of an encoded command.
const COMMAND_FORMAT_VERSION: u8 = 1;

/// How a user's privilege on one database changes (GRANT replaces, REVOKE clears bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrivilegeChange {
    /// `GRANT p ON db TO user`: the privilege becomes `p`
    Set(UserPrivilege),
    /// `REVOKE p ON db FROM user`: `p`'s bits are cleared (NO PRIVILEGES at worst)
    Revoke(UserPrivilege),
}

/// One mutation of the meta store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetaCommand {
    /// `CREATE DATABASE name [WITH ...]`
    CreateDatabase {
        /// database name
        name: String,
        /// the `WITH` options
        spec: RetentionPolicySpec,
    },
    /// `DROP DATABASE name`
    DropDatabase {
        /// database name
        name: String,
    },
    /// `CREATE RETENTION POLICY` (the policy's shard groups are ignored)
    CreateRetentionPolicy {
        /// database name
        database: String,
        /// the new policy
        policy: RetentionPolicy,
        /// `DEFAULT`
        make_default: bool,
    },
    /// `ALTER RETENTION POLICY`
    AlterRetentionPolicy {
        /// database name
        database: String,
        /// policy name
        name: String,
        /// what changes
        change: RetentionPolicyChange,
    },
    /// `DROP RETENTION POLICY`
    DropRetentionPolicy {
        /// database name
        database: String,
        /// policy name
        name: String,
    },
    /// `DROP SHARD id`
    DropShard {
        /// shard id
        shard_id: u64,
    },
    /// A shard group for a point at `timestamp_ns` (created only if none holds it)
    CreateShardGroup {
        /// database id
        database_id: u64,
        /// policy name ("" = the default)
        retention_policy: String,
        /// a time the group must hold
        timestamp_ns: i64,
    },
    /// Retention enforcement: these groups go
    DeleteShardGroups {
        /// database id
        database_id: u64,
        /// policy name
        retention_policy: String,
        /// group ids
        shard_group_ids: Vec<u64>,
    },
    /// `CREATE CONTINUOUS QUERY`
    CreateContinuousQuery {
        /// database name
        database: String,
        /// query name
        name: String,
        /// printed statement
        query: String,
    },
    /// `DROP CONTINUOUS QUERY`
    DropContinuousQuery {
        /// database name
        database: String,
        /// query name
        name: String,
    },
    /// `CREATE SUBSCRIPTION`
    CreateSubscription {
        /// database name
        database: String,
        /// the subscription
        subscription: SubscriptionInfo,
    },
    /// `DROP SUBSCRIPTION`
    DropSubscription {
        /// database name
        database: String,
        /// policy name
        retention_policy: String,
        /// subscription name
        name: String,
    },
    /// `CREATE USER` (the password already hashed)
    CreateUser {
        /// user name
        name: String,
        /// bcrypt hash
        password_hash: String,
        /// admin flag
        admin: bool,
    },
    /// `DROP USER`
    DropUser {
        /// user name
        name: String,
    },
    /// `SET PASSWORD`
    SetPasswordHash {
        /// user name
        name: String,
        /// bcrypt hash
        password_hash: String,
    },
    /// `GRANT/REVOKE ALL PRIVILEGES`
    SetAdmin {
        /// user name
        name: String,
        /// admin flag
        admin: bool,
    },
    /// `GRANT/REVOKE p ON db`
    ChangePrivilege {
        /// user name
        user: String,
        /// database name
        database: String,
        /// the change
        change: PrivilegeChange,
    },
    /// A node joins: it gets the next node id (the answer's [`MetaValue::NodeId`])
    AddNode {
        /// its addresses
        addresses: NodeAddresses,
    },
    /// A node's addresses changed (it restarted elsewhere)
    UpdateNode {
        /// node id
        id: u64,
        /// its addresses
        addresses: NodeAddresses,
    },
    /// `DROP SERVER id`: the node's record goes (shard groups keep naming it as an owner)
    RemoveNode {
        /// node id
        id: u64,
    },
}

/// Where a node is reached.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeAddresses {
    /// `[meta] bind-address` (the Raft transport, 8091)
    pub meta: String,
    /// `[http] bind-address` (8086)
    pub http: String,
    /// top-level `bind-address` (backup and data RPC, 8088)
    pub data: String,
}

/// What applying a command answers besides "changed or not".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum MetaValue {
    /// nothing
    #[default]
    None,
    /// the shards a dropped retention policy held (for the caller to delete)
    ShardIds(Vec<u64>),
    /// the shard group holding the point (`None`: its database or policy is gone)
    ShardGroup(Option<ShardGroup>),
    /// the id a new node got
    NodeId(u64),
}

/// The result of applying one command.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetaApplied {
    /// whether the state changed (only then is it persisted)
    pub changed: bool,
    /// the command's answer
    pub value: MetaValue,
}

impl MetaApplied {
    fn changed(changed: bool) -> MetaApplied {
        MetaApplied {
            changed,
            value: MetaValue::None,
        }
    }
}

fn not_found(what: &str, name: &str) -> MetaError {
    MetaError::Rejected(format!("{what} not found: {name}"))
}

/// Applies `command` to `data`. Deterministic: the same command on equal states gives equal
/// states and equal answers. On `Err` the caller discards `data` (it may be half-changed).
pub fn apply(data: &mut MetaData, command: &MetaCommand) -> Result<MetaApplied, MetaError> {
    use MetaCommand as C;
    match command {
        C::CreateDatabase { name, spec } => create_database(data, name, spec),
        C::DropDatabase { name } => Ok(drop_database(data, name)),
        C::CreateRetentionPolicy {
            database,
            policy,
            make_default,
        } => create_retention_policy(data, database, policy, *make_default),
        C::AlterRetentionPolicy {
            database,
            name,
            change,
        } => alter_retention_policy(data, database, name, change),
        C::DropRetentionPolicy { database, name } => {
            Ok(drop_retention_policy(data, database, name))
        }
        C::DropShard { shard_id } => Ok(drop_shard(data, *shard_id)),
        C::CreateShardGroup {
            database_id,
            retention_policy,
            timestamp_ns,
        } => Ok(create_shard_group(
            data,
            *database_id,
            retention_policy,
            *timestamp_ns,
        )),
        C::DeleteShardGroups {
            database_id,
            retention_policy,
            shard_group_ids,
        } => Ok(delete_shard_groups(
            data,
            *database_id,
            retention_policy,
            shard_group_ids,
        )),
        C::CreateContinuousQuery {
            database,
            name,
            query,
        } => create_continuous_query(data, database, name, query),
        C::DropContinuousQuery { database, name } => {
            Ok(drop_continuous_query(data, database, name))
        }
        C::CreateSubscription {
            database,
            subscription,
        } => create_subscription(data, database, subscription),
        C::DropSubscription {
            database,
            retention_policy,
            name,
        } => drop_subscription(data, database, retention_policy, name),
        C::CreateUser {
            name,
            password_hash,
            admin,
        } => create_user(data, name, password_hash, *admin),
        C::DropUser { name } => drop_user(data, name),
        C::SetPasswordHash {
            name,
            password_hash,
        } => {
            data.user_mut(name)?.password_hash = password_hash.clone();
            Ok(MetaApplied::changed(true))
        }
        C::SetAdmin { name, admin } => {
            data.user_mut(name)?.admin = *admin;
            Ok(MetaApplied::changed(true))
        }
        C::ChangePrivilege {
            user,
            database,
            change,
        } => change_privilege(data, user, database, *change),
        C::AddNode { addresses } => Ok(add_node(data, addresses)),
        C::UpdateNode { id, addresses } => {
            let Some(node) = data.nodes.iter_mut().find(|node| node.id == *id) else {
                return Err(MetaError::Rejected(format!("server not found: {id}")));
            };
            let changed = node.addresses != *addresses;
            node.addresses = addresses.clone();
            Ok(MetaApplied::changed(changed))
        }
        C::RemoveNode { id } => {
            let before = data.nodes.len();
            data.nodes.retain(|node| node.id != *id);
            if data.nodes.len() == before {
                return Err(MetaError::Rejected(format!("server not found: {id}")));
            }
            Ok(MetaApplied::changed(true))
        }
    }
}

fn create_database(
    data: &mut MetaData,
    name: &str,
    spec: &RetentionPolicySpec,
) -> Result<MetaApplied, MetaError> {
    let rp_name = spec
        .name
        .clone()
        .unwrap_or_else(|| DEFAULT_RETENTION_POLICY.to_string());
    let duration_ns = spec.duration_ns.unwrap_or(0);
    let policy = RetentionPolicy {
        name: rp_name.clone(),
        duration_ns,
        shard_group_duration_ns: spec
            .shard_group_duration_ns
            .filter(|duration| *duration > 0)
            .unwrap_or_else(|| default_shard_group_duration_ns(duration_ns)),
        replication: spec.replication.unwrap_or(1),
        shard_groups: Vec::new(),
    };
    if let Some(existing) = data.database(name) {
        let has_options = *spec != RetentionPolicySpec::default();
        if has_options {
            match existing.retention_policy(&rp_name) {
                Some(found)
                    if found.settings_equal(&policy)
                        && existing.default_retention_policy == rp_name => {}
                _ => {
                    return Err(MetaError::Conflict(
                        "retention policy conflicts with an existing policy",
                    ))
                }
            }
        }
        return Ok(MetaApplied::changed(false));
    }
    let id = data.next_database_id;
    data.next_database_id += 1;
    data.databases.push(Database {
        continuous_queries: Vec::new(),
        subscriptions: Vec::new(),
        id,
        name: name.to_string(),
        default_retention_policy: rp_name,
        retention_policies: vec![policy],
    });
    Ok(MetaApplied::changed(true))
}

fn drop_database(data: &mut MetaData, name: &str) -> MetaApplied {
    let before = data.databases.len();
    data.databases.retain(|db| db.name != name);
    // As InfluxDB: privileges on a dropped database go with it.
    for user in &mut data.users {
        user.privileges.retain(|(database, _)| database != name);
    }
    MetaApplied::changed(data.databases.len() != before)
}

fn database_mut<'a>(data: &'a mut MetaData, name: &str) -> Result<&'a mut Database, MetaError> {
    data.databases
        .iter_mut()
        .find(|db| db.name == name)
        .ok_or_else(|| not_found("database", name))
}

fn create_retention_policy(
    data: &mut MetaData,
    database: &str,
    policy: &RetentionPolicy,
    make_default: bool,
) -> Result<MetaApplied, MetaError> {
    check_durations(policy.duration_ns, policy.shard_group_duration_ns)?;
    let db = database_mut(data, database)?;
    if let Some(existing) = db
        .retention_policies
        .iter()
        .find(|rp| rp.name == policy.name)
    {
        if !existing.settings_equal(policy) {
            return Err(MetaError::Conflict("retention policy already exists"));
        }
        if make_default && db.default_retention_policy != policy.name {
            return Err(MetaError::Conflict(
                "retention policy conflicts with an existing policy",
            ));
        }
        return Ok(MetaApplied::changed(false));
    }
    if make_default {
        db.default_retention_policy = policy.name.clone();
    }
    let mut policy = policy.clone();
    policy.shard_groups.clear();
    db.retention_policies.push(policy);
    Ok(MetaApplied::changed(true))
}

fn alter_retention_policy(
    data: &mut MetaData,
    database: &str,
    name: &str,
    change: &RetentionPolicyChange,
) -> Result<MetaApplied, MetaError> {
    let db = database_mut(data, database)?;
    let Some(policy) = db.retention_policies.iter_mut().find(|rp| rp.name == name) else {
        return Err(not_found("retention policy", name));
    };
    let duration_ns = change.duration_ns.unwrap_or(policy.duration_ns);
    if change
        .duration_ns
        .is_some_and(|d| d != 0 && d < MIN_RETENTION_DURATION_NS)
    {
        return Err(MetaError::Conflict(DURATION_TOO_LOW));
    }
    let shard_ns = change
        .shard_group_duration_ns
        .unwrap_or(policy.shard_group_duration_ns);
    if duration_ns > 0 && duration_ns < shard_ns {
        return Err(MetaError::Conflict(INCOMPATIBLE_DURATIONS));
    }
    policy.duration_ns = duration_ns;
    if let Some(replication) = change.replication {
        policy.replication = replication;
    }
    if let Some(shard_ns) = change.shard_group_duration_ns {
        policy.shard_group_duration_ns = normalised_shard_duration_ns(shard_ns, duration_ns);
    }
    if change.make_default {
        db.default_retention_policy = name.to_string();
    }
    Ok(MetaApplied::changed(true))
}

fn drop_retention_policy(data: &mut MetaData, database: &str, name: &str) -> MetaApplied {
    let Some(db) = data.databases.iter_mut().find(|db| db.name == database) else {
        return MetaApplied::changed(false);
    };
    let Some(position) = db.retention_policies.iter().position(|rp| rp.name == name) else {
        return MetaApplied::changed(false);
    };
    let policy = db.retention_policies.remove(position);
    db.subscriptions.retain(|sub| sub.retention_policy != name);
    // Like InfluxDB, a dropped default policy stays the default by name: writes and
    // queries without a policy then fail with `retention policy not found`.
    MetaApplied {
        changed: true,
        value: MetaValue::ShardIds(policy.shard_groups.iter().map(|g| g.shard_id).collect()),
    }
}

fn drop_shard(data: &mut MetaData, shard_id: u64) -> MetaApplied {
    let mut found = false;
    for db in &mut data.databases {
        for rp in &mut db.retention_policies {
            let before = rp.shard_groups.len();
            rp.shard_groups.retain(|g| g.shard_id != shard_id);
            found |= rp.shard_groups.len() != before;
        }
    }
    MetaApplied::changed(found)
}

/// The nodes that own a new group: `replication` of them (at least one, at most all),
/// starting at the group's id modulo the node count so groups spread evenly.
fn place_owners(nodes: &[NodeInfo], replication: u32, group_id: u64) -> Vec<u64> {
    if nodes.is_empty() {
        return Vec::new();
    }
    let mut ids: Vec<u64> = nodes.iter().map(|node| node.id).collect();
    ids.sort_unstable();
    let count = (replication.max(1) as usize).min(ids.len());
    let start = (group_id % ids.len() as u64) as usize;
    (0..count).map(|k| ids[(start + k) % ids.len()]).collect()
}

fn create_shard_group(
    data: &mut MetaData,
    database_id: u64,
    retention_policy: &str,
    timestamp_ns: i64,
) -> MetaApplied {
    let next_group_id = data.next_shard_group_id;
    let next_shard_id = data.next_shard_id;
    let nodes = &data.nodes;
    let Some(policy) = data
        .databases
        .iter_mut()
        .find(|db| db.id == database_id)
        .and_then(|db| {
            let wanted = if retention_policy.is_empty() {
                db.default_retention_policy.clone()
            } else {
                retention_policy.to_string()
            };
            db.retention_policies
                .iter_mut()
                .find(|rp| rp.name == wanted)
        })
    else {
        return MetaApplied {
            changed: false,
            value: MetaValue::ShardGroup(None),
        };
    };
    if let Some(group) = policy.shard_group_at(timestamp_ns) {
        // Another writer created it first.
        return MetaApplied {
            changed: false,
            value: MetaValue::ShardGroup(Some(group.clone())),
        };
    }
    let (start_ns, end_ns) = shard_group_bounds(timestamp_ns, policy.shard_group_duration_ns);
    let group = ShardGroup {
        id: next_group_id,
        start_ns,
        end_ns,
        shard_id: next_shard_id,
        owners: place_owners(nodes, policy.replication, next_group_id),
    };
    policy.shard_groups.push(group.clone());
    policy.shard_groups.sort_by_key(|g| g.start_ns);
    data.next_shard_group_id += 1;
    data.next_shard_id += 1;
    MetaApplied {
        changed: true,
        value: MetaValue::ShardGroup(Some(group)),
    }
}

fn delete_shard_groups(
    data: &mut MetaData,
    database_id: u64,
    retention_policy: &str,
    shard_group_ids: &[u64],
) -> MetaApplied {
    let mut changed = false;
    for db in data.databases.iter_mut().filter(|db| db.id == database_id) {
        for rp in db
            .retention_policies
            .iter_mut()
            .filter(|rp| rp.name == retention_policy)
        {
            let before = rp.shard_groups.len();
            rp.shard_groups.retain(|g| !shard_group_ids.contains(&g.id));
            changed |= rp.shard_groups.len() != before;
        }
    }
    MetaApplied::changed(changed)
}

fn create_continuous_query(
    data: &mut MetaData,
    database: &str,
    name: &str,
    query: &str,
) -> Result<MetaApplied, MetaError> {
    let db = database_mut(data, database)?;
    if let Some(existing) = db.continuous_queries.iter().find(|cq| cq.name == name) {
        if existing.query.to_lowercase() == query.to_lowercase() {
            return Ok(MetaApplied::changed(false));
        }
        return Err(MetaError::Conflict(CONTINUOUS_QUERY_EXISTS));
    }
    db.continuous_queries.push(ContinuousQueryInfo {
        name: name.to_string(),
        query: query.to_string(),
    });
    Ok(MetaApplied::changed(true))
}

fn drop_continuous_query(data: &mut MetaData, database: &str, name: &str) -> MetaApplied {
    let Some(db) = data.databases.iter_mut().find(|db| db.name == database) else {
        return MetaApplied::changed(false);
    };
    let before = db.continuous_queries.len();
    db.continuous_queries.retain(|cq| cq.name != name);
    MetaApplied::changed(db.continuous_queries.len() != before)
}

fn create_subscription(
    data: &mut MetaData,
    database: &str,
    subscription: &SubscriptionInfo,
) -> Result<MetaApplied, MetaError> {
    let db = database_mut(data, database)?;
    let policy = &subscription.retention_policy;
    if !db.retention_policies.iter().any(|rp| rp.name == *policy) {
        return Err(not_found("retention policy", policy));
    }
    let exists = db
        .subscriptions
        .iter()
        .any(|sub| sub.retention_policy == *policy && sub.name == subscription.name);
    if exists {
        return Err(MetaError::Conflict(SUBSCRIPTION_EXISTS));
    }
    db.subscriptions.push(subscription.clone());
    Ok(MetaApplied::changed(true))
}

fn drop_subscription(
    data: &mut MetaData,
    database: &str,
    retention_policy: &str,
    name: &str,
) -> Result<MetaApplied, MetaError> {
    let db = database_mut(data, database)?;
    if !db
        .retention_policies
        .iter()
        .any(|rp| rp.name == retention_policy)
    {
        return Err(not_found("retention policy", retention_policy));
    }
    let before = db.subscriptions.len();
    db.subscriptions
        .retain(|sub| !(sub.retention_policy == retention_policy && sub.name == name));
    if db.subscriptions.len() == before {
        return Err(MetaError::Conflict(SUBSCRIPTION_NOT_FOUND));
    }
    Ok(MetaApplied::changed(true))
}

fn create_user(
    data: &mut MetaData,
    name: &str,
    password_hash: &str,
    admin: bool,
) -> Result<MetaApplied, MetaError> {
    if data.user(name).is_some() {
        return Err(MetaError::Conflict(USER_EXISTS));
    }
    data.users.push(UserInfo {
        name: name.to_string(),
        password_hash: password_hash.to_string(),
        admin,
        privileges: Vec::new(),
    });
    Ok(MetaApplied::changed(true))
}

fn drop_user(data: &mut MetaData, name: &str) -> Result<MetaApplied, MetaError> {
    let before = data.users.len();
    data.users.retain(|user| user.name != name);
    if data.users.len() == before {
        return Err(MetaError::Conflict(USER_NOT_FOUND));
    }
    Ok(MetaApplied::changed(true))
}

fn change_privilege(
    data: &mut MetaData,
    name: &str,
    database: &str,
    change: PrivilegeChange,
) -> Result<MetaApplied, MetaError> {
    // The user is checked first, then the database, as InfluxDB does.
    data.user_mut(name)?;
    if data.database(database).is_none() {
        return Err(not_found("database", database));
    }
    let user = data.user_mut(name)?;
    let next = match change {
        PrivilegeChange::Set(privilege) => privilege,
        PrivilegeChange::Revoke(revoked) => {
            UserPrivilege::from_bits(user.privilege(database).bits() & !revoked.bits())
        }
    };
    match user.privileges.iter_mut().find(|(db, _)| db == database) {
        Some(entry) => entry.1 = next,
        None => {
            user.privileges.push((database.to_string(), next));
            user.privileges.sort_by(|a, b| a.0.cmp(&b.0));
        }
    }
    Ok(MetaApplied::changed(true))
}

fn add_node(data: &mut MetaData, addresses: &NodeAddresses) -> MetaApplied {
    // A node that joins again from the same meta address keeps its id (a retried join).
    if let Some(node) = data
        .nodes
        .iter()
        .find(|n| n.addresses.meta == addresses.meta)
    {
        return MetaApplied {
            changed: false,
            value: MetaValue::NodeId(node.id),
        };
    }
    let id = data.next_node_id.max(1);
    data.next_node_id = id + 1;
    data.nodes.push(NodeInfo {
        id,
        addresses: addresses.clone(),
    });
    MetaApplied {
        changed: true,
        value: MetaValue::NodeId(id),
    }
}

// ---------------------------------------------------------------------------------------
// Encoding

fn put_str(out: &mut Vec<u8>, text: &str) {
    put_bytes_u32(out, text.as_bytes());
}

fn put_opt_i64(out: &mut Vec<u8>, value: Option<i64>) {
    match value {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

fn put_opt_u32(out: &mut Vec<u8>, value: Option<u32>) {
    match value {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

fn put_addresses(out: &mut Vec<u8>, addresses: &NodeAddresses) {
    put_str(out, &addresses.meta);
    put_str(out, &addresses.http);
    put_str(out, &addresses.data);
}

impl MetaCommand {
    /// The command's bytes (see the module doc).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![COMMAND_FORMAT_VERSION, self.kind()];
        self.encode_fields(&mut out);
        out
    }

    fn kind(&self) -> u8 {
        use MetaCommand as C;
        match self {
            C::CreateDatabase { .. } => 1,
            C::DropDatabase { .. } => 2,
            C::CreateRetentionPolicy { .. } => 3,
            C::AlterRetentionPolicy { .. } => 4,
            C::DropRetentionPolicy { .. } => 5,
            C::DropShard { .. } => 6,
            C::CreateShardGroup { .. } => 7,
            C::DeleteShardGroups { .. } => 8,
            C::CreateContinuousQuery { .. } => 9,
            C::DropContinuousQuery { .. } => 10,
            C::CreateSubscription { .. } => 11,
            C::DropSubscription { .. } => 12,
            C::CreateUser { .. } => 13,
            C::DropUser { .. } => 14,
            C::SetPasswordHash { .. } => 15,
            C::SetAdmin { .. } => 16,
            C::ChangePrivilege { .. } => 17,
            C::AddNode { .. } => 18,
            C::UpdateNode { .. } => 19,
            C::RemoveNode { .. } => 20,
        }
    }

    fn encode_fields(&self, out: &mut Vec<u8>) {
        use MetaCommand as C;
        match self {
            C::CreateDatabase { name, spec } => {
                put_str(out, name);
                match &spec.name {
                    None => out.push(0),
                    Some(rp) => {
                        out.push(1);
                        put_str(out, rp);
                    }
                }
                put_opt_i64(out, spec.duration_ns);
                put_opt_i64(out, spec.shard_group_duration_ns);
                put_opt_u32(out, spec.replication);
            }
            C::DropDatabase { name } | C::DropUser { name } => put_str(out, name),
            C::CreateRetentionPolicy {
                database,
                policy,
                make_default,
            } => {
                put_str(out, database);
                put_str(out, &policy.name);
                out.extend_from_slice(&policy.duration_ns.to_le_bytes());
                out.extend_from_slice(&policy.shard_group_duration_ns.to_le_bytes());
                out.extend_from_slice(&policy.replication.to_le_bytes());
                out.push(u8::from(*make_default));
            }
            C::AlterRetentionPolicy {
                database,
                name,
                change,
            } => {
                put_str(out, database);
                put_str(out, name);
                put_opt_i64(out, change.duration_ns);
                put_opt_u32(out, change.replication);
                put_opt_i64(out, change.shard_group_duration_ns);
                out.push(u8::from(change.make_default));
            }
            C::DropRetentionPolicy { database, name }
            | C::DropContinuousQuery { database, name } => {
                put_str(out, database);
                put_str(out, name);
            }
            C::DropShard { shard_id } => out.extend_from_slice(&shard_id.to_le_bytes()),
            C::CreateShardGroup {
                database_id,
                retention_policy,
                timestamp_ns,
            } => {
                out.extend_from_slice(&database_id.to_le_bytes());
                put_str(out, retention_policy);
                out.extend_from_slice(&timestamp_ns.to_le_bytes());
            }
            C::DeleteShardGroups {
                database_id,
                retention_policy,
                shard_group_ids,
            } => {
                out.extend_from_slice(&database_id.to_le_bytes());
                put_str(out, retention_policy);
                out.extend_from_slice(&(shard_group_ids.len() as u32).to_le_bytes());
                for id in shard_group_ids {
                    out.extend_from_slice(&id.to_le_bytes());
                }
            }
            C::CreateContinuousQuery {
                database,
                name,
                query,
            } => {
                put_str(out, database);
                put_str(out, name);
                put_str(out, query);
            }
            C::CreateSubscription {
                database,
                subscription,
            } => {
                put_str(out, database);
                put_str(out, &subscription.name);
                put_str(out, &subscription.retention_policy);
                out.push(u8::from(subscription.mode_all));
                out.extend_from_slice(&(subscription.destinations.len() as u32).to_le_bytes());
                for destination in &subscription.destinations {
                    put_str(out, destination);
                }
            }
            C::DropSubscription {
                database,
                retention_policy,
                name,
            } => {
                put_str(out, database);
                put_str(out, retention_policy);
                put_str(out, name);
            }
            C::CreateUser {
                name,
                password_hash,
                admin,
            } => {
                put_str(out, name);
                put_str(out, password_hash);
                out.push(u8::from(*admin));
            }
            C::SetPasswordHash {
                name,
                password_hash,
            } => {
                put_str(out, name);
                put_str(out, password_hash);
            }
            C::SetAdmin { name, admin } => {
                put_str(out, name);
                out.push(u8::from(*admin));
            }
            C::ChangePrivilege {
                user,
                database,
                change,
            } => {
                put_str(out, user);
                put_str(out, database);
                match change {
                    PrivilegeChange::Set(p) => out.extend_from_slice(&[0, p.bits()]),
                    PrivilegeChange::Revoke(p) => out.extend_from_slice(&[1, p.bits()]),
                }
            }
            C::AddNode { addresses } => put_addresses(out, addresses),
            C::UpdateNode { id, addresses } => {
                out.extend_from_slice(&id.to_le_bytes());
                put_addresses(out, addresses);
            }
            C::RemoveNode { id } => out.extend_from_slice(&id.to_le_bytes()),
        }
    }

    /// The command `bytes` encode, or why they do not.
    pub fn decode(bytes: &[u8]) -> Result<MetaCommand, String> {
        let mut reader = Fields {
            reader: Reader::new(bytes),
        };
        let version = reader.u8()?;
        if version != COMMAND_FORMAT_VERSION {
            return Err(format!("unsupported meta command version {version}"));
        }
        let kind = reader.u8()?;
        let command = reader.command(kind)?;
        if reader.reader.remaining() != 0 {
            return Err("trailing bytes after a meta command".into());
        }
        Ok(command)
    }
}

/// A [`Reader`] with typed errors for the command decoder.
struct Fields<'a> {
    reader: Reader<'a>,
}

impl Fields<'_> {
    fn u8(&mut self) -> Result<u8, String> {
        self.reader.u8().map_err(|_| "truncated".to_string())
    }
    fn u32(&mut self) -> Result<u32, String> {
        self.reader.u32().map_err(|_| "truncated".to_string())
    }
    fn u64(&mut self) -> Result<u64, String> {
        self.reader.u64().map_err(|_| "truncated".to_string())
    }
    fn i64(&mut self) -> Result<i64, String> {
        self.reader.i64().map_err(|_| "truncated".to_string())
    }
    fn flag(&mut self) -> Result<bool, String> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(format!("bad flag {other}")),
        }
    }
    fn text(&mut self) -> Result<String, String> {
        let bytes = self
            .reader
            .bytes_u32()
            .map_err(|_| "truncated".to_string())?;
        String::from_utf8(bytes.to_vec()).map_err(|_| "name is not UTF-8".to_string())
    }
    fn opt_i64(&mut self) -> Result<Option<i64>, String> {
        Ok(if self.flag()? {
            Some(self.i64()?)
        } else {
            None
        })
    }
    fn opt_u32(&mut self) -> Result<Option<u32>, String> {
        Ok(if self.flag()? {
            Some(self.u32()?)
        } else {
            None
        })
    }
    /// A count of items at least `item_bytes` long each, refused when the bytes left
    /// cannot hold them (input never sizes an allocation).
    fn count(&mut self, item_bytes: usize) -> Result<usize, String> {
        let count = self.u32()? as usize;
        if count.saturating_mul(item_bytes) > self.reader.remaining() {
            return Err("count larger than the command".into());
        }
        Ok(count)
    }
    fn addresses(&mut self) -> Result<NodeAddresses, String> {
        Ok(NodeAddresses {
            meta: self.text()?,
            http: self.text()?,
            data: self.text()?,
        })
    }

    fn command(&mut self, kind: u8) -> Result<MetaCommand, String> {
        use MetaCommand as C;
        Ok(match kind {
            1 => C::CreateDatabase {
                name: self.text()?,
                spec: RetentionPolicySpec {
                    name: if self.flag()? {
                        Some(self.text()?)
                    } else {
                        None
                    },
                    duration_ns: self.opt_i64()?,
                    shard_group_duration_ns: self.opt_i64()?,
                    replication: self.opt_u32()?,
                },
            },
            2 => C::DropDatabase { name: self.text()? },
            3 => C::CreateRetentionPolicy {
                database: self.text()?,
                policy: RetentionPolicy {
                    name: self.text()?,
                    duration_ns: self.i64()?,
                    shard_group_duration_ns: self.i64()?,
                    replication: self.u32()?,
                    shard_groups: Vec::new(),
                },
                make_default: self.flag()?,
            },
            4 => C::AlterRetentionPolicy {
                database: self.text()?,
                name: self.text()?,
                change: RetentionPolicyChange {
                    duration_ns: self.opt_i64()?,
                    replication: self.opt_u32()?,
                    shard_group_duration_ns: self.opt_i64()?,
                    make_default: self.flag()?,
                },
            },
            5 => C::DropRetentionPolicy {
                database: self.text()?,
                name: self.text()?,
            },
            6 => C::DropShard {
                shard_id: self.u64()?,
            },
            7 => C::CreateShardGroup {
                database_id: self.u64()?,
                retention_policy: self.text()?,
                timestamp_ns: self.i64()?,
            },
            8 => {
                let database_id = self.u64()?;
                let retention_policy = self.text()?;
                let count = self.count(8)?;
                let mut shard_group_ids = Vec::with_capacity(count);
                for _ in 0..count {
                    shard_group_ids.push(self.u64()?);
                }
                C::DeleteShardGroups {
                    database_id,
                    retention_policy,
                    shard_group_ids,
                }
            }
            9 => C::CreateContinuousQuery {
                database: self.text()?,
                name: self.text()?,
                query: self.text()?,
            },
            10 => C::DropContinuousQuery {
                database: self.text()?,
                name: self.text()?,
            },
            11 => {
                let database = self.text()?;
                let name = self.text()?;
                let retention_policy = self.text()?;
                let mode_all = self.flag()?;
                let count = self.count(4)?;
                let mut destinations = Vec::with_capacity(count);
                for _ in 0..count {
                    destinations.push(self.text()?);
                }
                C::CreateSubscription {
                    database,
                    subscription: SubscriptionInfo {
                        name,
                        retention_policy,
                        mode_all,
                        destinations,
                    },
                }
            }
            12 => C::DropSubscription {
                database: self.text()?,
                retention_policy: self.text()?,
                name: self.text()?,
            },
            13 => C::CreateUser {
                name: self.text()?,
                password_hash: self.text()?,
                admin: self.flag()?,
            },
            14 => C::DropUser { name: self.text()? },
            15 => C::SetPasswordHash {
                name: self.text()?,
                password_hash: self.text()?,
            },
            16 => C::SetAdmin {
                name: self.text()?,
                admin: self.flag()?,
            },
            17 => {
                let user = self.text()?;
                let database = self.text()?;
                let revoke = self.flag()?;
                let bits = self.u8()?;
                if bits > 3 {
                    return Err(format!("bad privilege {bits}"));
                }
                let privilege = UserPrivilege::from_bits(bits);
                C::ChangePrivilege {
                    user,
                    database,
                    change: if revoke {
                        PrivilegeChange::Revoke(privilege)
                    } else {
                        PrivilegeChange::Set(privilege)
                    },
                }
            }
            18 => C::AddNode {
                addresses: self.addresses()?,
            },
            19 => C::UpdateNode {
                id: self.u64()?,
                addresses: self.addresses()?,
            },
            20 => C::RemoveNode { id: self.u64()? },
            other => return Err(format!("unknown meta command kind {other}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("a".to_string()),
            Just("b".to_string()),
            Just("".to_string())
        ]
    }

    fn privilege() -> impl Strategy<Value = UserPrivilege> {
        (0u8..4).prop_map(UserPrivilege::from_bits)
    }

    fn addresses() -> impl Strategy<Value = NodeAddresses> {
        (0u8..3).prop_map(|n| NodeAddresses {
            meta: format!("10.0.0.{n}:8091"),
            http: format!("10.0.0.{n}:8086"),
            data: format!("10.0.0.{n}:8088"),
        })
    }

    fn hour_multiple() -> impl Strategy<Value = i64> {
        prop_oneof![Just(0i64), Just(1), Just(2), Just(48), Just(24 * 400)]
            .prop_map(|hours| hours * NANOS_PER_HOUR_TEST)
    }

    const NANOS_PER_HOUR_TEST: i64 = 3_600_000_000_000;

    fn command() -> impl Strategy<Value = MetaCommand> {
        use MetaCommand as C;
        prop_oneof![
            (
                name(),
                proptest::option::of(name()),
                proptest::option::of(hour_multiple()),
                proptest::option::of(1u32..4)
            )
                .prop_map(|(name, rp, duration_ns, replication)| C::CreateDatabase {
                    name,
                    spec: RetentionPolicySpec {
                        name: rp,
                        duration_ns,
                        shard_group_duration_ns: None,
                        replication,
                    },
                }),
            name().prop_map(|name| C::DropDatabase { name }),
            (
                name(),
                name(),
                hour_multiple(),
                hour_multiple(),
                1u32..4,
                any::<bool>()
            )
                .prop_map(
                    |(database, rp, duration_ns, shard_ns, replication, make_default)| {
                        C::CreateRetentionPolicy {
                            database,
                            policy: RetentionPolicy {
                                name: rp,
                                duration_ns,
                                shard_group_duration_ns: shard_ns.max(NANOS_PER_HOUR_TEST),
                                replication,
                                shard_groups: Vec::new(),
                            },
                            make_default,
                        }
                    }
                ),
            (
                name(),
                name(),
                proptest::option::of(hour_multiple()),
                any::<bool>()
            )
                .prop_map(|(database, name, duration_ns, make_default)| {
                    C::AlterRetentionPolicy {
                        database,
                        name,
                        change: RetentionPolicyChange {
                            duration_ns,
                            replication: Some(2),
                            shard_group_duration_ns: None,
                            make_default,
                        },
                    }
                }),
            (name(), name()).prop_map(|(database, name)| C::DropRetentionPolicy { database, name }),
            (0u64..6).prop_map(|shard_id| C::DropShard { shard_id }),
            (
                0u64..4,
                name(),
                -1_000_000_000_000_000i64..1_000_000_000_000_000
            )
                .prop_map(|(database_id, retention_policy, timestamp_ns)| {
                    C::CreateShardGroup {
                        database_id,
                        retention_policy,
                        timestamp_ns,
                    }
                }),
            (0u64..4, name(), proptest::collection::vec(0u64..6, 0..3)).prop_map(
                |(database_id, retention_policy, shard_group_ids)| C::DeleteShardGroups {
                    database_id,
                    retention_policy,
                    shard_group_ids,
                }
            ),
            (name(), name(), name()).prop_map(|(database, name, query)| {
                C::CreateContinuousQuery {
                    database,
                    name,
                    query,
                }
            }),
            (name(), name()).prop_map(|(database, name)| C::DropContinuousQuery { database, name }),
            (name(), name(), name(), any::<bool>()).prop_map(|(database, name, rp, mode_all)| {
                C::CreateSubscription {
                    database,
                    subscription: SubscriptionInfo {
                        name,
                        retention_policy: rp,
                        mode_all,
                        destinations: vec!["udp://h:1".into()],
                    },
                }
            }),
            (name(), name(), name()).prop_map(|(database, retention_policy, name)| {
                C::DropSubscription {
                    database,
                    retention_policy,
                    name,
                }
            }),
            (name(), name(), any::<bool>()).prop_map(|(name, password_hash, admin)| {
                C::CreateUser {
                    name,
                    password_hash,
                    admin,
                }
            }),
            name().prop_map(|name| C::DropUser { name }),
            (name(), name()).prop_map(|(name, password_hash)| C::SetPasswordHash {
                name,
                password_hash
            }),
            (name(), any::<bool>()).prop_map(|(name, admin)| C::SetAdmin { name, admin }),
            (name(), name(), privilege(), any::<bool>()).prop_map(
                |(user, database, privilege, revoke)| C::ChangePrivilege {
                    user,
                    database,
                    change: if revoke {
                        PrivilegeChange::Revoke(privilege)
                    } else {
                        PrivilegeChange::Set(privilege)
                    },
                }
            ),
            addresses().prop_map(|addresses| C::AddNode { addresses }),
            (0u64..4, addresses()).prop_map(|(id, addresses)| C::UpdateNode { id, addresses }),
            (0u64..4).prop_map(|id| C::RemoveNode { id }),
        ]
    }

    /// Applies like a replica: a failed command leaves the state as it was.
    fn apply_all(commands: &[MetaCommand]) -> (MetaData, Vec<Result<MetaApplied, String>>) {
        let mut data = MetaData::fresh();
        let mut answers = Vec::new();
        for command in commands {
            let mut next = data.clone();
            match apply(&mut next, command) {
                Ok(applied) => {
                    data = next;
                    answers.push(Ok(applied));
                }
                Err(error) => answers.push(Err(error.to_string())),
            }
        }
        (data, answers)
    }

    proptest! {
        /// Every command encodes to bytes that decode to the same command.
        #[test]
        fn commands_round_trip(command in command()) {
            let bytes = command.encode();
            prop_assert_eq!(MetaCommand::decode(&bytes), Ok(command));
        }

        /// The same log applied on two stores gives equal states and answers, and the
        /// state survives meta.db's encoding.
        #[test]
        fn replicas_agree(commands in proptest::collection::vec(command(), 0..40)) {
            let decoded: Vec<MetaCommand> = commands
                .iter()
                .map(|c| MetaCommand::decode(&c.encode()).expect("round trip"))
                .collect();
            let (first, first_answers) = apply_all(&commands);
            let (second, second_answers) = apply_all(&decoded);
            prop_assert_eq!(&first, &second);
            prop_assert_eq!(first_answers, second_answers);
            let file = super::super::encode_for_fuzzing(&first);
            prop_assert_eq!(super::super::decode_for_fuzzing(&file), Ok(first));
        }

        /// Decoding arbitrary bytes never panics.
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = MetaCommand::decode(&bytes);
        }
    }

    #[test]
    fn owners_are_balanced_over_nodes() {
        let mut data = MetaData::fresh();
        for n in 0..3 {
            apply(
                &mut data,
                &MetaCommand::AddNode {
                    addresses: NodeAddresses {
                        meta: format!("n{n}:8091"),
                        ..NodeAddresses::default()
                    },
                },
            )
            .expect("add node");
        }
        let spec = RetentionPolicySpec {
            replication: Some(2),
            ..RetentionPolicySpec::default()
        };
        apply(
            &mut data,
            &MetaCommand::CreateDatabase {
                name: "db".into(),
                spec,
            },
        )
        .expect("db");
        let mut owned = [0usize; 4];
        for week in 0..6i64 {
            let command = MetaCommand::CreateShardGroup {
                database_id: 1,
                retention_policy: String::new(),
                timestamp_ns: week * 7 * 24 * NANOS_PER_HOUR_TEST,
            };
            let applied = apply(&mut data, &command).expect("group");
            let MetaValue::ShardGroup(Some(group)) = applied.value else {
                panic!("no group: {applied:?}");
            };
            assert_eq!(group.owners.len(), 2);
            assert_ne!(group.owners[0], group.owners[1]);
            for owner in group.owners {
                owned[owner as usize] += 1;
            }
        }
        assert_eq!(&owned[1..], &[4, 4, 4]);
    }
}
