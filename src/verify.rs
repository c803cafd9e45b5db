//! `sluice verify`: checks every checksum of a stopped server's files, like
//! `influx_inspect verify`, and reports each problem with its path and location.
//!
//! Reads, never writes and never repairs: `meta.db`; every column file of every shard
//! directory (header, footer, index checksum and structure at open, then every block:
//! checksum, decoding, count and times against the index); every tombstone file; every
//! database's series log and field types file; every delete intent left in `_deletes/`;
//! `PARTITIONS` and every WAL segment of every
//! partition (each record's length and checksum, and that its payload decodes). It uses the
//! readers the server uses (`FileReader`, `wal::scan_segment`, the tombstone and series log
//! scanners), so it finds exactly what a start-up would refuse, skip or cut off.
//!
//! Output: one line per finding, `<kind> <path> [offset <n>]: <what>`, then one summary line.
//! Kinds:
//! - `corrupt`: bytes a start-up would refuse, skip or cut off, which may have been
//!   acknowledged (a problem);
//! - `unreadable`: a file or directory that could not be read at all (a problem: it was not
//!   checked);
//! - `torn`: the unfinished write a crash leaves at the very end of an append-only file (the
//!   last segment of a WAL partition, a tombstone file, a series log): never acknowledged,
//!   and cut off at the next start. Reported, but not a problem.
//!
//! A bad WAL record is a torn tail only if it is the last thing in its partition's last
//! segment: no valid record follows it anywhere. A bad record anywhere else (a sealed
//! segment, or records after it) is corruption: replay stops the segment there and loses
//! what follows, so the line says how many records that is.

use std::fmt;
use std::io::{self, Write};
use std::path::Path;

use crate::ingest::record::validate_entry;
use crate::meta::MetaStore;
use crate::storage::engine::catalog::{
    check_field_types, field_types_path, FieldTypesCheck, CATALOG_ROOT,
};
use crate::storage::engine::delete_intent;
use crate::storage::engine::tombstone::{self, ScanEnd};
use crate::storage::series_index::{SeriesIndex, SERIES_LOG_FILE_NAME};
use crate::storage::tsm::{FileReader, TsmError};
use crate::store_dirs::{wal_partition_dirs, StoreDirs};
use crate::wal::{find_next_record, record_at, Resync};

/// Bytes of a WAL segment header (magic, version, reserved), as `wal.rs` writes it; `wal.rs`
/// keeps its constant private, and a unit test checks this one against a segment its writer
/// creates.
const WAL_SEGMENT_HEADER_BYTES: usize = 16;
/// Bytes before a WAL record's payload: its length and crc32 (`wal.rs`'s module doc).
const WAL_RECORD_HEADER_BYTES: usize = 8;
/// Suffix of column files (the engine's shard module keeps its constant private).
const COLUMN_FILE_SUFFIX: &str = ".tsm";
/// The partition count file of a WAL directory (the ingest module keeps its constant
/// private).
const WAL_PARTITIONS_FILE_NAME: &str = "PARTITIONS";

/// What `verify` checked and found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// column files checked (opened or refused)
    pub column_files: u64,
    /// blocks read
    pub blocks: u64,
    /// values those blocks hold
    pub values: u64,
    /// tombstone files read
    pub tombstone_files: u64,
    /// series logs read
    pub series_logs: u64,
    /// field types files read
    pub field_types_files: u64,
    /// WAL segments read
    pub wal_segments: u64,
    /// WAL records whose checksum holds
    pub wal_records: u64,
    /// `corrupt` and `unreadable` findings
    pub problems: u64,
    /// `torn` findings (not problems)
    pub torn_tails: u64,
}

impl VerifyReport {
    /// Whether nothing was found that may have lost acknowledged data.
    pub fn healthy(&self) -> bool {
        self.problems == 0
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "verified meta.db, {} ({}, {}), {}, {}, {}, {} ({}): ",
            counted(self.column_files, "column file"),
            counted(self.blocks, "block"),
            counted(self.values, "value"),
            counted(self.tombstone_files, "tombstone file"),
            counted(self.series_logs, "series log"),
            counted(self.field_types_files, "field types file"),
            counted(self.wal_segments, "WAL segment"),
            counted(self.wal_records, "record"),
        )?;
        if self.healthy() {
            formatter.write_str("healthy")?;
        } else {
            formatter.write_str(&counted(self.problems, "problem"))?;
        }
        if self.torn_tails > 0 {
            write!(
                formatter,
                " ({} of unacknowledged writes, cut off at the next start)",
                counted(self.torn_tails, "torn tail")
            )?;
        }
        Ok(())
    }
}

