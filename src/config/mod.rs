//! Configuration: built-in defaults, then a TOML file (`-config PATH` or `SLUICE_CONFIG_PATH`),
//! then environment variables, validated into one [`Config`]. No other module reads the
//! environment or a config file.
//!
//! Sections and keys follow influxdb.conf where they mean the same thing. Every key of the
//! table in [`SETTINGS`] can be overridden by `SLUICE_<SECTION>_<KEY>` with dashes turned into
//! underscores and letters upper-cased: `[http] bind-address` is `SLUICE_HTTP_BIND_ADDRESS`.
//! Unknown sections and keys are ignored with a warning naming them (never silently), so an
//! influxdb.conf can be reused as it is; a known key with a bad value is an error.

pub mod inputs;

use std::path::PathBuf;
use std::time::Duration;

/// `[coordinator]` is the query layer's own bounds; this module fills them in.
pub use crate::query::CoordinatorConfig;
pub use inputs::{InputConfig, InputKind};

use crate::limits;
use crate::log::Level;

/// Default `[monitor] store-interval` (InfluxDB's), seconds.
pub const MONITOR_STORE_INTERVAL_SECONDS_DEFAULT: u64 = 10;

/// The validated configuration of one server.
#[derive(Clone, Debug)]
pub struct Config {
    /// the top-level `bind-address` and `[backup]`: the backup and restore service
    pub backup: BackupConfig,
    /// `[cluster]`: the peer write RPC's client side
    pub cluster: ClusterConfig,
    /// `[hinted-handoff]`
    pub hinted_handoff: HintedHandoffConfig,
    /// `[meta]`
    pub meta: MetaConfig,
    /// `[data]`
    pub data: DataConfig,
    /// `[retention]`
    pub retention: RetentionConfig,
    /// `[continuous_queries]`
    pub continuous_queries: ContinuousQueriesConfig,
    /// `[subscriber]`
    pub subscriber: SubscriberConfig,
    /// `[monitor]`
    pub monitor: MonitorConfig,
    /// `[http]`
    pub http: HttpConfig,
    /// `[admin]`: the admin web UI
    pub admin: AdminConfig,
    /// `[coordinator]`
    pub coordinator: CoordinatorConfig,
    /// `[logging]`
    pub logging: LoggingConfig,
    /// `[[udp]]`, `[[graphite]]`, `[[collectd]]`, `[[opentsdb]]` instances
    pub inputs: Vec<InputConfig>,
}

/// The backup and restore service (`backup::service`): InfluxDB's top-level `bind-address`
/// and Sluice's `[backup]` section.
#[derive(Clone, Debug)]
pub struct BackupConfig {
    /// `bind-address` (top level, as in influxdb.conf): `host:port` of the backup service;
    /// loopback by default, since the service asks for no credentials
    pub bind_address: String,
    /// `[backup] max-connections`: backups and restores served at once (one thread each);
    /// one more connection is answered with an error and closed
    pub max_connections: usize,
}

/// `[cluster]`: how this node talks to its peers' data ports (`cluster::rpc`); the names
/// are InfluxDB Enterprise's where it has the setting.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// `dial-timeout`: connecting to a peer, handshake included
    pub dial_timeout: Duration,
    /// `shard-writer-timeout`: how long a writer waits for an owner's ack
    pub shard_writer_timeout: Duration,
    /// `pool-max-connections`: connections kept to one peer at most
    pub pool_max_connections: usize,
    /// `max-peer-connections`: threads of the data port for peers' sessions (besides
    /// `[backup] max-connections`)
    pub max_peer_connections: usize,
    /// `debug-node-id` (tests only; the replicated meta places shards otherwise): this node's id in
    /// a fixed cluster where every node owns every shard; 0: not clustered
    pub debug_node_id: u64,
    /// `debug-static-peers` (tests only): the other nodes, `ID=HOST:PORT,…` (their data
    /// ports, the top-level `bind-address`)
    pub debug_static_peers: String,
}

impl ClusterConfig {
    /// The peers of `debug-static-peers`, by node id.
    pub fn static_peers(&self) -> Result<std::collections::BTreeMap<u64, String>, String> {
        let mut peers = std::collections::BTreeMap::new();
        for entry in self
            .debug_static_peers
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let bad = || format!("[cluster] debug-static-peers: {entry:?} is not ID=HOST:PORT");
            let (id, address) = entry.split_once('=').ok_or_else(bad)?;
            let id: u64 = id.trim().parse().map_err(|_| bad())?;
            if id == 0 || id == self.debug_node_id || address.trim().is_empty() {
                return Err(bad());
            }
            peers.insert(id, address.trim().to_string());
        }
        Ok(peers)
    }
}

/// `[hinted-handoff]`: writes an owner could not take, kept for it (`cluster::hinted_handoff`).
#[derive(Clone, Debug)]
pub struct HintedHandoffConfig {
    /// `enabled`: without it a write an owner misses is only counted against consistency
    pub enabled: bool,
    /// `dir`: one directory per destination node below it
    pub dir: PathBuf,
    /// `max-size`: bytes kept per destination; past it a hint is refused
    pub max_size: u64,
    /// `max-age`: older hints are dropped instead of delivered
    pub max_age: Duration,
    /// `retry-interval`: the first wait after a failed delivery
    pub retry_interval: Duration,
    /// `retry-max-interval`: the longest wait, the interval doubling up to it
    pub retry_max_interval: Duration,
}

/// `[meta]`: where databases and retention policies are kept, and the meta group that
/// replicates them (`cluster::meta_raft`).
#[derive(Clone, Debug)]
pub struct MetaConfig {
    /// directory of the meta store (and of its Raft log, `raft/`)
    pub dir: PathBuf,
    /// `bind-address`: `host:port` of the meta service (Raft messages, joins); loopback by
    /// default so a single node is reachable from nowhere else; a cluster sets it
    pub bind_address: String,
    /// `join`: the meta address of a member, for a node that is not in a cluster yet
    /// (also `sluice run -join HOST:8091`); empty: create a cluster of one
    pub join: String,
    /// `shared-secret`: checked in every meta handshake when `[http] auth-enabled`
    pub shared_secret: String,
    /// `raft-tick-interval`: one tick of the Raft clock
    pub raft_tick_interval: Duration,
    /// `raft-election-ticks`: ticks without hearing a leader before an election
    pub raft_election_ticks: usize,
    /// `raft-heartbeat-ticks`: ticks between a leader's heartbeats
    pub raft_heartbeat_ticks: usize,
    /// `propose-timeout`: how long a change waits to be applied before it fails
    pub propose_timeout: Duration,
    /// `log-compact-entries`: Raft log entries kept before the log is compacted
    pub log_compact_entries: usize,
}

