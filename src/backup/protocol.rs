//! The backup protocol: frames on one TCP connection, and the messages they carry.
//!
//! ```text
//! frame   = kind u8 | length u32 LE | payload[length]      length ≤ BACKUP_FRAME_MAX_BYTES
//! kinds   = 1 Request   client → server, JSON `Hello` (protocol version + `Request`)
//!           2 FileStart backup: server → client, JSON `FileHeader`
//!                       restore: client → server, JSON `DataTarget`
//!           3 Data      bytes of the current file (backup) or whole lines (restore)
//!           4 FileEnd   backup: JSON `FileTrailer` (bytes, SHA-256, points); restore: empty
//!           5 Done      backup: JSON `BackupSummary`; restore: client → server empty, then
//!                       server → client JSON `RestoreSummary`
//!           6 Error     UTF-8 text; the connection is closed after it
//!           7 Ready     restore: the databases are created, send the points
//!           8 ShardWrite   peer session: client → server, `header length u32 LE | JSON
//!                          ShardWriteHeader | line protocol` (`cluster::rpc`)
//!           9 ShardWriteAck peer session: server → client, JSON `ShardWriteAck`, sent once
//!                          the write is durable (or refused)
//! ```
//!
//! A peer session (`Request::PeerSession`, `cluster::rpc`) is a third kind of connection: after
//! `Ready`, any number of `ShardWrite` → `ShardWriteAck` exchanges, one at a time, until the
//! client closes it or it is idle for `CLUSTER_PEER_SESSION_IDLE_MS`. The first `Ready`
//! carries a random `nonce`; with `[http] auth-enabled` the session's `Hello` proves the
//! shared secret with an HMAC of it. A server of protocol 1 without peer sessions refuses the
//! unknown request with `Error`, so the extension needs no new version.
//!
//! The server speaks first: `Ready` (`{"protocol": 1}`) once a backup thread has taken the
//! connection, or `Error` when every thread is busy. Then a backup: `Request` → `FileStart
//! Data* FileEnd` per file → `Done`; a restore: `Request` → `Ready` → `FileStart Data*
//! FileEnd` per data file → `Done` → `Done`. Either side may send `Error` instead of its
//! next frame. Owns framing and message shapes only: no file,
//! store or socket setup.

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

use crate::limits::BACKUP_FRAME_MAX_BYTES;

/// Version of this protocol a `Hello` carries; another version is refused.
pub const PROTOCOL_VERSION: u32 = 1;

/// What a frame carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    /// the client's [`Hello`]
    Request = 1,
    /// a file begins
    FileStart = 2,
    /// bytes of the current file
    Data = 3,
    /// the current file ends
    FileEnd = 4,
    /// everything was sent
    Done = 5,
    /// the sender gives up; the text says why
    Error = 6,
    /// restore: databases created, points welcome
    Ready = 7,
    /// peer session: points for one shard of one owner
    ShardWrite = 8,
    /// peer session: the answer to one `ShardWrite`
    ShardWriteAck = 9,
}

impl FrameKind {
    fn from_byte(byte: u8) -> Option<FrameKind> {
        Some(match byte {
            1 => FrameKind::Request,
            2 => FrameKind::FileStart,
            3 => FrameKind::Data,
            4 => FrameKind::FileEnd,
            5 => FrameKind::Done,
            6 => FrameKind::Error,
            7 => FrameKind::Ready,
            8 => FrameKind::ShardWrite,
            9 => FrameKind::ShardWriteAck,
            _ => return None,
        })
    }
}

/// Why a frame could not be read or written.
#[derive(Debug)]
pub enum FrameError {
    /// the connection failed or timed out
    Io(std::io::Error),
    /// the peer sent something that is not this protocol
    Malformed(String),
    /// the peer sent an `Error` frame
    Peer(String),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Io(error) => write!(f, "backup connection: {error}"),
            FrameError::Malformed(why) => write!(f, "not the backup protocol: {why}"),
            FrameError::Peer(text) => f.write_str(text),
        }
    }
}

impl From<std::io::Error> for FrameError {
    fn from(error: std::io::Error) -> Self {
        FrameError::Io(error)
    }
}

