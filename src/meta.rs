//! The meta store: databases and their retention policies, persisted atomically.
//!
//! Owns `<meta dir>/meta.db`. Readers take a cheap snapshot (`Arc<MetaData>`); writers are
//! serialised by one mutex, build a new snapshot, persist it (write temp file, fsync, rename,
//! fsync directory) and only then publish it, so what any reader sees is on disk.
//!
//! File format (little-endian):
//! ```text
//! magic "SLUICEMT" | version u32 = 1 | body_len u32 | crc32(body) u32 | body
//! body: next_database_id u64 | database_count u32 | database*
//! database: id u64 | name (u32 len + bytes) | default_rp (u32 len + bytes) | rp_count u32 | rp*
//! rp: name (u32 len + bytes) | duration_ns i64 (0 = infinite) | shard_group_duration_ns i64
//!     | replication u32
//! ```
//! Database ids are never reused: WAL records carry the id, so the points of a dropped
//! database are recognised and skipped even if a database of the same name is created again.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use crate::codec::{put_bytes_u32, Reader};

const MAGIC: &[u8; 8] = b"SLUICEMT";
const FORMAT_VERSION: u32 = 1;
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

/// One consistent view of all metadata.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetaData {
    /// id the next created database gets
    pub next_database_id: u64,
    /// databases in creation order (InfluxDB lists them so)
    pub databases: Vec<Database>,
}

impl MetaData {
    /// The database called `name`.
    pub fn database(&self, name: &str) -> Option<&Database> {
        self.databases.iter().find(|db| db.name == name)
    }

    /// The database with id `id`.
    pub fn database_by_id(&self, id: u64) -> Option<&Database> {
        self.databases.iter().find(|db| db.id == id)
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
}

impl std::fmt::Display for MetaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MetaError::Io(e) => write!(f, "meta store I/O: {e}"),
            MetaError::Corrupt(why) => write!(f, "meta store corrupt: {why}"),
            MetaError::Conflict(text) => f.write_str(text),
        }
    }
}

impl From<std::io::Error> for MetaError {
    fn from(error: std::io::Error) -> Self {
        MetaError::Io(error)
    }
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
    directory: PathBuf,
    current: RwLock<Arc<MetaData>>,
    writer: Mutex<()>,
}

impl MetaStore {
    /// Opens (or creates) the store in `directory`.
    pub fn open(directory: &Path) -> Result<MetaStore, MetaError> {
        fs::create_dir_all(directory)?;
        let data = load(&directory.join(FILE_NAME))?.unwrap_or(MetaData {
            next_database_id: 1,
            databases: Vec::new(),
        });
        Ok(MetaStore {
            directory: directory.to_path_buf(),
            current: RwLock::new(Arc::new(data)),
            writer: Mutex::new(()),
        })
    }

