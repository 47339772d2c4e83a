//! The binary index: a dump of a loaded [`Snapshot`]'s arrays, so that the next refgraph
//! process opening the same snapshot reads them back instead of parsing JSON (Eclipse MAT's
//! design: parse once, re-open in a fraction of a second).
//!
//! **What is cached.** Everything [`load`](super::load::load) builds from the file: the object
//! columns (ids, types, sizes, refcounts, flags, labels), the type table, the forward CSR with
//! its edge label codes and label texts, the reverse CSR, `by_id`, the roots, the marks, the
//! header and the load report (so its warnings are printed again). `root_of` is rebuilt from
//! the roots.
//!
//! **When and where.** After a JSON load of a snapshot worth it ([`MIN_OBJECTS`] objects, or
//! [`MIN_FILE_BYTES`] bytes with a tenth as many objects: a few objects with a huge label
//! parse in milliseconds), the index is written atomically (temp file + rename) as
//! `SNAP.rgidx` beside `SNAP`; where that fails (a read-only directory), in
//! `$XDG_CACHE_HOME/refgraph/` or `~/.cache/refgraph/`, named by a hash of the canonical
//! snapshot path. Failing to write it never fails the command. Setting the environment
//! variable `REFGRAPH_NO_INDEX=1` ([`DISABLE_VAR`]) disables reading and writing it.
//!
//! **Validation: a stale or corrupt index is never trusted.** Its header holds a magic, the
//! index format version, the refgraph version, and the snapshot's fingerprint (size, mtime and
//! ctime in nanoseconds, device and inode, a hash of its first and last 64 KiB); any mismatch
//! means stale. A rewrite that keeps the size and mtime (`cp -p`, `rsync -a`) changes the ctime
//! (in place) or the inode (by rename). An index place that is not a regular file (a FIFO or a
//! device planted there) is neither opened nor replaced. Every byte of
//! the file is covered by a checksum (the header's own, and one per section), and after
//! reading, the structure is checked as the JSON loader would guarantee it (CSR offsets
//! non-decreasing and ending at their target count, every node, type and edge-label index in
//! range, label arenas valid UTF-8 split on character boundaries, `by_id` a permutation sorted
//! by id). Any failure: the JSON is parsed, and the index written anew. Nothing read from the
//! index is unwrapped or indexed unchecked: a truncated or garbage file cannot panic.
//!
//! **Layout** (little-endian; big-endian hosts do not use the index): a header of `u64` words
//! (magic, version, refgraph version, fingerprint, a length and checksum per section, the
//! header's checksum), then 19 sections, each zero-padded to 8 bytes. A section's checksum is
//! FxHash over each 8 MiB chunk of it, combined: chunks are hashed in parallel. (FxHash's
//! byte hashing runs at ~10 GB/s here, as fast as xxh3, so no extra dependency.) An index is
//! about as big as its JSON snapshot (0.8–1.1×).
//!
//! **Reading in place.** The file is mapped, and once checked its sections *are* the
//! snapshot's columns ([`Column`]): no copy, no zeroed memory to fault in. Re-opening 1.4M
//! objects takes 0.01–0.02 s, 10M objects 0.09 s (copying them into fresh vectors took 0.05
//! and 0.30 s, most of it the kernel's page faults and copy).

use super::column::{Column, MappedFile, Text};
use super::format::Header;
use super::graph::{
    Csr, LoadReport, NodeIx, Root, RootKind, Snapshot, TextColumn, TypeName, INDEX_BIT, NO_LABEL,
};
use super::sites::{Frame, Sites};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::hash::Hasher;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Index snapshots of at least this many objects.
pub const MIN_OBJECTS: usize = 100_000;
/// …or files of at least this many bytes holding at least `MIN_OBJECTS / 10` objects.
pub const MIN_FILE_BYTES: u64 = 8 << 20;
/// The environment variable that, set to `1`, turns the index off.
pub const DISABLE_VAR: &str = "REFGRAPH_NO_INDEX";