/// Writes one frame.
pub fn write_frame(out: &mut dyn Write, kind: FrameKind, payload: &[u8]) -> std::io::Result<()> {
    if payload.len() > BACKUP_FRAME_MAX_BYTES {
        panic!("BUG: a backup frame of {} bytes was built", payload.len());
    }
    let mut head = [0u8; 5];
    head[0] = kind as u8;
    head[1..].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    out.write_all(&head)?;
    out.write_all(payload)
}

/// Writes a frame whose payload is `message` as JSON.
pub fn write_json<T: Serialize>(
    out: &mut dyn Write,
    kind: FrameKind,
    message: &T,
) -> std::io::Result<()> {
    let payload = serde_json::to_vec(message).map_err(std::io::Error::other)?;
    write_frame(out, kind, &payload)
}

/// Reads one frame into `payload` (cleared first); an `Error` frame is returned as
/// [`FrameError::Peer`].
pub fn read_frame(input: &mut dyn Read, payload: &mut Vec<u8>) -> Result<FrameKind, FrameError> {
    let mut head = [0u8; 5];
    input.read_exact(&mut head)?;
    let kind = FrameKind::from_byte(head[0])
        .ok_or_else(|| FrameError::Malformed(format!("frame kind {}", head[0])))?;
    let mut length_bytes = [0u8; 4];
    length_bytes.copy_from_slice(&head[1..]);
    let length = u32::from_le_bytes(length_bytes) as usize;
    if length > BACKUP_FRAME_MAX_BYTES {
        return Err(FrameError::Malformed(format!(
            "a frame of {length} bytes (at most {BACKUP_FRAME_MAX_BYTES})"
        )));
    }
    payload.clear();
    payload.resize(length, 0);
    input.read_exact(payload)?;
    if kind == FrameKind::Error {
        return Err(FrameError::Peer(
            String::from_utf8_lossy(payload).into_owned(),
        ));
    }
    Ok(kind)
}

/// Reads one frame that must be of `expected` kind and parses its JSON payload.
pub fn read_json<T: for<'de> Deserialize<'de>>(
    input: &mut dyn Read,
    expected: FrameKind,
    payload: &mut Vec<u8>,
) -> Result<T, FrameError> {
    let kind = read_frame(input, payload)?;
    if kind != expected {
        return Err(FrameError::Malformed(format!(
            "expected a {expected:?} frame, got {kind:?}"
        )));
    }
    parse_json(payload)
}

/// Parses a JSON payload.
pub fn parse_json<T: for<'de> Deserialize<'de>>(payload: &[u8]) -> Result<T, FrameError> {
    serde_json::from_slice(payload).map_err(|e| FrameError::Malformed(e.to_string()))
}

/// The first frame of a connection.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Hello {
    /// [`PROTOCOL_VERSION`]
    pub protocol: u32,
    /// what the client wants
    pub request: Request,
}

/// What a client asks for.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// stream the meta and the points
    Backup {
        /// only this database
        database: Option<String>,
        /// only this retention policy
        retention_policy: Option<String>,
        /// only points at or after this time (ns)
        since_ns: Option<i64>,
    },
    /// create these databases (none may exist) and take their points
    Restore {
        /// the databases, already renamed as they are to be created
        databases: Vec<DatabaseMeta>,
        /// users to create (those that exist are left as they are)
        users: Vec<UserMeta>,
    },
    /// a cluster peer's session of shard writes (`cluster::rpc`)
    PeerSession {
        /// the sending node's id
        node_id: u64,
        /// with `[http] auth-enabled`: lowercase hex HMAC-SHA-256 under the shared secret
        /// of the server's nonce and `node_id` (`cluster::rpc::session_proof`)
        proof: Option<String>,
        /// the sending node's cluster (its meta state's id; 0: unknown, as a node of the
        /// test-only static cluster); a node of another cluster is refused
        #[serde(default)]
        cluster_id: u64,
    },
}

/// The server's first frame (`Ready`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Greeting {
    /// [`PROTOCOL_VERSION`]
    pub protocol: u32,
    /// random, lowercase hex, fresh per connection: what a peer session's proof signs
    #[serde(default)]
    pub nonce: String,
}

/// A retention policy as backed up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionPolicyMeta {
    /// its name
    pub name: String,
    /// `DURATION`, ns (0 = INF)
    pub duration_ns: i64,
    /// `SHARD DURATION`, ns
    pub shard_group_duration_ns: i64,
    /// `REPLICATION`
    pub replication: u32,
}

