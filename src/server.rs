//! The daemon: start-up (meta, WAL replay, partitions, query pool, the backup service,
//! large-write threads, listeners, event loops), signal handling and orderly shutdown.
//!
//! Shutdown on SIGTERM or SIGINT: the signal thread sets `shutting_down` and wakes every
//! loop; each loop stops accepting, closes idle connections and lets in-flight requests
//! (large writes included) finish and be answered; then the backup service stops (a restore
//! in progress drops what it created), the query pool drains, the
//! large-write threads stop, and every partition commits what is queued; the process exits 0.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::config::Config;
use crate::ingest::maintenance::{Maintenance, MaintenanceOptions};
use crate::ingest::{Ingest, IngestOptions};
use crate::meta::MetaStore;
use crate::net::{self, HttpStats, Shared};
use crate::query::continuous::{ContinuousQueryOptions, ContinuousQueryService};
use crate::query::monitor::{MonitorOptions, MonitorService};
use crate::query::statistics::{DiagnosticModule, DiagnosticValue, Diagnostics};
use crate::query::{QueryContext, QueryPool};
use crate::storage::engine::{Store, StoreOptions};
use sluice_base::statistics::{Statistics, StatisticsSource};

/// Runs the server until a signal stops it.
pub fn run(config: Config) -> Result<(), String> {
    crate::log::set_level(config.logging.level);
    block_stop_signals()?;
    raise_open_file_limit(config.http.max_connection_limit);
    let started = std::time::Instant::now();
    let started_ns = crate::time::now_ns();
    let tls = if config.http.https_enabled {
        let loaded = net::tls_server_config(
            &config.http.https_certificate,
            &config.http.https_private_key,
        );
        Some(loaded.map_err(|e| format!("https-enabled: {e}"))?)
    } else {
        None
    };
    let admin_tls = if config.admin.enabled && config.admin.https_enabled {
        let loaded = net::tls_server_config(
            &config.admin.https_certificate,
            &config.admin.https_private_key,
        );
        Some(loaded.map_err(|e| format!("[admin] https-enabled: {e}"))?)
    } else {
        None
    };
    crate::log_info!("server", "starting Sluice"; version = crate::SLUICE_VERSION, compatible_with = crate::INFLUXDB_COMPATIBLE_VERSION);
    let meta = Arc::new(MetaStore::open(&config.meta.dir).map_err(|e| e.to_string())?);
    // Before the WAL replay: a replayed point may need a new shard group, a meta change.
    let meta_service = start_meta_group(&config, &meta)?;
    std::fs::create_dir_all(&config.data.dir)
        .map_err(|e| format!("creating {}: {e}", config.data.dir.display()))?;
    let workers = config.worker_count();
    // Started before the partitions, which tell it of every committed write.
    let subscriber_stats = Arc::new(crate::subscriber::SubscriberStats::default());
    let subscriber = if config.subscriber.enabled {
        let started = crate::subscriber::Subscriber::start(
            Arc::clone(&meta),
            config.subscriber.clone(),
            Arc::clone(&subscriber_stats),
        );
        Some(Arc::new(started.map_err(|e| {
            format!("starting the subscriber threads: {e}")
        })?))
    } else {
        None
    };
    let options = IngestOptions {
        wal_dir: config.data.wal_dir.clone(),
        partitions: config.partition_count(),
        queue_depth_per_loop: config.data.ingest_queue_depth,
        event_loops: workers,
        fsync_delay: config.data.wal_fsync_delay,
        segment_max_bytes: config.data.wal_segment_max_bytes,
        wal_max_bytes: config.data.wal_max_size,
        group_max_records: config.data.wal_group_max_records,
        debug_commit_delay: config.data.debug_wal_commit_delay,
        series_limits: crate::ingest::SeriesLimits {
            max_series_per_database: config.data.max_series_per_database,
            max_values_per_tag: config.data.max_values_per_tag,
        },
        committed_writes: subscriber
            .clone()
            .map(|s| s as Arc<dyn crate::ingest::CommittedWrites>),
    };
    let partitions = crate::ingest::partition_count(&options.wal_dir, options.partitions.max(1))
        .map_err(|e| format!("reading {}: {e}", options.wal_dir.display()))?;
    let store = Store::open(
        StoreOptions {
            data_dir: config.data.dir.clone(),
            partitions,
            cache_snapshot_bytes: config.data.cache_snapshot_memory_size,
            cache_max_bytes: config.data.cache_max_memory_size,
            read_only: false,
        },
        Arc::clone(&meta),
    )
    .map_err(|e| format!("opening the storage in {}: {e}", config.data.dir.display()))?;
    let (ingest, replay) = Ingest::start(&options, &store)
        .map_err(|e| format!("starting the WAL in {}: {e}", config.data.wal_dir.display()))?;
    crate::log_info!("wal", "replayed write-ahead log";
        partitions = replay.partitions, records = replay.records, points = replay.points,
        truncated_segments = replay.truncated_segments, corrupt_stretches = replay.corrupt_stretches, elapsed_ms = started.elapsed().as_millis());
    if ingest.wal_failing() {
        crate::log_error!("server", "the WAL cannot be written (full disk?): serving queries read-only; writes are answered 500 until it can";
            wal_dir = config.data.wal_dir.display());
    }
    let ingest = Arc::new(ingest);
    {
        let ingest = Arc::clone(&ingest);
        let weak_store = Arc::downgrade(&store);
        let wal_dir = config.data.wal_dir.clone();
        store.set_checkpointer(Arc::new(move || match weak_store.upgrade() {
            Some(store) => crate::ingest::maintenance::snapshot(&ingest, &store, &wal_dir),
            None => Ok(()),
        }));
    }
    let maintenance = Maintenance::start(
        Arc::clone(&ingest),
        Arc::clone(&store),
        MaintenanceOptions {
            wal_dir: config.data.wal_dir.clone(),
            check_interval: config.data.storage_check_interval,
            cold_duration: config.data.cache_snapshot_write_cold_duration,
            retention_enabled: config.retention.enabled,
            retention_check_interval: config.retention.check_interval,
            compact_throughput_bytes_per_second: config.data.compact_throughput,
        },
    )
    .map_err(|e| format!("starting the storage threads: {e}"))?;
    let statistics = Statistics::new();
    let query_context = Arc::new(
        QueryContext::new(
            Arc::clone(&meta),
            Arc::clone(&ingest.field_types),
            Arc::clone(&store),
            config.coordinator_resolved(),
        )
        .with_max_row_limit(config.http.max_row_limit)
        .with_statistics(Arc::clone(&statistics))
        .with_diagnostics(diagnostics(&config, started_ns, started))
        .with_into_writer(crate::query::into::IntoWriter {
            ingest: Arc::clone(&ingest),
            enqueue_timeout: config.http.enqueued_write_timeout,
        }),
    );
    let query_source: Arc<dyn StatisticsSource> = query_context.clone();
    statistics
        .register(Arc::downgrade(&query_source))
        .map_err(|e| e.to_string())?;
    let continuous_queries = if config.continuous_queries.enabled {
        let options = ContinuousQueryOptions {
            run_interval: config.continuous_queries.run_interval,
            log_enabled: config.continuous_queries.log_enabled,
        };
        Some(
            ContinuousQueryService::start(Arc::clone(&query_context), options)
                .map_err(|e| format!("starting the continuous query thread: {e}"))?,
        )
    } else {
        None
    };
    let monitor = if config.monitor.store_enabled {
        let options = MonitorOptions {
            database: config.monitor.store_database.clone(),
            interval: config.monitor.store_interval,
        };
        Some(
            MonitorService::start(Arc::clone(&query_context), options)
                .map_err(|e| format!("starting the monitor thread: {e}"))?,
        )
    } else {
        None
    };
    let queries = QueryPool::start(
        config.query_threads(),
        crate::limits::QUERY_QUEUE_DEPTH,
        workers,
        config.http.query_on_loop_cpu,
        query_context,
    )
    .map_err(|e| format!("starting query threads: {e}"))?;

    let peer_view: Arc<dyn crate::cluster::view::ClusterView> = if config.cluster.debug_node_id != 0
    {
        // The fixed test-only cluster: always clustered, every node owns every group.
        Arc::new(crate::cluster::view::StaticClusterView {
            local: config.cluster.debug_node_id,
            addresses: std::collections::BTreeMap::new(),
            owners: Vec::new(),
            shard_group_duration_ns: 1,
        })
    } else {
        Arc::new(crate::cluster::view::MetaClusterView {
            local: meta_service.group().node_id(),
            meta: Arc::clone(&meta),
        })
    };
    let backup = start_backup_service(&config, &meta, &store, &ingest, peer_view)?;
    let data_address = backup.local_address().to_string();

    let inputs = crate::inputs::build_services(&config.inputs)?;
    if inputs.len() > net::MAX_INPUTS {
        return Err(format!(
            "{} inputs are enabled; at most {} are supported",
            inputs.len(),
            net::MAX_INPUTS
        ));
    }
    for input in &inputs {
        if meta.snapshot().database(&input.config.database).is_none() {
            let spec = crate::meta::RetentionPolicySpec::default();
            meta.create_database(&input.config.database, &spec)
                .map_err(|e| {
                    format!(
                        "creating database {:?} for [[{}]]: {e}",
                        input.config.database,
                        input.config.kind.section()
                    )
                })?;
        }
    }
    let input_sockets = bind_inputs(&inputs, workers)?;

    let address = net::listener::resolve_bind_address(&config.http.bind_address)
        .map_err(|e| e.to_string())?;
    let listeners = net::listener::bind_all(address, workers)
        .map_err(|e| format!("listening on {address}: {e}"))?;
    let bound = listeners
        .first()
        .and_then(|l| l.local_addr().ok())
        .map(|a| a.to_string())
        .unwrap_or_default();
    let http_address = listeners
        .first()
        .and_then(|l| l.local_addr().ok())
        .unwrap_or(address);
    let (admin_listeners, admin) = bind_admin(&config, http_address, workers)?;
    let admin_address = admin_listeners
        .first()
        .and_then(|l| l.local_addr().ok())
        .map(|a| a.to_string());
    let auth = config.http.auth_enabled.then(|| {
        crate::http::auth::Authenticator::new(
            &config.http.shared_secret,
            config.http.password_checks_per_second,
        )
    });
    let (replication, hint_delivery) =
        start_replication(&config, &meta, &ingest, meta_service.group().node_id())?;
    let mut config = config;
    if config.cluster.debug_node_id != 0 {
        // Every write goes to a large-write thread, which replicates it (never a loop); a
        // node of the replicated meta decides per write (`http_write_context`).
        config.http.write_piece_size = 0;
    }
    let large_writes = crate::http::large_write::LargeWrites::start(
        config.large_write_thread_count(),
        config.http.large_write_queue_depth,
        Arc::clone(&ingest),
        crate::http::large_write::LargeWriteSettings {
            piece_bytes: config.http.write_piece_size,
            max_inflated_body_bytes: config.http.max_inflated_body_size,
            max_line_bytes: config.http.max_body_size,
            enqueue_timeout: config.http.enqueued_write_timeout,
        },
        replication,
    )
    .map_err(|e| format!("starting large-write threads: {e}"))?;
    let body_memory = net::body_memory::BodyMemory::new(config.http.max_body_memory);
    meta_service
        .group()
        .set_addresses(crate::meta::NodeAddresses {
            meta: String::new(),
            http: http_address.to_string(),
            data: data_address,
        });
    let leader_wait: Arc<dyn crate::http::handlers::LeaderWait> = meta_service.group();
    let shared = Arc::new(Shared {
        leader_wait: Some(leader_wait),
        large_writes,
        auth,
        tls,
        admin,
        admin_tls,
        body_memory,
        subscriber_stats,
        config,
        meta,
        ingest: Arc::clone(&ingest),
        store: Arc::clone(&store),
        queries,
        shutting_down: AtomicBool::new(false),
        open_connections: AtomicUsize::new(0),
        stats: HttpStats::default(),
        inputs,
        statistics: Arc::clone(&statistics),
    });
    let server_source: Arc<dyn StatisticsSource> = shared.clone();
    statistics
        .register(Arc::downgrade(&server_source))
        .map_err(|e| e.to_string())?;
    let loops = net::build_loops(&shared, listeners, input_sockets, admin_listeners)
        .map_err(|e| format!("creating event loops: {e}"))?;
    let mailboxes: Vec<_> = loops.iter().map(net::EventLoop::mailbox).collect();
    // Loop `i` on the `i`-th allowed CPU: its home query thread follows it there (crate::cpu).
    let loop_cpus = if shared.config.http.pin_event_loops {
        crate::cpu::allowed_cpus()
    } else {
        Vec::new()
    };
    let mut threads = Vec::new();
    for (index, event_loop) in loops.into_iter().enumerate() {
        let cpu = loop_cpus.get(index % loop_cpus.len().max(1)).copied();
        let thread = std::thread::Builder::new()
            .name(format!("sluice-loop-{index}"))
            .spawn(move || {
                if let Some(cpu) = cpu {
                    if let Err(error) = crate::cpu::pin_thread(crate::cpu::current_thread_id(), cpu) {
                        crate::log_warn!("net", "could not pin the event loop to its CPU"; event_loop = index, cpu = cpu, error = error);
                    }
                }
                event_loop.run()
            })
            .map_err(|e| format!("spawning event loop: {e}"))?;
        threads.push(thread);
    }
    crate::log_info!("http", "listening"; address = bound, event_loops = workers, partitions = ingest.partition_count(), https = shared.tls.is_some());

    if let Some(address) = &admin_address {
        crate::log_info!("admin", "admin UI listening"; address = address, https = shared.admin_tls.is_some());
    }
    let signal = wait_for_stop_signal();
    crate::log_info!("server", "signal received, shutting down"; signal = signal);
    shared.shutting_down.store(true, Ordering::Release);
    for mailbox in &mailboxes {
        mailbox.wake();
    }
    for thread in threads {
        let _ = thread.join();
    }
    // A restore writes through ingest: stop it (a restore in progress drops what it created)
    // before the writers go.
    backup.stop();
    if let Some(delivery) = hint_delivery {
        delivery.stop();
    }
    // A CQ runs statements and writes: stop it before the query threads and ingest.
    if let Some(continuous_queries) = continuous_queries {
        continuous_queries.stop();
    }
    // The monitor writes too; its last snapshot is durable once it has stopped.
    if let Some(monitor) = monitor {
        monitor.stop();
    }
    shared.queries.shutdown();
    // The loops waited for every large write they handed over; this only joins the threads.
    shared.large_writes.shutdown();
    maintenance.stop();
    // Nothing writes any more: write the caches to files now, so the next start has no WAL
    // to replay (start-up time is then the series indexes only). If this fails or is cut
    // short, the WAL is still there and is replayed as after a crash.
    let snapshot_started = std::time::Instant::now();
    match crate::ingest::maintenance::snapshot(&ingest, &store, &shared.config.data.wal_dir) {
        Ok(()) => {
            crate::log_info!("storage", "caches written to files at shutdown"; elapsed_ms = snapshot_started.elapsed().as_millis());
        }
        Err(error) => {
            crate::log_warn!("storage", "could not write the caches at shutdown; the WAL is kept and replayed at the next start"; error = error);
        }
    }
    ingest.shutdown();
    // Nothing proposes meta changes any more (the partitions created shard groups).
    meta_service.stop();
    // Last: the partitions, now stopped, were the only ones to hand it batches.
    if let Some(subscriber) = subscriber {
        subscriber.stop();
    }
    crate::log_info!("server", "stopped cleanly");
    Ok(())
}