/// `1 block`, `2 blocks`.
fn counted(count: u64, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// The kind of a finding; see the module doc.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Finding {
    Corrupt,
    Unreadable,
    Torn,
}

impl Finding {
    fn word(self) -> &'static str {
        match self {
            Finding::Corrupt => "corrupt",
            Finding::Unreadable => "unreadable",
            Finding::Torn => "torn",
        }
    }
}

/// Writes findings as they are made and counts them.
struct Reporter<'a> {
    out: &'a mut dyn Write,
    report: VerifyReport,
}

impl Reporter<'_> {
    fn finding(
        &mut self,
        kind: Finding,
        path: &Path,
        offset: Option<u64>,
        what: &str,
    ) -> io::Result<()> {
        match kind {
            Finding::Corrupt | Finding::Unreadable => self.report.problems += 1,
            Finding::Torn => self.report.torn_tails += 1,
        }
        match offset {
            Some(offset) => writeln!(
                self.out,
                "{} {} offset {offset}: {what}",
                kind.word(),
                path.display()
            ),
            None => writeln!(self.out, "{} {}: {what}", kind.word(), path.display()),
        }
    }
}

/// Checks the store in `dirs`, writing one line per finding and then the summary to `out`.
/// Files that cannot be read are findings, not errors: the only error is failing to write
/// to `out`.
pub fn verify(dirs: &StoreDirs, out: &mut dyn Write) -> io::Result<VerifyReport> {
    let mut reporter = Reporter {
        out,
        report: VerifyReport::default(),
    };
    check_meta(dirs.meta_dir(), &mut reporter)?;
    check_data_dir(dirs.data_dir(), &mut reporter)?;
    check_wal_dir(dirs.wal_dir(), &mut reporter)?;
    let report = reporter.report;
    writeln!(reporter.out, "{report}")?;
    reporter.out.flush()?;
    Ok(report)
}

fn check_meta(meta_dir: &Path, reporter: &mut Reporter<'_>) -> io::Result<()> {
    let path = MetaStore::file_path(meta_dir);
    match MetaStore::read_only(meta_dir) {
        Ok(_) => Ok(()),
        Err(crate::meta::MetaError::Io(error)) => {
            reporter.finding(Finding::Unreadable, &path, None, &error.to_string())
        }
        Err(crate::meta::MetaError::Corrupt(why)) => {
            // The reason starts with the path, which the line already names.
            let prefix = format!("{}: ", path.display());
            let why = why.strip_prefix(&prefix).unwrap_or(&why);
            reporter.finding(Finding::Corrupt, &path, None, why)
        }
        Err(error) => reporter.finding(Finding::Corrupt, &path, None, &error.to_string()),
    }
}

/// The entries of a directory sorted by name, or a finding when it cannot be listed.
fn sorted_entries(
    directory: &Path,
    reporter: &mut Reporter<'_>,
) -> io::Result<Option<Vec<std::fs::DirEntry>>> {
    let listed: io::Result<Vec<std::fs::DirEntry>> =
        std::fs::read_dir(directory).and_then(|entries| entries.collect());
    match listed {
        Ok(mut entries) => {
            entries.sort_by_key(|entry| entry.file_name());
            Ok(Some(entries))
        }
        Err(error) => {
            reporter.finding(
                Finding::Unreadable,
                directory,
                None,
                &format!("cannot list the directory: {error}"),
            )?;
            Ok(None)
        }
    }
}