/// `[data]`: the write-ahead log and (later) the storage files.
#[derive(Clone, Debug)]
pub struct DataConfig {
    /// directory of the storage files
    pub dir: PathBuf,
    /// directory of the write-ahead log
    pub wal_dir: PathBuf,
    /// how long a partition waits to gather more writes before one fsync; 0 = fsync at once
    pub wal_fsync_delay: Duration,
    /// most records one group commit takes before it fsyncs
    pub wal_group_max_records: usize,
    /// fault injection for tests: every group commit takes this much longer (a slow disk)
    pub debug_wal_commit_delay: Duration,
    /// WAL partitions (one writer thread each); 0 = one per core
    pub wal_partitions: usize,
    /// size at which a partition starts a new WAL segment file
    pub wal_segment_max_bytes: u64,
    /// what the WAL may hold before writes are refused (snapshots cannot delete segments)
    pub wal_max_size: u64,
    /// depth of each event-loop → partition queue, in batches
    pub ingest_queue_depth: usize,
    /// the caches are written to files once they hold this many bytes
    pub cache_snapshot_memory_size: usize,
    /// past this many cache bytes, partitions stop taking writes until a snapshot frees them
    pub cache_max_memory_size: usize,
    /// `max-series-per-database`: a write creating series past it is dropped (0: no limit)
    pub max_series_per_database: usize,
    /// `max-values-per-tag`: a new tag value past it is dropped (0: no limit)
    pub max_values_per_tag: usize,
    /// caches are written to files after receiving no write for this long
    pub cache_snapshot_write_cold_duration: Duration,
    /// how often the background storage threads check caches, compactions and retention
    pub storage_check_interval: Duration,
    /// compaction I/O budget in bytes per second (0: unlimited)
    pub compact_throughput: u64,
}

/// `[retention]`: deleting shard groups past their retention policy's duration.
#[derive(Clone, Debug)]
pub struct RetentionConfig {
    /// whether expired shard groups are deleted
    pub enabled: bool,
    /// how often to look for expired shard groups
    pub check_interval: Duration,
}

/// `[monitor]`: the `sluice-monitor` thread that stores the statistics of SHOW STATS.
#[derive(Clone, Debug)]
pub struct MonitorConfig {
    /// store the statistics in `store-database`
    pub store_enabled: bool,
    /// the database the statistics go to (created with the policy `monitor` if missing)
    pub store_database: String,
    /// how often a snapshot of the statistics is written
    pub store_interval: Duration,
}

/// `[continuous_queries]`: the `sluice-cq` thread that runs continuous queries.
#[derive(Clone, Debug)]
pub struct ContinuousQueriesConfig {
    /// whether continuous queries run (they are stored either way)
    pub enabled: bool,
    /// how often the thread looks for CQs that are due
    pub run_interval: Duration,
    /// log each run
    pub log_enabled: bool,
}

/// `[subscriber]`: forwarding the writes subscriptions name (`subscriber`).
#[derive(Clone, Debug)]
pub struct SubscriberConfig {
    /// whether writes are forwarded (subscriptions are stored either way)
    pub enabled: bool,
    /// most time one POST to an HTTP destination may take
    pub http_timeout: Duration,
    /// batches waiting per subscription; past it a batch is dropped and counted
    pub write_buffer_size: usize,
    /// forwarding threads
    pub write_concurrency: usize,
    /// record bytes waiting across all subscriptions; past it a batch is dropped and counted
    pub total_buffer_bytes: usize,
    /// most payload bytes of one datagram to a `udp://` destination
    pub udp_max_datagram_size: usize,
}

/// `[http]`: the HTTP API.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// `host:port` or `:port` to listen on
    pub bind_address: String,
    /// largest request body accepted, in bytes (413 above)
    pub max_body_size: usize,
    /// largest body after gzip decoding, in bytes (413 above); bounds a gzip bomb
    pub max_inflated_body_size: usize,
    /// `write-piece-size`: most bytes of a /write body an event loop plans; a larger body
    /// (as sent or once gzip-decoded) goes to a large-write thread, a larger gzip body is
    /// planned and made durable in pieces of this size
    pub write_piece_size: usize,
    /// `max-body-memory`: most bytes of request bodies held at once across all connections
    /// (a body is admitted whole before it is read; one always proceeds alone)
    pub max_body_memory: usize,
    /// `large-write-threads`: threads planning large writes; 0 = one per event loop
    pub large_write_threads: usize,
    /// `large-write-queue-depth`: large writes waiting for a thread (503 past it)
    pub large_write_queue_depth: usize,
    /// `max-row-limit`: most rows of a non-chunked /query answer (0: unlimited)
    pub max_row_limit: usize,
    /// `password-checks-per-second`: most bcrypt checks a second (0: no bound)
    pub password_checks_per_second: u64,
    /// most open connections across all event loops
    pub max_connection_limit: usize,
    /// event-loop threads; 0 = one per core
    pub workers: usize,
    /// run a loop's queries, when its home query thread is idle, on the loop's own CPU
    pub query_on_loop_cpu: bool,
    /// pin event loop `i` to the `i`-th CPU the process may use
    pub pin_event_loops: bool,
    /// a keep-alive connection with no request in progress is closed after this long
    pub idle_timeout: Duration,
    /// a request that has started must be fully received within this long
    pub request_read_timeout: Duration,
    /// a request in progress must average at least this many bytes a second (0: no minimum)
    pub request_min_rate: u64,
    /// ... once it has been arriving for this long
    pub request_min_rate_grace: Duration,
    /// how long a write may wait for ingest queue space before 503
    pub enqueued_write_timeout: Duration,
    /// whether every request is logged
    pub log_enabled: bool,
    /// `auth-enabled`: credentials and privileges are checked (InfluxDB 1.x semantics)
    pub auth_enabled: bool,
    /// `shared-secret`: HMAC key of JWT bearer tokens (empty: tokens cannot be verified)
    pub shared_secret: String,
    /// `https-enabled`: the HTTP API speaks TLS (1.2 and 1.3) on `bind-address`
    pub https_enabled: bool,
    /// `https-certificate`: PEM file of the certificate chain (and the key, if
    /// `https-private-key` is empty)
    pub https_certificate: String,
    /// `https-private-key`: PEM file of the private key (empty: read from the certificate file)
    pub https_private_key: String,
}

/// `[admin]`: the admin web UI (`http::admin`), served by the event loops on its own port.
#[derive(Clone, Debug)]
pub struct AdminConfig {
    /// `enabled`: serve the admin UI
    pub enabled: bool,
    /// `bind-address`: `host:port` or `:port` of the admin UI
    pub bind_address: String,
    /// `https-enabled`: serve the admin UI over TLS
    pub https_enabled: bool,
    /// `https-certificate`: PEM certificate chain (and key, if `https-private-key` is empty)
    pub https_certificate: String,
    /// `https-private-key`: PEM private key (empty: read from the certificate file)
    pub https_private_key: String,
    /// `api-url`: the HTTP API the page talks to (empty: the page's host on the HTTP port)
    pub api_url: String,
}

/// `[logging]`
#[derive(Clone, Debug)]
pub struct LoggingConfig {
    /// lowest level written
    pub level: Level,
}

