//! Every fixed bound of Sluice in one place.
//!
//! Configurable bounds have their default here and their key in `config`; the rest are
//! structural limits of formats and protocols. Units come last in each name.

/// Default `[http] max-body-size`: InfluxDB's 25 MB.
pub const HTTP_MAX_BODY_SIZE_BYTES_DEFAULT: usize = 25_000_000;
/// Default `[http] password-checks-per-second`: most bcrypt checks (uncached credentials)
/// a second across every event loop; each costs ~50 ms of the loop that runs it.
pub const HTTP_PASSWORD_CHECKS_PER_SECOND_DEFAULT: u64 = 8;
/// Default `[http] max-row-limit`: InfluxDB's 0 (no limit; `query-memory-limit` bounds
/// what an answer can cost).
pub const HTTP_MAX_ROW_LIMIT_DEFAULT: usize = 0;
/// Default `[http] max-inflated-body-size`: a gzip body may inflate to ten times the
/// body limit (InfluxDB does not bound it at all; a gzip bomb must not exhaust memory).
pub const HTTP_MAX_INFLATED_BODY_BYTES_DEFAULT: usize = 10 * HTTP_MAX_BODY_SIZE_BYTES_DEFAULT;
/// Default `[http] write-piece-size`: the most of a `/write` body an event loop plans. A
/// body larger than this, as sent or once gzip-decoded, is planned on a large-write thread
/// instead, and a gzip body that large is inflated, planned and made durable in pieces of
/// about this many bytes (whole lines), so its memory follows this size, not the inflated
/// size. One WAL record's bound (`INGEST_BATCH_MAX_BYTES`): a piece is about one record per
/// partition. Planning it takes an event loop about 15 ms.
pub const HTTP_WRITE_PIECE_BYTES_DEFAULT: usize = 4 * 1024 * 1024;
/// Default `[http] large-write-queue-depth`: large writes (see
/// `HTTP_WRITE_PIECE_BYTES_DEFAULT`) waiting for a large-write thread; one more is answered
/// 503. Each holds its body as sent (at most `max-body-size`), as its connection would.
pub const HTTP_LARGE_WRITE_QUEUE_DEPTH_DEFAULT: usize = 64;
/// Default `[http] max-connection-limit`; 0 in InfluxDB means unlimited, here every
/// connection costs a bounded buffer so the bound is always finite.
pub const HTTP_MAX_CONNECTIONS_DEFAULT: usize = 10_000;
/// `[http] max-connection-limit = 0` (InfluxDB: unlimited) allows as many connections as the
/// process may open descriptors, less [`HTTP_CONNECTIONS_FD_RESERVE`], at most this many.
pub const HTTP_MAX_CONNECTIONS_UNLIMITED_MAX: usize = 65_536;
/// Descriptors kept for files, listeners and inputs when the connection limit follows the
/// process's descriptor limit.
pub const HTTP_CONNECTIONS_FD_RESERVE: usize = 256;
/// Largest request head (request line, headers, blank line) we buffer before answering 431:
/// Go's `DefaultMaxHeaderBytes` (1 MiB) plus the 4096 bytes of slack its reader allows, as
/// measured on influxd 1.6.7 (a head of 1,052,672 bytes is served, one more byte is a 431).
/// A connection holds at most this much of an incomplete head, and frees it once parsed.
pub const HTTP_MAX_HEAD_BYTES: usize = (1 << 20) + 4096;
/// Most bytes of incomplete request heads held across the process (every connection's head
/// buffer together): one head may be as large as Go takes, but ten thousand connections
/// holding most of one each must not cost ten gigabytes. Past it a growing head is refused
/// with 431, as a too-large one is.
pub const NET_PENDING_HEAD_BYTES_MAX: usize = 256 * 1024 * 1024;
/// Shortest header line (`a:` and a bare `\n`).
pub const HTTP_MIN_HEADER_LINE_BYTES: usize = 3;
/// Most headers in one request head: as many as fit in `HTTP_MAX_HEAD_BYTES`, so, like Go,
/// only the byte bound limits them (header slots are allocated per head for the lines it has).
pub const HTTP_MAX_HEADERS: usize = HTTP_MAX_HEAD_BYTES / HTTP_MIN_HEADER_LINE_BYTES;
/// Longest chunk-size line in a chunked body (hex digits, extensions, CRLF).
pub const HTTP_MAX_CHUNK_LINE_BYTES: usize = 4096;
/// Default idle timeout of a keep-alive connection with no request in progress.
pub const HTTP_IDLE_TIMEOUT_MS_DEFAULT: u64 = 180_000;
/// Default time a client may take to deliver one request once it has started it.
pub const HTTP_REQUEST_READ_TIMEOUT_MS_DEFAULT: u64 = 60_000;
/// Default `[http] request-min-rate`: once a request has been arriving for
/// `HTTP_REQUEST_MIN_RATE_GRACE_MS`, it must have averaged at least this many bytes a
/// second since its first byte, or the connection is closed. A slowloris client that
/// trickles a byte every few seconds never goes silent long enough for
/// `request-read-timeout`; this bounds how long it holds a connection slot.
pub const HTTP_REQUEST_MIN_RATE_BYTES_PER_SECOND_DEFAULT: u64 = 512;
/// At the connection limit, a connection quiet for at least this long and owing nothing is
/// closed to make room for a new client (the quietest first), instead of refusing the new one.
pub const NET_SHED_MIN_QUIET_MS: u64 = 1_000;
/// Default `[http] request-min-rate-grace`: how long a request may arrive at any pace.
pub const HTTP_REQUEST_MIN_RATE_GRACE_MS_DEFAULT: u64 = 10_000;
/// Bytes read from a socket per `read` call.
pub const NET_READ_CHUNK_BYTES: usize = 64 * 1024;
/// Largest a connection's read buffer grows (for an input stream's long line, or bytes the
/// HTTP reader cannot take yet); it shrinks back to `NET_READ_CHUNK_BYTES` once drained. An
/// HTTP head is not held here: the request reader copies an incomplete head into its own
/// buffer (at most `HTTP_MAX_HEAD_BYTES`, freed once the head is parsed).
pub const NET_READ_BUFFER_MAX_BYTES: usize = 2 * NET_READ_CHUNK_BYTES;
/// Read buffers an event loop keeps for reuse (`net::ReadBufferPool`): a connection holds
/// one only while it is driven or has unconsumed bytes, and gives it back to its loop's pool
/// (up to this many, `NET_READ_CHUNK_BYTES` each: 4 MiB a loop) instead of freeing it.
pub const NET_READ_BUFFER_POOL_MAX: usize = 64;
/// Capacity an idle connection's output buffer keeps once its answers are out (larger
/// answers' capacity is given back, so idle keep-alive connections cost little).
pub const NET_IDLE_OUTPUT_KEEP_BYTES: usize = 4 * 1024;
/// Responses waiting to be written on one connection before we stop reading from it
/// (pipelining back-pressure).
pub const NET_MAX_PENDING_RESPONSE_BYTES: usize = 1024 * 1024;
/// After an error answer that leaves a request body unread (a refused over-size body), the
/// connection keeps reading and discarding for at most this long before it closes, so the
/// client finishes sending and reads the answer instead of a reset.
pub const NET_LINGER_TIMEOUT_MS: u64 = 2_000;
/// Most bytes discarded while lingering; a client sending more is cut off with a reset.
pub const NET_LINGER_MAX_BYTES: usize = 16 * 1024 * 1024;
/// A query thread streaming a chunked answer gives up (and the connection is closed) when
/// the client has taken nothing for this long.
pub const NET_STREAM_STALL_TIMEOUT_MS: u64 = 60_000;
/// Most bytes of a query answer a query thread hands to the event loop unwritten. Past it
/// the query thread writes the answer itself at the client's pace (giving up, and closing,
/// after `NET_STREAM_STALL_TIMEOUT_MS` without progress), so clients that do not read their
/// answers cost the server at most this much each instead of their whole answers.
pub const NET_QUERY_ANSWER_HANDOFF_MAX_BYTES: usize = 256 * 1024;
/// Most encrypted bytes an HTTPS connection's TLS session holds waiting for the socket (its
/// rustls buffer limit): a writer that finds it full waits for the client to read.
pub const NET_TLS_SEND_BUFFER_MAX_BYTES: usize = 64 * 1024;

