//! The snapshot parser: lines (from [`super::read`]) → validated records (in parallel over
//! lines) → [`Snapshot`].
//!
//! Everything in the file is untrusted: every count, index and length is checked against the
//! data actually present before it is used, so a lying file gives a one-line error, not a panic
//! or a huge allocation.

use super::binary::decode::Objects;
use super::binary::MAGIC;
use super::format::{
    Header, ObjectsRecord, Record, RecordError, SitesRecord, TypesRecord, FLAG_INDEXED,
    FORMAT_MAJOR, FORMAT_MINOR, FORMAT_NAME,
};
use super::graph::{
    Csr, NodeIx, ObjectId, Root, RootKind, Snapshot, TypeName, INDEX_BIT, NO_LABEL,
};
use super::id_index::{IdIndex, NO_NODE};
use super::id_order;
use super::id_rank::{IdRanks, Near};
use super::index::Index;
use super::read::{
    describe_io, split_lines, Input, LineBatches, LineError, EMPTY_FILE, MAX_LINE_BYTES,
};
use super::sites::{Frame, MAX_FRAMES, NO_SITE};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Longest object or edge label kept, in bytes. The dumper's labels stay under it (80
/// characters of a value, each at most 10 bytes as an escape like `\U0001f600`, or 100 of a
/// name); longer ones come from a hostile file and are cut, so that a 10 MB label does not
/// cost 10 MB per copy downstream.
const MAX_LABEL_BYTES: usize = 1024;
/// Object labels live in one arena indexed by `u32` offsets.
const MAX_LABEL_ARENA: usize = u32::MAX as usize;
/// Sizes above this (256 TiB) cannot be real objects.
pub(super) const MAX_OBJECT_SIZE: u64 = 1 << 48;

/// A snapshot that cannot be loaded: names the file and, where it applies, the line.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct LoadError {
    /// The snapshot file.
    pub path: PathBuf,
    /// 1-based line number, when the problem is in one line.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl LoadError {
    pub(super) fn file(path: &Path, message: impl Into<String>) -> Self {
        LoadError {
            path: path.to_path_buf(),
            line: None,
            message: message.into(),
        }
    }
    pub(super) fn at(path: &Path, line: usize, message: impl Into<String>) -> Self {
        LoadError {
            path: path.to_path_buf(),
            line: Some(line),
            message: message.into(),
        }
    }
}

/// Load a snapshot file (plain or gzip-compressed JSON lines, or a pipe streaming them), from
/// its binary index when it has a valid one (see [`super::index`]).
pub fn load(path: &Path) -> Result<Snapshot, LoadError> {
    load_using(path, Index::for_snapshot(path).as_ref())
}

/// Load from `index` if it reads back valid, else parse the JSON and save the index.
pub(super) fn load_using(path: &Path, index: Option<&Index>) -> Result<Snapshot, LoadError> {
    if let Some(snap) = index.and_then(Index::read) {
        return Ok(snap);
    }
    let discarding = index.and_then(Index::discard_stale);
    let snap = read_snapshot(path);
    if let Some(thread) = discarding {
        let _ = thread.join();
    }
    let snap = snap?;
    if let Some(index) = index {
        index.save(&snap);
    }
    Ok(snap)
}

/// Parse the snapshot at `path`, streamed in batches: neither the file nor its gzip
/// expansion is ever held whole. A file that changes while it is read (rewritten in place,
/// truncated) is reported as such, whatever the parse made of the mix. (Plain `read`s, not a
/// memory map: a map of a file truncated underneath kills the process with SIGBUS.)
fn read_snapshot(path: &Path) -> Result<Snapshot, LoadError> {
    let input = Input::open(path)?;
    let parsed = parse_input(path, &input);
    input.check_unchanged(path, parsed.is_ok())?;
    parsed
}

fn parse_input(path: &Path, input: &Input) -> Result<Snapshot, LoadError> {
    let text = input
        .text()
        .map_err(|e| LoadError::file(path, describe_io(&e)))?;
    let read_error = text.gzip.then_some("corrupt gzip data");
    let empty = input.empty_message();
    let mut reader = text.reader;
    let mut start = Vec::with_capacity(MAGIC.len());
    (&mut reader)
        .take(MAGIC.len() as u64)
        .read_to_end(&mut start)
        .map_err(|e| line_error(path, LineError::Io(e), read_error))?;
    let whole = std::io::Cursor::new(start).chain(reader);
    if whole.get_ref().0.get_ref().as_slice() == MAGIC {
        return super::binary::read::parse_stream(path, whole, read_error);
    }
    parse_stream(path, whole, text.end_hint, read_error, empty)
}

/// Parse snapshot text already in memory. `path` is used in messages only.
pub fn parse_snapshot(path: &Path, bytes: &[u8]) -> Result<Snapshot, LoadError> {
    if super::binary::is_binary(bytes) {
        return super::binary::read::parse_stream(path, bytes, None);
    }
    let tail = &bytes[bytes.len().saturating_sub(4096)..];
    let end_hint = split_lines(tail, 1)
        .last()
        .map(|&(_, l)| (l.to_vec(), bytes.len() as u64));
    parse_stream(path, bytes, end_hint, None, EMPTY_FILE)
}

/// Parse the snapshot text `reader` yields, batch by batch. `end_hint`: the file's last line
/// and its length, to reserve the columns the end record announces. `read_error` prefixes
/// read errors (a gzip stream's "corrupt gzip data"); `empty` says there was nothing.
fn parse_stream(
    path: &Path,
    reader: impl Read + Send,
    end_hint: Option<(Vec<u8>, u64)>,
    read_error: Option<&str>,
    empty: &str,
) -> Result<Snapshot, LoadError> {
    let read_err = |e: LineError| line_error(path, e, read_error);
    // The next batch is read while this one is parsed: a pipe's writer (the objgraph
    // drop-in's dump, streamed to the engine) then never waits for the parse, nor the parse
    // for a slow disk. One batch ahead: the batch parsed, one waiting, one being read.
    let (ahead, batches) = std::sync::mpsc::sync_channel(1);
    std::thread::scope(|scope| {
        let reading = std::thread::Builder::new().spawn_scoped(scope, move || {
            let mut lines = LineBatches::new(reader);
            loop {
                let next = match lines.next_batch() {
                    Ok(Some(batch)) => Ok(batch),
                    Ok(None) => return,
                    Err(e) => Err(e),
                };
                let failed = next.is_err();
                // a send fails when the parse has stopped (an error): so does the reading
                if ahead.send(next).is_err() || failed {
                    return;
                }
            }
        });
        if let Err(e) = reading {
            return Err(LoadError::file(
                path,
                format!("cannot start a thread to read it: {e}"),
            ));
        }
        parse_batches(path, batches, end_hint, read_err, empty)
    })
}

