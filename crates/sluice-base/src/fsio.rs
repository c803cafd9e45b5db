//! The file-system seam: the few file operations whose failure decides what is durable,
//! behind a trait, so tests can inject the faults a real disk produces (ENOSPC, EIO, a
//! write cut short) into the real code instead of hoping to meet them.
//!
//! Owns nothing but the calls. [`OsFileSystem`] is the real implementation; tests provide
//! their own (see the WAL's tests). Also home of the general helpers every layer that
//! writes files uses ([`write_file_atomically`], [`sync_directory`]).
//!
//! Invariants of every implementation:
//! - a [`WritableFile::write_all`] that fails may have written any prefix of its bytes;
//! - a failed [`WritableFile::sync_data`] says nothing about which unsynced bytes reached the
//!   disk, so a caller never trusts that file's unsynced tail again;
//! - [`FileSystem::create_new`] never opens an existing file;
//! - a rename, a new file or directory and a removal (of a file or a whole directory) are
//!   durable only once their parent directory is synced ([`FileSystem::sync_directory`]);
//!   until then a crash may undo them.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// A file opened for appending by its one writer.
pub trait WritableFile: Send {
    /// Writes all of `bytes` at the end of what was written before (may write a prefix and
    /// fail).
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Makes the written bytes durable (`fdatasync`).
    fn sync_data(&mut self) -> io::Result<()>;
    /// Cuts the file to `length` bytes and makes that durable; later writes go after it.
    fn truncate_and_sync(&mut self, length: u64) -> io::Result<()>;
}

/// The directory operations a writer needs besides its files.
pub trait FileSystem: Send + Sync {
    /// Creates `path`, which must not exist, for writing.
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn WritableFile>>;
    /// Creates `path` for writing, emptying it if it exists (a temporary file a crash left).
    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>>;
    /// Opens `path` for appending after its current end, creating it if missing.
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn WritableFile>>;
    /// Renames `from` to `to`, replacing `to` (durable once the directory is synced).
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes the file at `path`.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Makes the directory's entries (created, renamed, removed files) durable.
    fn sync_directory(&self, directory: &Path) -> io::Result<()>;
    /// Creates `path` and its missing parents (durable once each parent is synced: see
    /// [`create_directory_durably`]).
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;
    /// Removes the directory `path` and everything in it (durable once its parent is
    /// synced).
    fn remove_dir_all(&self, path: &Path) -> io::Result<()>;
}

/// The real file system.
#[derive(Clone, Copy, Debug, Default)]
pub struct OsFileSystem;

struct OsFile {
    file: File,
}

impl WritableFile for OsFile {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)
    }

    fn sync_data(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn truncate_and_sync(&mut self, length: u64) -> io::Result<()> {
        use std::io::Seek;
        self.file.set_len(length)?;
        self.file.seek(io::SeekFrom::Start(length))?;
        self.file.sync_all()
    }
}

impl FileSystem for OsFileSystem {
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        let file = OpenOptions::new().create_new(true).write(true).open(path)?;
        Ok(Box::new(OsFile { file }))
    }

    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        Ok(Box::new(OsFile {
            file: File::create(path)?,
        }))
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Box::new(OsFile { file }))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn sync_directory(&self, directory: &Path) -> io::Result<()> {
        sync_directory(directory)
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        fs::create_dir_all(path)
    }

    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        fs::remove_dir_all(path)
    }
}

/// Creates `directory` and its missing parents through `file_system`, and syncs the parent
/// of each one created, so that a file made durable inside it is not lost with an entry a
/// crash dropped. The parent of an existing `directory` is synced too: an earlier call may
/// have created it and then failed to sync, and nothing tells that apart afterwards.
pub fn create_directory_durably(file_system: &dyn FileSystem, directory: &Path) -> io::Result<()> {
    let mut missing: Vec<&Path> = directory
        .ancestors()
        .take_while(|ancestor| !ancestor.as_os_str().is_empty() && !ancestor.is_dir())
        .collect();
    if !missing.is_empty() {
        file_system.create_dir_all(directory)?;
    }
    if missing.is_empty() {
        missing.push(directory);
    }
    // Outermost first: each entry is made durable in a parent that already is.
    missing.reverse();
    for created in missing {
        if let Some(parent) = created.parent().filter(|p| !p.as_os_str().is_empty()) {
            file_system.sync_directory(parent)?;
        }
    }
    Ok(())
}

/// Removes `directory` and everything in it through `file_system`, and syncs its parent so
/// the removal is durable. A missing directory is not an error.
pub fn remove_directory_durably(file_system: &dyn FileSystem, directory: &Path) -> io::Result<()> {
    match file_system.remove_dir_all(directory) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        result => result?,
    }
    match directory.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => file_system.sync_directory(parent),
        None => Ok(()),
    }
}

/// Replaces `directory/file_name` with `bytes` atomically through `file_system`: a
/// temporary file is written and fsynced, renamed over the old one, and the directory
/// fsynced.
pub fn write_file_atomically(
    file_system: &dyn FileSystem,
    directory: &Path,
    file_name: &str,
    bytes: &[u8],
) -> io::Result<()> {
    let temporary = directory.join(format!("{file_name}.tmp"));
    let result = (|| {
        let mut file = file_system.create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_data()?;
        drop(file);
        file_system.rename(&temporary, &directory.join(file_name))?;
        file_system.sync_directory(directory)
    })();
    if result.is_err() {
        // A full disk must not also leave a half-written temporary behind.
        let _ = file_system.remove_file(&temporary);
    }
    result
}

/// A [`WritableFile`] as an [`io::Write`], for a `BufWriter` in front of it.
pub struct FileWrite(pub Box<dyn WritableFile>);

impl Write for FileWrite {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.write_all(bytes)?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// fsyncs a directory so a rename or new file in it is durable.
pub fn sync_directory(directory: &Path) -> io::Result<()> {
    File::open(directory)?.sync_all()
}