impl Config {
    /// The built-in defaults: data under `$HOME/.sluice` (or `/var/lib/sluice`), port 8086.
    pub fn default_for_home(home: Option<PathBuf>) -> Config {
        let base = home
            .map(|h| h.join(".sluice"))
            .unwrap_or_else(|| PathBuf::from("/var/lib/sluice"));
        Config {
            cluster: ClusterConfig {
                dial_timeout: Duration::from_millis(limits::CLUSTER_DIAL_TIMEOUT_MS_DEFAULT),
                shard_writer_timeout: Duration::from_millis(
                    limits::CLUSTER_SHARD_WRITER_TIMEOUT_MS_DEFAULT,
                ),
                pool_max_connections: limits::CLUSTER_POOL_MAX_CONNECTIONS_DEFAULT,
                max_peer_connections: limits::CLUSTER_MAX_PEER_CONNECTIONS_DEFAULT,
                debug_node_id: 0,
                debug_static_peers: String::new(),
            },
            hinted_handoff: HintedHandoffConfig {
                enabled: true,
                dir: base.join("hh"),
                max_size: limits::HINTED_HANDOFF_MAX_SIZE_BYTES_DEFAULT,
                max_age: Duration::from_millis(limits::HINTED_HANDOFF_MAX_AGE_MS_DEFAULT),
                retry_interval: Duration::from_millis(
                    limits::HINTED_HANDOFF_RETRY_INTERVAL_MS_DEFAULT,
                ),
                retry_max_interval: Duration::from_millis(
                    limits::HINTED_HANDOFF_RETRY_MAX_INTERVAL_MS_DEFAULT,
                ),
            },
            backup: BackupConfig {
                bind_address: limits::BACKUP_BIND_ADDRESS_DEFAULT.to_string(),
                max_connections: limits::BACKUP_MAX_CONNECTIONS_DEFAULT,
            },
            meta: MetaConfig {
                dir: base.join("meta"),
                bind_address: limits::META_BIND_ADDRESS_DEFAULT.to_string(),
                join: String::new(),
                shared_secret: String::new(),
                raft_tick_interval: Duration::from_millis(limits::META_RAFT_TICK_MS_DEFAULT),
                raft_election_ticks: limits::META_RAFT_ELECTION_TICKS_DEFAULT,
                raft_heartbeat_ticks: limits::META_RAFT_HEARTBEAT_TICKS_DEFAULT,
                propose_timeout: Duration::from_millis(limits::META_PROPOSE_TIMEOUT_MS_DEFAULT),
                log_compact_entries: limits::META_LOG_COMPACT_ENTRIES_DEFAULT,
            },
            data: DataConfig {
                dir: base.join("data"),
                wal_dir: base.join("wal"),
                wal_fsync_delay: Duration::ZERO,
                wal_group_max_records: limits::WAL_GROUP_MAX_RECORDS_DEFAULT,
                debug_wal_commit_delay: Duration::ZERO,
                wal_partitions: 0,
                wal_segment_max_bytes: limits::WAL_SEGMENT_MAX_BYTES_DEFAULT,
                wal_max_size: limits::WAL_MAX_BYTES_DEFAULT,
                ingest_queue_depth: limits::INGEST_QUEUE_DEPTH_BATCHES_DEFAULT,
                cache_snapshot_memory_size: limits::CACHE_SNAPSHOT_BYTES_DEFAULT,
                cache_max_memory_size: limits::CACHE_MAX_BYTES_DEFAULT,
                max_series_per_database: 1_000_000,
                max_values_per_tag: 100_000,
                cache_snapshot_write_cold_duration: Duration::from_secs(
                    limits::CACHE_SNAPSHOT_COLD_SECONDS_DEFAULT,
                ),
                storage_check_interval: Duration::from_millis(
                    limits::STORAGE_CHECK_INTERVAL_MS_DEFAULT,
                ),
                compact_throughput: limits::COMPACT_THROUGHPUT_BYTES_PER_SECOND_DEFAULT,
            },
            retention: RetentionConfig {
                enabled: true,
                check_interval: Duration::from_secs(limits::RETENTION_CHECK_SECONDS_DEFAULT),
            },
            continuous_queries: ContinuousQueriesConfig {
                enabled: true,
                run_interval: Duration::from_millis(
                    crate::query::continuous::RUN_INTERVAL_MS_DEFAULT,
                ),
                log_enabled: true,
            },
            subscriber: SubscriberConfig {
                enabled: true,
                http_timeout: Duration::from_secs(limits::SUBSCRIBER_HTTP_TIMEOUT_SECONDS_DEFAULT),
                write_buffer_size: limits::SUBSCRIBER_WRITE_BUFFER_SIZE_DEFAULT,
                write_concurrency: limits::SUBSCRIBER_WRITE_CONCURRENCY_DEFAULT,
                total_buffer_bytes: limits::SUBSCRIBER_TOTAL_BUFFER_BYTES_DEFAULT,
                udp_max_datagram_size: limits::SUBSCRIBER_UDP_DATAGRAM_BYTES_DEFAULT,
            },
            monitor: MonitorConfig {
                store_enabled: true,
                store_database: "_internal".to_string(),
                store_interval: Duration::from_secs(MONITOR_STORE_INTERVAL_SECONDS_DEFAULT),
            },
            http: HttpConfig {
                bind_address: ":8086".to_string(),
                max_body_size: limits::HTTP_MAX_BODY_SIZE_BYTES_DEFAULT,
                max_body_memory: max_body_memory_default(),
                max_inflated_body_size: limits::HTTP_MAX_INFLATED_BODY_BYTES_DEFAULT,
                write_piece_size: limits::HTTP_WRITE_PIECE_BYTES_DEFAULT,
                large_write_threads: 0,
                large_write_queue_depth: limits::HTTP_LARGE_WRITE_QUEUE_DEPTH_DEFAULT,
                max_row_limit: limits::HTTP_MAX_ROW_LIMIT_DEFAULT,
                password_checks_per_second: limits::HTTP_PASSWORD_CHECKS_PER_SECOND_DEFAULT,
                max_connection_limit: limits::HTTP_MAX_CONNECTIONS_DEFAULT,
                workers: 0,
                query_on_loop_cpu: true,
                pin_event_loops: true,
                idle_timeout: Duration::from_millis(limits::HTTP_IDLE_TIMEOUT_MS_DEFAULT),
                request_read_timeout: Duration::from_millis(
                    limits::HTTP_REQUEST_READ_TIMEOUT_MS_DEFAULT,
                ),
                request_min_rate: limits::HTTP_REQUEST_MIN_RATE_BYTES_PER_SECOND_DEFAULT,
                request_min_rate_grace: Duration::from_millis(
                    limits::HTTP_REQUEST_MIN_RATE_GRACE_MS_DEFAULT,
                ),
                enqueued_write_timeout: Duration::from_millis(
                    limits::INGEST_ENQUEUE_TIMEOUT_MS_DEFAULT,
                ),
                log_enabled: false,
                auth_enabled: false,
                shared_secret: String::new(),
                https_enabled: false,
                https_certificate: "/etc/ssl/influxdb.pem".into(),
                https_private_key: String::new(),
            },
            admin: AdminConfig {
                enabled: true,
                bind_address: ":8083".to_string(),
                https_enabled: false,
                https_certificate: "/etc/ssl/influxdb.pem".into(),
                https_private_key: String::new(),
                api_url: String::new(),
            },
            coordinator: CoordinatorConfig {
                max_concurrent_queries: 0,
                query_timeout: Duration::from_millis(limits::QUERY_TIMEOUT_MS_DEFAULT),
                log_queries_after: Duration::ZERO,
                max_select_point: limits::MAX_SELECT_POINT_DEFAULT,
                max_select_series: limits::MAX_SELECT_SERIES_DEFAULT,
                max_select_buckets: limits::MAX_SELECT_BUCKETS_DEFAULT,
                query_memory_limit: query_memory_limit_default(),
                query_merge_parallelism: limits::QUERY_MERGE_PARALLELISM_DEFAULT,
            },
            logging: LoggingConfig { level: Level::Info },
            inputs: Vec::new(),
        }
    }