/// `parse_stream`'s consumer: the batches as the read-ahead thread sends them (the channel
/// closes at the end of the input, after an error, or if the thread died).
fn parse_batches(
    path: &Path,
    batches: std::sync::mpsc::Receiver<Result<super::read::Batch, LineError>>,
    end_hint: Option<(Vec<u8>, u64)>,
    read_err: impl Fn(LineError) -> LoadError,
    empty: &str,
) -> Result<Snapshot, LoadError> {
    let mut builder: Option<Builder<'_>> = None;
    for batch in batches {
        let batch = batch.map_err(&read_err)?;
        let lines = split_lines(&batch.text, batch.first_line);
        let mut rest = &lines[..];
        let b = match &mut builder {
            Some(b) => b,
            None => {
                let Some((&(no, first), after)) = rest.split_first() else {
                    continue;
                };
                let mut b = Builder::new(path, parse_header(path, no, first)?);
                if let Some((line, len)) = &end_hint {
                    b.reserve(line, *len);
                }
                rest = after;
                builder.insert(b)
            }
        };
        add_batch(b, rest, batch.unterminated)?;
    }
    match builder {
        Some(b) => b.finish(),
        None => Err(LoadError::file(path, empty)),
    }
}

pub(super) fn line_error(path: &Path, e: LineError, read_error: Option<&str>) -> LoadError {
    match e {
        LineError::Io(e) => LoadError::file(
            path,
            match read_error {
                Some(what) => format!("{what}: {e}"),
                None => describe_io(&e),
            },
        ),
        LineError::TooLong(line) => LoadError::at(
            path,
            line,
            format!(
                "a line longer than {} MiB; not a snapshot line",
                MAX_LINE_BYTES >> 20
            ),
        ),
        LineError::Control(line) => LoadError::at(
            path,
            line,
            "holds control bytes that JSON text never has; not a snapshot",
        ),
    }
}

/// Parse a batch of lines on all cores, then add the records in file order. `unterminated`:
/// the last line ends the input without a newline, so a parse error there is a cut, not a lie.
fn add_batch(
    b: &mut Builder<'_>,
    lines: &[(usize, &[u8])],
    unterminated: bool,
) -> Result<(), LoadError> {
    let parsed: Vec<Result<Record<'_>, String>> = lines
        .par_iter()
        .map(|&(_, line)| Record::parse(line).map_err(|e| record_error(&e, line)))
        .collect();
    let last = lines.len().saturating_sub(1);
    for (i, (record, &(line_no, _))) in parsed.into_iter().zip(lines).enumerate() {
        match record {
            Ok(r) => b.add(line_no, r)?,
            Err(e) if i == last && unterminated => {
                b.warn(format!(
                    "line {line_no}: the last record is cut short ({e}); loaded what came before"
                ));
                b.report.truncated = true;
            }
            Err(e) => return Err(LoadError::at(b.path, line_no, e)),
        }
    }
    Ok(())
}

fn record_error(e: &RecordError, line: &[u8]) -> String {
    match e {
        RecordError::Json(e) => json_error(e, line),
        RecordError::UnknownKind(kind) => format!("unknown record kind '{kind}'"),
    }
}

/// serde_json's message with its position made file-relative: every record is one line, so
/// "at line 1 column 56" becomes "(column 56)". What Python's json writes but JSON has no
/// word for (`NaN`, `Infinity`) is named.
fn json_error(e: &serde_json::Error, line: &[u8]) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let Some(message) = text.strip_suffix(&suffix) else {
        return text;
    };
    let at = line.get(e.column().saturating_sub(1)..).unwrap_or_default();
    let not_json = ["NaN", "Infinity", "-Infinity"]
        .into_iter()
        .find(|word| at.starts_with(word.as_bytes()));
    match not_json {
        Some(word) => format!("{word} is not JSON (column {})", e.column()),
        None => format!("{message} (column {})", e.column()),
    }
}

pub(super) fn parse_header(path: &Path, line_no: usize, line: &[u8]) -> Result<Header, LoadError> {
    let not_snapshot = || LoadError::file(path, "not a refgraph snapshot (no header line)");
    if let Some(problem) = encoding_problem(line) {
        return Err(LoadError::at(path, line_no, problem));
    }
    let value: serde_json::Value = match serde_json::from_slice(line) {
        Ok(value) => value,
        Err(e) if looks_like_header(line) => {
            let why = json_error(&e, line);
            return Err(LoadError::at(path, line_no, format!("bad header: {why}")));
        }
        Err(_) => return Err(not_snapshot()),
    };
    let obj = value.as_object().ok_or_else(not_snapshot)?;
    if obj.get("kind").and_then(|k| k.as_str()) != Some("header")
        || obj.get("format").and_then(|f| f.as_str()) != Some(FORMAT_NAME)
    {
        return Err(not_snapshot());
    }
    let header: Header = serde_json::from_value(value)
        .map_err(|e| LoadError::at(path, line_no, format!("bad header: {e}")))?;
    let (major, minor) = header.version;
    if major != FORMAT_MAJOR {
        return Err(LoadError::file(
            path,
            format!(
                "snapshot format {major}.{minor} is not supported (this refgraph reads {FORMAT_MAJOR}.x, up to {FORMAT_MAJOR}.{FORMAT_MINOR})"
            ),
        ));
    }
    Ok(header)
}

/// A first line in an encoding other than plain UTF-8 JSON text.
fn encoding_problem(line: &[u8]) -> Option<&'static str> {
    if line.starts_with(b"\xef\xbb\xbf") {
        Some("starts with a byte-order mark")
    } else if line.starts_with(b"\xff\xfe") || line.starts_with(b"\xfe\xff") {
        Some("is UTF-16 text; a snapshot is UTF-8")
    } else {
        None
    }
}

/// A line meant as the header (an object naming the format or the header kind) that does not
/// parse gets the parser's reason; anything else is simply not a snapshot.
fn looks_like_header(line: &[u8]) -> bool {
    let finder = |word: &str| memchr::memmem::find(line, word.as_bytes()).is_some();
    line.starts_with(b"{") && (finder(FORMAT_NAME) || finder("\"header\""))
}