/// Shard directories (named by their number) in number order, then the catalogs.
fn check_data_dir(data_dir: &Path, reporter: &mut Reporter<'_>) -> io::Result<()> {
    let Some(entries) = sorted_entries(data_dir, reporter)? else {
        return Ok(());
    };
    let mut shards: Vec<(u64, std::path::PathBuf)> = entries
        .iter()
        .filter_map(|entry| {
            let number = entry.file_name().to_str()?.parse::<u64>().ok()?;
            entry.path().is_dir().then(|| (number, entry.path()))
        })
        .collect();
    shards.sort();
    for (_, shard_dir) in &shards {
        check_shard_dir(shard_dir, reporter)?;
    }
    let catalog_root = data_dir.join(CATALOG_ROOT);
    if catalog_root.is_dir() {
        check_catalogs(&catalog_root, reporter)?;
    }
    let intents = delete_intent::intents_directory(data_dir);
    if intents.is_dir() {
        check_delete_intents(&intents, reporter)?;
    }
    Ok(())
}

/// `_deletes/`: intents of deletes a start-up has yet to finish (each must read).
fn check_delete_intents(directory: &Path, reporter: &mut Reporter<'_>) -> io::Result<()> {
    let Some(entries) = sorted_entries(directory, reporter)? else {
        return Ok(());
    };
    for entry in &entries {
        let path = entry.path();
        if !path.to_string_lossy().ends_with(".intent") {
            continue; // a `.tmp` a crash left: a start deletes it unread
        }
        match delete_intent::check_file(&path) {
            Ok(true) => {}
            Ok(false) => reporter.finding(
                Finding::Corrupt,
                &path,
                None,
                "delete intent fails its checks (magic, version, length or checksum); \
                 a start leaves it unapplied",
            )?,
            Err(error) => reporter.finding(Finding::Unreadable, &path, None, &error.to_string())?,
        }
    }
    Ok(())
}

fn check_shard_dir(shard_dir: &Path, reporter: &mut Reporter<'_>) -> io::Result<()> {
    let Some(entries) = sorted_entries(shard_dir, reporter)? else {
        return Ok(());
    };
    for entry in &entries {
        let name = entry.file_name();
        // `.tsm.tmp` files are writes a crash interrupted; a start deletes them unread.
        if name
            .to_str()
            .is_some_and(|n| n.ends_with(COLUMN_FILE_SUFFIX))
        {
            check_column_file(&entry.path(), reporter)?;
        }
    }
    check_tombstones(shard_dir, reporter)
}

fn check_column_file(path: &Path, reporter: &mut Reporter<'_>) -> io::Result<()> {
    reporter.report.column_files += 1;
    let reader = match FileReader::open(path) {
        Ok(reader) => reader,
        Err(error) => return report_tsm_error(path, None, error, reporter),
    };
    let mut bad_blocks = Vec::new();
    let totals = reader.check_blocks(|bad| {
        let column = format!(
            "block of column {} {}",
            String::from_utf8_lossy(bad.series_key),
            String::from_utf8_lossy(bad.field)
        );
        bad_blocks.push((column, bad.error));
    });
    reporter.report.blocks += totals.blocks;
    reporter.report.values += totals.values;
    for (column, error) in bad_blocks {
        report_tsm_error(path, Some(&column), error, reporter)?;
    }
    Ok(())
}

fn report_tsm_error(
    path: &Path,
    what: Option<&str>,
    error: TsmError,
    reporter: &mut Reporter<'_>,
) -> io::Result<()> {
    let prefix = what.map(|what| format!("{what}: ")).unwrap_or_default();
    match error {
        TsmError::Corrupt { offset, detail, .. } => reporter.finding(
            Finding::Corrupt,
            path,
            Some(offset),
            &format!("{prefix}{detail}"),
        ),
        TsmError::Io { source, .. } => reporter.finding(
            Finding::Unreadable,
            path,
            None,
            &format!("{prefix}{source}"),
        ),
        other => reporter.finding(Finding::Corrupt, path, None, &format!("{prefix}{other}")),
    }
}

fn check_tombstones(shard_dir: &Path, reporter: &mut Reporter<'_>) -> io::Result<()> {
    let path = tombstone::tombstone_path(shard_dir);
    let check = match tombstone::check_file(shard_dir) {
        Ok(Some(check)) => check,
        Ok(None) => return Ok(()),
        Err(error) => {
            return reporter.finding(Finding::Unreadable, &path, None, &error.to_string())
        }
    };
    reporter.report.tombstone_files += 1;
    match check.end {
        ScanEnd::Clean => Ok(()),
        ScanEnd::BadHeader => reporter.finding(
            Finding::Corrupt,
            &path,
            Some(0),
            "not a tombstone file (bad magic or version): a start ignores every delete in it",
        ),
        ScanEnd::Damaged {
            offset,
            reaches_end: true,
        } => reporter.finding(
            Finding::Torn,
            &path,
            Some(offset as u64),
            "the last record is an unfinished write (a crash cut it); the next start cuts it off",
        ),
        ScanEnd::Damaged {
            offset,
            reaches_end: false,
        } => reporter.finding(
            Finding::Corrupt,
            &path,
            Some(offset as u64),
            "bad tombstone record with more after it: a start skips it (its delete's points \
             would come back) and reads on when its length is readable",
        ),
    }
}

