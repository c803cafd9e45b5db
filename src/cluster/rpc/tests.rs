use super::*;

use std::net::TcpListener;
use std::sync::Arc;

/// Records what it is asked to write; refuses database "refused".
#[derive(Default)]
struct RecordingWriter {
    writes: Mutex<Vec<(ShardWriteHeader, Vec<u8>)>>,
}

impl ShardWriter for RecordingWriter {
    fn write_shard(&self, header: &ShardWriteHeader, lines: &[u8]) -> ShardWriteAck {
        if header.database == "refused" {
            return ShardWriteAck {
                write_id: 0,
                points: 0,
                error: Some("database not found: refused".into()),
                retryable: false,
            };
        }
        sluice_base::locks::lock(&self.writes).push((header.clone(), lines.to_vec()));
        ShardWriteAck {
            write_id: 0,
            points: 1,
            error: None,
            retryable: false,
        }
    }
}

/// The cluster id of the test server's node.
const SERVER_CLUSTER: u64 = 6;

/// A server speaking the data port's side of a peer session, as `backup::service` does,
/// for `sessions` connections; returns its address.
fn serve(auth: PeerAuth, writer: Arc<RecordingWriter>, sessions: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let stopping = AtomicBool::new(false);
        for stream in listener.incoming().take(sessions) {
            let mut stream = stream.unwrap();
            let nonce = random_nonce();
            let greeting = Greeting {
                protocol: PROTOCOL_VERSION,
                nonce: nonce.clone(),
            };
            write_json(&mut stream, FrameKind::Ready, &greeting).unwrap();
            let mut payload = Vec::new();
            let hello: Hello = read_json(&mut stream, FrameKind::Request, &mut payload).unwrap();
            let Request::PeerSession {
                node_id,
                proof,
                cluster_id,
            } = hello.request
            else {
                panic!("not a peer session");
            };
            let opening = SessionOpening {
                nonce: &nonce,
                node_id,
                proof: proof.as_deref(),
                clusters: ClusterIds {
                    peer: cluster_id,
                    own: SERVER_CLUSTER,
                },
            };
            let served =
                serve_peer_session(&mut stream, opening, &auth, writer.as_ref(), &stopping);
            if let Err(SessionEnd::Refused(text)) = served {
                let _ = write_frame(&mut stream, FrameKind::Error, text.as_bytes());
            }
        }
    });
    address
}

fn pool(secret: Option<&[u8]>, connections: usize) -> PeerPool {
    PeerPool::new(PeerClientConfig {
        local_node: 7,
        cluster_id: 0,
        dial_timeout: Duration::from_secs(2),
        max_connections_per_peer: connections,
        shared_secret: secret.map(<[u8]>::to_vec),
    })
}

fn shard_write(database: &str, lines: &[u8]) -> ShardWrite {
    ShardWrite {
        database: database.into(),
        retention_policy: "autogen".into(),
        shard_group_id: 3,
        lines: lines.to_vec(),
        precision: crate::line_protocol::Precision::Nanosecond,
        now_ns: 0,
    }
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(5)
}