    /// Defaults, then the file at `path` (if any), then `env` overrides.
    pub fn load(
        path: Option<&std::path::Path>,
        env: &[(String, String)],
    ) -> Result<Config, String> {
        let home = env
            .iter()
            .find(|(k, _)| k == "HOME")
            .map(|(_, v)| PathBuf::from(v));
        let mut config = Config::default_for_home(home);
        if let Some(path) = path {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("reading config {}: {e}", path.display()))?;
            config
                .apply_toml(&text)
                .map_err(|e| format!("config {}: {e}", path.display()))?;
        }
        config.apply_env(env)?;
        config.resolve_unlimited_connections();
        config.validate()?;
        Ok(config)
    }

    /// Applies the keys of a TOML document.
    pub fn apply_toml(&mut self, text: &str) -> Result<(), String> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
        self.inputs = inputs::inputs_from_toml(&table)?;
        for (section, value) in &table {
            let Some(section_table) = value.as_table() else {
                // A top-level key (`bind-address`); arrays of tables ([[graphite]]) are the
                // inputs, read above, and other top-level keys (reporting-disabled) belong
                // to features Sluice does not have.
                if let Some(text) = value.as_str() {
                    if SETTINGS
                        .iter()
                        .any(|s| s.section.is_empty() && s.key == section)
                    {
                        self.set("", section, text)?;
                    }
                }
                continue;
            };
            if !SETTINGS.iter().any(|s| s.section == section) {
                crate::log_warn!("config", "ignoring unknown section"; section = section);
                continue;
            }
            for (key, value) in section_table {
                let text = match value {
                    toml::Value::String(s) => s.clone(),
                    toml::Value::Integer(i) => i.to_string(),
                    toml::Value::Boolean(b) => b.to_string(),
                    toml::Value::Float(f) => f.to_string(),
                    _ => return Err(format!("[{section}] {key}: unsupported value type")),
                };
                if !SETTINGS
                    .iter()
                    .any(|s| s.section == section && s.key == key)
                {
                    crate::log_warn!("config", "ignoring unknown key"; section = section, key = key);
                    continue;
                }
                self.set(section, key, &text)?;
            }
        }
        Ok(())
    }

    /// Applies `SLUICE_<SECTION>_<KEY>` variables.
    pub fn apply_env(&mut self, env: &[(String, String)]) -> Result<(), String> {
        for setting in SETTINGS {
            let name = setting.env_name();
            if let Some((_, value)) = env.iter().find(|(k, _)| *k == name) {
                (setting.apply)(self, value).map_err(|e| format!("{name}: {e}"))?;
            }
        }
        inputs::apply_input_env(&mut self.inputs, env)
    }

    /// Sets one key from its text form.
    pub fn set(&mut self, section: &str, key: &str, text: &str) -> Result<(), String> {
        let setting = SETTINGS
            .iter()
            .find(|s| s.section == section && s.key == key)
            .ok_or_else(|| format!("unknown key [{section}] {key}"))?;
        (setting.apply)(self, text).map_err(|e| format!("[{section}] {key}: {e}"))
    }

    /// `[http] max-connection-limit = 0` means no configured limit, as in InfluxDB. Every
    /// connection still costs buffers and a descriptor, so the bound stays finite: what the
    /// process's descriptor limit allows (less a reserve), at most
    /// `HTTP_MAX_CONNECTIONS_UNLIMITED_MAX`.
    fn resolve_unlimited_connections(&mut self) {
        if self.http.max_connection_limit != 0 {
            return;
        }
        let mut descriptors = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes the limit into the struct we own.
        let read = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut descriptors) } == 0;
        let allowed = if read {
            usize::try_from(descriptors.rlim_cur).unwrap_or(usize::MAX)
        } else {
            limits::HTTP_MAX_CONNECTIONS_DEFAULT + limits::HTTP_CONNECTIONS_FD_RESERVE
        };
        self.http.max_connection_limit = allowed
            .saturating_sub(limits::HTTP_CONNECTIONS_FD_RESERVE)
            .clamp(1, limits::HTTP_MAX_CONNECTIONS_UNLIMITED_MAX);
        crate::log_info!("config", "max-connection-limit 0: no configured limit; bounded by open-file limit";
            connections = self.http.max_connection_limit);
    }

    fn validate(&self) -> Result<(), String> {
        if self.meta.raft_heartbeat_ticks == 0
            || self.meta.raft_heartbeat_ticks >= self.meta.raft_election_ticks
        {
            return Err(
                "[meta] raft-heartbeat-ticks must be > 0 and below raft-election-ticks".into(),
            );
        }
        if self.meta.raft_tick_interval.is_zero() {
            return Err("[meta] raft-tick-interval must be > 0".into());
        }
        if self.http.auth_enabled
            && self.meta.shared_secret.is_empty()
            && !self.meta.join.is_empty()
        {
            return Err(
                "[meta] shared-secret must be set to join a cluster with [http] auth-enabled"
                    .into(),
            );
        }
        if self.http.max_body_size == 0 {
            return Err("[http] max-body-size must be > 0".into());
        }
        if self.http.max_connection_limit == 0 {
            panic!("BUG: max-connection-limit 0 is resolved before validation");
        }
        if self.http.write_piece_size == 0 {
            return Err("[http] write-piece-size must be > 0".into());
        }
        if self.http.large_write_queue_depth == 0 {
            return Err("[http] large-write-queue-depth must be > 0".into());
        }
        let subscriber = &self.subscriber;
        if subscriber.write_buffer_size == 0 || subscriber.total_buffer_bytes == 0 {
            return Err("[subscriber] write-buffer-size and total-buffer-bytes must be > 0".into());
        }
        if !(1..=limits::SUBSCRIBER_WRITE_CONCURRENCY_MAX).contains(&subscriber.write_concurrency) {
            return Err(format!(
                "[subscriber] write-concurrency must be between 1 and {}",
                limits::SUBSCRIBER_WRITE_CONCURRENCY_MAX
            ));
        }
        let datagram =
            limits::SUBSCRIBER_UDP_DATAGRAM_BYTES_MIN..=limits::SUBSCRIBER_UDP_DATAGRAM_BYTES_MAX;
        if !datagram.contains(&subscriber.udp_max_datagram_size) {
            return Err(format!(
                "[subscriber] udp-max-datagram-size must be between {} and {}",
                datagram.start(),
                datagram.end()
            ));
        }
        if subscriber.http_timeout.is_zero() {
            return Err("[subscriber] http-timeout must be > 0".into());
        }
        if self.backup.max_connections == 0 {
            return Err("[backup] max-connections must be > 0".into());
        }
        if self.cluster.pool_max_connections == 0 {
            return Err("[cluster] pool-max-connections must be > 0".into());
        }
        if self.cluster.dial_timeout.is_zero() || self.cluster.shard_writer_timeout.is_zero() {
            return Err("[cluster] dial-timeout and shard-writer-timeout must be > 0".into());
        }
        self.cluster.static_peers()?;
        let hh = &self.hinted_handoff;
        if hh.max_size < limits::HINTED_HANDOFF_SEGMENT_MAX_BYTES {
            return Err(format!(
                "[hinted-handoff] max-size must be at least {} bytes (one segment)",
                limits::HINTED_HANDOFF_SEGMENT_MAX_BYTES
            ));
        }
        if hh.retry_interval.is_zero() || hh.retry_interval > hh.retry_max_interval {
            return Err(
                "[hinted-handoff] retry-interval must be > 0 and at most retry-max-interval".into(),
            );
        }
        if self.data.wal_group_max_records == 0 {
            return Err("[data] wal-group-max-records must be > 0".into());
        }
        if self.data.ingest_queue_depth == 0 {
            return Err("[data] ingest-queue-depth must be > 0".into());
        }
        if self.data.wal_segment_max_bytes < 1024 * 1024 {
            return Err("[data] wal-segment-max-bytes must be at least 1 MiB".into());
        }
        if self.monitor.store_enabled {
            if self.monitor.store_database.is_empty() {
                return Err("[monitor] store-database must not be empty".into());
            }
            let shortest = crate::query::monitor::MONITOR_STORE_INTERVAL_MIN_MS;
            if self.monitor.store_interval < Duration::from_millis(shortest) {
                return Err(format!(
                    "[monitor] store-interval must be at least {shortest}ms"
                ));
            }
        }
        for input in &self.inputs {
            input.validate()?;
        }
        Ok(())
    }

    /// The whole configuration as a commented TOML document.
    pub fn render_toml(&self) -> String {
        let mut out = String::from(
            "# Sluice configuration. Every key can be overridden by SLUICE_<SECTION>_<KEY>.\n",
        );
        // Top-level keys come first (`section` is empty): TOML puts a key after a header
        // into that section.
        let mut section = "";
        for setting in SETTINGS {
            if setting.section != section {
                section = setting.section;
                out.push_str(&format!("\n[{section}]\n"));
            }
            out.push_str(&format!(
                "  # {} ({})\n  {} = {}\n",
                setting.doc,
                setting.env_name(),
                setting.key,
                (setting.render)(self)
            ));
        }
        out.push_str(
            "\n# Inputs (several instances of each allowed; all off by default). Override with\n\
             # SLUICE_<KIND>_<INDEX>_<KEY>, e.g. SLUICE_GRAPHITE_0_ENABLED=true.\n",
        );
        out.push_str(&inputs::render_inputs(&self.inputs));
        out
    }

    /// Event-loop threads to run.
    pub fn worker_count(&self) -> usize {
        if self.http.workers > 0 {
            self.http.workers
        } else {
            available_cores()
        }
    }

    /// Large-write threads to run.
    pub fn large_write_thread_count(&self) -> usize {
        if self.http.large_write_threads > 0 {
            self.http.large_write_threads
        } else {
            self.worker_count()
        }
    }

    /// WAL partitions to create in a fresh WAL directory.
    pub fn partition_count(&self) -> usize {
        if self.data.wal_partitions > 0 {
            self.data.wal_partitions
        } else {
            available_cores()
        }
    }

    /// Query threads to run: `max-concurrent-queries`, or by default one per event loop
    /// (each loop's home thread) and at least `QUERY_THREADS_DEFAULT`.
    pub fn query_threads(&self) -> usize {
        if self.coordinator.max_concurrent_queries > 0 {
            self.coordinator.max_concurrent_queries
        } else {
            self.worker_count().max(limits::QUERY_THREADS_DEFAULT)
        }
    }

    /// `[coordinator]` with `query-merge-parallelism = 0` made the CPU count, taken here on
    /// the starting thread: query threads may be pinned to one CPU, and would see one.
    pub fn coordinator_resolved(&self) -> CoordinatorConfig {
        let mut coordinator = self.coordinator.clone();
        if coordinator.query_merge_parallelism == 0 {
            coordinator.query_merge_parallelism = available_cores();
        }
        coordinator
    }
}

