//! The binary snapshot format (docs/FORMAT.md, "Binary snapshots"): the same records as JSON
//! lines, as length-prefixed blocks of little-endian columns. [`decode`] turns a block into
//! values, [`read`] loads a file of blocks into a [`super::Snapshot`], [`write`] writes one.

pub mod decode;
pub mod read;
pub mod write;

/// The first bytes of every binary snapshot: `0x89` cannot start UTF-8 text (so neither JSON
/// nor a JSON-lines snapshot) and is not gzip's `1f 8b`; `\r\n` and `\x1a` catch text-mode
/// transfers, as in PNG.
pub const MAGIC: [u8; 8] = *b"\x89RGSNAP\x1a";
/// The layout version after the magic: `[major, minor]`, one byte each. A reader refuses a
/// major layout it does not know; a newer minor only adds optional blocks or columns.
pub const LAYOUT_MAJOR: u8 = 1;
/// The layout minor version this writer writes: 1 adds the [`column::REF_NODES`] column.
pub const LAYOUT_MINOR: u8 = 1;
/// Bytes before the first block: magic and layout version.
pub const PREAMBLE_LEN: usize = MAGIC.len() + 2;
/// A block header: its kind (`u8`) and its payload's length (`u32` LE).
pub const BLOCK_HEADER_LEN: usize = 5;
/// The longest block payload a reader accepts (as JSON's longest line): it bounds what a lying
/// length can make the reader buffer.
pub const MAX_BLOCK_BYTES: u32 = 1 << 30;

/// Block kinds. Kinds from [`OPTIONAL_KINDS`] up that a reader does not know are skipped; an
/// unknown kind below it is an error.
pub mod kind {
    /// The header: the JSON text of the header record.
    pub const HEADER: u8 = 1;
    /// Additions to the type table.
    pub const TYPES: u8 = 2;
    /// Additions to the edge-label table.
    pub const EDGE_LABELS: u8 = 3;
    /// A chunk of objects, as columns.
    pub const OBJECTS: u8 = 4;
    /// Module roots.
    pub const ROOTS: u8 = 5;
    /// Live threads and their frames.
    pub const THREADS: u8 = 6;
    /// Named objects (`dump(marks=…)`).
    pub const MARKS: u8 = 7;
    /// Additions to the allocation-site table.
    pub const SITES: u8 = 8;
    /// The counts of what the file holds; last.
    pub const END: u8 = 9;
    /// Kinds from here up are optional.
    pub const OPTIONAL_KINDS: u8 = 0x80;
}

/// Column tags of an objects block. Unknown tags are skipped.
pub mod column {
    /// `id(obj)`: unsigned.
    pub const ID: u8 = 1;
    /// Type-table index.
    pub const TYPE: u8 = 2;
    /// Shallow size.
    pub const SIZE: u8 = 3;
    /// Reference count: signed.
    pub const REFCOUNT: u8 = 4;
    /// Flag bits (each < 256).
    pub const FLAGS: u8 = 5;
    /// Number of references.
    pub const NREFS: u8 = 6;
    /// Label length in bytes plus one; 0 = no label.
    pub const LABEL_LEN: u8 = 7;
    /// The labels' UTF-8 text, concatenated (encoding [`super::enc::RAW`]).
    pub const LABEL_TEXT: u8 = 8;
    /// Referenced ids, concatenated.
    pub const REFS: u8 = 9;
    /// Edge-label code of each reference of each object without the indexed flag: 0 = no
    /// label, `k + 1` = entry `k` of the edge-label table.
    pub const EDGE_LABEL: u8 = 10;
    /// Allocation site: 0 = unknown, `k + 1` = entry `k` of the site table. Optional.
    pub const SITE: u8 = 11;
    /// References as node numbers (an object's position in the file, from 0), in place of
    /// [`REFS`]: the loader skips the id lookup. Written by a writer that knows every object
    /// of the file before it writes the block (layout 1.1).
    pub const REF_NODES: u8 = 12;
}

/// Column encodings.
pub mod enc {
    /// Fixed-width little-endian integers of 1, 2, 4 or 8 bytes (two's complement in a signed
    /// column).
    pub const FIXED: [u8; 4] = [1, 2, 4, 8];
    /// LEB128 varints (zigzag in a signed column).
    pub const VARINT: u8 = 0x10;
    /// Zigzag LEB128 varints of the difference to the previous value (the first to 0),
    /// wrapping at 64 bits: ids and references that are close to each other take 1–3 bytes.
    pub const DELTA: u8 = 0x11;
    /// Bytes as they are (label text).
    pub const RAW: u8 = 0x20;
}

/// Does `bytes` start like a binary snapshot?
pub fn is_binary(bytes: &[u8]) -> bool {
    bytes.starts_with(&MAGIC)
}

/// Zigzag: small magnitudes of either sign become small unsigned numbers.
pub fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// The inverse of [`zigzag`].
pub fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Append `v` as a LEB128 varint.
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_round_trips_the_extremes() {
        for v in [0, 1, -1, 63, -64, i64::MAX, i64::MIN, 1 << 40] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
    }

    #[test]
    fn the_magic_is_neither_text_nor_gzip() {
        assert!(std::str::from_utf8(&MAGIC[..1]).is_err());
        assert_ne!(MAGIC[..2], [0x1f, 0x8b]);
    }
}

#[cfg(test)]
mod round_trip_tests;