/// The data half of the cluster: the view of owners (the replicated meta store's, or the
/// fixed one of the test-only `[cluster] debug-node-id`), the peer pool, the hinted-handoff
/// queues and their delivery thread. A node alone keeps the single-node write path: the
/// view says it is not clustered until its meta state lists another node.
fn start_replication(
    config: &Config,
    meta: &Arc<MetaStore>,
    ingest: &Arc<Ingest>,
    local_node: u64,
) -> Result<
    (
        crate::http::large_write::Replication,
        Option<crate::cluster::hinted_handoff::DeliveryThread>,
    ),
    String,
> {
    use crate::cluster::{consistency, hinted_handoff, replicate, rpc, view};
    let cluster = &config.cluster;
    let (view, local_node): (Arc<dyn view::ClusterView>, u64) = if cluster.debug_node_id != 0 {
        let addresses = cluster.static_peers()?;
        let mut owners: Vec<u64> = addresses.keys().copied().collect();
        owners.push(cluster.debug_node_id);
        owners.sort_unstable();
        crate::log_info!("cluster", "static cluster (test-only configuration)"; node = cluster.debug_node_id, peers = cluster.debug_static_peers);
        let view = Arc::new(view::StaticClusterView {
            local: cluster.debug_node_id,
            addresses,
            owners,
            shard_group_duration_ns: 7 * 24 * 3_600 * 1_000_000_000,
        });
        (view, cluster.debug_node_id)
    } else {
        let view = Arc::new(view::MetaClusterView {
            local: local_node,
            meta: Arc::clone(meta),
        });
        (view, local_node)
    };
    // The static test-only cluster's nodes are each a meta group of their own: no check.
    let cluster_id = if cluster.debug_node_id != 0 {
        0
    } else {
        meta.snapshot().cluster_id
    };
    let pool = Arc::new(rpc::PeerPool::new(rpc::PeerClientConfig {
        local_node,
        cluster_id,
        dial_timeout: cluster.dial_timeout,
        max_connections_per_peer: cluster.pool_max_connections,
        shared_secret: config
            .http
            .auth_enabled
            .then(|| config.http.shared_secret.clone().into_bytes()),
    }));
    let (hints, delivery) = if config.hinted_handoff.enabled {
        let settings = hinted_handoff::HintedHandoffSettings::from_config(&config.hinted_handoff);
        let queues =
            hinted_handoff::HintedHandoff::open(Arc::new(crate::fsio::OsFileSystem), settings)
                .map_err(|e| format!("opening [hinted-handoff] dir: {e}"))?;
        let queues = Arc::new(queues);
        let transport = Arc::new(consistency::PeerHintTransport {
            view: Arc::clone(&view),
            pool: Arc::clone(&pool),
            timeout: cluster.shard_writer_timeout,
        });
        let delivery = hinted_handoff::DeliveryThread::start(Arc::clone(&queues), transport)
            .map_err(|e| format!("starting the hinted-handoff thread: {e}"))?;
        (Some(queues), Some(delivery))
    } else {
        (None, None)
    };
    let replicated = replicate::ReplicatedWrites {
        view,
        pool,
        hints,
        meta: Arc::clone(meta),
        writer: crate::query::into::IntoWriter {
            ingest: Arc::clone(ingest),
            enqueue_timeout: config.http.enqueued_write_timeout,
        },
        shard_writer_timeout: cluster.shard_writer_timeout,
    };
    Ok((Some(Arc::new(replicated)), delivery))
}