fn available_cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// One configurable key.
pub struct Setting {
    /// section name without brackets
    pub section: &'static str,
    /// key as written in the file
    pub key: &'static str,
    /// one-line description
    pub doc: &'static str,
    apply: fn(&mut Config, &str) -> Result<(), String>,
    render: fn(&Config) -> String,
}

impl Setting {
    /// `SLUICE_<SECTION>_<KEY>`, or `SLUICE_<KEY>` for a top-level key
    pub fn env_name(&self) -> String {
        let name = if self.section.is_empty() {
            format!("SLUICE_{}", self.key)
        } else {
            format!("SLUICE_{}_{}", self.section, self.key)
        };
        name.replace('-', "_").to_uppercase()
    }
}

/// A type a setting can have: parsed from text, rendered as a TOML literal.
trait SettingValue: Sized {
    fn parse_setting(text: &str) -> Result<Self, String>;
    fn render_setting(&self) -> String;
}

impl SettingValue for PathBuf {
    fn parse_setting(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Err("empty path".into());
        }
        Ok(PathBuf::from(text))
    }
    fn render_setting(&self) -> String {
        toml_string(&self.display().to_string())
    }
}

impl SettingValue for String {
    fn parse_setting(text: &str) -> Result<Self, String> {
        Ok(text.to_string())
    }
    fn render_setting(&self) -> String {
        toml_string(self)
    }
}

impl SettingValue for bool {
    fn parse_setting(text: &str) -> Result<Self, String> {
        match text {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(format!("not a boolean: {text:?}")),
        }
    }
    fn render_setting(&self) -> String {
        self.to_string()
    }
}

macro_rules! unsigned_setting {
    ($($type:ty),*) => {$(
        impl SettingValue for $type {
            fn parse_setting(text: &str) -> Result<Self, String> {
                // Sizes may carry influxdb.conf's suffixes: k, m, g (powers of 1024).
                let trimmed = text.trim();
                let (digits, multiplier) = match trimmed.as_bytes().last() {
                    Some(b'k' | b'K') => (&trimmed[..trimmed.len() - 1], 1u64 << 10),
                    Some(b'm' | b'M') => (&trimmed[..trimmed.len() - 1], 1u64 << 20),
                    Some(b'g' | b'G') => (&trimmed[..trimmed.len() - 1], 1u64 << 30),
                    _ => (trimmed, 1),
                };
                digits
                    .parse::<u64>()
                    .ok()
                    .and_then(|n| n.checked_mul(multiplier))
                    .and_then(|n| <$type>::try_from(n).ok())
                    .ok_or_else(|| format!("not a non-negative integer or size: {text:?}"))
            }
            fn render_setting(&self) -> String {
                self.to_string()
            }
        }
    )*};
}