/// Accumulates records in file order, checking each, then builds the [`Snapshot`]. Both
/// formats feed it (JSON lines here, binary blocks in [`super::binary::read`]), so a snapshot
/// loads the same whichever format it was written in.
pub(super) struct Builder<'p> {
    path: &'p Path,
    /// What a record's position is called in messages: `line` or `block`.
    unit: &'static str,
    snap: Snapshot,
    pub(super) report: super::graph::LoadReport,
    raw_nrefs: Vec<u32>,
    /// One per reference: its node number (a ref-nodes block), or [`NO_NODE`] until its id
    /// (in `raw_ids`) is looked up. Grown only as far as the last ref-nodes block: a file of
    /// ids allocates it after the by-id sort has freed its buffers, not at the peak.
    raw_targets: Vec<NodeIx>,
    /// References so far.
    refs_total: usize,
    /// The ids of the references given as ids, in order.
    raw_ids: Vec<u64>,
    /// The runs of `raw_targets` given as ids: `(start, end)`, in order.
    id_runs: Vec<(usize, usize)>,
    /// The runs of `raw_targets` given as node numbers, to check against the object count:
    /// `(start, end, block)`.
    node_runs: Vec<(usize, usize, usize)>,
    raw_labels: Vec<u32>,
    label_ids: FxHashMap<Box<str>, u32>,
    root_ids: Vec<(u64, RootKind, usize)>,
    mark_ids: Vec<(String, u64, usize)>,
    end_objects: Option<(u64, usize)>,
}

impl<'p> Builder<'p> {
    pub(super) fn new(path: &'p Path, header: Header) -> Self {
        let snap = Snapshot {
            path: path.to_path_buf(),
            header,
            ..Snapshot::default()
        };
        Builder {
            path,
            unit: "line",
            snap,
            report: Default::default(),
            raw_nrefs: Vec::new(),
            raw_targets: Vec::new(),
            refs_total: 0,
            raw_ids: Vec::new(),
            id_runs: Vec::new(),
            node_runs: Vec::new(),
            raw_labels: Vec::new(),
            label_ids: FxHashMap::default(),
            root_ids: Vec::new(),
            mark_ids: Vec::new(),
            end_objects: None,
        }
    }

    /// Reserve the columns for the objects and references the end record announces, when the
    /// file is big enough to hold them: a lying count must not allocate (an object takes at
    /// least 12 bytes of text, a reference 2). Growing by doubling instead would cost up to
    /// twice the memory at the peak.
    fn reserve(&mut self, last: &[u8], file_len: u64) {
        let file_len = usize::try_from(file_len).unwrap_or(usize::MAX);
        let Ok(Record::End(end)) = Record::parse(last) else {
            return;
        };
        let objects = usize::try_from(end.objects).unwrap_or(usize::MAX);
        let edges = usize::try_from(end.edges.unwrap_or(0)).unwrap_or(usize::MAX);
        if objects > file_len / 12 || edges > file_len / 2 {
            return;
        }
        let s = &mut self.snap;
        s.ids.to_mut().reserve_exact(objects);
        s.type_of.to_mut().reserve_exact(objects);
        s.sizes.to_mut().reserve_exact(objects);
        s.refcounts.to_mut().reserve_exact(objects);
        s.flags.to_mut().reserve_exact(objects);
        s.labels.ends.to_mut().reserve_exact(objects);
        self.raw_nrefs.reserve_exact(objects);
        self.raw_ids.reserve_exact(edges);
        self.raw_labels.reserve_exact(edges);
    }

    /// Positions are block numbers, not lines.
    pub(super) fn in_blocks(&mut self) {
        self.unit = "block";
    }

    pub(super) fn warn(&mut self, message: String) {
        self.report.warnings.push(message);
    }

    pub(super) fn add(&mut self, line: usize, record: Record<'_>) -> Result<(), LoadError> {
        if self.end_objects.is_some() {
            return Err(LoadError::at(
                self.path,
                line,
                "record after the end record",
            ));
        }
        match record {
            Record::Header(_) => Err(LoadError::at(self.path, line, "a second header")),
            Record::Types(t) => self.add_types(line, t),
            Record::Sites(t) => self.add_sites(line, t),
            Record::Objects(o) => self.add_objects(line, o),
            Record::Root(r) => {
                let kind = RootKind::Module { name: r.name };
                self.root_ids.push((r.id, kind, line));
                Ok(())
            }
            Record::Thread(t) => {
                let thread = t.name.unwrap_or_else(|| "?".into());
                for (depth, id) in t.frames.into_iter().enumerate() {
                    let kind = RootKind::ThreadFrame {
                        thread: thread.clone(),
                        depth,
                    };
                    self.root_ids.push((id, kind, line));
                }
                Ok(())
            }
            Record::Mark(m) => {
                self.mark_ids.push((m.name, m.id, line));
                Ok(())
            }
            Record::End(e) => {
                self.end_objects = Some((e.objects, line));
                Ok(())
            }
        }
    }

    pub(super) fn add_types(&mut self, line: usize, t: TypesRecord<'_>) -> Result<(), LoadError> {
        let have = self.snap.types.len() as u64;
        if t.base != have {
            return Err(LoadError::at(
                self.path,
                line,
                format!(
                    "types base {} does not follow the {have} types defined before",
                    t.base
                ),
            ));
        }
        for (module, qualname) in t.names {
            self.snap.types.push(TypeName {
                module: cut(&module).into(),
                qualname: cut(&qualname).into(),
            });
        }
        Ok(())
    }

    pub(super) fn add_sites(&mut self, line: usize, t: SitesRecord<'_>) -> Result<(), LoadError> {
        let bad = |m: String| LoadError::at(self.path, line, m);
        let table = &mut self.snap.sites.table;
        if t.base != table.len() as u64 {
            return Err(bad(format!(
                "sites base {} does not follow the {} sites defined before",
                t.base,
                table.len()
            )));
        }
        for (k, frames) in t.sites.into_iter().enumerate() {
            let site = t.base + k as u64;
            table.push(site_frames(site, frames).map_err(bad)?);
        }
        Ok(())
    }

    /// The site column of an objects record: each index must name a site defined before.
    fn add_site_column(&mut self, line: usize, o: &ObjectsRecord<'_>) -> Result<(), LoadError> {
        let Some(column) = &o.site else {
            return Ok(());
        };
        self.push_sites(line, column.iter().copied(), &o.id)
    }