#[test]
fn shard_write_frames_round_trip_and_bad_ones_are_errors() {
    let header = ShardWriteHeader {
        write_id: 9,
        database: "db".into(),
        retention_policy: "rp".into(),
        shard_group_id: 4,
        precision: "ms".into(),
        now_ns: 17,
    };
    let mut payload = Vec::new();
    encode_shard_write(&header, b"m v=1 5\n", &mut payload);
    let (decoded, lines) = decode_shard_write(&payload).unwrap();
    assert_eq!(decoded, header);
    assert_eq!(lines, b"m v=1 5\n");
    assert!(decode_shard_write(&payload[..3]).is_err());
    let mut too_long = payload.clone();
    too_long[..4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(decode_shard_write(&too_long).is_err());
    assert!(decode_shard_write(&[2, 0, 0, 0, b'{', b'x']).is_err());
}

#[test]
fn proofs_check_secret_nonce_and_node() {
    let proof = session_proof(b"secret", "00ff", 7);
    assert!(proof_is_valid(b"secret", "00ff", 7, &proof));
    assert!(!proof_is_valid(b"other", "00ff", 7, &proof));
    assert!(!proof_is_valid(b"secret", "00fe", 7, &proof));
    assert!(!proof_is_valid(b"secret", "00ff", 8, &proof));
    assert!(!proof_is_valid(b"secret", "00ff", 7, "zz"));
    assert!(!proof_is_valid(b"secret", "00ff", 7, &proof[..10]));
    assert_ne!(random_nonce(), random_nonce());
    assert_eq!(random_nonce().len(), 2 * NONCE_BYTES);
}

#[test]
fn writes_reuse_one_connection_and_reach_the_writer() {
    let writer = Arc::new(RecordingWriter::default());
    let address = serve(PeerAuth::Open, Arc::clone(&writer), 1);
    let pool = pool(None, 1);
    for value in 0..5 {
        let line = format!("m v={value} {value}\n");
        let points = pool
            .write(&address, &shard_write("db", line.as_bytes()), soon())
            .unwrap();
        assert_eq!(points, 1);
    }
    // One session served all five: the test server takes a single connection.
    let writes = sluice_base::locks::lock(&writer.writes);
    assert_eq!(writes.len(), 5);
    assert_eq!(writes[4].1, b"m v=4 4\n");
    assert_eq!(writes[4].0.shard_group_id, 3);
}

#[test]
fn a_refusal_is_an_answer_and_keeps_the_connection() {
    let writer = Arc::new(RecordingWriter::default());
    let address = serve(PeerAuth::Open, Arc::clone(&writer), 1);
    let pool = pool(None, 1);
    let refused = pool.write(&address, &shard_write("refused", b"m v=1 1\n"), soon());
    assert_eq!(
        refused,
        Err(PeerError::Refused {
            text: "database not found: refused".into(),
            retryable: false
        })
    );
    assert!(!refused.unwrap_err().is_retryable());
    assert_eq!(
        pool.write(&address, &shard_write("db", b"m v=1 1\n"), soon()),
        Ok(1)
    );
}

#[test]
fn with_auth_only_the_shared_secret_opens_a_session() {
    let writer = Arc::new(RecordingWriter::default());
    let auth = PeerAuth::SharedSecret(b"s3cret".to_vec());
    let address = serve(auth, Arc::clone(&writer), 3);
    let wrong = pool(Some(b"guess"), 1).write(&address, &shard_write("db", b"m v=1 1\n"), soon());
    assert!(
        matches!(&wrong, Err(PeerError::Unreachable(text)) if text.contains("bad or missing proof")),
        "{wrong:?}"
    );
    let missing = pool(None, 1).write(&address, &shard_write("db", b"m v=1 1\n"), soon());
    assert!(matches!(missing, Err(PeerError::Unreachable(_))));
    let right = pool(Some(b"s3cret"), 1).write(&address, &shard_write("db", b"m v=1 1\n"), soon());
    assert_eq!(right, Ok(1));
    assert_eq!(sluice_base::locks::lock(&writer.writes).len(), 1);
}

#[test]
fn a_peer_of_another_cluster_is_refused() {
    let writer = Arc::new(RecordingWriter::default());
    let address = serve(PeerAuth::Open, Arc::clone(&writer), 2);
    let of_cluster = |cluster_id| {
        PeerPool::new(PeerClientConfig {
            local_node: 7,
            cluster_id,
            dial_timeout: Duration::from_secs(2),
            max_connections_per_peer: 1,
            shared_secret: None,
        })
    };
    let other = of_cluster(5).write(&address, &shard_write("db", b"m v=1 1\n"), soon());
    assert!(
        matches!(&other, Err(PeerError::Unreachable(text)) if text.contains("another cluster")),
        "{other:?}"
    );
    let same = of_cluster(SERVER_CLUSTER).write(&address, &shard_write("db", b"m v=1 1\n"), soon());
    assert_eq!(same, Ok(1));
    assert_eq!(sluice_base::locks::lock(&writer.writes).len(), 1);
}

#[test]
fn an_empty_secret_with_auth_refuses_every_session() {
    let writer = Arc::new(RecordingWriter::default());
    let address = serve(PeerAuth::SharedSecret(Vec::new()), writer, 1);
    let refused = pool(Some(b""), 1).write(&address, &shard_write("db", b"m v=1 1\n"), soon());
    assert!(
        matches!(&refused, Err(PeerError::Unreachable(text)) if text.contains("shared-secret")),
        "{refused:?}"
    );
}

#[test]
fn a_peer_that_never_answers_times_out_by_the_deadline() {
    // Accepts but never speaks: the handshake cannot finish.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let started = Instant::now();
    let result = pool(None, 1).write(
        &address,
        &shard_write("db", b"m v=1 1\n"),
        Instant::now() + Duration::from_millis(300),
    );
    assert_eq!(result, Err(PeerError::Timeout));
    assert!(started.elapsed() < Duration::from_secs(3));
    drop(listener);
}

#[test]
fn nothing_listening_is_unreachable() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    drop(listener);
    let result = pool(None, 1).write(&address, &shard_write("db", b"m v=1 1\n"), soon());
    assert!(
        matches!(result, Err(PeerError::Unreachable(_))),
        "{result:?}"
    );
}

#[test]
fn the_pool_is_bounded_and_a_writer_waits_only_until_its_deadline() {
    let writer = Arc::new(RecordingWriter::default());
    let address = serve(PeerAuth::Open, writer, 1);
    let pool = pool(None, 1);
    let held = pool
        .begin(&address, &shard_write("db", b"m v=1 1\n"), soon())
        .unwrap();
    // The only connection is in flight: a second writer cannot get one.
    let second = pool.begin(
        &address,
        &shard_write("db", b"m v=2 2\n"),
        Instant::now() + Duration::from_millis(100),
    );
    assert_eq!(second.err(), Some(PeerError::Timeout));
    assert_eq!(held.finish(soon()), Ok(1));
    assert_eq!(
        pool.write(&address, &shard_write("db", b"m v=3 3\n"), soon()),
        Ok(1)
    );
}

#[test]
fn a_write_larger_than_the_bound_is_refused_before_it_is_sent() {
    let writer = Arc::new(RecordingWriter::default());
    let address = serve(PeerAuth::Open, Arc::clone(&writer), 1);
    let huge = vec![b'x'; CLUSTER_SHARD_WRITE_MAX_BYTES];
    let result = pool(None, 1).write(&address, &shard_write("db", &huge), soon());
    assert!(matches!(result, Err(PeerError::TooLarge(_))));
    assert!(sluice_base::locks::lock(&writer.writes).is_empty());
}