/// Default depth of each source-loop → partition queue, in batches.
pub const INGEST_QUEUE_DEPTH_BATCHES_DEFAULT: usize = 64;
/// Default bound on how long a write waits for queue space before 503.
pub const INGEST_ENQUEUE_TIMEOUT_MS_DEFAULT: u64 = 10_000;
/// Most bytes of encoded points one partition batch carries; large requests are split.
pub const INGEST_BATCH_MAX_BYTES: usize = 4 * 1024 * 1024;

/// Most bytes of bad-line text one /write error carries (InfluxDB sends every bad line; a
/// body of 25 MB of junk must not echo back as 25 MB): later lines are counted, not quoted.
pub const WRITE_ERROR_TEXT_MAX_BYTES: usize = 1024 * 1024;
/// Most bytes of the first bad line quoted whole in a /write error, as InfluxDB quotes it
/// (a million-tag line of 11 MB comes back whole with `max key length exceeded`): the
/// default `max-body-size`, so every line InfluxDB's defaults let through is quoted as it
/// does; a longer one (gzip, or a raised `max-body-size`) is quoted up to here, then `...`.
pub const WRITE_ERROR_FIRST_LINE_MAX_BYTES: usize = HTTP_MAX_BODY_SIZE_BYTES_DEFAULT;
/// Line numbers of bad lines listed in `X-Sluice-Bad-Lines`.
pub const WRITE_BAD_LINE_NUMBERS_MAX: usize = 100;