/// Starts the meta group (`cluster::meta_raft`) on `[meta] bind-address`: joins the cluster
/// `[meta] join` names, or makes this node a cluster of one.
fn start_meta_group(
    config: &Config,
    meta: &Arc<MetaStore>,
) -> Result<crate::cluster::meta_raft::MetaService, String> {
    let secret = if config.http.auth_enabled {
        config.meta.shared_secret.as_bytes().to_vec()
    } else {
        Vec::new()
    };
    let bind_address = net::listener::resolve_bind_address(&config.meta.bind_address)
        .map_err(|e| format!("[meta] bind-address: {e}"))?;
    let group_config = crate::cluster::meta_raft::MetaGroupConfig {
        bind_address,
        join: Some(config.meta.join.clone()).filter(|join| !join.is_empty()),
        secret,
        tick_interval: config.meta.raft_tick_interval,
        election_ticks: config.meta.raft_election_ticks,
        heartbeat_ticks: config.meta.raft_heartbeat_ticks,
        propose_timeout: config.meta.propose_timeout,
        log_compact_entries: config.meta.log_compact_entries,
        addresses: crate::meta::NodeAddresses {
            meta: String::new(),
            http: config.http.bind_address.clone(),
            data: config.backup.bind_address.clone(),
        },
    };
    crate::cluster::meta_raft::start(&group_config, Arc::clone(meta), &config.meta.dir)
}