/// `_series/<database id>/`: the series log and the field types of each database.
fn check_catalogs(catalog_root: &Path, reporter: &mut Reporter<'_>) -> io::Result<()> {
    let Some(entries) = sorted_entries(catalog_root, reporter)? else {
        return Ok(());
    };
    for entry in entries.iter().filter(|entry| entry.path().is_dir()) {
        let directory = entry.path();
        check_series_log(&directory, reporter)?;
        let path = field_types_path(&directory);
        match check_field_types(&directory) {
            Ok(FieldTypesCheck::Missing) => {}
            Ok(FieldTypesCheck::Valid { .. }) => reporter.report.field_types_files += 1,
            Ok(FieldTypesCheck::Damaged) => {
                reporter.report.field_types_files += 1;
                reporter.finding(
                    Finding::Corrupt,
                    &path,
                    None,
                    "field types file fails its checks (magic, version, length or checksum); \
                     a start ignores it",
                )?;
            }
            Err(error) => reporter.finding(Finding::Unreadable, &path, None, &error.to_string())?,
        }
    }
    Ok(())
}

fn check_series_log(directory: &Path, reporter: &mut Reporter<'_>) -> io::Result<()> {
    let path = directory.join(SERIES_LOG_FILE_NAME);
    let check = match SeriesIndex::check_log(directory) {
        Ok(Some(check)) => check,
        Ok(None) => return Ok(()),
        Err(crate::storage::series_index::IndexError::Io { error, .. }) => {
            return reporter.finding(Finding::Unreadable, &path, None, &error.to_string())
        }
        Err(error) => {
            return reporter.finding(Finding::Corrupt, &path, Some(0), &error.to_string())
        }
    };
    reporter.report.series_logs += 1;
    let Some(damage) = check.damage else {
        return Ok(());
    };
    let offset = Some(check.valid_bytes as u64);
    let cut_bytes = check.file_bytes - check.valid_bytes;
    if check.damage_reaches_end {
        reporter.finding(
            Finding::Torn,
            &path,
            offset,
            &format!("{damage}: the last {cut_bytes} bytes are an unfinished write (a crash cut it; the WAL still names its series)"),
        )
    } else {
        reporter.finding(
            Finding::Corrupt,
            &path,
            offset,
            &format!("{damage}, with more records after it: a start cuts the {cut_bytes} bytes from here"),
        )
    }
}

fn check_wal_dir(wal_dir: &Path, reporter: &mut Reporter<'_>) -> io::Result<()> {
    let partitions = match wal_partition_dirs(wal_dir) {
        Ok(partitions) => partitions,
        Err(error) => {
            return reporter.finding(
                Finding::Unreadable,
                wal_dir,
                None,
                &format!("cannot list the directory: {error}"),
            )
        }
    };
    match crate::ingest::recorded_partition_count(wal_dir) {
        Ok(Some(_)) => {}
        Ok(None) if partitions.is_empty() => {}
        Ok(None) => reporter.finding(
            Finding::Corrupt,
            &wal_dir.join(WAL_PARTITIONS_FILE_NAME),
            None,
            "missing, yet partition directories exist: a start would choose a new count",
        )?,
        Err(error) => reporter.finding(
            Finding::Corrupt,
            &wal_dir.join(WAL_PARTITIONS_FILE_NAME),
            None,
            &error.to_string(),
        )?,
    }
    for (_, partition_dir) in &partitions {
        let segments = match crate::wal::list_segments(partition_dir) {
            Ok(segments) => segments,
            Err(error) => {
                reporter.finding(
                    Finding::Unreadable,
                    partition_dir,
                    None,
                    &format!("cannot list the directory: {error}"),
                )?;
                continue;
            }
        };
        let last = segments.len().saturating_sub(1);
        for (position, (_, path)) in segments.iter().enumerate() {
            match std::fs::read(path) {
                Ok(bytes) => {
                    reporter.report.wal_segments += 1;
                    check_wal_segment(path, &bytes, position == last, reporter)?;
                }
                Err(error) => {
                    reporter.finding(Finding::Unreadable, path, None, &error.to_string())?
                }
            }
        }
    }
    Ok(())
}