/// InfluxDB's limit on a series key (measurement plus tags), in bytes.
pub const SERIES_KEY_MAX_BYTES: usize = 65_535;

/// Default WAL segment size at which a partition starts a new segment file.
pub const WAL_SEGMENT_MAX_BYTES_DEFAULT: u64 = 64 * 1024 * 1024;

/// `[data] wal-max-size` default: what all WAL partitions together may hold before client
/// writes are refused (they hold only what is not in files yet, which the cache bound keeps
/// far lower, unless snapshots cannot delete segments).
pub const WAL_MAX_BYTES_DEFAULT: u64 = 2 * CACHE_MAX_BYTES_DEFAULT as u64;
/// A partition's share of `wal-max-size` is never below this many segments.
pub const WAL_PARTITION_MIN_SEGMENTS: u64 = 2;

/// `[data] cache-snapshot-memory-size` default: InfluxDB's 25 MiB.
pub const CACHE_SNAPSHOT_BYTES_DEFAULT: usize = 25 * 1024 * 1024;
/// `[data] cache-max-memory-size` default: InfluxDB's 1 GiB.
pub const CACHE_MAX_BYTES_DEFAULT: usize = 1024 * 1024 * 1024;
/// `[data] cache-snapshot-write-cold-duration` default: InfluxDB's 10 minutes.
pub const CACHE_SNAPSHOT_COLD_SECONDS_DEFAULT: u64 = 600;
/// `[data] storage-check-interval` default.
pub const STORAGE_CHECK_INTERVAL_MS_DEFAULT: u64 = 1000;
/// `[data] compact-throughput` default: InfluxDB's 48 MiB/s.
pub const COMPACT_THROUGHPUT_BYTES_PER_SECOND_DEFAULT: u64 = 48 * 1024 * 1024;
/// `[retention] check-interval` default: InfluxDB's 30 minutes.
pub const RETENTION_CHECK_SECONDS_DEFAULT: u64 = 30 * 60;
/// Largest single WAL record; a longer length prefix marks a corrupt record.
pub const WAL_RECORD_MAX_BYTES: usize = 64 * 1024 * 1024;
/// Default `[data] wal-group-max-records`: most records one group commit writes before it
/// fsyncs.
pub const WAL_GROUP_MAX_RECORDS_DEFAULT: usize = 256;

/// Fewest query threads when `max-concurrent-queries` is 0 (the default is one per event
/// loop, and no fewer than this).
pub const QUERY_THREADS_DEFAULT: usize = 2;
/// Default `[coordinator] query-timeout`: InfluxDB's 0 (no timeout).
pub const QUERY_TIMEOUT_MS_DEFAULT: u64 = 0;
/// Default `[coordinator] max-select-point`: InfluxDB's 0 (unlimited).
pub const MAX_SELECT_POINT_DEFAULT: u64 = 0;
/// Default `[coordinator] max-select-series`: InfluxDB's 0 (unlimited).
pub const MAX_SELECT_SERIES_DEFAULT: u64 = 0;
/// Default `[coordinator] max-select-buckets`: InfluxDB's 0 (unlimited).
pub const MAX_SELECT_BUCKETS_DEFAULT: u64 = 0;
/// Default `[coordinator] query-merge-parallelism`: 0, the CPU count (as InfluxDB's
/// GOMAXPROCS by default). Not a resource bound: it picks the order `sum()`/`mean()` add
/// their per-series partials in, so the last bits of their float answers.
pub const QUERY_MERGE_PARALLELISM_DEFAULT: usize = 0;
/// Share of physical memory one statement may hold by default (`query-memory-limit`): a
/// quarter, so two heavy queries at once still leave the caches and the OS their room.
pub const QUERY_MEMORY_LIMIT_RAM_DIVISOR: u64 = 4;
/// `query-memory-limit` when the machine's memory cannot be read.
pub const QUERY_MEMORY_LIMIT_FALLBACK_BYTES: u64 = 1024 * 1024 * 1024;