/// Binds the top-level `bind-address` and starts the backup threads (`backup::service`); a
/// port that cannot be bound stops the start, as InfluxDB's does.
fn start_backup_service(
    config: &Config,
    meta: &Arc<MetaStore>,
    store: &Arc<Store>,
    ingest: &Arc<Ingest>,
    peer_view: Arc<dyn crate::cluster::view::ClusterView>,
) -> Result<crate::backup::service::BackupService, String> {
    let address = net::listener::resolve_bind_address(&config.backup.bind_address)
        .map_err(|e| format!("bind-address: {e}"))?;
    let listener = std::net::TcpListener::bind(address)
        .map_err(|e| format!("backup service: listening on {address} (bind-address): {e}"))?;
    let context = Arc::new(crate::backup::service::BackupContext {
        meta: Arc::clone(meta),
        store: Arc::clone(store),
        writer: crate::query::into::IntoWriter {
            ingest: Arc::clone(ingest),
            enqueue_timeout: config.http.enqueued_write_timeout,
        },
        peer_auth: if config.http.auth_enabled {
            crate::cluster::rpc::PeerAuth::SharedSecret(
                config.http.shared_secret.clone().into_bytes(),
            )
        } else {
            crate::cluster::rpc::PeerAuth::Open
        },
        peer_view: Some(peer_view),
    });
    // Backups and restores, and the sessions of cluster peers, share one pool of threads;
    // a node outside a cluster keeps exactly `[backup] max-connections` of them (the peer
    // threads start once the node is in one).
    let service = crate::backup::service::BackupService::start(
        listener,
        config.backup.max_connections,
        config.cluster.max_peer_connections,
        context,
    )
    .map_err(|e| format!("starting the backup service: {e}"))?;
    crate::log_info!("backup", "backup service listening"; address = service.local_address(), max_connections = config.backup.max_connections);
    Ok(service)
}

