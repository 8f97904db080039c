//! A small zip writer for `.npz` exports: stored (uncompressed) entries
//! streamed straight to a seekable file, zip64 records where a size, an
//! offset or the entry count needs them (an array over 4 GiB), UTF-8
//! names, a fixed 1980-01-01 timestamp (the archive does not depend on
//! when it was written) and an archive comment. What numpy's `np.load`
//! and Python's `zipfile` read.
//!
//! One entry at a time: `start_entry(name, size)`, `write` its bytes (the
//! size was declared up front), `finish_entry` (patches the CRC into the
//! local header), and `finish(comment)` writes the central directory.

use std::io::{Seek, SeekFrom, Write};

const U32_MAX: u64 = 0xFFFF_FFFF;
/// 1980-01-01 00:00 in MS-DOS time.
const DOS_DATE: u16 = 0x0021;
/// Version needed to extract: 2.0, or 4.5 for zip64.
const VERSION: u16 = 20;
const VERSION_ZIP64: u16 = 45;
/// Made by: unix, 4.5.
const MADE_BY: u16 = (3 << 8) | 45;
/// General purpose flag: names are UTF-8.
const UTF8_NAMES: u16 = 0x0800;
/// Where a local header's CRC field sits.
const CRC_OFFSET: u64 = 14;

struct Entry {
    name: String,
    crc: u32,
    size: u64,
    offset: u64,
}

/// An entry being written.
struct Open {
    entry: Entry,
    crc: crc32fast::Hasher,
    written: u64,
}

/// Writes a stored zip archive to `inner` (see the module docs).
pub(crate) struct ZipWriter<'w, W> {
    inner: &'w mut W,
    pos: u64,
    entries: Vec<Entry>,
    open: Option<Open>,
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// A 16-bit length field; longer fields are refused rather than cut.
fn len16(what: &str, n: usize) -> std::io::Result<u16> {
    u16::try_from(n)
        .map_err(|_| std::io::Error::other(format!("zip {what} of {n} bytes is longer than 65535")))
}

impl<'w, W: Write + Seek> ZipWriter<'w, W> {
    /// A writer starting at the current position 0 of `inner`.
    pub(crate) fn new(inner: &'w mut W) -> Self {
        ZipWriter {
            inner,
            pos: 0,
            entries: Vec::new(),
            open: None,
        }
    }

    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.inner.write_all(bytes)?;
        self.pos += bytes.len() as u64;
        Ok(())
    }

    /// Starts entry `name` of exactly `size` bytes: writes its local header
    /// (zip64 when `size` needs it; the CRC is patched by `finish_entry`).
    pub(crate) fn start_entry(&mut self, name: &str, size: u64) -> std::io::Result<()> {
        self.finish_entry()?;
        let zip64 = size >= U32_MAX;
        let mut local = Vec::with_capacity(64 + name.len());
        put32(&mut local, 0x0403_4b50);
        put16(&mut local, if zip64 { VERSION_ZIP64 } else { VERSION });
        put16(&mut local, UTF8_NAMES);
        put16(&mut local, 0); // stored
        put16(&mut local, 0); // time
        put16(&mut local, DOS_DATE);
        put32(&mut local, 0); // crc, patched
        let size32 = if zip64 { U32_MAX as u32 } else { size as u32 };
        put32(&mut local, size32);
        put32(&mut local, size32);
        put16(&mut local, len16("entry name", name.len())?);
        put16(&mut local, if zip64 { 20 } else { 0 });
        local.extend_from_slice(name.as_bytes());
        if zip64 {
            put16(&mut local, 1); // zip64 extra field
            put16(&mut local, 16);
            put64(&mut local, size);
            put64(&mut local, size);
        }
        let offset = self.pos;
        self.put(&local)?;
        self.open = Some(Open {
            entry: Entry {
                name: name.to_owned(),
                crc: 0,
                size,
                offset,
            },
            crc: crc32fast::Hasher::new(),
            written: 0,
        });
        Ok(())
    }

    /// Writes some of the open entry's bytes.
    pub(crate) fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self.open.as_mut() {
            Some(open) => {
                open.crc.update(bytes);
                open.written += bytes.len() as u64;
            }
            None => return Err(std::io::Error::other("zip data written outside an entry")),
        }
        self.put(bytes)
    }

    /// Ends the open entry (if any): patches its CRC into its local header.
    pub(crate) fn finish_entry(&mut self) -> std::io::Result<()> {
        let Some(Open {
            mut entry,
            crc,
            written,
        }) = self.open.take()
        else {
            return Ok(());
        };
        if written != entry.size {
            return Err(std::io::Error::other(format!(
                "zip entry {} holds {written} bytes, not its declared {}",
                entry.name, entry.size
            )));
        }
        entry.crc = crc.finalize();
        let end = self.pos;
        self.inner
            .seek(SeekFrom::Start(entry.offset + CRC_OFFSET))?;
        self.inner.write_all(&entry.crc.to_le_bytes())?;
        self.inner.seek(SeekFrom::Start(end))?;
        self.entries.push(entry);
        Ok(())
    }

    /// Ends the archive: the central directory, the zip64 end records when
    /// needed, and the end record with `comment`.
    pub(crate) fn finish(mut self, comment: &str) -> std::io::Result<()> {
        self.finish_entry()?;
        let comment_len = len16("comment", comment.len())?;
        let cd_start = self.pos;
        let entries = std::mem::take(&mut self.entries);
        for e in &entries {
            let record = central_record(e)?;
            self.put(&record)?;
        }
        let cd_end = self.pos;
        let cd_size = cd_end - cd_start;
        let count = entries.len() as u64;
        if count >= 0xFFFF || cd_start >= U32_MAX || cd_size >= U32_MAX {
            let records = zip64_end(count, cd_size, cd_start, cd_end);
            self.put(&records)?;
        }
        let mut eocd = Vec::with_capacity(22 + comment.len());
        put32(&mut eocd, 0x0605_4b50);
        put16(&mut eocd, 0);
        put16(&mut eocd, 0);
        let count16 = count.min(0xFFFF) as u16;
        put16(&mut eocd, count16);
        put16(&mut eocd, count16);
        put32(&mut eocd, cd_size.min(U32_MAX) as u32);
        put32(&mut eocd, cd_start.min(U32_MAX) as u32);
        put16(&mut eocd, comment_len);
        eocd.extend_from_slice(comment.as_bytes());
        self.put(&eocd)
    }
}