/// Rows per chunk of a `chunked=true` answer when `chunk_size` is absent or 0 (InfluxDB's).
pub const QUERY_CHUNK_SIZE_ROWS_DEFAULT: usize = 10_000;
/// Queries waiting for a query thread before new ones get 503.
pub const QUERY_QUEUE_DEPTH: usize = 256;

/// Default top-level `bind-address` of the backup service: InfluxDB's port, on loopback
/// only (the service asks for no credentials).
pub const BACKUP_BIND_ADDRESS_DEFAULT: &str = "127.0.0.1:8088";
/// Default `[meta] bind-address`: the meta service (Raft, joins) on loopback, like the
/// backup service, since a single node needs nobody to reach it; a cluster sets it.
pub const META_BIND_ADDRESS_DEFAULT: &str = "127.0.0.1:8091";
/// Default `[meta] raft-tick-interval`, ms.
pub const META_RAFT_TICK_MS_DEFAULT: u64 = 100;
/// Default `[meta] raft-election-ticks` (1 to 2 s without a leader before an election).
pub const META_RAFT_ELECTION_TICKS_DEFAULT: usize = 10;
/// Default `[meta] raft-heartbeat-ticks`.
pub const META_RAFT_HEARTBEAT_TICKS_DEFAULT: usize = 2;
/// Default `[meta] propose-timeout`, ms.
pub const META_PROPOSE_TIMEOUT_MS_DEFAULT: u64 = 10_000;
/// Default `[meta] log-compact-entries`.
pub const META_LOG_COMPACT_ENTRIES_DEFAULT: usize = 1_000;
const _: () = assert!(META_RAFT_HEARTBEAT_TICKS_DEFAULT < META_RAFT_ELECTION_TICKS_DEFAULT);
/// Default `[backup] max-connections`: backups and restores served at once, one thread
/// each; one more connection is answered with an error and closed.
pub const BACKUP_MAX_CONNECTIONS_DEFAULT: usize = 2;
/// Largest frame of the backup protocol: above the largest line a `/write` takes
/// (`HTTP_MAX_BODY_SIZE_BYTES_DEFAULT`), since a restore sends whole lines. A frame is read
/// into memory whole, so a backup connection holds at most this much.
pub const BACKUP_FRAME_MAX_BYTES: usize = 32 * 1024 * 1024;
/// Bytes of line protocol a restore sends (and the server plans and makes durable) at once,
/// whole lines only; a longer line goes alone, up to [`BACKUP_FRAME_MAX_BYTES`].
pub const BACKUP_RESTORE_CHUNK_BYTES: usize = 1024 * 1024;
/// Bytes of a backed-up file a data frame carries.
pub const BACKUP_DATA_FRAME_BYTES: usize = 256 * 1024;
/// A backup connection whose peer neither sends nor reads for this long is closed.
pub const BACKUP_IO_TIMEOUT_MS: u64 = 60_000;

/// Largest write one peer sends another in a shard-write frame (header and lines): it
/// travels in one backup-protocol frame, and a hinted-handoff record holds one.
pub const CLUSTER_SHARD_WRITE_MAX_BYTES: usize = 16 * 1024 * 1024;
/// Default `[cluster] dial-timeout` (InfluxDB Enterprise's 1 s): connecting to a peer.
pub const CLUSTER_DIAL_TIMEOUT_MS_DEFAULT: u64 = 1_000;
/// Default `[cluster] shard-writer-timeout` (InfluxDB Enterprise's 5 s): how long a writer
/// waits for an owner's acknowledgement of a shard write.
pub const CLUSTER_SHARD_WRITER_TIMEOUT_MS_DEFAULT: u64 = 5_000;
/// Default `[cluster] pool-max-connections`: connections a node keeps open to one peer (a
/// write waits for a free one up to the shard-writer timeout).
pub const CLUSTER_POOL_MAX_CONNECTIONS_DEFAULT: usize = 4;
/// Default `[cluster] max-peer-connections`: threads of the data port serving peer
/// sessions, beside `[backup] max-connections`.
pub const CLUSTER_MAX_PEER_CONNECTIONS_DEFAULT: usize = 8;
/// A peer session idle this long is closed by the server (the client pool reconnects).
pub const CLUSTER_PEER_SESSION_IDLE_MS: u64 = 30_000;
/// The client pool drops a connection idle this long, well before the server's close.
pub const CLUSTER_POOL_IDLE_MS: u64 = 20_000;
/// Default `[hinted-handoff] max-size` per destination node (InfluxDB Enterprise's 10 GiB).
pub const HINTED_HANDOFF_MAX_SIZE_BYTES_DEFAULT: u64 = 10 * 1024 * 1024 * 1024;
/// Default `[hinted-handoff] max-age` (InfluxDB Enterprise's 168 h): older hints are dropped.
pub const HINTED_HANDOFF_MAX_AGE_MS_DEFAULT: u64 = 168 * 3_600_000;
/// Default `[hinted-handoff] retry-interval` (1 s): the first wait after a failed delivery.
pub const HINTED_HANDOFF_RETRY_INTERVAL_MS_DEFAULT: u64 = 1_000;
/// Default `[hinted-handoff] retry-max-interval` (10 s): the longest wait (doubling).
pub const HINTED_HANDOFF_RETRY_MAX_INTERVAL_MS_DEFAULT: u64 = 10_000;
/// A hinted-handoff segment file is closed and a new one started past this size.
pub const HINTED_HANDOFF_SEGMENT_MAX_BYTES: u64 = 16 * 1024 * 1024;
/// Hints one delivery pass sends to one node before it looks at the others.
pub const HINTED_HANDOFF_DELIVERY_BATCH_MAX: usize = 64;