/// What SHOW DIAGNOSTICS answers besides the build and the time: the host name, `runtime`
/// and the `config*` modules, under the names influxd 1.6.7 uses where Sluice has the
/// setting.
fn diagnostics(config: &Config, started_ns: i64, started: std::time::Instant) -> Diagnostics {
    use crate::query::statements::retention::go_duration;
    let text = |value: &str| DiagnosticValue::String(value.to_string());
    let integer = |value: u64| DiagnosticValue::Integer(i64::try_from(value).unwrap_or(i64::MAX));
    let duration = |value: std::time::Duration| {
        text(&go_duration(
            i64::try_from(value.as_nanos()).unwrap_or(i64::MAX),
        ))
    };
    let path = |value: &std::path::Path| text(&value.display().to_string());
    let module = |name: &str, columns: Vec<(&str, DiagnosticValue)>| DiagnosticModule {
        name: name.to_string(),
        columns: columns
            .into_iter()
            .map(|(key, value)| (key.to_string(), value))
            .collect(),
    };
    let data = &config.data;
    let http = &config.http;
    let coordinator = &config.coordinator;
    let modules = vec![
        // Sluice never reports usage anywhere.
        module(
            "config",
            vec![("reporting-enabled", DiagnosticValue::Boolean(false))],
        ),
        module(
            "config-coordinator",
            vec![
                ("log-queries-after", duration(coordinator.log_queries_after)),
                (
                    "max-concurrent-queries",
                    integer(config.query_threads() as u64),
                ),
                (
                    "max-select-buckets",
                    integer(coordinator.max_select_buckets),
                ),
                ("max-select-point", integer(coordinator.max_select_point)),
                ("max-select-series", integer(coordinator.max_select_series)),
                ("query-timeout", duration(coordinator.query_timeout)),
                ("write-timeout", duration(http.enqueued_write_timeout)),
            ],
        ),
        module(
            "config-cqs",
            vec![(
                "enabled",
                DiagnosticValue::Boolean(config.continuous_queries.enabled),
            )],
        ),
        module(
            "config-data",
            vec![
                (
                    "cache-max-memory-size",
                    integer(data.cache_max_memory_size as u64),
                ),
                (
                    "cache-snapshot-memory-size",
                    integer(data.cache_snapshot_memory_size as u64),
                ),
                (
                    "cache-snapshot-write-cold-duration",
                    duration(data.cache_snapshot_write_cold_duration),
                ),
                ("dir", path(&data.dir)),
                (
                    "max-series-per-database",
                    integer(data.max_series_per_database as u64),
                ),
                (
                    "max-values-per-tag",
                    integer(data.max_values_per_tag as u64),
                ),
                ("wal-dir", path(&data.wal_dir)),
                ("wal-fsync-delay", duration(data.wal_fsync_delay)),
            ],
        ),
        module(
            "config-httpd",
            vec![
                ("auth-enabled", DiagnosticValue::Boolean(http.auth_enabled)),
                ("bind-address", text(&http.bind_address)),
                ("enabled", DiagnosticValue::Boolean(true)),
                (
                    "https-enabled",
                    DiagnosticValue::Boolean(http.https_enabled),
                ),
                (
                    "max-connection-limit",
                    integer(http.max_connection_limit as u64),
                ),
                ("max-row-limit", integer(http.max_row_limit as u64)),
            ],
        ),
        module("config-meta", vec![("dir", path(&config.meta.dir))]),
        module(
            "config-monitor",
            vec![
                ("store-database", text(&config.monitor.store_database)),
                (
                    "store-enabled",
                    DiagnosticValue::Boolean(config.monitor.store_enabled),
                ),
                ("store-interval", duration(config.monitor.store_interval)),
            ],
        ),
        module(
            "config-retention",
            vec![(
                "enabled",
                DiagnosticValue::Boolean(config.retention.enabled),
            )],
        ),
        module(
            "runtime",
            vec![
                ("ARCH", text(std::env::consts::ARCH)),
                ("NumCPU", integer(crate::cpu::allowed_cpus().len() as u64)),
                ("OS", text(std::env::consts::OS)),
                (
                    "version",
                    text(&format!("sluice {}", crate::SLUICE_VERSION)),
                ),
            ],
        ),
    ];
    Diagnostics {
        started_ns,
        started,
        hostname: hostname(),
        modules,
    }
}