/// A stretch of a WAL segment that does not read: from a bad record to the next valid one
/// (or the end).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct BadStretch {
    /// offset of the bad record
    start: usize,
    /// where reading resumes: the next valid record, or the end of the segment
    end: usize,
    /// the search for the next valid record ran out of budget (so `end` is not known to be
    /// the end of the segment)
    gave_up: bool,
}

/// What one WAL segment holds, as `verify` reads it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct SegmentScan {
    /// whether the header is a WAL segment header
    header_ok: bool,
    /// records replay would hand on (before the first bad stretch)
    replayed_records: usize,
    /// offsets of replayed records that pass their checksum but do not decode
    undecodable: Vec<usize>,
    /// bad stretches, in file order
    bad_stretches: Vec<BadStretch>,
    /// valid records after the first bad stretch (replay resyncs to them and keeps them)
    records_lost: usize,
}

/// Reads a segment: first up to its first bad record (`wal::scan_segment`), then, past each
/// bad stretch, on from the next valid record, as replay does (`wal::replay` resyncs).
fn scan_wal_segment(bytes: &[u8]) -> SegmentScan {
    let mut scan = SegmentScan::default();
    let mut record_offsets = Vec::new();
    let mut record_offset = WAL_SEGMENT_HEADER_BYTES;
    let (replayed, valid_end) = crate::wal::scan_segment(bytes, &mut |payload: &[u8]| {
        if validate_entry(payload).is_err() {
            scan.undecodable.push(record_offset);
        }
        record_offsets.push(record_offset);
        record_offset += WAL_RECORD_HEADER_BYTES + payload.len();
    });
    scan.replayed_records = replayed;
    if valid_end == 0 {
        // `scan_segment` refuses the header: nothing in the segment is replayed.
        return scan;
    }
    scan.header_ok = true;
    let mut position = valid_end;
    while position < bytes.len() {
        let stretch = match find_next_record(bytes, position + 1) {
            Resync::Found(next) => BadStretch {
                start: position,
                end: next,
                gave_up: false,
            },
            Resync::NotFound => BadStretch {
                start: position,
                end: bytes.len(),
                gave_up: false,
            },
            Resync::GaveUp => BadStretch {
                start: position,
                end: bytes.len(),
                gave_up: true,
            },
        };
        scan.bad_stretches.push(stretch);
        position = stretch.end;
        while let Some(length) = record_at(bytes, position) {
            scan.records_lost += 1;
            position += WAL_RECORD_HEADER_BYTES + length;
        }
    }
    // A crash can leave a file extended by zeros its data never reached. Eight zero bytes
    // pass for an empty record (the crc32 of nothing is 0), which no writer makes: a run of
    // them to the end is one unfinished write, not many undecodable records.
    let zeros_from = bytes.len() - bytes.iter().rev().take_while(|&&byte| byte == 0).count();
    if let Some(first_zero_record) = record_offsets
        .iter()
        .position(|&offset| offset >= zeros_from)
    {
        let start = record_offsets[first_zero_record];
        scan.replayed_records = first_zero_record;
        scan.undecodable.retain(|&offset| offset < start);
        scan.bad_stretches = vec![BadStretch {
            start,
            end: bytes.len(),
            gave_up: false,
        }];
    }
    scan
}