/// A continuous query as backed up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContinuousQueryMeta {
    /// its name
    pub name: String,
    /// its statement, as stored
    pub query: String,
}

/// A database as backed up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseMeta {
    /// its name
    pub name: String,
    /// the default retention policy
    pub default_retention_policy: String,
    /// every retention policy
    pub retention_policies: Vec<RetentionPolicyMeta>,
    /// every continuous query
    pub continuous_queries: Vec<ContinuousQueryMeta>,
}

/// A user as backed up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserMeta {
    /// the user name
    pub name: String,
    /// the bcrypt hash of the password
    pub password_hash: String,
    /// admin privilege
    pub admin: bool,
    /// (database, `READ` | `WRITE` | `ALL`)
    pub privileges: Vec<(String, String)>,
}

/// The meta of a backup (its `meta.json`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupMeta {
    /// the databases backed up
    pub databases: Vec<DatabaseMeta>,
    /// every user (a backup of all databases only)
    pub users: Vec<UserMeta>,
}

/// What a backed-up file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// `meta.json`: [`BackupMeta`]
    Meta,
    /// the points of one shard, gzip-compressed line protocol with nanosecond times
    Points,
}

/// A file the server is about to send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileHeader {
    /// file name inside the backup directory (no separator)
    pub name: String,
    /// what it holds
    pub kind: FileKind,
    /// points files: the database
    pub database: Option<String>,
    /// points files: the retention policy
    pub retention_policy: Option<String>,
    /// points files: the shard group's time range `[start, end)`, ns
    pub shard_start_ns: Option<i64>,
    /// see `shard_start_ns`
    pub shard_end_ns: Option<i64>,
}

/// The end of a file: what the receiver must have got.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileTrailer {
    /// bytes of the file
    pub bytes: u64,
    /// SHA-256 of the file, lowercase hex
    pub sha256: String,
    /// points in it (0 for meta)
    pub points: u64,
}

/// The end of a backup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupSummary {
    /// when the server started the backup (ns): every point acknowledged before it is in
    pub started_ns: i64,
    /// points sent
    pub points: u64,
}

/// Where the following data frames of a restore go.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataTarget {
    /// the database, as created by this restore
    pub database: String,
    /// the retention policy
    pub retention_policy: String,
}

/// The end of a restore.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreSummary {
    /// databases created
    pub databases: Vec<String>,
    /// points written (durably)
    pub points: u64,
    /// points left out because their retention policy no longer keeps them
    pub points_expired: u64,
    /// users created
    pub users_created: Vec<String>,
    /// users that existed and were left as they are
    pub users_kept: Vec<String>,
}

/// A digest as lowercase hex, as the manifest and the trailers write it.
pub fn hex(digest: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(digest.len() * 2);
    for byte in digest {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_bad_frames_are_errors() {
        let mut wire = Vec::new();
        write_frame(&mut wire, FrameKind::Data, b"abc").unwrap();
        write_json(&mut wire, FrameKind::Ready, &serde_json::json!({})).unwrap();
        write_frame(&mut wire, FrameKind::Error, b"no room").unwrap();
        let mut input = wire.as_slice();
        let mut payload = Vec::new();
        assert_eq!(
            read_frame(&mut input, &mut payload).unwrap(),
            FrameKind::Data
        );
        assert_eq!(payload, b"abc");
        assert_eq!(
            read_frame(&mut input, &mut payload).unwrap(),
            FrameKind::Ready
        );
        let error = read_frame(&mut input, &mut payload).unwrap_err();
        assert_eq!(error.to_string(), "no room");
        let mut bad_kind: &[u8] = &[10, 0, 0, 0, 0];
        assert!(matches!(
            read_frame(&mut bad_kind, &mut payload),
            Err(FrameError::Malformed(_))
        ));
        let mut too_long: &[u8] = &[3, 0xff, 0xff, 0xff, 0xff];
        assert!(matches!(
            read_frame(&mut too_long, &mut payload),
            Err(FrameError::Malformed(_))
        ));
        let mut torn: &[u8] = &[3, 4, 0, 0, 0, 1];
        assert!(matches!(
            read_frame(&mut torn, &mut payload),
            Err(FrameError::Io(_))
        ));
    }
}