/// The host's name (`gethostname`), or empty if it cannot be read.
fn hostname() -> String {
    const HOSTNAME_MAX_BYTES: usize = 256;
    let mut buffer = [0u8; HOSTNAME_MAX_BYTES];
    // SAFETY: gethostname writes at most `buffer.len()` bytes into the buffer we own.
    let status = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
    if status != 0 {
        return String::new();
    }
    let length = buffer
        .iter()
        .position(|&byte| byte == 0)
        .unwrap_or(buffer.len());
    String::from_utf8_lossy(buffer.get(..length).unwrap_or_default()).into_owned()
}

/// Binds every input's socket once per event loop; returns them per loop, in input order.
fn bind_inputs(
    inputs: &[Arc<crate::inputs::InputService>],
    loops: usize,
) -> Result<Vec<Vec<net::InputSocket>>, String> {
    let mut per_loop: Vec<Vec<net::InputSocket>> = (0..loops).map(|_| Vec::new()).collect();
    for input in inputs {
        let config = &input.config;
        let section = config.kind.section();
        let address = net::listener::resolve_bind_address(&config.bind_address)
            .map_err(|e| format!("[[{section}]] {e}"))?;
        let (sockets, bound): (Vec<net::InputSocket>, String) = if config.uses_udp() {
            let sockets = net::listener::bind_all_udp(address, loops, config.read_buffer)
                .map_err(|e| format!("[[{section}]] listening on udp {address}: {e}"))?;
            let bound = sockets
                .first()
                .and_then(|s| s.local_addr().ok())
                .map(|a| a.to_string())
                .unwrap_or_default();
            (
                sockets.into_iter().map(net::InputSocket::Udp).collect(),
                bound,
            )
        } else {
            let listeners = net::listener::bind_all(address, loops)
                .map_err(|e| format!("[[{section}]] listening on tcp {address}: {e}"))?;
            let bound = listeners
                .first()
                .and_then(|s| s.local_addr().ok())
                .map(|a| a.to_string())
                .unwrap_or_default();
            (
                listeners.into_iter().map(net::InputSocket::Tcp).collect(),
                bound,
            )
        };
        let transport = if config.uses_udp() { "udp" } else { "tcp" };
        crate::log_info!("inputs", "input listening"; input = section, transport = transport, address = bound, database = config.database);
        for (position, socket) in sockets.into_iter().enumerate() {
            if let Some(list) = per_loop.get_mut(position) {
                list.push(socket);
            }
        }
    }
    Ok(per_loop)
}