fn check_wal_segment(
    path: &Path,
    bytes: &[u8],
    last_of_partition: bool,
    reporter: &mut Reporter<'_>,
) -> io::Result<()> {
    let scan = scan_wal_segment(bytes);
    reporter.report.wal_records += scan.replayed_records as u64;
    if !scan.header_ok {
        return if last_of_partition && bytes.len() < WAL_SEGMENT_HEADER_BYTES {
            reporter.finding(
                Finding::Torn,
                path,
                Some(0),
                "segment shorter than its header: its creation was cut short by a crash",
            )
        } else {
            reporter.finding(
                Finding::Corrupt,
                path,
                Some(0),
                "not a WAL segment header (magic or version): replay resumes at the first valid record after it",
            )
        };
    }
    for offset in &scan.undecodable {
        reporter.finding(
            Finding::Corrupt,
            path,
            Some(*offset as u64),
            "record passes its checksum but does not decode: replay skips it",
        )?;
    }
    for (number, stretch) in scan.bad_stretches.iter().enumerate() {
        let bytes_bad = stretch.end - stretch.start;
        let at_end = stretch.end == bytes.len() && !stretch.gave_up;
        let what = if at_end && last_of_partition {
            (
                Finding::Torn,
                format!(
                    "the last {bytes_bad} bytes are an unfinished write at the end of the \
                     partition's last segment (a crash cut it; never acknowledged, cut off at \
                     the next start)"
                ),
            )
        } else if at_end {
            (
                Finding::Corrupt,
                format!(
                    "bad record (length or checksum) in the last {bytes_bad} bytes of a sealed \
                     segment (later segments follow, so not an unfinished write): replay cuts \
                     it off"
                ),
            )
        } else if stretch.gave_up {
            (
                Finding::Corrupt,
                format!(
                    "bad record (length or checksum); no valid record was found after it within \
                     the search budget: replay cuts the {bytes_bad} bytes from here"
                ),
            )
        } else {
            let lost = if number == 0 {
                format!(
                    "; replay skips the bad bytes and keeps the {} after them",
                    counted(scan.records_lost as u64, "valid record")
                )
            } else {
                String::new()
            };
            (
                Finding::Corrupt,
                format!(
                    "bad record (length or checksum): {bytes_bad} bytes do not read, records \
                     resume at offset {}{lost}",
                    stretch.end
                ),
            )
        };
        reporter.finding(what.0, path, Some(stretch.start as u64), &what.1)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::record::{RecordBuilder, StoredValue};
    use crate::wal::WalWriter;

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("sluice-verify-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A segment written by the real writer holding `payloads`, as bytes.
    fn segment(name: &str, payloads: &[Vec<u8>]) -> Vec<u8> {
        let dir = temp_dir(name);
        let mut writer = WalWriter::open(&dir, 1 << 20).unwrap();
        for payload in payloads {
            writer.append(payload);
        }
        writer.commit().unwrap();
        drop(writer);
        let (_, path) = crate::wal::list_segments(&dir).unwrap().remove(0);
        let bytes = std::fs::read(path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        bytes
    }

    /// A write record of one point of `series`, as the ingest path builds them.
    fn record(series: &str) -> Vec<u8> {
        let mut builder = RecordBuilder::new(1, b"autogen", 64);
        builder.begin_point(series.as_bytes(), 1);
        builder.push_field(b"v", StoredValue::Integer(1));
        builder.finish()
    }

    /// Runs `check_wal_segment` and returns (report, output).
    fn check(bytes: &[u8], last: bool) -> (VerifyReport, String) {
        let mut out = Vec::new();
        let mut reporter = Reporter {
            out: &mut out,
            report: VerifyReport::default(),
        };
        check_wal_segment(Path::new("seg.wal"), bytes, last, &mut reporter).unwrap();
        let report = reporter.report;
        (report, String::from_utf8(out).unwrap())
    }

    #[test]
    fn header_size_matches_the_writer() {
        let bytes = segment("header", &[]);
        assert_eq!(bytes.len(), WAL_SEGMENT_HEADER_BYTES);
        let payload = record("cpu");
        let bytes = segment("one", std::slice::from_ref(&payload));
        assert_eq!(
            bytes.len(),
            WAL_SEGMENT_HEADER_BYTES + WAL_RECORD_HEADER_BYTES + payload.len()
        );
        assert_eq!(
            record_at(&bytes, WAL_SEGMENT_HEADER_BYTES),
            Some(payload.len())
        );
        let (report, output) = check(&bytes, false);
        assert_eq!(report.wal_records, 1);
        assert_eq!((report.problems, report.torn_tails), (0, 0), "{output}");
        assert!(output.is_empty(), "{output}");
    }

    #[test]
    fn torn_tail_of_the_last_segment_is_not_a_problem_elsewhere_it_is() {
        let first = record("first");
        let whole = segment("torn", &[first.clone(), record("second")]);
        let second = WAL_SEGMENT_HEADER_BYTES + WAL_RECORD_HEADER_BYTES + first.len();
        for cut in [second + 1, second + 5, whole.len() - 1] {
            let (report, output) = check(&whole[..cut], true);
            assert_eq!((report.problems, report.torn_tails), (0, 1), "{output}");
            assert!(
                output.starts_with(&format!("torn seg.wal offset {second}: ")),
                "{output}"
            );
            let (report, output) = check(&whole[..cut], false);
            assert_eq!((report.problems, report.torn_tails), (1, 0), "{output}");
            assert!(output.contains("sealed segment"), "{output}");
        }
        // A flipped payload byte in the last record, also at the very end.
        let mut flipped = whole.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_eq!(check(&flipped, true).0.torn_tails, 1);
        assert_eq!(check(&flipped, false).0.problems, 1);
    }

    #[test]
    fn corruption_before_valid_records_is_a_problem_with_its_offset_even_in_the_last_segment() {
        let payloads: Vec<Vec<u8>> = (0..10).map(|i| record(&format!("series{i}"))).collect();
        let whole = segment("middle", &payloads);
        let record_bytes = WAL_RECORD_HEADER_BYTES + payloads[0].len();
        let third = WAL_SEGMENT_HEADER_BYTES + 2 * record_bytes;
        // A payload byte, then a length byte, of the third record.
        for flipped_at in [third + WAL_RECORD_HEADER_BYTES + 7, third + 1] {
            let mut bytes = whole.clone();
            bytes[flipped_at] ^= 0x40;
            let scan = scan_wal_segment(&bytes);
            assert_eq!(scan.replayed_records, 2);
            assert_eq!(scan.records_lost, 7);
            assert_eq!(
                scan.bad_stretches,
                [BadStretch {
                    start: third,
                    end: third + record_bytes,
                    gave_up: false
                }]
            );
            let (report, output) = check(&bytes, true);
            assert_eq!((report.problems, report.torn_tails), (1, 0), "{output}");
            assert!(
                output.starts_with(&format!("corrupt seg.wal offset {third}: ")),
                "{output}"
            );
            assert!(
                output.contains("keeps the 7 valid records after them"),
                "{output}"
            );
        }
    }

    #[test]
    fn a_bad_header_and_an_undecodable_record_are_problems() {
        let whole = segment("header-bad", &[b"not a write record".to_vec()]);
        let (report, output) = check(&whole, true);
        assert_eq!(report.problems, 1, "{output}");
        assert!(
            output.starts_with(&format!(
                "corrupt seg.wal offset {WAL_SEGMENT_HEADER_BYTES}: "
            )),
            "{output}"
        );
        assert!(output.contains("does not decode"), "{output}");
        let mut bad_magic = segment("magic", &[record("cpu")]);
        bad_magic[0] ^= 1;
        let (report, output) = check(&bad_magic, false);
        assert_eq!(report.problems, 1, "{output}");
        assert!(output.contains("not a WAL segment header"), "{output}");
        // A segment whose creation a crash cut short, as the last one: torn.
        assert_eq!(check(&whole[..5], true).0.torn_tails, 1);
    }

    #[test]
    fn a_tail_of_zeros_is_one_torn_write_not_many_empty_records() {
        let whole = segment("zeros", &[record("cpu")]);
        // Zeros where records would start (they read as empty records), or after a record
        // header whose payload never arrived.
        for torn in [&[][..], &[0x30, 0, 0, 0, 1, 2, 3, 4]] {
            for zeros in [8, 61, 64] {
                let mut bytes = whole.clone();
                bytes.extend_from_slice(torn);
                bytes.extend(std::iter::repeat_n(0u8, zeros));
                let (report, output) = check(&bytes, true);
                assert_eq!((report.problems, report.torn_tails), (0, 1), "{output}");
                assert_eq!(report.wal_records, 1, "{output}");
                assert!(
                    output.starts_with(&format!("torn seg.wal offset {}: ", whole.len())),
                    "{output}"
                );
                assert_eq!(check(&bytes, false).0.problems, 1);
            }
        }
    }
}
