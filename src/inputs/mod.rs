//! Inputs beside HTTP: UDP line protocol, Graphite, collectd and OpenTSDB.
//!
//! Owns, per configured input, its decoder (built once at start-up) and its counters; per
//! event loop, its socket and the batch of records gathered but not yet queued. There are no
//! threads here: every input socket is an SO_REUSEPORT socket registered with every event
//! loop, so each loop reads its share of the traffic.
//!
//! The decoders (`graphite`, `collectd`, `opentsdb`) turn their protocol into line protocol
//! (reading and converting numbers as Go does, through [`gocompat`]), which is then planned
//! exactly like a `/write` body (`ingest::plan::plan_lines`: series keys, field types,
//! partitions) at once — so a point without a timestamp gets the time it arrived.
//! The resulting records gather in the loop's `InputBatch` and are queued to the partitions
//! when `batch-size` points have arrived or `batch-timeout` has passed. Queued records are
//! made durable like any write; nobody waits for them (UDP has no answer to give).
//!
//! Back-pressure: a batch that does not fit in the partition queues waits in the loop; once
//! `batch-pending` batches wait, a UDP input drops what it receives (and counts it) and a TCP
//! input stops reading its connections until the queues drain.

pub mod collectd;
pub use sluice_model::gocompat;
pub mod graphite;
pub mod opentsdb;
pub mod opentsdb_http;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::config::{InputConfig, InputKind};
use crate::ingest::plan::{plan_lines, WriteContext, WriteScratch};
use crate::ingest::record::RecordBuilder;
use crate::ingest::{AckSink, Batch, Ingest};
use crate::line_protocol::Precision;

/// Counters of one input, for `/debug/vars`.
#[derive(Default, Debug)]
pub struct InputStats {
    /// datagrams or lines received
    pub received: AtomicU64,
    /// bytes received
    pub bytes: AtomicU64,
    /// points decoded and planned
    pub points: AtomicU64,
    /// lines, datagrams or points that could not be decoded or were rejected
    pub failed: AtomicU64,
    /// points dropped because the WAL queues were full
    pub dropped: AtomicU64,
    /// batches queued to the partitions
    pub batches: AtomicU64,
    /// batches made durable
    pub batches_durable: AtomicU64,
    /// batches whose WAL write failed
    pub batches_failed: AtomicU64,
}

/// How an input's bytes become line protocol.
pub enum Decoder {
    /// the bytes are line protocol already
    LineProtocol(Precision),
    /// Graphite plaintext lines
    Graphite(graphite::GraphiteParser),
    /// collectd datagrams
    Collectd(collectd::CollectdDecoder),
    /// OpenTSDB telnet lines and /api/put bodies
    OpenTsdb,
}

/// One configured input: its settings, decoder and counters.
pub struct InputService {
    /// settings
    pub config: InputConfig,
    /// decoder
    pub decoder: Decoder,
    /// counters
    pub stats: Arc<InputStats>,
}

/// Builds every enabled input's service (reading types.db and auth files now, so a bad
/// setting stops start-up with a clear error instead of failing on the first packet).
pub fn build_services(inputs: &[InputConfig]) -> Result<Vec<Arc<InputService>>, String> {
    let mut services = Vec::new();
    for input in inputs.iter().filter(|i| i.enabled) {
        let decoder = match input.kind {
            InputKind::Udp => Decoder::LineProtocol(
                Precision::from_param(&input.precision).unwrap_or(Precision::Nanosecond),
            ),
            InputKind::Graphite => Decoder::Graphite(
                graphite::GraphiteParser::new(&input.separator, &input.templates, &input.tags)
                    .map_err(|e| format!("[[graphite]] {}: {e}", input.bind_address))?,
            ),
            InputKind::Collectd => Decoder::Collectd(collectd_decoder(input)?),
            InputKind::OpenTsdb => Decoder::OpenTsdb,
        };
        services.push(Arc::new(InputService {
            config: input.clone(),
            decoder,
            stats: Arc::default(),
        }));
    }
    Ok(services)
}

/// Where Debian's collectd-core installs types.db (influxdb.conf's default `typesdb`).
const DEFAULT_TYPES_DB: &str = "/usr/share/collectd/types.db";