unsigned_setting!(usize, u64);

impl SettingValue for Duration {
    fn parse_setting(text: &str) -> Result<Self, String> {
        parse_duration(text)
    }
    fn render_setting(&self) -> String {
        toml_string(&format_duration(*self))
    }
}

impl SettingValue for Level {
    fn parse_setting(text: &str) -> Result<Self, String> {
        Level::parse(text)
            .ok_or_else(|| format!("not a log level (debug, info, warn, error): {text:?}"))
    }
    fn render_setting(&self) -> String {
        toml_string(match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        })
    }
}

fn toml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Parses a Go-style duration: `0`, `100ms`, `10s`, `1m30s`, `2h`, `5us`, `5µs`, `7ns`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let bad = || format!("not a duration: {text:?} (examples: 0, 100ms, 10s, 1m30s)");
    let mut rest = text;
    let mut total_ns: u128 = 0;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(bad());
        }
        let number: u128 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit_ns: u128 = match &rest[..unit_len] {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total_ns = total_ns
            .checked_add(number.checked_mul(unit_ns).ok_or_else(bad)?)
            .ok_or_else(bad)?;
    }
    let nanos = u64::try_from(total_ns).map_err(|_| bad())?;
    Ok(Duration::from_nanos(nanos))
}

/// Formats a duration in the largest exact unit: `0s`, `100ms`, `10s`, `90s`.
pub fn format_duration(duration: Duration) -> String {
    let ns = duration.as_nanos();
    for (unit, size) in [
        ("h", 3_600_000_000_000u128),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
    ] {
        if ns > 0 && ns % size == 0 {
            return format!("{}{unit}", ns / size);
        }
    }
    if ns == 0 {
        "0s".to_string()
    } else {
        format!("{ns}ns")
    }
}

macro_rules! settings {
    ($( [$section:literal] $key:literal => $($field:ident).+ , $doc:literal ;)*) => {
        /// Every configurable key, in the order `sluice config` prints them.
        pub static SETTINGS: &[Setting] = &[ $(
            Setting {
                section: $section,
                key: $key,
                doc: $doc,
                apply: |config, text| {
                    config.$($field).+ = SettingValue::parse_setting(text)?;
                    Ok(())
                },
                render: |config| SettingValue::render_setting(&config.$($field).+),
            },
        )* ];
    };
}