const MAGIC: [u8; 8] = *b"RGIDX\0\r\n";
/// Bump on any change of layout or meaning. 2: object labels kept up to 1 KiB (1 cut them at
/// 200 bytes). 3: the fingerprint holds the ctime, device and inode. 4: allocation sites (the
/// table in the meta JSON, the per-object column a section). 5: each section padded to 8 bytes,
/// so that it is mapped and read in place.
const FORMAT_VERSION: u64 = 5;
const CRATE_VERSION: &str = env!("CARGO_PKG_VERSION");
const VERSION_BYTES: usize = 32;
const _: () = assert!(CRATE_VERSION.len() <= VERSION_BYTES);
/// How much of each end of the snapshot the fingerprint hashes.
const SAMPLE_BYTES: u64 = 64 << 10;
/// The unit of parallel reading and hashing.
const CHUNK: usize = 8 << 20;

/// Sections, in file order, and the size of their elements.
const SECTION_ELEM: [usize; SECTIONS] = [
    1, // meta: JSON of header, report, roots, marks
    8, // ids
    4, // type_of
    8, // sizes
    4, // refcounts
    1, // flags
    1, // object label arena
    4, // object label ends
    1, // type name arena: module, qualname, module, …
    4, // type name ends
    1, // edge text arena
    4, // edge text ends
    4, // fwd offsets
    4, // fwd targets
    4, // fwd label codes
    4, // rev offsets
    4, // rev targets
    4, // by_id
    4, // allocation site of each object (empty when none has one)
];
const SECTIONS: usize = 19;
/// Every section starts at a multiple of this many bytes (zeros pad the one before), so that
/// a mapped section is an aligned array of its elements.
const ALIGN: usize = 8;
/// Magic, version, refgraph version (4 words), fingerprint (8), then per section length and
/// checksum, then the header checksum.
const FIXED_WORDS: usize = 14;
const HEADER_WORDS: usize = FIXED_WORDS + 2 * SECTIONS + 1;
const HEADER_BYTES: usize = HEADER_WORDS * 8;

/// Why an index was not used. Only tests look at the reason: users just get the JSON load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Invalid(&'static str);

type Check<T> = Result<T, Invalid>;

fn ensure(condition: bool, why: &'static str) -> Check<()> {
    if condition {
        Ok(())
    } else {
        Err(Invalid(why))
    }
}

/// What identifies the snapshot file an index was built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    size: u64,
    mtime_ns: u128,
    ctime_ns: u64,
    dev: u64,
    ino: u64,
    sample: u64,
}

impl Fingerprint {
    fn of(path: &Path) -> io::Result<Fingerprint> {
        // A pipe or a device: nothing to fingerprint, and opening or reading it could block
        // or consume it. Checked before opening, and again on what was opened.
        regular_file(&std::fs::metadata(path)?)?;
        let mut file = crate::open::open_read(path)?;
        let meta = file.metadata()?;
        regular_file(&meta)?;
        let since_epoch = meta.modified()?.duration_since(std::time::UNIX_EPOCH);
        let mtime_ns = since_epoch.map_err(io::Error::other)?.as_nanos();
        let (ctime_ns, dev, ino) = identity(&meta);
        let sample = sample_hash(&mut file, meta.len())?;
        Ok(Fingerprint {
            size: meta.len(),
            mtime_ns,
            ctime_ns,
            dev,
            ino,
            sample,
        })
    }
}

fn regular_file(meta: &std::fs::Metadata) -> io::Result<()> {
    if meta.is_file() {
        Ok(())
    } else {
        Err(io::ErrorKind::InvalidInput.into())
    }
}