/// Every connection is a file descriptor: lift the soft limit toward the hard one so that
/// `max-connection-limit` is reachable, and say so when it is not.
fn raise_open_file_limit(max_connections: usize) {
    const FILES_BESIDES_CONNECTIONS: u64 = 256;
    let wanted = max_connections as u64 + FILES_BESIDES_CONNECTIONS;
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write the struct we pass; results are checked.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return;
        }
        if limit.rlim_cur < wanted {
            limit.rlim_cur = wanted.min(limit.rlim_max);
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
    if limit.rlim_cur < wanted {
        crate::log_warn!("server", "open-file limit is below max-connection-limit; extra connections will wait in the backlog";
            limit = limit.rlim_cur, wanted = wanted);
    }
}

/// Blocks SIGTERM and SIGINT in every thread (threads inherit the mask), so that only
/// `wait_for_stop_signal` receives them.
fn block_stop_signals() -> Result<(), String> {
    // SAFETY: the sigset is initialised by sigemptyset before use; pthread_sigmask only
    // reads it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return Err("blocking signals failed".into());
        }
    }
    Ok(())
}

fn wait_for_stop_signal() -> &'static str {
    // SAFETY: as in block_stop_signals; sigwait writes the received signal into `signal`.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        let mut signal: libc::c_int = 0;
        loop {
            if libc::sigwait(&set, &mut signal) == 0 {
                return if signal == libc::SIGINT {
                    "SIGINT"
                } else {
                    "SIGTERM"
                };
            }
        }
    }
}

/// The admin UI's listeners (one per event loop) and its files; both empty when it is off.
type AdminParts = (
    Vec<std::net::TcpListener>,
    Option<crate::http::admin::AdminSite>,
);

/// With `[admin] enabled`: one admin UI listener per event loop, and the UI's files (which
/// tell the page the HTTP API's port, `http_address`).
fn bind_admin(
    config: &Config,
    http_address: std::net::SocketAddr,
    loops: usize,
) -> Result<AdminParts, String> {
    if !config.admin.enabled {
        return Ok((Vec::new(), None));
    }
    let address = net::listener::resolve_bind_address(&config.admin.bind_address)
        .map_err(|e| format!("[admin] bind-address: {e}"))?;
    let listeners = net::listener::bind_all(address, loops)
        .map_err(|e| format!("[admin] listening on {address}: {e}"))?;
    let site = crate::http::admin::AdminSite::new(&crate::http::admin::ApiLocation {
        url: &config.admin.api_url,
        port: http_address.port(),
        https: config.http.https_enabled,
    });
    Ok((listeners, Some(site)))
}