fn collectd_decoder(input: &InputConfig) -> Result<collectd::CollectdDecoder, String> {
    let mut types = String::new();
    for path in &input.typesdb {
        let path = std::path::Path::new(path);
        let files: Vec<std::path::PathBuf> = if path.is_dir() {
            let mut entries: Vec<_> = std::fs::read_dir(path)
                .map_err(|e| format!("[[collectd]] typesdb {}: {e}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            entries.sort();
            entries
        } else {
            vec![path.to_path_buf()]
        };
        for file in files {
            match std::fs::read_to_string(&file) {
                Ok(text) => {
                    types.push_str(&text);
                    types.push('\n');
                }
                // The default path is only there when collectd is installed: without it the
                // bundled standard types.db serves. A path the user chose must be readable
                // (InfluxDB refuses to start otherwise).
                Err(_) if file == std::path::Path::new(DEFAULT_TYPES_DB) => {
                    crate::log_info!("collectd", "default types.db not installed; using the bundled one"; path = file.display());
                }
                Err(error) => {
                    return Err(format!("[[collectd]] typesdb {}: {error}", file.display()))
                }
            }
        }
    }
    let security = match input.security_level.as_str() {
        "sign" => collectd::SecurityLevel::Sign,
        "encrypt" => collectd::SecurityLevel::Encrypt,
        _ => collectd::SecurityLevel::None,
    };
    let auth = if security == collectd::SecurityLevel::None {
        None
    } else {
        Some(
            std::fs::read_to_string(&input.auth_file)
                .map_err(|e| format!("[[collectd]] auth-file {}: {e}", input.auth_file))?,
        )
    };
    let types = (!types.trim().is_empty()).then_some(types);
    collectd::CollectdDecoder::new(
        types.as_deref(),
        security,
        auth.as_deref(),
        input.parse_multivalue_plugin == "split",
    )
    .map_err(|e| format!("[[collectd]] {}: {e}", input.bind_address))
}

impl InputService {
    /// Decodes one UDP datagram into line protocol appended to `out`; returns the number of
    /// decode failures (bad lines or a bad packet).
    pub fn decode_datagram(&self, datagram: &[u8], now_ns: i64, out: &mut Vec<u8>) -> u64 {
        match &self.decoder {
            Decoder::LineProtocol(_) => {
                out.extend_from_slice(datagram);
                out.push(b'\n');
                0
            }
            Decoder::Graphite(parser) => {
                let mut failures = 0;
                for line in datagram.split(|b| *b == b'\n') {
                    failures += u64::from(
                        self.decode_graphite_line(parser, line, now_ns, out)
                            .is_err(),
                    );
                }
                failures
            }
            Decoder::Collectd(decoder) => match decoder.decode_packet(datagram, now_ns, out) {
                Ok(_) => 0,
                Err(error) => {
                    crate::log_debug!("collectd", "bad packet"; error = error);
                    1
                }
            },
            Decoder::OpenTsdb => 1,
        }
    }

    fn decode_graphite_line(
        &self,
        parser: &graphite::GraphiteParser,
        line: &[u8],
        now_ns: i64,
        out: &mut Vec<u8>,
    ) -> Result<(), ()> {
        let line = trim_line(line);
        if line.is_empty() {
            return Ok(());
        }
        let mark = out.len();
        parser.parse_line(line, now_ns, out).map_err(|error| {
            out.truncate(mark);
            crate::log_debug!("graphite", "dropped a line"; error = error, line = String::from_utf8_lossy(line));
        })
    }

    /// Decodes one line of a TCP stream (Graphite, OpenTSDB telnet); `Some(text)` is an answer
    /// to write back (OpenTSDB `version`).
    pub fn decode_stream_line(
        &self,
        line: &[u8],
        now_ns: i64,
        out: &mut Vec<u8>,
    ) -> (Option<String>, u64) {
        match &self.decoder {
            Decoder::Graphite(parser) => (
                None,
                u64::from(
                    self.decode_graphite_line(parser, line, now_ns, out)
                        .is_err(),
                ),
            ),
            Decoder::OpenTsdb => {
                let mark = out.len();
                match opentsdb::parse_telnet_line(trim_line(line), out) {
                    Ok(opentsdb::TelnetCommand::Version(answer)) => (Some(answer), 0),
                    Ok(_) => (None, 0),
                    Err(error) => {
                        out.truncate(mark);
                        crate::log_debug!("opentsdb", "dropped a line"; error = error);
                        (None, 1)
                    }
                }
            }
            _ => (None, 1),
        }
    }

    /// The precision line protocol from this input is parsed with.
    pub fn precision(&self) -> Precision {
        match self.decoder {
            Decoder::LineProtocol(precision) => precision,
            _ => Precision::Nanosecond,
        }
    }
}

fn trim_line(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    line.trim_ascii()
}

/// Records an input has gathered in one event loop, one builder per partition.
pub struct InputBatch {
    builders: Vec<Option<RecordBuilder>>,
    points: usize,
    started: Option<Instant>,
    /// batches that did not fit in the partition queues yet, oldest first
    waiting: std::collections::VecDeque<Vec<Batch>>,
}

/// Counts what happens to an input's batches once queued.
struct InputAckSink {
    stats: Arc<InputStats>,
}

impl AckSink for InputAckSink {
    fn write_complete(&self, _connection: usize, _sequence: u64, durable: bool) {
        let counter = if durable {
            &self.stats.batches_durable
        } else {
            &self.stats.batches_failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

impl InputBatch {
    /// An empty batch for `partitions` partitions.
    pub fn new(partitions: usize) -> InputBatch {
        InputBatch {
            builders: (0..partitions).map(|_| None).collect(),
            points: 0,
            started: None,
            waiting: Default::default(),
        }
    }

    /// Whether batches wait for queue space.
    pub fn has_waiting(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// Whether `batch-pending` batches wait for queue space: input must be refused.
    pub fn is_backlogged(&self, service: &InputService) -> bool {
        self.waiting.len() >= service.config.batch_pending
    }

    /// Plans `lines` (line protocol decoded from the input) and adds the records to the batch;
    /// queues the batch when it is full.
    pub fn add_lines(
        &mut self,
        service: &InputService,
        lines: &[u8],
        context: &WriteContext<'_>,
        scratch: &mut WriteScratch,
    ) {
        if lines.is_empty() {
            return;
        }
        let planned = plan_lines(
            lines,
            service.precision(),
            &service.config.database,
            &service.config.retention_policy,
            context,
            scratch,
        );
        if !planned.outcome.is_accepted() {
            service.stats.failed.fetch_add(1, Ordering::Relaxed);
            crate::log_debug!(service.config.kind.section(), "points rejected"; error = planned.outcome);
        }
        let records = planned.records;
        for (partition, record, count) in records {
            service
                .stats
                .points
                .fetch_add(u64::from(count), Ordering::Relaxed);
            self.points += count as usize;
            let Some(slot) = self.builders.get_mut(partition) else {
                continue;
            };
            let merged = match slot {
                Some(builder) => builder.extend_from_record(&record).is_ok(),
                None => false,
            };
            if merged {
                continue;
            }
            // First record of this partition (or another database id after a drop and
            // re-create): queue what was gathered and continue from this record.
            let previous = std::mem::replace(slot, RecordBuilder::from_record(record));
            if let Some(previous) = previous {
                self.flush_one(service, partition, previous, context.ingest);
            }
        }
        self.started.get_or_insert_with(Instant::now);
        if self.points >= service.config.batch_size {
            self.flush(service, context.ingest);
        }
    }

    /// Queues the batch if `batch-timeout` has passed since its first point, and retries
    /// batches waiting for queue space; returns whether anything still waits.
    pub fn tick(&mut self, service: &InputService, ingest: &Ingest) -> bool {
        if self
            .started
            .is_some_and(|started| started.elapsed() >= service.config.batch_timeout)
        {
            self.flush(service, ingest);
        }
        self.retry(ingest);
        !self.waiting.is_empty()
    }

    /// Queues everything gathered (shutdown, or a full batch).
    pub fn flush(&mut self, service: &InputService, ingest: &Ingest) {
        let records: Vec<(usize, RecordBuilder)> = self
            .builders
            .iter_mut()
            .enumerate()
            .filter_map(|(partition, slot)| slot.take().map(|b| (partition, b)))
            .collect();
        self.started = None;
        self.points = 0;
        self.queue(service, records, ingest);
    }

    fn flush_one(
        &mut self,
        service: &InputService,
        partition: usize,
        builder: RecordBuilder,
        ingest: &Ingest,
    ) {
        self.queue(service, vec![(partition, builder)], ingest);
    }

    /// Queues `records` as one batch with one ticket (or keeps it waiting for queue space).
    fn queue(
        &mut self,
        service: &InputService,
        records: Vec<(usize, RecordBuilder)>,
        ingest: &Ingest,
    ) {
        if records.is_empty() {
            return;
        }
        let sink: Arc<dyn AckSink> = Arc::new(InputAckSink {
            stats: Arc::clone(&service.stats),
        });
        let records = records
            .into_iter()
            .map(|(partition, builder)| {
                let point_count = builder.point_count();
                (partition, builder.finish(), point_count)
            })
            .collect();
        let batches: Vec<Batch> = ingest.batches(records, sink, 0, 0);
        service.stats.batches.fetch_add(1, Ordering::Relaxed);
        self.waiting.push_back(batches);
        self.retry(ingest);
    }

    fn retry(&mut self, ingest: &Ingest) {
        while let Some(front) = self.waiting.front_mut() {
            while let Some(batch) = front.pop() {
                if let Err(batch) = ingest.try_send(batch) {
                    front.push(batch);
                    return;
                }
            }
            self.waiting.pop_front();
        }
    }
}