    /// The site column of a binary objects block (0 unknown, `k + 1` site `k`), whose objects
    /// (ids `ids`) were just added.
    pub(super) fn add_binary_sites(
        &mut self,
        block: usize,
        column: Option<&[u64]>,
        ids: &[u64],
    ) -> Result<(), LoadError> {
        let Some(column) = column else {
            return Ok(());
        };
        let sites = column.iter().map(|&s| s.checked_sub(1));
        self.push_sites(block, sites, ids)
    }

    /// Each site index must name a site defined before; `ids` are the objects', for errors.
    fn push_sites(
        &mut self,
        line: usize,
        column: impl Iterator<Item = Option<u64>>,
        ids: &[u64],
    ) -> Result<(), LoadError> {
        let sites = &mut self.snap.sites;
        let before = self.snap.ids.len() - ids.len();
        sites.of.to_mut().resize(before, NO_SITE);
        for (i, s) in column.enumerate() {
            match s {
                None => sites.of.push(NO_SITE),
                Some(s) if s < sites.table.len() as u64 => sites.of.push(s as u32),
                Some(s) => {
                    let id = ids.get(i).copied().unwrap_or_default();
                    return Err(LoadError::at(
                        self.path,
                        line,
                        format!(
                            "object {id:#x} has site index {s}, but only {} sites are defined",
                            sites.table.len()
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    fn add_objects(&mut self, line: usize, o: ObjectsRecord<'_>) -> Result<(), LoadError> {
        check_columns(&o).map_err(|m| LoadError::at(self.path, line, m))?;
        let columns = ObjectColumns {
            ids: &o.id,
            types: &o.type_index,
            sizes: &o.size,
            refcounts: &o.refcount,
            flags: &o.flags,
            labels: &o.label,
        };
        self.push_objects(line, columns)?;
        self.add_site_column(line, &o)?;
        let mut labels = o.edge_labels.iter();
        let mut refs_at = 0usize;
        for i in 0..o.id.len() {
            let n = o.nrefs[i] as usize;
            if o.flags[i] & FLAG_INDEXED != 0 {
                self.raw_labels
                    .extend((0..n as u32).map(|k| INDEX_BIT | k.min(!INDEX_BIT)));
            } else {
                for _ in 0..n {
                    let label = labels.next().and_then(|l| l.as_deref());
                    let code = self.intern_edge_label(label);
                    self.raw_labels.push(code);
                }
            }
            self.raw_nrefs.push(n as u32);
            refs_at += n;
        }
        RefColumns {
            total: &mut self.refs_total,
            targets: &mut self.raw_targets,
            ids: &mut self.raw_ids,
            id_runs: &mut self.id_runs,
            node_runs: &mut self.node_runs,
        }
        .push_ids(&o.refs[..refs_at]);
        Ok(())
    }

    /// Check and add a block's objects, one column at a time: every type index and size
    /// first (the first bad object is the error), then each column appended whole.
    fn push_objects<L: AsRef<str>>(
        &mut self,
        line: usize,
        o: ObjectColumns<'_, L>,
    ) -> Result<(), LoadError> {
        self.check_objects(line, o.ids, o.types, o.sizes)?;
        self.push_labels(line, o.labels)?;
        let s = &mut self.snap;
        s.ids.to_mut().extend_from_slice(o.ids);
        s.type_of.to_mut().extend(o.types.iter().map(|&t| t as u32));
        s.sizes.to_mut().extend_from_slice(o.sizes);
        push_refcounts(s.refcounts.to_mut(), o.refcounts);
        s.flags.to_mut().extend_from_slice(o.flags);
        Ok(())
    }

    /// Every type index must name a type defined before, every size be possible.
    fn check_objects(
        &self,
        line: usize,
        ids: &[u64],
        types: &[u64],
        sizes: &[u64],
    ) -> Result<(), LoadError> {
        let defined = self.snap.types.len() as u64;
        let bad = (0..ids.len()).find(|&i| types[i] >= defined || sizes[i] > MAX_OBJECT_SIZE);
        let Some(i) = bad else { return Ok(()) };
        let (id, type_index, size) = (ids[i], types[i], sizes[i]);
        let message = if type_index >= defined {
            format!(
                "object {id:#x} has type index {type_index}, but only {defined} types are defined"
            )
        } else {
            format!("object {id:#x} has an impossible size {size}")
        };
        Err(LoadError::at(self.path, line, message))
    }

    /// Append the labels (each cut to [`MAX_LABEL_BYTES`]) to the label arena.
    fn push_labels<L: AsRef<str>>(
        &mut self,
        line: usize,
        labels: &[Option<L>],
    ) -> Result<(), LoadError> {
        let column = &mut self.snap.labels;
        let (data, ends) = (column.data.to_mut(), column.ends.to_mut());
        ends.reserve(labels.len());
        for label in labels {
            if let Some(label) = label {
                let label = cut(label.as_ref());
                if data.len() + label.len() > MAX_LABEL_ARENA {
                    return Err(LoadError::at(
                        self.path,
                        line,
                        "object labels add up to more than 4 GiB",
                    ));
                }
                data.push_str(&label);
            }
            ends.push(data.len() as u32);
        }
        Ok(())
    }

    /// Add binary objects blocks that follow each other in the file, `(block number,
    /// objects)` in file order (columns checked against each other by the decoder). `codes`
    /// maps the file's edge-label table to this snapshot's. Every block is checked first, in
    /// file order (the first bad one is the error); then the columns are appended on all
    /// cores, a few columns a task, each through every block: appending was a single-core
    /// copy into fresh memory, the better part of a first load.
    pub(super) fn add_binary_objects(
        &mut self,
        blocks: &[(usize, &Objects<'_>)],
        codes: &[u32],
    ) -> Result<(), LoadError> {
        // Allocation sites (a dump under tracemalloc) are checked as they are added: a block
        // at a time, so that the first bad block is still the error.
        if blocks.len() > 1 && blocks.iter().any(|(_, o)| o.sites.is_some()) {
            return blocks
                .iter()
                .try_for_each(|b| self.add_binary_objects(std::slice::from_ref(b), codes));
        }
        let mut label_bytes = self.snap.labels.data.len();
        for &(block, o) in blocks {
            self.check_objects(block, &o.ids, &o.types, &o.sizes)?;
            label_bytes += o
                .labels
                .iter()
                .flatten()
                .map(|l| cut(l).len())
                .sum::<usize>();
            if label_bytes > MAX_LABEL_ARENA {
                return Err(LoadError::at(
                    self.path,
                    block,
                    "object labels add up to more than 4 GiB",
                ));
            }
            if let Some(&k) = o.edge_labels.iter().find(|&&k| k > codes.len() as u64) {
                let defined = codes.len();
                return Err(LoadError::at(
                    self.path,
                    block,
                    format!("edge label {k}, but only {defined} edge labels are defined"),
                ));
            }
            if o.ref_nodes {
                if let Some(&node) = o.refs.iter().find(|&&r| r >= u64::from(INDEX_BIT)) {
                    return Err(LoadError::at(
                        self.path,
                        block,
                        format!(
                            "a reference to node {node}, past the 2^31 objects a snapshot can hold"
                        ),
                    ));
                }
            }
        }
        self.append_objects(blocks, codes);
        match blocks {
            [(block, o)] => self.add_binary_sites(*block, o.sites.as_deref(), &o.ids),
            _ => Ok(()),
        }
    }

    /// Append checked blocks' columns, on all cores.
    fn append_objects(&mut self, blocks: &[(usize, &Objects<'_>)], codes: &[u32]) {
        let s = &mut self.snap;
        let (ids, sizes) = (s.ids.to_mut(), s.sizes.to_mut());
        let (types, refcounts, flags) =
            (s.type_of.to_mut(), s.refcounts.to_mut(), s.flags.to_mut());
        let labels = &mut s.labels;
        let (raw_labels, raw_nrefs) = (&mut self.raw_labels, &mut self.raw_nrefs);
        let mut refs = RefColumns {
            total: &mut self.refs_total,
            targets: &mut self.raw_targets,
            ids: &mut self.raw_ids,
            id_runs: &mut self.id_runs,
            node_runs: &mut self.node_runs,
        };
        let each = || blocks.iter().map(|&(_, o)| o);
        rayon::scope(|scope| {
            scope.spawn(|_| each().for_each(|o| ids.extend_from_slice(&o.ids)));
            scope.spawn(|_| each().for_each(|o| sizes.extend_from_slice(&o.sizes)));
            scope.spawn(|_| {
                for o in each() {
                    types.extend(o.types.iter().map(|&t| t as u32));
                    push_refcounts(refcounts, &o.refcounts);
                    flags.extend_from_slice(&o.flags);
                }
            });
            scope.spawn(|_| {
                for o in each() {
                    for label in &o.labels {
                        labels.push(label.map(cut).as_deref());
                    }
                }
            });
            scope.spawn(|_| {
                for o in each() {
                    push_edge_labels(raw_labels, raw_nrefs, o, codes);
                }
            });
            scope.spawn(|_| {
                for &(block, o) in blocks {
                    refs.push(block, o);
                }
            });
        });
    }

    pub(super) fn intern_edge_label(&mut self, label: Option<&str>) -> u32 {
        let Some(label) = label else { return NO_LABEL };
        let label = cut(label);
        if let Some(&code) = self.label_ids.get(label.as_ref()) {
            return code;
        }
        let code = self.snap.edge_texts.len() as u32;
        self.snap.edge_texts.push(label.as_ref().into());
        self.label_ids.insert(label.into(), code);
        code
    }

    pub(super) fn finish(mut self) -> Result<Snapshot, LoadError> {
        self.check_end()?;
        let n = self.snap.ids.len();
        if n >= INDEX_BIT as usize || self.refs_total >= u32::MAX as usize {
            return Err(LoadError::file(
                self.path,
                "too many objects or references (limit 2^31)",
            ));
        }
        if !self.snap.sites.of.is_empty() {
            self.snap.sites.of.to_mut().resize(n, NO_SITE);
        }
        let ids = std::mem::take(&mut self.snap.ids);
        let lookup = self.id_lookup(&ids);
        let built = lookup.and_then(|lookup| {
            let built = self.build_forward(ids.len(), &lookup);
            self.snap.by_id = lookup.into_by_id().into();
            built
        });
        self.snap.ids = ids;
        built?;
        self.snap.rev = self.snap.fwd.reversed(n);
        self.resolve_roots();
        self.resolve_marks();
        if self.report.dangling_refs > 0 {
            let d = self.report.dangling_refs;
            self.warn(format!(
                "{d} references point to objects that are not in the snapshot"
            ));
        }
        self.snap.report = self.report;
        Ok(self.snap)
    }

    fn check_end(&mut self) -> Result<(), LoadError> {
        match self.end_objects {
            Some((count, line)) if count != self.snap.ids.len() as u64 => Err(LoadError::at(
                self.path,
                line,
                format!(
                    "the end record counts {count} objects, but the file holds {}",
                    self.snap.ids.len()
                ),
            )),
            Some(_) => Ok(()),
            None if self.snap.ids.is_empty() => Err(LoadError::file(
                self.path,
                "holds no objects: the dump was cut short after the header",
            )),
            None => {
                if !self.report.truncated {
                    self.warn(
                        "no end record: the snapshot was cut short; loaded what it holds".into(),
                    );
                }
                self.report.truncated = true;
                Ok(())
            }
        }
    }

    /// How referenced ids are found, and the by-id order (which finds repeated ids): a
    /// bitmap of the ids where they are dense (addresses), else a sort and a hash index, each
    /// on a core (the index only when some reference is an id).
    fn id_lookup<'i>(&self, ids: &'i [u64]) -> Result<IdLookup<'i>, LoadError> {
        let twice =
            |id: u64| LoadError::file(self.path, format!("object id {id:#x} is recorded twice"));
        if let Some(ranks) = IdRanks::new(ids).map_err(twice)? {
            let by_id = ranks.by_id(ids);
            return Ok(IdLookup::Ranked { ranks, by_id });
        }
        let need_index = !self.raw_ids.is_empty();
        let (by_id, index) = rayon::join(
            || id_order::by_id(ids),
            || need_index.then(|| IdIndex::new(ids)),
        );
        Ok(IdLookup::Hashed {
            by_id: by_id.map_err(twice)?,
            index,
            ids,
        })
    }

    /// The forward CSR from the raw references (ids through `lookup`, node numbers of
    /// ref-nodes runs checked against the `n` objects), leaving out references to ids no
    /// object has.
    fn build_forward(&mut self, n: usize, lookup: &IdLookup<'_>) -> Result<(), LoadError> {
        let mut resolved = std::mem::take(&mut self.raw_targets);
        resolved.resize(self.refs_total, NO_NODE);
        let raw = std::mem::take(&mut self.raw_ids);
        let mut at = 0;
        for (start, end) in std::mem::take(&mut self.id_runs) {
            lookup.resolve(&raw[at..at + (end - start)], &mut resolved[start..end]);
            at += end - start;
        }
        drop(raw);
        for (start, end, block) in std::mem::take(&mut self.node_runs) {
            self.check_nodes(n, block, &mut resolved[start..end])?;
        }
        let dangling = resolved.par_iter().filter(|&&r| r == NO_NODE).count();
        // The counts become the offsets in place (each object's start, then the end): no
        // second column of 4 bytes an object to fault in.
        let mut offsets = std::mem::take(&mut self.raw_nrefs);
        let (targets, labels) = if dangling == 0 {
            let mut at = 0u32;
            for count in offsets.iter_mut() {
                (*count, at) = (at, at + *count);
            }
            offsets.push(at);
            (resolved, std::mem::take(&mut self.raw_labels))
        } else {
            let mut targets = Vec::with_capacity(resolved.len() - dangling);
            let mut labels = Vec::with_capacity(resolved.len() - dangling);
            let mut at = 0usize;
            for count in offsets.iter_mut() {
                let end = at + *count as usize;
                *count = targets.len() as u32;
                for (&target, &label) in resolved[at..end].iter().zip(&self.raw_labels[at..end]) {
                    if target != NO_NODE {
                        targets.push(target);
                        labels.push(label);
                    }
                }
                at = end;
            }
            offsets.push(targets.len() as u32);
            self.raw_labels = Vec::new();
            (targets, labels)
        };
        self.report.dangling_refs += dangling as u64;
        self.snap.fwd = Csr {
            offsets: offsets.into(),
            targets: targets.into(),
        };
        self.snap.fwd_labels = labels.into();
        Ok(())
    }

    /// Node numbers from a ref-nodes column, checked against the `n` objects the file
    /// holds. In a file cut short, one past them refers to an object that was cut off:
    /// dangling.
    fn check_nodes(&self, n: usize, block: usize, nodes: &mut [NodeIx]) -> Result<(), LoadError> {
        let n = n as NodeIx;
        let Some(&first) = nodes.iter().find(|&&r| r >= n) else {
            return Ok(());
        };
        if !self.report.truncated {
            return Err(LoadError::at(
                self.path,
                block,
                format!("a reference to node {first}, but the file holds {n} objects"),
            ));
        }
        for r in nodes.iter_mut().filter(|r| **r >= n) {
            *r = NO_NODE;
        }
        Ok(())
    }

    fn resolve_roots(&mut self) {
        for (id, kind, line) in std::mem::take(&mut self.root_ids) {
            match self.snap.node_by_id(ObjectId(id)) {
                Some(node) if !self.snap.root_of.contains_key(&node) => {
                    self.snap.root_of.insert(node, self.snap.roots.len());
                    self.snap.roots.push(Root { node, kind });
                }
                Some(_) => {}
                None => self.warn(format!(
                    "{} {line}: root {id:#x} has no object record",
                    self.unit
                )),
            }
        }
    }

    fn resolve_marks(&mut self) {
        for (name, id, line) in std::mem::take(&mut self.mark_ids) {
            match self.snap.node_by_id(ObjectId(id)) {
                Some(node) => self.snap.marks.push((name, node)),
                None => self.warn(format!(
                    "{} {line}: mark '{name}' ({id:#x}) has no object record",
                    self.unit
                )),
            }
        }
    }
}

/// Refcounts as kept: clamped to `0 ..= u32::MAX`.
fn push_refcounts(column: &mut Vec<u32>, refcounts: &[i64]) {
    column.extend(
        refcounts
            .iter()
            .map(|&r| r.clamp(0, u32::MAX as i64) as u32),
    );
}

/// A binary block's edge-label codes as this snapshot's (`codes`, checked to cover them), and
/// its reference counts. The references of an object with the indexed flag are labelled by
/// their position.
fn push_edge_labels(
    raw_labels: &mut Vec<u32>,
    raw_nrefs: &mut Vec<u32>,
    o: &Objects<'_>,
    codes: &[u32],
) {
    let mut labels = o.edge_labels.iter();
    for (&n, &flags) in o.nrefs.iter().zip(&o.flags) {
        if flags & FLAG_INDEXED != 0 {
            raw_labels.extend((0..n as u32).map(|k| INDEX_BIT | k.min(!INDEX_BIT)));
        } else {
            raw_labels.extend(labels.by_ref().take(n as usize).map(|&code| match code {
                0 => NO_LABEL,
                k => codes.get(k as usize - 1).copied().unwrap_or(NO_LABEL),
            }));
        }
        raw_nrefs.push(n as u32);
    }
}

/// The builder's reference columns, borrowed together: references as node numbers go to
/// `targets` at once, references as ids to `ids`, looked up when every object is known.
struct RefColumns<'b> {
    /// References so far.
    total: &'b mut usize,
    targets: &'b mut Vec<NodeIx>,
    ids: &'b mut Vec<u64>,
    id_runs: &'b mut Vec<(usize, usize)>,
    node_runs: &'b mut Vec<(usize, usize, usize)>,
}

impl RefColumns<'_> {
    /// A binary block's references (node numbers checked below 2^31).
    fn push(&mut self, block: usize, o: &Objects<'_>) {
        if !o.ref_nodes {
            self.push_ids(&o.refs);
            return;
        }
        let start = *self.total;
        self.targets.resize(start, NO_NODE);
        self.targets.extend(o.refs.iter().map(|&r| r as NodeIx));
        *self.total = self.targets.len();
        self.node_runs.push((start, *self.total, block));
    }

    fn push_ids(&mut self, refs: &[u64]) {
        let start = *self.total;
        let end = start + refs.len();
        self.ids.extend_from_slice(refs);
        *self.total = end;
        match self.id_runs.last_mut() {
            Some(run) if run.1 == start => run.1 = end,
            _ => self.id_runs.push((start, end)),
        }
    }
}

/// One block's object columns, of equal lengths (checked by the record's decoder).
struct ObjectColumns<'c, L> {
    ids: &'c [u64],
    types: &'c [u64],
    sizes: &'c [u64],
    refcounts: &'c [i64],
    flags: &'c [u8],
    labels: &'c [Option<L>],
}

/// How a load finds the node of a referenced id, with the by-id order.
enum IdLookup<'i> {
    /// The node at the id's rank in the by-id order.
    Ranked { ranks: IdRanks, by_id: Vec<NodeIx> },
    /// A hash index of the id column (`None` when no reference is an id).
    Hashed {
        index: Option<IdIndex>,
        ids: &'i [u64],
        by_id: Vec<NodeIx>,
    },
}

impl IdLookup<'_> {
    /// Ids → node numbers ([`NO_NODE`] for an id no object has), on all cores.
    fn resolve(&self, refs: &[u64], out: &mut [NodeIx]) {
        const CHUNK: usize = 1 << 14;
        let chunks = out.par_chunks_mut(CHUNK).zip(refs.par_chunks(CHUNK));
        match self {
            IdLookup::Ranked { ranks, by_id } => chunks.for_each(|(out, refs)| {
                let mut near = Near::default();
                for (o, &r) in out.iter_mut().zip(refs) {
                    *o = ranks
                        .rank(r, &mut near)
                        .and_then(|k| by_id.get(k as usize).copied())
                        .unwrap_or(NO_NODE);
                }
            }),
            IdLookup::Hashed {
                index: Some(index),
                ids,
                ..
            } => chunks.for_each(|(out, refs)| index.get_all(ids, refs, out)),
            IdLookup::Hashed { index: None, .. } => out.fill(NO_NODE),
        }
    }

    fn into_by_id(self) -> Vec<NodeIx> {
        match self {
            IdLookup::Ranked { by_id, .. } | IdLookup::Hashed { by_id, .. } => by_id,
        }
    }
}

fn check_columns(o: &ObjectsRecord<'_>) -> Result<(), String> {
    let n = o.id.len();
    let columns = [
        ("type", o.type_index.len()),
        ("size", o.size.len()),
        ("refcount", o.refcount.len()),
        ("flags", o.flags.len()),
        ("label", o.label.len()),
        ("nrefs", o.nrefs.len()),
    ];
    let site = ("site", o.site.as_ref().map_or(n, Vec::len));
    if let Some((name, len)) = columns.iter().chain([&site]).find(|(_, len)| *len != n) {
        return Err(format!(
            "objects record has {n} ids but {len} {name} entries"
        ));
    }
    let total: u64 = o.nrefs.iter().fold(0u64, |a, &b| a.saturating_add(b));
    if total != o.refs.len() as u64 {
        return Err(format!(
            "nrefs add up to {total}, but refs has {} entries",
            o.refs.len()
        ));
    }
    let labelled: u64 = o
        .nrefs
        .iter()
        .zip(&o.flags)
        .filter(|(_, f)| **f & FLAG_INDEXED == 0)
        .fold(0u64, |a, (n, _)| a.saturating_add(*n));
    if labelled != o.edge_labels.len() as u64 {
        return Err(format!(
            "edge_labels has {} entries, expected {labelled}",
            o.edge_labels.len()
        ));
    }
    Ok(())
}

/// The frames of site number `site`, checked: at least one, at most [`MAX_FRAMES`], each line
/// a `u32`.
fn site_frames(site: u64, frames: Vec<(Cow<'_, str>, u64)>) -> Result<Box<[Frame]>, String> {
    if frames.is_empty() || frames.len() > MAX_FRAMES {
        return Err(format!(
            "site {site} has {} frames (1 to {MAX_FRAMES} expected)",
            frames.len()
        ));
    }
    frames
        .into_iter()
        .map(|(file, line)| match u32::try_from(line) {
            Ok(line) => Ok(Frame {
                file: cut(&file).into(),
                line,
            }),
            Err(_) => Err(format!(
                "site {site} has a frame at line {line}, out of range"
            )),
        })
        .collect()
}

/// A label cut to [`MAX_LABEL_BYTES`] on a character boundary, `…` marking the cut.
fn cut(s: &str) -> Cow<'_, str> {
    if s.len() <= MAX_LABEL_BYTES {
        return Cow::Borrowed(s);
    }
    let mut end = MAX_LABEL_BYTES - '…'.len_utf8();
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}…", &s[..end]))
}

#[cfg(test)]
mod tests {
    /// A file truncated, cut or rewritten in place after it was opened: one line, never a
    /// signal (a memory map of it would SIGBUS) and never a half-loaded snapshot.
    #[test]
    fn a_file_changed_after_it_was_opened_is_said_so() {
        let text = format!("{HEADER}\n{SMALL}");
        type Change<'a> = (&'a str, &'a dyn Fn(&std::fs::File));
        let changes: [Change<'_>; 4] = [
            ("to nothing", &|f| f.set_len(0).unwrap()),
            ("to half", &|f| f.set_len(text.len() as u64 / 2).unwrap()),
            ("by a byte", &|f| f.set_len(text.len() as u64 - 1).unwrap()),
            ("in place, same size", &|f| {
                std::os::unix::fs::FileExt::write_all_at(f, b"{}", 0).unwrap()
            }),
        ];
        for (how, change) in changes {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("t.rgsnap");
            std::fs::write(&path, &text).unwrap();
            let input = Input::open(&path).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(10));
            change(&std::fs::OpenOptions::new().write(true).open(&path).unwrap());
            let parsed = parse_input(&path, &input);
            let checked = input.check_unchanged(&path, parsed.is_ok());
            assert_eq!(
                checked.unwrap_err().to_string(),
                format!("{}: the file changed while it was read", path.display()),
                "{how}"
            );
        }
    }

    #[test]
    fn a_line_of_control_bytes_is_refused_before_it_is_buffered() {
        use crate::snapshot::read::BATCH_BYTES;
        let zeros = std::io::repeat(0).take(64 * BATCH_BYTES as u64);
        let header = std::io::Cursor::new(format!("{HEADER}\n"));
        let e =
            parse_stream(Path::new("z"), header.chain(zeros), None, None, EMPTY_FILE).unwrap_err();
        assert_eq!(
            e.to_string(),
            "z:2: holds control bytes that JSON text never has; not a snapshot"
        );
    }

    #[test]
    fn an_end_record_that_claims_too_much_reserves_nothing() {
        let body = "{\"kind\":\"end\",\"objects\":1000000000000,\"edges\":5}";
        let last = body.as_bytes();
        let header: Header = serde_json::from_str(
            r#"{"kind":"header","format":"refgraph-snapshot","version":[1,0]}"#,
        )
        .unwrap();
        let path = Path::new("t");
        let mut b = Builder::new(path, header);
        b.reserve(last, 4096);
        assert_eq!(b.snap.ids.to_mut().capacity(), 0);
        let honest = "{\"kind\":\"end\",\"objects\":100,\"edges\":300}";
        b.reserve(honest.as_bytes(), 4096);
        assert!(b.snap.ids.to_mut().capacity() >= 100 && b.raw_ids.capacity() >= 300);
    }

    use super::*;
    use crate::snapshot::EdgeLabel;

    const HEADER: &str = r#"{"kind":"header","format":"refgraph-snapshot","version":[1,0],"pid":7,"argv":["app.py"]}"#;

    fn snapshot(body: &str) -> Result<Snapshot, LoadError> {
        parse_snapshot(
            Path::new("t.rgsnap"),
            format!("{HEADER}\n{body}").as_bytes(),
        )
    }

    /// module m → dict ['a'] → list [0] → int; the list also refers to itself.
    const SMALL: &str = r#"{"kind":"types","base":0,"names":[["builtins","module"],["builtins","dict"],["builtins","list"],["builtins","int"]]}
{"kind":"objects","id":[1,2,3,4],"type":[0,1,2,3],"size":[72,232,64,28],"refcount":[1,1,2,1],"flags":[2,2,6,0],"label":["m","1 item","2 items","7"],"nrefs":[1,2,2,0],"refs":[2,10,3,4,3],"edge_labels":[".__dict__","key 'a'","['a']"]}
{"kind":"objects","id":[10],"type":[3],"size":[50],"refcount":[1],"flags":[0],"label":["'a'"],"nrefs":[0],"refs":[],"edge_labels":[]}
{"kind":"root","root":"module","name":"m","id":1}
{"kind":"mark","name":"the_list","id":3}
{"kind":"end","objects":5,"edges":5}
"#;

    #[test]
    fn loads_objects_edges_labels_roots_and_marks() {
        let s = snapshot(SMALL).unwrap();
        assert_eq!(s.node_count(), 5);
        assert_eq!(s.edge_count(), 5);
        let list = s.node_by_id(crate::ObjectId(3)).unwrap();
        let labels: Vec<String> = s
            .labelled_referents(list)
            .map(|(_, l)| l.to_string())
            .collect();
        assert_eq!(labels, ["[0]", "[1]"]);
        assert_eq!(s.edge_label(1, list), EdgeLabel::Text("['a']"));
        assert_eq!(s.referrers(list), &[1, 2]);
        assert_eq!(s.marks()[0], ("the_list".to_string(), list));
        assert_eq!(s.roots().len(), 1);
        assert_eq!(s.label(list), Some("2 items"));
        assert!(s.load_report().warnings.is_empty());
    }

    #[test]
    fn a_missing_end_record_is_a_warning_not_an_error() {
        let body = SMALL.lines().take(4).collect::<Vec<_>>().join("\n");
        let s = snapshot(&format!("{body}\n")).unwrap();
        assert!(s.load_report().truncated);
    }

    #[test]
    fn a_record_cut_mid_line_loads_the_part_before_it() {
        let cut = &SMALL[..SMALL.find(r#"{"kind":"root""#).unwrap() + 20];
        let s = snapshot(cut).unwrap();
        assert_eq!(s.node_count(), 5);
        assert!(s.load_report().truncated);
    }

    #[test]
    fn dangling_references_are_counted() {
        let body = SMALL.replace(r#""refs":[2,10,3,4,3]"#, r#""refs":[2,10,3,99,3]"#);
        let s = snapshot(&body).unwrap();
        assert_eq!(s.load_report().dangling_refs, 1);
        assert_eq!(s.edge_count(), 4);
    }

    fn error(body: &str) -> String {
        snapshot(body).unwrap_err().to_string()
    }

    #[test]
    fn bad_records_name_the_file_and_line() {
        assert_eq!(
            error("{nope\n{\"kind\":\"end\",\"objects\":0}\n"),
            "t.rgsnap:2: key must be a string (column 2)"
        );
        let dup = SMALL.replace(r#""id":[10]"#, r#""id":[1]"#);
        assert_eq!(error(&dup), "t.rgsnap: object id 0x1 is recorded twice");
        let bad_type = SMALL.replace(r#""type":[3]"#, r#""type":[9]"#);
        assert!(error(&bad_type).starts_with("t.rgsnap:4: object 0xa has type index 9"));
        let lying = SMALL.replace(r#""objects":5"#, r#""objects":6"#);
        assert!(error(&lying).starts_with("t.rgsnap:7: the end record counts 6 objects"));
        let short = SMALL.replace(r#""nrefs":[1,2,2,0]"#, r#""nrefs":[1,2,2,5]"#);
        assert!(error(&short).contains("nrefs add up to 10"));
    }

    #[test]
    fn labels_the_dumper_writes_are_kept_whole_and_longer_ones_cut_with_an_ellipsis() {
        // 80 astral characters: 325 bytes, as the dumper labels a str of emoji
        let emoji = format!("'{}'…", "😀".repeat(80));
        let hostile = "é".repeat(5000);
        let body = SMALL
            .replace(r#""2 items","7""#, &format!(r#""{emoji}","{hostile}""#))
            .replace(r#"".__dict__""#, &format!(r#""{hostile}""#));
        let s = snapshot(&body).unwrap();
        let list = s.node_by_id(crate::ObjectId(3)).unwrap();
        assert_eq!(s.label(list), Some(emoji.as_str()));
        for label in [
            s.label(list + 1).unwrap().to_string(),
            s.edge_label(0, 1).to_string(),
        ] {
            assert!(
                label.len() <= MAX_LABEL_BYTES && label.ends_with("é…"),
                "{label}"
            );
        }
    }

    #[test]
    fn refuses_what_is_not_a_snapshot() {
        let e = |bytes: &[u8]| {
            parse_snapshot(Path::new("x"), bytes)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(e(b""), "x: empty file, not a snapshot");
        assert_eq!(
            e(b"{\"a\":1}\n"),
            "x: not a refgraph snapshot (no header line)"
        );
        assert_eq!(
            e(b"\x00\x01\x02garbage"),
            "x: not a refgraph snapshot (no header line)"
        );
        let v2 = HEADER.replace("[1,0]", "[2,0]");
        assert!(e(v2.as_bytes()).contains("snapshot format 2.0 is not supported"));
    }
}
