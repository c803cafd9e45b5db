//! Little-endian byte encoding helpers shared by the WAL record and meta store formats.
//!
//! `Reader` never panics: every read past the end is an `Err(Truncated)`, so corrupt or
//! hostile bytes become errors, not crashes.

/// Reading ran past the end of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truncated;

/// Appends a u16 length and the bytes; the caller guarantees `bytes.len() <= u16::MAX`.
pub fn put_bytes_u16(out: &mut Vec<u8>, bytes: &[u8]) {
    let length = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&length.to_le_bytes());
    out.extend_from_slice(&bytes[..usize::from(length)]);
}

/// Appends a u32 length and the bytes; the caller guarantees `bytes.len() <= u32::MAX`.
pub fn put_bytes_u32(out: &mut Vec<u8>, bytes: &[u8]) {
    let length = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&length.to_le_bytes());
    out.extend_from_slice(&bytes[..length as usize]);
}

/// A cursor over bytes that fails cleanly on truncation.
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Reads from the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.bytes.len()
    }

    /// The next `count` bytes.
    pub fn take(&mut self, count: usize) -> Result<&'a [u8], Truncated> {
        if count > self.bytes.len() {
            return Err(Truncated);
        }
        let (head, tail) = self.bytes.split_at(count);
        self.bytes = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Truncated> {
        let mut array = [0u8; N];
        array.copy_from_slice(self.take(N)?);
        Ok(array)
    }

    /// One byte.
    pub fn u8(&mut self) -> Result<u8, Truncated> {
        Ok(self.array::<1>()?[0])
    }
    /// Little-endian u16.
    pub fn u16(&mut self) -> Result<u16, Truncated> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    /// Little-endian u32.
    pub fn u32(&mut self) -> Result<u32, Truncated> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    /// Little-endian u64.
    pub fn u64(&mut self) -> Result<u64, Truncated> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    /// Little-endian i64.
    pub fn i64(&mut self) -> Result<i64, Truncated> {
        Ok(i64::from_le_bytes(self.array()?))
    }
    /// u16 length, then that many bytes.
    pub fn bytes_u16(&mut self) -> Result<&'a [u8], Truncated> {
        let length = self.u16()?;
        self.take(usize::from(length))
    }
    /// u32 length, then that many bytes.
    pub fn bytes_u32(&mut self) -> Result<&'a [u8], Truncated> {
        let length = self.u32()?;
        self.take(length as usize)
    }
}