/// The status-change time in nanoseconds, the device and the inode.
#[cfg(unix)]
fn identity(meta: &std::fs::Metadata) -> (u64, u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let ctime_ns = (meta.ctime() as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(meta.ctime_nsec() as u64);
    (ctime_ns, meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn identity(_: &std::fs::Metadata) -> (u64, u64, u64) {
    (0, 0, 0)
}

/// Hash of the first and last [`SAMPLE_BYTES`] of the file: catches a rewrite that kept the
/// size and mtime.
fn sample_hash(file: &mut File, size: u64) -> io::Result<u64> {
    let mut hasher = rustc_hash::FxHasher::default();
    let mut buf = vec![0; size.min(SAMPLE_BYTES) as usize];
    file.read_exact(&mut buf)?;
    hasher.write(&buf);
    file.seek(SeekFrom::Start(size - buf.len() as u64))?;
    file.read_exact(&mut buf)?;
    hasher.write(&buf);
    Ok(hasher.finish())
}

/// The index of one snapshot file: where it may be, and what it must match.
pub(crate) struct Index {
    snapshot: PathBuf,
    fingerprint: Fingerprint,
    /// Where to look, in order: beside the snapshot, then in the cache directory.
    places: Vec<PathBuf>,
    min_objects: usize,
    min_bytes: u64,
}

impl Index {
    /// The index for `snapshot`, or `None` when it is turned off or the snapshot cannot be
    /// read (the JSON load then reports why).
    pub(crate) fn for_snapshot(snapshot: &Path) -> Option<Index> {
        if disabled_by(std::env::var_os(DISABLE_VAR)) || cfg!(target_endian = "big") {
            return None;
        }
        Index::new(snapshot)
    }

    fn new(snapshot: &Path) -> Option<Index> {
        let fingerprint = Fingerprint::of(snapshot).ok()?;
        Some(Index {
            snapshot: snapshot.to_path_buf(),
            fingerprint,
            places: places(snapshot),
            min_objects: MIN_OBJECTS,
            min_bytes: MIN_FILE_BYTES,
        })
    }

    /// The snapshot from the first valid index file, if there is one.
    pub(crate) fn read(&self) -> Option<Snapshot> {
        self.places.iter().enumerate().find_map(|(i, place)| {
            let snap = read_index(place, &self.snapshot, &self.fingerprint).ok()?;
            if i > 0 {
                // In use: keep it from being pruned as old (see `prune_cache`).
                let _ = File::options()
                    .write(true)
                    .open(place)
                    .and_then(|f| f.set_modified(std::time::SystemTime::now()));
            }
            Some(snap)
        })
    }

    /// Remove, on a thread of its own, every index file at this snapshot's places: called
    /// once none of them read back valid, so each is out of date. Replacing a file by rename
    /// makes ext4 write the new one out first (`auto_da_alloc`: 0.05–0.08 s for the 93 MB
    /// index of 1.4M objects), and unlinking a big file takes a while too; done while the
    /// snapshot is parsed, neither adds to the load. Join it before [`Index::save`].
    pub(crate) fn discard_stale(&self) -> Option<std::thread::JoinHandle<()>> {
        let stale: Vec<PathBuf> = self
            .places
            .iter()
            .filter(|place| std::fs::metadata(place).is_ok_and(|m| m.is_file()))
            .cloned()
            .collect();
        if stale.is_empty() {
            return None;
        }
        let remove = move || {
            for place in stale {
                let _ = std::fs::remove_file(place);
            }
        };
        std::thread::Builder::new()
            .name("refgraph-stale-index".into())
            .spawn(remove)
            .ok()
    }

    /// Write the index for `snap` if it is worth it; errors are ignored (the next load parses
    /// the JSON again, nothing worse).
    pub(crate) fn save(&self, snap: &Snapshot) {
        if self.worth(snap) {
            let _ = self.store(snap);
        }
    }

    fn worth(&self, snap: &Snapshot) -> bool {
        let n = snap.node_count();
        n >= self.min_objects
            || (self.fingerprint.size >= self.min_bytes && n >= self.min_objects / 10)
    }

    /// Write the index of `snap`, loaded from `snapshot`, whatever its size; returns where.
    #[cfg(test)]
    pub(crate) fn write_for_test(snapshot: &Path, snap: &Snapshot) -> PathBuf {
        let index = Index::new(snapshot).expect("a readable snapshot");
        index.store(snap).expect("the index written")
    }

    /// Write beside the snapshot, or else in the cache directory; returns where.
    fn store(&self, snap: &Snapshot) -> io::Result<PathBuf> {
        let mut last = io::Error::other("no place for the index");
        for (i, place) in self.places.iter().enumerate() {
            if std::fs::metadata(place).is_ok_and(|m| !m.is_file()) {
                continue;
            }
            match write_index(place, snap, &self.fingerprint) {
                Ok(()) => {
                    if i > 0 {
                        prune_cache(place, MAX_CACHE_AGE);
                    }
                    return Ok(place.clone());
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

/// Where the index of `snapshot` may be, in the order tried: beside it, then in the cache
/// directory.
pub(crate) fn places(snapshot: &Path) -> Vec<PathBuf> {
    let mut places = vec![beside(snapshot)];
    let canonical = std::fs::canonicalize(snapshot).ok();
    places.extend(
        canonical
            .zip(cache_dir())
            .map(|(c, dir)| cache_file(&dir, &c)),
    );
    places
}

/// Cached indexes not used for this long (a read renews the modification time) are deleted
/// when another is written there: the snapshot may be long gone, and an index needed again is
/// simply built again.
const MAX_CACHE_AGE: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

/// Delete the `.rgidx` files beside `written` (in the cache directory) older than `max_age`.
fn prune_cache(written: &Path, max_age: std::time::Duration) {
    let Some(dir) = written.parent() else { return };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > max_age);
        if old && path != written && path.extension().is_some_and(|e| e == "rgidx") {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// `REFGRAPH_NO_INDEX=1` (or any value but empty and `0`) turns the index off.
fn disabled_by(value: Option<std::ffi::OsString>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v != "0")
}

/// `SNAP.rgidx`: the whole file name is kept, so `a.rgsnap` and `a.rgsnap.gz` do not collide.
fn beside(snapshot: &Path) -> PathBuf {
    let mut name = snapshot.as_os_str().to_owned();
    name.push(".rgidx");
    PathBuf::from(name)
}

fn cache_dir() -> Option<PathBuf> {
    let xdg = std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from);
    let base = match xdg.filter(|p| p.is_absolute()) {
        Some(dir) => dir,
        None => PathBuf::from(std::env::var_os("HOME")?).join(".cache"),
    };
    Some(base.join("refgraph"))
}

/// `NAME-HASH.rgidx` in `dir`: the name for people, the hash of the canonical path for
/// uniqueness.
fn cache_file(dir: &Path, canonical: &Path) -> PathBuf {
    let mut hasher = rustc_hash::FxHasher::default();
    hasher.write(canonical.as_os_str().as_encoded_bytes());
    let name = canonical.file_name().unwrap_or_default().to_string_lossy();
    dir.join(format!("{name}-{:016x}.rgidx", hasher.finish()))
}

/// The small, irregular parts of a snapshot, stored as JSON.
#[derive(Serialize, Deserialize)]
struct Meta {
    header: Header,
    dangling_refs: u64,
    truncated: bool,
    warnings: Vec<String>,
    roots: Vec<StoredRoot>,
    marks: Vec<(String, NodeIx)>,
    sites: Vec<Box<[Frame]>>,
}

#[derive(Serialize, Deserialize)]
enum StoredRoot {
    Module {
        node: NodeIx,
        name: String,
    },
    ThreadFrame {
        node: NodeIx,
        thread: String,
        depth: usize,
    },
}

impl Meta {
    fn of(snap: &Snapshot) -> Meta {
        Meta {
            header: snap.header.clone(),
            dangling_refs: snap.report.dangling_refs,
            truncated: snap.report.truncated,
            warnings: snap.report.warnings.clone(),
            roots: snap.roots.iter().map(StoredRoot::of).collect(),
            marks: snap.marks.clone(),
            sites: snap.sites.table.clone(),
        }
    }
}

impl StoredRoot {
    fn of(root: &Root) -> StoredRoot {
        let node = root.node;
        match &root.kind {
            RootKind::Module { name } => StoredRoot::Module {
                node,
                name: name.clone(),
            },
            RootKind::ThreadFrame { thread, depth } => StoredRoot::ThreadFrame {
                node,
                thread: thread.clone(),
                depth: *depth,
            },
        }
    }

    fn into_root(self) -> Root {
        match self {
            StoredRoot::Module { node, name } => Root {
                node,
                kind: RootKind::Module { name },
            },
            StoredRoot::ThreadFrame {
                node,
                thread,
                depth,
            } => Root {
                node,
                kind: RootKind::ThreadFrame { thread, depth },
            },
        }
    }
}

/// What the index holds besides the snapshot's own arrays: the meta JSON and the string
/// tables flattened into arenas.
struct Flattened {
    meta: Vec<u8>,
    types: TextColumn,
    edge_texts: TextColumn,
}

impl Flattened {
    fn of(snap: &Snapshot) -> io::Result<Flattened> {
        let meta = serde_json::to_vec(&Meta::of(snap))?;
        let mut types = TextColumn::default();
        for t in &snap.types {
            types.push(Some(&t.module));
            types.push(Some(&t.qualname));
        }
        let mut edge_texts = TextColumn::default();
        for t in &snap.edge_texts {
            edge_texts.push(Some(t));
        }
        Ok(Flattened {
            meta,
            types,
            edge_texts,
        })
    }

    /// The sections' bytes, in [`SECTION_ELEM`] order.
    fn sections<'a>(&'a self, s: &'a Snapshot) -> [&'a [u8]; SECTIONS] {
        use bytemuck::cast_slice as bytes;
        [
            &self.meta,
            bytes(&s.ids),
            bytes(&s.type_of),
            bytes(&s.sizes),
            bytes(&s.refcounts),
            &s.flags,
            s.labels.data.as_bytes(),
            bytes(&s.labels.ends),
            self.types.data.as_bytes(),
            bytes(&self.types.ends),
            self.edge_texts.data.as_bytes(),
            bytes(&self.edge_texts.ends),
            bytes(&s.fwd.offsets),
            bytes(&s.fwd.targets),
            bytes(&s.fwd_labels),
            bytes(&s.rev.offsets),
            bytes(&s.rev.targets),
            bytes(&s.by_id),
            bytes(&s.sites.of),
        ]
    }
}

/// The index file's header.
struct IndexHeader {
    fingerprint: Fingerprint,
    lens: [u64; SECTIONS],
    digests: [u64; SECTIONS],
}

impl IndexHeader {
    fn encode(&self) -> Vec<u8> {
        let mut version = [0u8; VERSION_BYTES];
        version[..CRATE_VERSION.len()].copy_from_slice(CRATE_VERSION.as_bytes());
        let mut words = vec![u64::from_le_bytes(MAGIC), FORMAT_VERSION];
        words.extend(version.chunks_exact(8).map(word));
        let f = &self.fingerprint;
        words.extend([
            f.size,
            f.mtime_ns as u64,
            (f.mtime_ns >> 64) as u64,
            f.ctime_ns,
            f.dev,
            f.ino,
            0,
            f.sample,
        ]);
        words.extend(
            self.lens
                .iter()
                .zip(&self.digests)
                .flat_map(|(&l, &d)| [l, d]),
        );
        let mut bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        bytes.extend(hash_bytes(&bytes).to_le_bytes());
        bytes
    }

    /// Decode and check everything that can be checked from the header alone.
    fn decode(bytes: &[u8; HEADER_BYTES], expected: &Fingerprint) -> Check<IndexHeader> {
        let words: Vec<u64> = bytes.chunks_exact(8).map(word).collect();
        ensure(words[0] == u64::from_le_bytes(MAGIC), "not an index")?;
        ensure(words[1] == FORMAT_VERSION, "format version")?;
        let (body, digest) = bytes.split_at(HEADER_BYTES - 8);
        ensure(hash_bytes(body) == word(digest), "header checksum")?;
        let version = &bytes[16..16 + VERSION_BYTES];
        ensure(
            version.split(|&b| b == 0).next() == Some(CRATE_VERSION.as_bytes()),
            "refgraph version",
        )?;
        let fingerprint = Fingerprint {
            size: words[6],
            mtime_ns: u128::from(words[7]) | u128::from(words[8]) << 64,
            ctime_ns: words[9],
            dev: words[10],
            ino: words[11],
            sample: words[13],
        };
        ensure(fingerprint == *expected, "stale")?;
        let table = &words[FIXED_WORDS..FIXED_WORDS + 2 * SECTIONS];
        let lens = std::array::from_fn(|i| table[2 * i]);
        let digests = std::array::from_fn(|i| table[2 * i + 1]);
        Ok(IndexHeader {
            fingerprint,
            lens,
            digests,
        })
    }

    /// Where each section starts. The sections must have whole elements and, each padded
    /// to [`ALIGN`] bytes, fill the file exactly.
    fn section_offsets(&self, file_len: u64) -> Check<[u64; SECTIONS]> {
        let mut offsets = [0; SECTIONS];
        let mut total = HEADER_BYTES as u64;
        for ((len, elem), offset) in self.lens.iter().zip(SECTION_ELEM).zip(&mut offsets) {
            ensure(len % elem as u64 == 0, "partial element")?;
            *offset = total;
            total = total
                .checked_add(*len)
                .and_then(|t| t.checked_next_multiple_of(ALIGN as u64))
                .ok_or(Invalid("section lengths"))?;
        }
        ensure(total == file_len, "file length")?;
        Ok(offsets)
    }
}

fn word(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(bytes);
    u64::from_le_bytes(w)
}

fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut hasher = rustc_hash::FxHasher::default();
    hasher.write(bytes);
    hasher.finish()
}

/// The checksum of a section: its chunks' hashes, combined in order with its length.
fn combine(len: usize, chunk_hashes: &[u64]) -> u64 {
    let mut hasher = rustc_hash::FxHasher::default();
    hasher.write_u64(len as u64);
    chunk_hashes.iter().for_each(|&h| hasher.write_u64(h));
    hasher.finish()
}

fn digest(section: &[u8]) -> u64 {
    let hashes: Vec<u64> = section.par_chunks(CHUNK).map(hash_bytes).collect();
    combine(section.len(), &hashes)
}

/// Write the index for `snap` to `path` atomically: a temp file in the same directory, then
/// rename. It is not fsynced: a cache file lost or cut short by a crash fails its checksum
/// and is rebuilt.
fn write_index(path: &Path, snap: &Snapshot, fingerprint: &Fingerprint) -> io::Result<()> {
    let flat = Flattened::of(snap)?;
    let sections = flat.sections(snap);
    let header = IndexHeader {
        fingerprint: *fingerprint,
        lens: sections.map(|s| s.len() as u64),
        digests: sections.map(digest),
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".refgraph-")
        .suffix(".rgidx.tmp")
        .tempfile_in(dir)?;
    let _guard = crate::interrupt::TempGuard::new(tmp.path());
    // The index holds what the snapshot holds: no more readable than the snapshot.
    if let Ok(meta) = std::fs::metadata(&snap.path) {
        tmp.as_file().set_permissions(meta.permissions())?;
    }
    let mut out = io::BufWriter::new(tmp.as_file_mut());
    out.write_all(&header.encode())?;
    for section in sections {
        out.write_all(section)?;
        out.write_all(&[0; ALIGN][..section.len().next_multiple_of(ALIGN) - section.len()])?;
    }
    out.flush()?;
    drop(out);
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Read and check the index at `path`; `snapshot` becomes the result's path. The file is
/// mapped, and the snapshot's columns are read in place from the map.
fn read_index(path: &Path, snapshot: &Path, fingerprint: &Fingerprint) -> Check<Snapshot> {
    let unreadable = |_| Invalid("unreadable");
    // A FIFO or device planted at the index's place is ignored, never opened (it could block).
    regular_file(&std::fs::metadata(path).map_err(unreadable)?).map_err(unreadable)?;
    let file = crate::open::open_read(path).map_err(unreadable)?;
    regular_file(&file.metadata().map_err(unreadable)?).map_err(unreadable)?;
    let map = MappedFile::map(&file, path).map_err(unreadable)?;
    let head = map
        .bytes()
        .get(..HEADER_BYTES)
        .ok_or(Invalid("short header"))?;
    let head: &[u8; HEADER_BYTES] = head.try_into().map_err(|_| Invalid("short header"))?;
    let header = IndexHeader::decode(head, fingerprint)?;
    let offsets = header.section_offsets(map.bytes().len() as u64)?;
    check_sections(map.bytes(), &offsets, &header)?;
    Raw::map(&map, &offsets, &header.lens)?.into_snapshot(snapshot)
}

/// Compare every section's checksum, chunks in parallel, and check that the padding after
/// each is zero (so that no byte of the file goes unchecked).
fn check_sections(file: &[u8], offsets: &[u64; SECTIONS], header: &IndexHeader) -> Check<()> {
    let mut jobs = Vec::new();
    for (section, (&start, &len)) in offsets.iter().zip(&header.lens).enumerate() {
        let bytes = section_bytes(file, start, len)?;
        jobs.extend(bytes.chunks(CHUNK).map(|chunk| (section, chunk)));
        let end = (start + len) as usize;
        let padding = file
            .get(end..end.next_multiple_of(ALIGN))
            .unwrap_or_default();
        ensure(padding.iter().all(|&b| b == 0), "padding")?;
    }
    let hashes: Vec<(usize, u64)> = jobs
        .into_par_iter()
        .map(|(section, chunk)| (section, hash_bytes(chunk)))
        .collect();
    let mut per_section = vec![Vec::new(); SECTIONS];
    for (section, hash) in hashes {
        per_section[section].push(hash);
    }
    for (section, hashes) in per_section.iter().enumerate() {
        let len = header.lens[section] as usize;
        ensure(
            combine(len, hashes) == header.digests[section],
            "section checksum",
        )?;
    }
    Ok(())
}

fn section_bytes(file: &[u8], start: u64, len: u64) -> Check<&[u8]> {
    let range = usize::try_from(start)
        .ok()
        .zip(usize::try_from(start + len).ok());
    range
        .and_then(|(s, e)| file.get(s..e))
        .ok_or(Invalid("section bounds"))
}

/// The sections as mapped, before their structure is checked.
struct Raw {
    meta: Column<u8>,
    ids: Column<u64>,
    type_of: Column<u32>,
    sizes: Column<u64>,
    refcounts: Column<u32>,
    flags: Column<u8>,
    label_data: Column<u8>,
    label_ends: Column<u32>,
    type_data: Column<u8>,
    type_ends: Column<u32>,
    edge_data: Column<u8>,
    edge_ends: Column<u32>,
    fwd_offsets: Column<u32>,
    fwd_targets: Column<u32>,
    fwd_labels: Column<u32>,
    rev_offsets: Column<u32>,
    rev_targets: Column<u32>,
    by_id: Column<u32>,
    site_of: Column<u32>,
}

impl Raw {
    /// Each section of `map` as a column read in place, in [`SECTION_ELEM`] order (that of
    /// [`Flattened::sections`]).
    fn map(map: &MappedFile, offsets: &[u64; SECTIONS], lens: &[u64; SECTIONS]) -> Check<Raw> {
        let mut section = 0;
        let mut next = || {
            let (at, len) = (offsets[section] as usize, lens[section] as usize);
            section += 1;
            (at, len)
        };
        Ok(Raw {
            meta: column(map, next())?,
            ids: column(map, next())?,
            type_of: column(map, next())?,
            sizes: column(map, next())?,
            refcounts: column(map, next())?,
            flags: column(map, next())?,
            label_data: column(map, next())?,
            label_ends: column(map, next())?,
            type_data: column(map, next())?,
            type_ends: column(map, next())?,
            edge_data: column(map, next())?,
            edge_ends: column(map, next())?,
            fwd_offsets: column(map, next())?,
            fwd_targets: column(map, next())?,
            fwd_labels: column(map, next())?,
            rev_offsets: column(map, next())?,
            rev_targets: column(map, next())?,
            by_id: column(map, next())?,
            site_of: column(map, next())?,
        })
    }

    /// Check the structure the JSON loader guarantees, and assemble the snapshot.
    fn into_snapshot(self, path: &Path) -> Check<Snapshot> {
        let meta: Meta = serde_json::from_slice(&self.meta).map_err(|_| Invalid("meta"))?;
        let types = type_names(text_column(self.type_data, self.type_ends, None)?)?;
        let n = check_objects(&self.ids, &self.type_of, &self.sizes, types.len())?;
        ensure(
            self.refcounts.len() == n && self.flags.len() == n,
            "column lengths",
        )?;
        let labels = text_column(self.label_data, self.label_ends, Some(n))?;
        let edge_texts = strings(&text_column(self.edge_data, self.edge_ends, None)?);
        let fwd = csr(self.fwd_offsets, self.fwd_targets, n)?;
        let rev = csr(self.rev_offsets, self.rev_targets, n)?;
        ensure(rev.targets.len() == fwd.targets.len(), "reverse edge count")?;
        check_label_codes(&self.fwd_labels, fwd.targets.len(), edge_texts.len())?;
        check_by_id(&self.by_id, &self.ids)?;
        let (roots, root_of) = roots(meta.roots, n)?;
        let marks_valid = meta.marks.iter().all(|(_, m)| (*m as usize) < n);
        ensure(marks_valid, "mark node")?;
        let sites = Sites {
            table: meta.sites,
            of: self.site_of,
        };
        ensure(sites.column_is_valid(n), "site index")?;
        Ok(Snapshot {
            path: path.to_path_buf(),
            header: meta.header,
            ids: self.ids,
            type_of: self.type_of,
            sizes: self.sizes,
            refcounts: self.refcounts,
            flags: self.flags,
            labels,
            types,
            fwd,
            fwd_labels: self.fwd_labels,
            edge_texts,
            rev,
            roots,
            root_of,
            marks: meta.marks,
            by_id: self.by_id,
            report: LoadReport {
                dangling_refs: meta.dangling_refs,
                truncated: meta.truncated,
                warnings: meta.warnings,
            },
            sites,
            type_totals: Default::default(),
        })
    }
}

/// The section at `(offset, bytes)` of `map` as a column of its element type.
fn column<T: bytemuck::Pod>(map: &MappedFile, (offset, bytes): (usize, usize)) -> Check<Column<T>> {
    Column::mapped(map, offset, bytes).ok_or(Invalid("section alignment"))
}

/// The object count, checked against the loader's limits; type indexes and sizes in range.
fn check_objects(ids: &[u64], type_of: &[u32], sizes: &[u64], types: usize) -> Check<usize> {
    let n = ids.len();
    ensure(n < INDEX_BIT as usize, "too many objects")?;
    ensure(type_of.len() == n && sizes.len() == n, "column lengths")?;
    let max_size = super::load::MAX_OBJECT_SIZE;
    ensure(sizes.par_iter().all(|&s| s <= max_size), "object size")?;
    let typed = type_of.par_iter().all(|&t| (t as usize) < types);
    ensure(typed, "type index")?;
    Ok(n)
}

/// An arena with its ends: valid UTF-8, ends non-decreasing on character boundaries, the last
/// at the arena's end; `count` entries when given.
fn text_column(data: Column<u8>, ends: Column<u32>, count: Option<usize>) -> Check<TextColumn> {
    ensure(count.is_none_or(|c| ends.len() == c), "text count")?;
    let data = Text::mapped(data).ok_or(Invalid("text not UTF-8"))?;
    ensure(
        ends.last().map_or(0, |&e| e as usize) == data.len(),
        "text length",
    )?;
    let ordered = ends.par_windows(2).all(|w| w[0] <= w[1]);
    ensure(
        ordered && ends.par_iter().all(|&e| data.is_char_boundary(e as usize)),
        "text ends",
    )?;
    Ok(TextColumn { data, ends })
}

/// Every entry of a checked [`TextColumn`], empty ones included.
fn strings(column: &TextColumn) -> Vec<Box<str>> {
    let starts = std::iter::once(0).chain(column.ends.iter().copied());
    starts
        .zip(&column.ends)
        .map(|(s, &e)| column.data[s as usize..e as usize].into())
        .collect()
}

fn type_names(column: TextColumn) -> Check<Vec<TypeName>> {
    ensure(column.ends.len() % 2 == 0, "type names")?;
    let texts = strings(&column);
    let pairs = texts.chunks_exact(2);
    Ok(pairs
        .map(|p| TypeName {
            module: p[0].clone(),
            qualname: p[1].clone(),
        })
        .collect())
}

/// A CSR over `n` nodes: `n + 1` offsets from 0, non-decreasing, ending at the target count;
/// every target a node.
fn csr(offsets: Column<u32>, targets: Column<NodeIx>, n: usize) -> Check<Csr> {
    ensure(
        offsets.len() == n + 1 && offsets.first() == Some(&0),
        "offsets",
    )?;
    ensure(
        offsets.last().map(|&o| o as usize) == Some(targets.len()),
        "offsets end",
    )?;
    ensure(
        offsets.par_windows(2).all(|w| w[0] <= w[1]),
        "offsets order",
    )?;
    ensure(targets.par_iter().all(|&t| (t as usize) < n), "edge target")?;
    Ok(Csr { offsets, targets })
}

fn check_label_codes(codes: &[u32], edges: usize, texts: usize) -> Check<()> {
    ensure(codes.len() == edges, "edge label count")?;
    let valid = |&c: &u32| c == NO_LABEL || c & INDEX_BIT != 0 || (c as usize) < texts;
    ensure(codes.par_iter().all(valid), "edge label code")
}

/// `by_id` must hold every node once, in increasing id order: in range and strictly increasing
/// ids imply both (ids are unique).
fn check_by_id(by_id: &[NodeIx], ids: &[u64]) -> Check<()> {
    ensure(by_id.len() == ids.len(), "by_id length")?;
    ensure(
        by_id.par_iter().all(|&i| (i as usize) < ids.len()),
        "by_id node",
    )?;
    let sorted = by_id
        .par_windows(2)
        .all(|w| ids[w[0] as usize] < ids[w[1] as usize]);
    ensure(sorted, "by_id order")
}

type RootIndex = rustc_hash::FxHashMap<NodeIx, usize>;

fn roots(stored: Vec<StoredRoot>, n: usize) -> Check<(Vec<Root>, RootIndex)> {
    let roots: Vec<Root> = stored.into_iter().map(StoredRoot::into_root).collect();
    let mut root_of = RootIndex::default();
    for (i, root) in roots.iter().enumerate() {
        ensure((root.node as usize) < n, "root node")?;
        ensure(root_of.insert(root.node, i).is_none(), "root twice")?;
    }
    Ok((roots, root_of))
}

#[cfg(test)]
pub(crate) mod tests;