    /// Reads the store in `directory` without creating anything (for `sluice export`).
    pub fn read_only(directory: &Path) -> Result<MetaData, MetaError> {
        Ok(load(&directory.join(FILE_NAME))?.unwrap_or_default())
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<MetaData> {
        match self.current.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Creates a database (idempotent when the options match), as `CREATE DATABASE`.
    pub fn create_database(&self, name: &str, spec: &RetentionPolicySpec) -> Result<(), MetaError> {
        self.update(|data| {
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
            };
            if let Some(existing) = data.database(name) {
                let has_options = *spec != RetentionPolicySpec::default();
                if has_options {
                    match existing.retention_policy(&rp_name) {
                        Some(found)
                            if *found == policy && existing.default_retention_policy == rp_name => {
                        }
                        _ => {
                            return Err(MetaError::Conflict(
                                "retention policy conflicts with an existing policy",
                            ))
                        }
                    }
                }
                return Ok(false);
            }
            let id = data.next_database_id;
            data.next_database_id += 1;
            data.databases.push(Database {
                id,
                name: name.to_string(),
                default_retention_policy: rp_name,
                retention_policies: vec![policy],
            });
            Ok(true)
        })
    }

    /// Drops a database; dropping a missing one is not an error (as InfluxDB).
    pub fn drop_database(&self, name: &str) -> Result<(), MetaError> {
        self.update(|data| {
            let before = data.databases.len();
            data.databases.retain(|db| db.name != name);
            Ok(data.databases.len() != before)
        })
    }

    /// Applies `change` to a copy; persists and publishes it when `change` returns `Ok(true)`.
    fn update(
        &self,
        change: impl FnOnce(&mut MetaData) -> Result<bool, MetaError>,
    ) -> Result<(), MetaError> {
        let _serialised = match self.writer.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut next = (*self.snapshot()).clone();
        if !change(&mut next)? {
            return Ok(());
        }
        persist(&self.directory, &next)?;
        match self.current.write() {
            Ok(mut guard) => *guard = Arc::new(next),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(next),
        }
        Ok(())
    }
}

fn encode(data: &MetaData) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&data.next_database_id.to_le_bytes());
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
        }
    }
    let mut file = Vec::with_capacity(body.len() + 20);
    file.extend_from_slice(MAGIC);
    file.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    file.extend_from_slice(&(body.len() as u32).to_le_bytes());
    file.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    file.extend_from_slice(&body);
    file
}

fn decode(bytes: &[u8]) -> Result<MetaData, String> {
    let truncated = |_| "truncated".to_string();
    let mut reader = Reader::new(bytes);
    if reader.take(MAGIC.len()).map_err(truncated)? != MAGIC {
        return Err("bad magic".into());
    }
    let version = reader.u32().map_err(truncated)?;
    if version != FORMAT_VERSION {
        return Err(format!("unsupported version {version}"));
    }
    let body_len = reader.u32().map_err(truncated)? as usize;
    let crc = reader.u32().map_err(truncated)?;
    let body = reader.take(body_len).map_err(truncated)?;
    if crc32fast::hash(body) != crc {
        return Err("checksum mismatch".into());
    }
    let mut body = Reader::new(body);
    let text = |bytes: &[u8]| {
        String::from_utf8(bytes.to_vec()).map_err(|_| "name is not UTF-8".to_string())
    };
    let next_database_id = body.u64().map_err(truncated)?;
    let database_count = body.u32().map_err(truncated)?;
    let mut databases = Vec::new();
    for _ in 0..database_count {
        let id = body.u64().map_err(truncated)?;
        let name = text(body.bytes_u32().map_err(truncated)?)?;
        let default_retention_policy = text(body.bytes_u32().map_err(truncated)?)?;
        let rp_count = body.u32().map_err(truncated)?;
        let mut retention_policies = Vec::new();
        for _ in 0..rp_count {
            retention_policies.push(RetentionPolicy {
                name: text(body.bytes_u32().map_err(truncated)?)?,
                duration_ns: body.i64().map_err(truncated)?,
                shard_group_duration_ns: body.i64().map_err(truncated)?,
                replication: body.u32().map_err(truncated)?,
            });
        }
        databases.push(Database {
            id,
            name,
            default_retention_policy,
            retention_policies,
        });
    }
    Ok(MetaData {
        next_database_id,
        databases,
    })
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
fn persist(directory: &Path, data: &MetaData) -> Result<(), MetaError> {
    let temporary = directory.join(format!("{FILE_NAME}.tmp"));
    let mut file = File::create(&temporary)?;
    file.write_all(&encode(data))?;
    file.sync_all()?;
    drop(file);
    fs::rename(&temporary, directory.join(FILE_NAME))?;
    sync_directory(directory)?;
    Ok(())
}

/// fsyncs a directory so a rename or new file in it is durable.
pub fn sync_directory(directory: &Path) -> std::io::Result<()> {
    File::open(directory)?.sync_all()
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
    fn corrupt_file_is_an_error_not_a_panic() {
        let mut bytes = encode(&MetaData {
            next_database_id: 2,
            databases: vec![],
        });
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        assert!(decode(&bytes).is_err());
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err());
        }
    }
}