/// One entry's central directory record.
fn central_record(e: &Entry) -> std::io::Result<Vec<u8>> {
    let mut extra = Vec::new();
    if e.size >= U32_MAX {
        put64(&mut extra, e.size);
        put64(&mut extra, e.size);
    }
    if e.offset >= U32_MAX {
        put64(&mut extra, e.offset);
    }
    let zip64 = !extra.is_empty();
    let mut cd = Vec::with_capacity(80 + e.name.len());
    put32(&mut cd, 0x0201_4b50);
    put16(&mut cd, MADE_BY);
    put16(&mut cd, if zip64 { VERSION_ZIP64 } else { VERSION });
    put16(&mut cd, UTF8_NAMES);
    put16(&mut cd, 0); // stored
    put16(&mut cd, 0); // time
    put16(&mut cd, DOS_DATE);
    put32(&mut cd, e.crc);
    let size32 = e.size.min(U32_MAX) as u32;
    put32(&mut cd, size32);
    put32(&mut cd, size32);
    put16(&mut cd, len16("entry name", e.name.len())?);
    let extra_len = if zip64 { extra.len() + 4 } else { 0 };
    put16(&mut cd, len16("extra field", extra_len)?);
    put16(&mut cd, 0); // comment
    put16(&mut cd, 0); // disk
    put16(&mut cd, 0); // internal attributes
    put32(&mut cd, 0o100644u32 << 16); // a regular file, rw-r--r--
    put32(&mut cd, e.offset.min(U32_MAX) as u32);
    cd.extend_from_slice(e.name.as_bytes());
    if zip64 {
        put16(&mut cd, 1);
        put16(&mut cd, extra.len() as u16);
        cd.extend_from_slice(&extra);
    }
    Ok(cd)
}

/// The zip64 end of central directory record and its locator.
fn zip64_end(count: u64, cd_size: u64, cd_start: u64, cd_end: u64) -> Vec<u8> {
    let mut rec = Vec::with_capacity(76);
    put32(&mut rec, 0x0606_4b50);
    put64(&mut rec, 44);
    put16(&mut rec, MADE_BY);
    put16(&mut rec, VERSION_ZIP64);
    put32(&mut rec, 0);
    put32(&mut rec, 0);
    put64(&mut rec, count);
    put64(&mut rec, count);
    put64(&mut rec, cd_size);
    put64(&mut rec, cd_start);
    // Locator.
    put32(&mut rec, 0x0706_4b50);
    put32(&mut rec, 0);
    put64(&mut rec, cd_end);
    put32(&mut rec, 1);
    rec
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

    use super::*;
    use std::io::Cursor;

    fn u16_at(b: &[u8], at: usize) -> u16 {
        u16::from_le_bytes([b[at], b[at + 1]])
    }

    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    #[test]
    fn entries_get_their_crc_and_the_end_record_counts_them() {
        let mut out = Cursor::new(Vec::new());
        let mut zip = ZipWriter::new(&mut out);
        zip.start_entry("a.npy", 5).unwrap();
        zip.write(b"he").unwrap();
        zip.write(b"llo").unwrap();
        zip.start_entry("b.npy", 0).unwrap();
        zip.finish("{}").unwrap();
        let bytes = out.into_inner();
        assert_eq!(u32_at(&bytes, 0), 0x0403_4b50);
        assert_eq!(u32_at(&bytes, 14), crc32fast::hash(b"hello"));
        assert_eq!(&bytes[30..35], b"a.npy");
        assert_eq!(&bytes[35..40], b"hello");
        let eocd = bytes.len() - 22 - 2;
        assert_eq!(u32_at(&bytes, eocd), 0x0605_4b50);
        assert_eq!(u16_at(&bytes, eocd + 10), 2);
        assert_eq!(&bytes[bytes.len() - 2..], b"{}");
        let cd = u32_at(&bytes, eocd + 16) as usize;
        assert_eq!(u32_at(&bytes, cd), 0x0201_4b50);
        assert_eq!(u32_at(&bytes, cd + 16), crc32fast::hash(b"hello"));
    }

    #[test]
    fn an_entry_shorter_than_declared_is_an_error() {
        let mut out = Cursor::new(Vec::new());
        let mut zip = ZipWriter::new(&mut out);
        zip.start_entry("a.npy", 10).unwrap();
        zip.write(b"short").unwrap();
        let err = zip.finish("").unwrap_err();
        assert!(err.to_string().contains("not its declared 10"), "{err}");
    }
}