const _: () = assert!(BACKUP_RESTORE_CHUNK_BYTES <= BACKUP_FRAME_MAX_BYTES);
const _: () = assert!(CLUSTER_SHARD_WRITE_MAX_BYTES + 4096 <= BACKUP_FRAME_MAX_BYTES);
const _: () = assert!(CLUSTER_POOL_IDLE_MS < CLUSTER_PEER_SESSION_IDLE_MS);
const _: () = assert!(
    HINTED_HANDOFF_RETRY_INTERVAL_MS_DEFAULT <= HINTED_HANDOFF_RETRY_MAX_INTERVAL_MS_DEFAULT
);
const _: () = assert!(BACKUP_DATA_FRAME_BYTES <= BACKUP_FRAME_MAX_BYTES);
const _: () = assert!(HTTP_MAX_BODY_SIZE_BYTES_DEFAULT < BACKUP_FRAME_MAX_BYTES);
const _: () = assert!(INGEST_BATCH_MAX_BYTES < WAL_RECORD_MAX_BYTES);
const _: () = assert!(HTTP_WRITE_PIECE_BYTES_DEFAULT <= HTTP_MAX_INFLATED_BODY_BYTES_DEFAULT);
const _: () = assert!(HTTP_MAX_CHUNK_LINE_BYTES < HTTP_MAX_HEAD_BYTES);

/// Default `[subscriber] http-timeout`: InfluxDB's 30 s for one POST to an HTTP destination.
pub const SUBSCRIBER_HTTP_TIMEOUT_SECONDS_DEFAULT: u64 = 30;
/// Default `[subscriber] write-buffer-size`: InfluxDB's 1,000 batches (one batch: the points
/// of one WAL record, at most `INGEST_BATCH_MAX_BYTES` of record) waiting per subscription.
pub const SUBSCRIBER_WRITE_BUFFER_SIZE_DEFAULT: usize = 1000;
/// Default `[subscriber] write-concurrency`: forwarding threads (InfluxDB runs 40
/// goroutines per subscription; threads cost more, and forwarding is I/O-bound).
pub const SUBSCRIBER_WRITE_CONCURRENCY_DEFAULT: usize = 2;
/// Most `[subscriber] write-concurrency` threads.
pub const SUBSCRIBER_WRITE_CONCURRENCY_MAX: usize = 64;
/// Default `[subscriber] total-buffer-bytes`: record bytes waiting across all subscriptions
/// (the memory bound of the queues, whatever their batch counts).
pub const SUBSCRIBER_TOTAL_BUFFER_BYTES_DEFAULT: usize = 64 << 20;
/// Default `[subscriber] udp-max-datagram-size`: payload of one UDP datagram to a `udp://`
/// destination (Ethernet's 1,500 bytes less IPv4 and UDP headers: never fragmented).
pub const SUBSCRIBER_UDP_DATAGRAM_BYTES_DEFAULT: usize = 1472;
/// Largest UDP payload over IPv4.
pub const SUBSCRIBER_UDP_DATAGRAM_BYTES_MAX: usize = 65_507;
/// Smallest `[subscriber] udp-max-datagram-size` accepted.
pub const SUBSCRIBER_UDP_DATAGRAM_BYTES_MIN: usize = 64;
const _: () = assert!(SUBSCRIBER_UDP_DATAGRAM_BYTES_DEFAULT <= SUBSCRIBER_UDP_DATAGRAM_BYTES_MAX);
const _: () = assert!(SUBSCRIBER_WRITE_CONCURRENCY_DEFAULT <= SUBSCRIBER_WRITE_CONCURRENCY_MAX);