settings! {
    [""] "bind-address" => backup.bind_address,
        "host:port of the backup and restore service (sluice backup, sluice restore); it asks for no credentials, so keep it on loopback";
    ["backup"] "max-connections" => backup.max_connections,
        "backups and restores served at once; one more connection is refused with an error";
    ["cluster"] "dial-timeout" => cluster.dial_timeout,
        "connecting to a peer's data port (bind-address), handshake included";
    ["cluster"] "shard-writer-timeout" => cluster.shard_writer_timeout,
        "how long a write waits for each owner's acknowledgement";
    ["cluster"] "pool-max-connections" => cluster.pool_max_connections,
        "connections kept open to one peer at most; a write waits for a free one";
    ["cluster"] "max-peer-connections" => cluster.max_peer_connections,
        "threads of the data port serving peers' write sessions, besides [backup] max-connections";
    ["cluster"] "debug-node-id" => cluster.debug_node_id,
        "tests only: this node's id in a fixed cluster where every node owns every shard, without the meta group's placement (0: off)";
    ["cluster"] "debug-static-peers" => cluster.debug_static_peers,
        "tests only: the other nodes of that fixed cluster, ID=HOST:PORT of their data ports, comma-separated";
    ["hinted-handoff"] "enabled" => hinted_handoff.enabled,
        "keep writes an owner could not take and deliver them when it returns";
    ["hinted-handoff"] "dir" => hinted_handoff.dir,
        "directory of the hinted-handoff queues, one directory per destination node";
    ["hinted-handoff"] "max-size" => hinted_handoff.max_size,
        "bytes kept per destination node; past it a hint is refused (the write counts as failed for that owner)";
    ["hinted-handoff"] "max-age" => hinted_handoff.max_age,
        "hints older than this are dropped instead of delivered";
    ["hinted-handoff"] "retry-interval" => hinted_handoff.retry_interval,
        "first wait after a failed delivery";
    ["hinted-handoff"] "retry-max-interval" => hinted_handoff.retry_max_interval,
        "longest wait between deliveries to a node that is down (the wait doubles up to it)";
    ["meta"] "dir" => meta.dir, "directory of the meta store (databases, retention policies)";
    ["meta"] "bind-address" => meta.bind_address,
        "host:port of the meta service (Raft, joins); loopback unless the node is in a cluster";
    ["meta"] "join" => meta.join,
        "meta address (host:8091) of a cluster member, for a node not in a cluster yet";
    ["meta"] "shared-secret" => meta.shared_secret,
        "secret every meta peer must present when [http] auth-enabled";
    ["meta"] "raft-tick-interval" => meta.raft_tick_interval, "one tick of the meta group's Raft clock";
    ["meta"] "raft-election-ticks" => meta.raft_election_ticks,
        "ticks without a leader before a node stands for election";
    ["meta"] "raft-heartbeat-ticks" => meta.raft_heartbeat_ticks,
        "ticks between the meta leader's heartbeats (fewer than raft-election-ticks)";
    ["meta"] "propose-timeout" => meta.propose_timeout,
        "how long a meta change (DDL, a new shard group) waits for the group before it fails";
    ["meta"] "log-compact-entries" => meta.log_compact_entries,
        "Raft log entries kept before the log is compacted to what meta.db holds";
    ["data"] "dir" => data.dir, "directory of the storage files";
    ["data"] "wal-dir" => data.wal_dir, "directory of the write-ahead log";
    ["data"] "wal-fsync-delay" => data.wal_fsync_delay,
        "wait this long to gather more writes into one fsync (0s: fsync at once)";
    ["data"] "wal-group-max-records" => data.wal_group_max_records,
        "a group commit fsyncs once it holds this many records";
    ["data"] "debug-wal-commit-delay" => data.debug_wal_commit_delay,
        "fault injection for tests: every WAL group commit takes this much longer; keep 0s";
    ["data"] "wal-partitions" => data.wal_partitions,
        "WAL partitions, one writer thread each, for a new WAL directory (0: one per core)";
    ["data"] "wal-segment-max-bytes" => data.wal_segment_max_bytes,
        "a partition starts a new WAL segment file past this size";
    ["data"] "wal-max-size" => data.wal_max_size,
        "writes are refused (500) while the WAL holds this many bytes (snapshots cannot delete segments)";
    ["data"] "ingest-queue-depth" => data.ingest_queue_depth,
        "batches each event loop may queue to each partition before writes wait";
    ["data"] "cache-snapshot-memory-size" => data.cache_snapshot_memory_size,
        "write the in-memory caches to files once they hold this many bytes";
    ["data"] "cache-max-memory-size" => data.cache_max_memory_size,
        "past this many cache bytes writes wait for a snapshot (503 after the timeout)";
    ["data"] "max-series-per-database" => data.max_series_per_database,
        "points creating series past this many in a database are dropped (0: no limit)";
    ["data"] "max-values-per-tag" => data.max_values_per_tag,
        "points adding a tag value past this many for a tag key are dropped (0: no limit)";
    ["data"] "cache-snapshot-write-cold-duration" => data.cache_snapshot_write_cold_duration,
        "write the caches to files after no write for this long";
    ["data"] "storage-check-interval" => data.storage_check_interval,
        "how often the storage threads check caches, compactions and retention";
    ["data"] "compact-throughput" => data.compact_throughput,
        "bytes per second compactions may read and write (0: unlimited)";
    ["retention"] "enabled" => retention.enabled, "delete shard groups older than their policy";
    ["retention"] "check-interval" => retention.check_interval,
        "how often to look for expired shard groups";
    ["continuous_queries"] "enabled" => continuous_queries.enabled,
        "run continuous queries (they are stored either way)";
    ["continuous_queries"] "run-interval" => continuous_queries.run_interval,
        "how often to look for continuous queries that are due";
    ["continuous_queries"] "log-enabled" => continuous_queries.log_enabled,
        "log each continuous query run";
    ["subscriber"] "enabled" => subscriber.enabled,
        "forward the writes subscriptions name (they are stored either way)";
    ["subscriber"] "http-timeout" => subscriber.http_timeout,
        "most time one POST to an http:// destination may take (then a write failure)";
    ["subscriber"] "write-buffer-size" => subscriber.write_buffer_size,
        "batches waiting per subscription; past it a batch is dropped and counted";
    ["subscriber"] "write-concurrency" => subscriber.write_concurrency,
        "threads forwarding to the destinations";
    ["subscriber"] "total-buffer-bytes" => subscriber.total_buffer_bytes,
        "bytes of batches waiting across all subscriptions; past it a batch is dropped and counted";
    ["subscriber"] "udp-max-datagram-size" => subscriber.udp_max_datagram_size,
        "most bytes of one datagram to a udp:// destination (lines are split between datagrams)";
    ["monitor"] "store-enabled" => monitor.store_enabled,
        "write the statistics of SHOW STATS into store-database every store-interval";
    ["monitor"] "store-database" => monitor.store_database,
        "database of the statistics (created with the retention policy monitor, 7 days)";
    ["monitor"] "store-interval" => monitor.store_interval,
        "how often the statistics are written";
    ["http"] "bind-address" => http.bind_address, "address of the HTTP API";
    ["http"] "auth-enabled" => http.auth_enabled,
        "require credentials and check users' privileges (create an admin user first)";
    ["http"] "shared-secret" => http.shared_secret,
        "HMAC key of JWT bearer tokens (Authorization: Bearer); empty: none accepted";
    ["http"] "https-enabled" => http.https_enabled, "serve the HTTP API over TLS (1.2, 1.3)";
    ["http"] "https-certificate" => http.https_certificate,
        "PEM certificate chain for HTTPS (with the key in it if https-private-key is empty)";
    ["http"] "https-private-key" => http.https_private_key,
        "PEM private key for HTTPS (empty: read it from the certificate file)";
    ["http"] "max-body-size" => http.max_body_size, "largest request body in bytes (413 above)";
    ["http"] "password-checks-per-second" => http.password_checks_per_second,
        "most bcrypt password checks a second (uncached credentials; 429 past it; 0: no bound)";
    ["http"] "max-row-limit" => http.max_row_limit,
        "most rows of a non-chunked /query answer; past it the answer is cut, \"partial\": true (0: unlimited)";
    ["http"] "max-body-memory" => http.max_body_memory,
        "most bytes of request bodies held in memory at once, across all connections; a body waits (its client is not read) until it fits, 503 after enqueued-write-timeout (default: an eighth of RAM)";
    ["http"] "max-inflated-body-size" => http.max_inflated_body_size,
        "largest body after gzip decoding, in bytes (413 above)";
    ["http"] "write-piece-size" => http.write_piece_size,
        "most bytes of a /write body an event loop plans; larger bodies (as sent or gzip-decoded) go to a large-write thread, larger gzip bodies are written in pieces of this size";
    ["http"] "large-write-threads" => http.large_write_threads,
        "threads planning writes larger than write-piece-size (0: one per event loop)";
    ["http"] "large-write-queue-depth" => http.large_write_queue_depth,
        "large writes waiting for a large-write thread; one more is answered 503";
    ["http"] "max-connection-limit" => http.max_connection_limit,
        "most open HTTP connections; more are refused";
    ["http"] "workers" => http.workers, "event-loop threads (0: one per core)";
    ["http"] "query-on-loop-cpu" => http.query_on_loop_cpu,
        "run a loop's queries on the loop's own CPU when its home query thread is idle";
    ["http"] "pin-event-loops" => http.pin_event_loops,
        "pin event loop i to the i-th CPU the process may use";
    ["http"] "idle-timeout" => http.idle_timeout, "close keep-alive connections idle this long";
    ["http"] "request-min-rate" => http.request_min_rate,
        "bytes a second a request must average once past request-min-rate-grace (0: any)";
    ["http"] "request-min-rate-grace" => http.request_min_rate_grace,
        "how long a request may arrive at any pace";
    ["http"] "request-read-timeout" => http.request_read_timeout,
        "a started request must arrive in full within this long";
    ["http"] "enqueued-write-timeout" => http.enqueued_write_timeout,
        "a write waiting this long for ingest queue space gets 503";
    ["http"] "log-enabled" => http.log_enabled, "log every HTTP request";
    ["admin"] "enabled" => admin.enabled, "serve the admin web UI";
    ["admin"] "bind-address" => admin.bind_address, "address of the admin web UI";
    ["admin"] "https-enabled" => admin.https_enabled, "serve the admin web UI over TLS";
    ["admin"] "https-certificate" => admin.https_certificate,
        "PEM certificate chain for the admin UI's HTTPS (with the key if https-private-key is empty)";
    ["admin"] "https-private-key" => admin.https_private_key,
        "PEM private key for the admin UI's HTTPS (empty: read it from the certificate file)";
    ["admin"] "api-url" => admin.api_url,
        "URL of the HTTP API the admin UI talks to (empty: the page's host on the [http] port)";
    ["coordinator"] "max-concurrent-queries" => coordinator.max_concurrent_queries,
        "query threads (0: default)";
    ["coordinator"] "log-queries-after" => coordinator.log_queries_after,
        "log a query that ran at least this long as slow (0s: never)";
    ["coordinator"] "query-timeout" => coordinator.query_timeout,
        "stop a statement that runs longer than this (0s: no limit)";
    ["coordinator"] "max-select-point" => coordinator.max_select_point,
        "most points one SELECT may read (0: unlimited)";
    ["coordinator"] "max-select-series" => coordinator.max_select_series,
        "most series one SELECT may read (0: unlimited)";
    ["coordinator"] "max-select-buckets" => coordinator.max_select_buckets,
        "most GROUP BY time() buckets one SELECT may produce (0: unlimited)";
    ["coordinator"] "query-memory-limit" => coordinator.query_memory_limit,
        "most bytes one statement may hold while it runs (0: unlimited; default: a quarter of RAM)";
    ["coordinator"] "query-merge-parallelism" => coordinator.query_merge_parallelism,
        "groups a shard's series are merged in for sum()/mean(), as InfluxDB's GOMAXPROCS (0: CPU count)";
    ["logging"] "level" => logging.level, "lowest level logged: debug, info, warn, error";
}

