//! A read-only memory mapping of a whole file: the one place of the module with `unsafe`.
//!
//! Why a mapping: readers on many query threads share one file without a lock or a copy,
//! blocks are returned as borrowed slices, and the kernel's page cache is the block cache.
//!
//! The contract that makes the `unsafe` sound: the engine never writes to a finished file
//! (files are immutable once renamed into place) and only deletes them, which leaves an
//! existing mapping valid. Truncating a mapped file from outside the process would make a
//! read of the lost pages raise SIGBUS; that is the same risk as for any mmap reader and no
//! part of Sluice does it.

use std::fs::File;
use std::io;
use std::os::unix::io::AsRawFd;
use std::ptr::NonNull;

/// `length` bytes of a file mapped read-only, unmapped on drop.
pub(super) struct Mapping {
    /// Start of the mapping; valid for `length` bytes until drop.
    start: NonNull<u8>,
    /// Bytes mapped, > 0 (mmap refuses empty mappings).
    length: usize,
}

impl Mapping {
    /// Maps the first `length` bytes of `file` read-only. `length` must be > 0 and at most
    /// the file's size.
    pub(super) fn new(file: &File, length: usize) -> io::Result<Mapping> {
        if length == 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty mapping"));
        }
        // SAFETY: a fresh mapping chosen by the kernel (null hint) of a valid open descriptor;
        // PROT_READ + MAP_PRIVATE so nothing we do can write the file; the result is checked
        // against MAP_FAILED before use.
        let address = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                length,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        if address == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let start = NonNull::new(address.cast::<u8>())
            .ok_or_else(|| io::Error::other("mmap returned a null address"))?;
        Ok(Mapping { start, length })
    }

    /// Lets the kernel drop this process's hold on the pages wholly inside
    /// `offset .. offset + length` (clamped to the mapping): they leave its resident set and
    /// stay in the page cache, and a later read of them faults the same bytes back in. For
    /// bytes read once and not soon again (a compaction's inputs), so that they do not swell
    /// the RSS. Errors are ignored: the pages then simply stay resident.
    pub(super) fn release(&self, offset: usize, length: usize) {
        // SAFETY: sysconf has no preconditions.
        let page = match usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }) {
            Ok(page) if page.is_power_of_two() => page,
            _ => return,
        };
        let end = offset.saturating_add(length).min(self.length) & !(page - 1);
        let start = offset.saturating_add(page - 1) & !(page - 1);
        if start >= end {
            return;
        }
        // SAFETY: `start .. end` is page-aligned and inside the live mapping. The mapping is
        // PROT_READ and MAP_PRIVATE and never written, so it holds no private copies: every
        // page is the file's, and MADV_DONTNEED only unmaps them; the next access reads the
        // same, immutable file bytes again (module doc), so slices given out by `bytes`
        // keep seeing the same contents.
        unsafe {
            libc::madvise(
                self.start.as_ptr().add(start).cast(),
                end - start,
                libc::MADV_DONTNEED,
            );
        }
    }

    /// The mapped bytes.
    pub(super) fn bytes(&self) -> &[u8] {
        // SAFETY: `start` is a live read-only mapping of `length` bytes (see `new`), unmapped
        // only in `drop`, which needs `&mut self`, so no borrow outlives it; the file is
        // immutable while mapped (module doc), so the bytes do not change under the slice.
        unsafe { std::slice::from_raw_parts(self.start.as_ptr(), self.length) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the region `new` mapped, once; no slice of it can outlive
        // `self` (see `bytes`).
        unsafe {
            libc::munmap(self.start.as_ptr().cast(), self.length);
        }
    }
}

// SAFETY: the mapping is read-only and owned by this value alone; sharing `&[u8]` views of
// immutable memory across threads is as safe as sharing a `Vec<u8>`'s.
unsafe impl Send for Mapping {}
// SAFETY: as for `Send`: only shared read access is ever given out.
unsafe impl Sync for Mapping {}