/// Default `[http] max-body-memory`: an eighth of physical memory.
pub fn max_body_memory_default() -> usize {
    let quarter = query_memory_limit_default();
    usize::try_from(quarter / 2).unwrap_or(usize::MAX)
}

/// Default `[coordinator] query-memory-limit`: a quarter of physical memory.
pub fn query_memory_limit_default() -> u64 {
    // SAFETY: sysconf only reads system information.
    let (pages, page_bytes) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    match (u64::try_from(pages), u64::try_from(page_bytes)) {
        (Ok(pages), Ok(page_bytes)) if pages > 0 && page_bytes > 0 => {
            pages.saturating_mul(page_bytes) / limits::QUERY_MEMORY_LIMIT_RAM_DIVISOR
        }
        _ => limits::QUERY_MEMORY_LIMIT_FALLBACK_BYTES,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_live_under_home() {
        let config = Config::load(None, &env(&[("HOME", "/home/u")])).unwrap();
        assert_eq!(config.data.wal_dir, PathBuf::from("/home/u/.sluice/wal"));
        assert_eq!(config.http.bind_address, ":8086");
        assert_eq!(config.http.max_body_size, 25_000_000);
    }

    /// `max-connection-limit = 0` starts the server (InfluxDB: unlimited), bounded by the
    /// descriptor limit; before, it refused to start.
    #[test]
    fn a_connection_limit_of_zero_means_the_descriptor_limit() {
        let config = Config::load(
            None,
            &env(&[
                ("HOME", "/home/u"),
                ("SLUICE_HTTP_MAX_CONNECTION_LIMIT", "0"),
            ]),
        )
        .unwrap();
        let limit = config.http.max_connection_limit;
        assert!(
            (1..=limits::HTTP_MAX_CONNECTIONS_UNLIMITED_MAX).contains(&limit),
            "{limit}"
        );
    }

    #[test]
    fn env_overrides_file() {
        let mut config = Config::default_for_home(None);
        config
            .apply_toml("[http]\nbind-address = \":9999\"\nmax-body-size = 10\n")
            .unwrap();
        config
            .apply_env(&env(&[("SLUICE_HTTP_BIND_ADDRESS", "127.0.0.1:0")]))
            .unwrap();
        assert_eq!(config.http.bind_address, "127.0.0.1:0");
        assert_eq!(config.http.max_body_size, 10);
    }

    #[test]
    fn unknown_keys_are_skipped_and_bad_values_rejected() {
        let mut config = Config::default_for_home(None);
        config
            .apply_toml("[http]\nauth-enabled = false\n[[graphite]]\nenabled = false\n")
            .unwrap();
        let error = config
            .apply_toml("[http]\nmax-body-size = \"big\"\n")
            .unwrap_err();
        assert!(error.contains("max-body-size"), "{error}");
    }

    #[test]
    fn large_write_bounds_are_set_and_checked() {
        let config = Config::load(
            None,
            &env(&[
                ("SLUICE_HTTP_WRITE_PIECE_SIZE", "65536"),
                ("SLUICE_HTTP_LARGE_WRITE_THREADS", "3"),
            ]),
        )
        .unwrap();
        assert_eq!(config.http.write_piece_size, 65_536);
        assert_eq!(config.large_write_thread_count(), 3);
        let defaults = Config::load(None, &env(&[])).unwrap();
        assert_eq!(defaults.http.write_piece_size, 4 << 20);
        assert_eq!(defaults.large_write_thread_count(), defaults.worker_count());
        for key in [
            "SLUICE_HTTP_WRITE_PIECE_SIZE",
            "SLUICE_HTTP_LARGE_WRITE_QUEUE_DEPTH",
        ] {
            let error = Config::load(None, &env(&[(key, "0")])).unwrap_err();
            assert!(error.contains("must be > 0"), "{key}: {error}");
        }
    }

    #[test]
    fn monitor_defaults_are_influxdbs_and_its_keys_are_read() {
        let defaults = Config::load(None, &env(&[])).unwrap();
        assert!(defaults.monitor.store_enabled);
        assert_eq!(defaults.monitor.store_database, "_internal");
        assert_eq!(defaults.monitor.store_interval, Duration::from_secs(10));
        let mut config = Config::default_for_home(None);
        config
            .apply_toml(
                "[monitor]\nstore-enabled = false\nstore-database = \"mon\"\n\
                 store-interval = \"1s\"\n",
            )
            .unwrap();
        assert!(!config.monitor.store_enabled);
        assert_eq!(config.monitor.store_database, "mon");
        assert_eq!(config.monitor.store_interval, Duration::from_secs(1));
        for (key, value, error) in [
            ("SLUICE_MONITOR_STORE_INTERVAL", "10ms", "at least 100ms"),
            ("SLUICE_MONITOR_STORE_DATABASE", "", "must not be empty"),
        ] {
            let refused = Config::load(None, &env(&[(key, value)])).unwrap_err();
            assert!(refused.contains(error), "{key}: {refused}");
        }
    }

    #[test]
    fn rendered_config_parses_back() {
        let config = Config::default_for_home(None);
        let mut again = Config::default_for_home(Some(PathBuf::from("/elsewhere")));
        again.apply_toml(&config.render_toml()).unwrap();
        assert_eq!(again.render_toml(), config.render_toml());
    }

    /// The backup port asks for no credentials: by default it is not reachable from another
    /// machine (InfluxDB's default is loopback too), and the top-level key is read from the
    /// file and from `SLUICE_BIND_ADDRESS`.
    #[test]
    fn the_backup_service_listens_on_loopback_by_default() {
        let config = Config::load(None, &env(&[])).unwrap();
        assert_eq!(config.backup.bind_address, "127.0.0.1:8088");
        let address: std::net::SocketAddr = config.backup.bind_address.parse().unwrap();
        assert!(address.ip().is_loopback());
        assert_eq!(config.backup.max_connections, 2);
        let rendered = config.render_toml();
        assert!(
            rendered.contains("\n  bind-address = \"127.0.0.1:8088\"\n"),
            "{rendered}"
        );
        let mut from_file = Config::default_for_home(None);
        from_file
            .apply_toml("bind-address = \"127.0.0.1:9999\"\n[backup]\nmax-connections = 3\n")
            .unwrap();
        assert_eq!(from_file.backup.bind_address, "127.0.0.1:9999");
        assert_eq!(from_file.backup.max_connections, 3);
        let from_env = Config::load(None, &env(&[("SLUICE_BIND_ADDRESS", "127.0.0.1:0")])).unwrap();
        assert_eq!(from_env.backup.bind_address, "127.0.0.1:0");
        let error =
            Config::load(None, &env(&[("SLUICE_BACKUP_MAX_CONNECTIONS", "0")])).unwrap_err();
        assert!(error.contains("max-connections must be > 0"), "{error}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("100ms").unwrap(), Duration::from_millis(100));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("").is_err());
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }
}
