//! Writing binary snapshots: [`Writer`] turns records into blocks (each column in whichever
//! encoding is smallest for it), and [`convert`] copies a snapshot file from one format to the
//! other record by record, keeping everything the file holds (dangling references, thread
//! details, unknown header fields), not just what a loaded `Snapshot` keeps.

use super::decode::{self, Block};
use super::read::{Blocks, Next};
use super::{column, enc, kind, put_varint, zigzag, LAYOUT_MAJOR, LAYOUT_MINOR, MAGIC};
use crate::snapshot::format::{
    EndRecord, MarkRecord, ObjectsRecord, Record, RootRecord, ThreadRecord, FLAG_INDEXED,
};
use crate::snapshot::id_index::{IdIndex, NO_NODE};
use rustc_hash::FxHashMap;
use std::io::{self, Read, Seek, Write};
use std::rc::Rc;

/// Writes the blocks of a binary snapshot to `out`.
pub struct Writer<W: Write> {
    out: W,
    /// The edge-label table written so far: text → code (`k + 1`).
    edge_labels: FxHashMap<String, u64>,
    /// The node number of every object of the file, when known: references are then written
    /// as node numbers (a ref-nodes column) wherever all of a block's are objects of the file.
    nodes: Option<Rc<NodeNumbers>>,
}

/// The node number of every object of a snapshot (its position in the file, from 0), found
/// by a first pass over it ([`object_ids`]).
pub struct NodeNumbers {
    ids: Vec<u64>,
    index: IdIndex,
    /// The file ends with its end record; when not, references to the nodes cut off are
    /// dangling, as in a load.
    complete: bool,
}

/// The node numbers of a file's objects, or why there are none (the message of the first
/// pass's error, as the conversion would say it).
pub type Numbering = Result<Rc<NodeNumbers>, String>;

/// The objects' ids of a snapshot text in file order, from a first pass ([`object_ids`]).
pub struct FileIds {
    /// Every object's id, in file order.
    pub ids: Vec<u64>,
    /// The text ends with its end record (not cut short).
    pub complete: bool,
}

/// What a reference to an object cut off the end of a file becomes in a conversion: an id no
/// object can have (0 is no address), which a load counts as dangling, as it would the node
/// number. The index labels of the other references of its object are kept that way.
const CUT_OFF_ID: u64 = 0;

impl NodeNumbers {
    /// From the objects' ids in file order, of a whole file; `None` when an id repeats (such
    /// a file does not load, and its objects have no numbering).
    pub fn new(ids: Vec<u64>) -> Option<Self> {
        Self::of_file(FileIds {
            ids,
            complete: true,
        })
        .ok()
    }

    /// From a first pass's ids; the message when an id repeats.
    pub fn of_file(file: FileIds) -> Result<Self, String> {
        if let Err(id) = crate::snapshot::id_order::by_id(&file.ids) {
            return Err(format!("object id {id:#x} is recorded twice"));
        }
        let index = IdIndex::new(&file.ids);
        Ok(NodeNumbers {
            ids: file.ids,
            index,
            complete: file.complete,
        })
    }

    /// The node numbers of the ids `refs`, or `None` when one is not an object of the file
    /// (a dangling reference stays an id).
    fn nodes_of(&self, refs: &[u64]) -> Option<Vec<u64>> {
        let mut out = vec![NO_NODE; refs.len()];
        self.index.get_all(&self.ids, refs, &mut out);
        out.iter()
            .map(|&n| (n != NO_NODE).then_some(u64::from(n)))
            .collect()
    }

    /// The ids of the node numbers `refs` and how many are cut off ([`CUT_OFF_ID`]); `None`
    /// when one is past the objects of a whole file (or of one with an object of id 0).
    fn ids_of(&self, refs: &[u64]) -> Option<(Vec<u64>, u64)> {
        let may_cut = !self.complete && !self.ids.contains(&CUT_OFF_ID);
        let mut cut = 0;
        let ids = refs
            .iter()
            .map(|&r| {
                let id = usize::try_from(r)
                    .ok()
                    .and_then(|r| self.ids.get(r).copied());
                match id {
                    Some(id) => Some(id),
                    None if may_cut => {
                        cut += 1;
                        Some(CUT_OFF_ID)
                    }
                    None => None,
                }
            })
            .collect::<Option<Vec<u64>>>()?;
        Some((ids, cut))
    }
}

/// One objects chunk, as the writer takes it.
#[derive(Debug, Default, Clone, Copy)]
pub struct ObjectsIn<'a> {
    /// `id(obj)`.
    pub ids: &'a [u64],
    /// Type-table indices.
    pub types: &'a [u64],
    /// Shallow sizes.
    pub sizes: &'a [u64],
    /// Reference counts.
    pub refcounts: &'a [i64],
    /// Flag bits.
    pub flags: &'a [u8],
    /// References per object.
    pub nrefs: &'a [u64],
    /// Referenced ids.
    pub refs: &'a [u64],
    /// Allocation-site codes (0 = unknown, `k + 1` = site `k`), if known.
    pub sites: Option<&'a [u64]>,
}

impl<W: Write> Writer<W> {
    /// Start a file: the magic and the layout version.
    pub fn new(mut out: W) -> io::Result<Self> {
        out.write_all(&MAGIC)?;
        out.write_all(&[LAYOUT_MAJOR, LAYOUT_MINOR])?;
        Ok(Writer {
            out,
            edge_labels: FxHashMap::default(),
            nodes: None,
        })
    }

    /// Write references as node numbers where `nodes` numbers all of a block's.
    pub fn with_node_numbers(mut self, nodes: Option<Rc<NodeNumbers>>) -> Self {
        self.nodes = nodes;
        self
    }

    /// The finished output.
    pub fn into_inner(self) -> W {
        self.out
    }

    fn block(&mut self, kind: u8, payload: &[u8]) -> io::Result<()> {
        let len = u32::try_from(payload.len())
            .ok()
            .filter(|&l| l <= super::MAX_BLOCK_BYTES)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "a block over 1 GiB"))?;
        self.out.write_all(&[kind])?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(payload)
    }

    /// The header: the JSON text of the header record.
    pub fn header(&mut self, json: &[u8]) -> io::Result<()> {
        self.block(kind::HEADER, json)
    }

    /// Type names, numbered from `base`.
    pub fn types(&mut self, base: u64, names: &[(&str, &str)]) -> io::Result<()> {
        let mut p = Vec::new();
        put_varint(&mut p, base);
        put_varint(&mut p, names.len() as u64);
        for (module, qualname) in names {
            put_text(&mut p, module);
            put_text(&mut p, qualname);
        }
        self.block(kind::TYPES, &p)
    }

    /// An objects chunk: `labels` one per object, `edge_labels` one per reference of each
    /// object without the indexed flag (the table entries they need are written first).
    pub fn objects(
        &mut self,
        o: ObjectsIn<'_>,
        labels: &[Option<&str>],
        edge_labels: &[Option<&str>],
    ) -> io::Result<()> {
        let codes = self.edge_label_codes(edge_labels)?;
        let n = o.ids.len();
        let mut p = Vec::with_capacity(n * 24 + o.refs.len() * 4);
        put_varint(&mut p, n as u64);
        put_unsigned(&mut p, column::ID, o.ids, true);
        put_unsigned(&mut p, column::TYPE, o.types, false);
        put_unsigned(&mut p, column::SIZE, o.sizes, false);
        let refcounts: Vec<u64> = o.refcounts.iter().map(|&r| zigzag(r)).collect();
        put_column(
            &mut p,
            column::REFCOUNT,
            enc::VARINT,
            &varints(&refcounts, false),
        );
        let flags: Vec<u64> = o.flags.iter().map(|&f| u64::from(f)).collect();
        put_unsigned(&mut p, column::FLAGS, &flags, false);
        put_unsigned(&mut p, column::NREFS, o.nrefs, false);
        let lens: Vec<u64> = labels
            .iter()
            .map(|l| l.map_or(0, |l| l.len() as u64 + 1))
            .collect();
        put_unsigned(&mut p, column::LABEL_LEN, &lens, false);
        let text: Vec<u8> = labels.iter().flatten().flat_map(|l| l.bytes()).collect();
        put_column(&mut p, column::LABEL_TEXT, enc::RAW, &text);
        match self.nodes.as_ref().and_then(|n| n.nodes_of(o.refs)) {
            Some(nodes) => put_unsigned(&mut p, column::REF_NODES, &nodes, true),
            None => put_unsigned(&mut p, column::REFS, o.refs, true),
        }
        put_unsigned(&mut p, column::EDGE_LABEL, &codes, false);
        if let Some(sites) = o.sites {
            put_unsigned(&mut p, column::SITE, sites, false);
        }
        self.block(kind::OBJECTS, &p)
    }

    /// The codes of `labels`, writing an edge-labels block for the texts not seen before.
    fn edge_label_codes(&mut self, labels: &[Option<&str>]) -> io::Result<Vec<u64>> {
        let base = self.edge_labels.len() as u64;
        let mut new: Vec<&str> = Vec::new();
        let mut codes = Vec::with_capacity(labels.len());
        for label in labels {
            let code = match label {
                None => 0,
                Some(text) => match self.edge_labels.get(*text) {
                    Some(&code) => code,
                    None => {
                        let code = self.edge_labels.len() as u64 + 1;
                        self.edge_labels.insert(text.to_string(), code);
                        new.push(text);
                        code
                    }
                },
            };
            codes.push(code);
        }
        if !new.is_empty() {
            let mut p = Vec::new();
            put_varint(&mut p, base);
            put_varint(&mut p, new.len() as u64);
            for text in new {
                put_text(&mut p, text);
            }
            self.block(kind::EDGE_LABELS, &p)?;
        }
        Ok(codes)
    }

    /// Module roots.
    pub fn roots(&mut self, roots: &[RootRecord]) -> io::Result<()> {
        let mut p = Vec::new();
        put_varint(&mut p, roots.len() as u64);
        for r in roots {
            p.push(0);
            put_text(&mut p, &r.name);
            put_varint(&mut p, r.id);
        }
        self.block(kind::ROOTS, &p)
    }

    /// Threads.
    pub fn threads(&mut self, threads: &[ThreadRecord]) -> io::Result<()> {
        let mut p = Vec::new();
        put_varint(&mut p, threads.len() as u64);
        for t in threads {
            let bits = u8::from(t.name.is_some())
                | u8::from(t.ident.is_some()) << 1
                | u8::from(t.daemon) << 2
                | u8::from(t.main) << 3;
            p.push(bits);
            if let Some(name) = &t.name {
                put_text(&mut p, name);
            }
            if let Some(ident) = t.ident {
                put_varint(&mut p, ident);
            }
            put_varint(&mut p, t.frames.len() as u64);
            for &f in &t.frames {
                put_varint(&mut p, f);
            }
        }
        self.block(kind::THREADS, &p)
    }

    /// Marks.
    pub fn marks(&mut self, marks: &[MarkRecord]) -> io::Result<()> {
        let mut p = Vec::new();
        put_varint(&mut p, marks.len() as u64);
        for m in marks {
            put_text(&mut p, &m.name);
            put_varint(&mut p, m.id);
        }
        self.block(kind::MARKS, &p)
    }

    /// Allocation sites (each a list of `(file, line)` frames), numbered from `base`.
    pub fn sites(&mut self, base: u64, sites: &[Vec<(&str, u64)>]) -> io::Result<()> {
        let mut p = Vec::new();
        put_varint(&mut p, base);
        put_varint(&mut p, sites.len() as u64);
        for site in sites {
            put_varint(&mut p, site.len() as u64);
            for (file, line) in site {
                put_text(&mut p, file);
                put_varint(&mut p, *line);
            }
        }
        self.block(kind::SITES, &p)
    }

    /// The end record.
    pub fn end(&mut self, e: &EndRecord) -> io::Result<()> {
        let mut p = Vec::new();
        put_varint(&mut p, e.objects);
        let bits = u8::from(e.edges.is_some())
            | u8::from(e.garbage.is_some()) << 1
            | u8::from(e.seconds.is_some()) << 2;
        p.push(bits);
        if let Some(v) = e.edges {
            put_varint(&mut p, v);
        }
        if let Some(v) = e.garbage {
            put_varint(&mut p, v);
        }
        if let Some(v) = e.seconds {
            p.extend_from_slice(&v.to_le_bytes());
        }
        self.block(kind::END, &p)
    }

    /// Write one JSON-lines record (`line` is its text, for the header).
    pub fn record(&mut self, line: &[u8], record: Record<'_>) -> io::Result<()> {
        match record {
            Record::Header(_) => self.header(line),
            Record::Types(t) => {
                let names: Vec<(&str, &str)> = t.names.iter().map(|(m, q)| (&**m, &**q)).collect();
                self.types(t.base, &names)
            }
            Record::Objects(o) => self.objects_record(&o),
            Record::Root(r) => self.roots(&[r]),
            Record::Thread(t) => self.threads(&[t]),
            Record::Mark(m) => self.marks(&[m]),
            Record::Sites(t) => {
                let sites: Vec<Vec<(&str, u64)>> = t
                    .sites
                    .iter()
                    .map(|frames| frames.iter().map(|(f, l)| (&**f, *l)).collect())
                    .collect();
                self.sites(t.base, &sites)
            }
            Record::End(e) => self.end(&e),
        }
    }

    fn objects_record(&mut self, o: &ObjectsRecord<'_>) -> io::Result<()> {
        let labels: Vec<Option<&str>> = o.label.iter().map(|l| l.as_deref()).collect();
        let edge_labels: Vec<Option<&str>> = o.edge_labels.iter().map(|l| l.as_deref()).collect();
        let flags = &o.flags;
        let sites: Option<Vec<u64>> = o
            .site
            .as_ref()
            .map(|column| column.iter().map(|s| s.map_or(0, |k| k + 1)).collect());
        let input = ObjectsIn {
            ids: &o.id,
            types: &o.type_index,
            sizes: &o.size,
            refcounts: &o.refcount,
            flags,
            nrefs: &o.nrefs,
            refs: &o.refs,
            sites: sites.as_deref(),
        };
        self.objects(input, &labels, &edge_labels)
    }
}

fn put_text(p: &mut Vec<u8>, text: &str) {
    put_varint(p, text.len() as u64);
    p.extend_from_slice(text.as_bytes());
}

fn put_column(p: &mut Vec<u8>, tag: u8, encoding: u8, bytes: &[u8]) {
    p.push(tag);
    p.push(encoding);
    put_varint(p, bytes.len() as u64);
    p.extend_from_slice(bytes);
}

/// Varints of `values`, or of their zigzag differences when `delta`.
fn varints(values: &[u64], delta: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * 2);
    let mut prev = 0u64;
    for &v in values {
        if delta {
            put_varint(&mut out, zigzag(v.wrapping_sub(prev) as i64));
            prev = v;
        } else {
            put_varint(&mut out, v);
        }
    }
    out
}

/// An unsigned column in its smallest encoding: fixed width, varints, or (`delta`: ids)
/// zigzag differences.
fn put_unsigned(p: &mut Vec<u8>, tag: u8, values: &[u64], delta: bool) {
    let max = values.iter().copied().max().unwrap_or(0);
    let width: u8 = match max {
        0..=0xff => 1,
        0x100..=0xffff => 2,
        0x1_0000..=0xffff_ffff => 4,
        _ => 8,
    };
    let mut best = (width, values.len() * width as usize);
    let plain = varints(values, false);
    if plain.len() < best.1 {
        best = (enc::VARINT, plain.len());
    }
    let deltas = delta.then(|| varints(values, true));
    if let Some(d) = &deltas {
        if d.len() < best.1 {
            best = (enc::DELTA, d.len());
        }
    }
    match best.0 {
        enc::VARINT => put_column(p, tag, enc::VARINT, &plain),
        enc::DELTA => put_column(p, tag, enc::DELTA, deltas.as_deref().unwrap_or_default()),
        w => {
            let w = w as usize;
            let bytes: Vec<u8> = values
                .iter()
                .flat_map(|v| v.to_le_bytes().into_iter().take(w))
                .collect();
            put_column(p, tag, width, &bytes);
        }
    }
}

/// The output format of [`convert`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON lines (docs/FORMAT.md).
    Json,
    /// Binary blocks.
    Binary,
}

/// Why a conversion failed: the input is not a snapshot (a message), or the output could not
/// be written.
#[derive(Debug)]
pub enum ConvertError {
    /// The input, with what is wrong with it.
    Input(String),
    /// Writing the output.
    Output(io::Error),
}

impl From<io::Error> for ConvertError {
    fn from(e: io::Error) -> Self {
        ConvertError::Output(e)
    }
}

/// Copy the snapshot text `input` (JSON lines or binary, detected by its magic; decompressed
/// already) to `out` in `to`'s format. `nodes`: the node numbers of the file's objects (from
/// a first pass, [`object_ids`]), to write references as node numbers and to read them; or why
/// the first pass found none (said when a block's references are node numbers).
/// Returns the warnings (a cut-short input is converted as far as it goes, like a load).
pub fn convert(
    input: impl io::Read,
    out: impl Write,
    to: Option<Format>,
    read_error: Option<&'static str>,
    nodes: Numbering,
) -> Result<(Format, Vec<String>), ConvertError> {
    let mut input = input;
    let mut start = Vec::new();
    (&mut input)
        .take(MAGIC.len() as u64)
        .read_to_end(&mut start)
        .map_err(|e| ConvertError::Input(e.to_string()))?;
    let whole = io::Cursor::new(start.clone()).chain(input);
    if super::is_binary(&start) {
        let to = to.unwrap_or(Format::Json);
        binary_to(whole, out, to, read_error, nodes).map(|w| (to, w))
    } else {
        let to = to.unwrap_or(Format::Binary);
        json_to(whole, out, to, read_error, nodes).map(|w| (to, w))
    }
}

/// Convert the snapshot file at `path` (plain or gzip, either format) into `out`, gzip-
/// compressed when `gzip`; `to: None` picks the other format than the input's. Returns the
/// format written and the warnings. A file is read twice (the first time for its node
/// numbers); a pipe's text is kept in an unnamed temp file for that.
pub fn convert_file(
    path: &std::path::Path,
    to: Option<Format>,
    gzip: bool,
    out: &mut dyn Write,
) -> Result<(Format, Vec<String>), ConvertError> {
    use crate::snapshot::read::{describe_io, Input};
    let input = Input::open(path).map_err(|e| ConvertError::Input(e.message))?;
    let text = input
        .text()
        .map_err(|e| ConvertError::Input(describe_io(&e)))?;
    let read_error = text.gzip.then_some("corrupt gzip data");
    if input.is_pipe() {
        let mut spool = spool(text.reader, read_error)?;
        let nodes = numbering(&mut spool);
        spool.rewind()?;
        return convert_into(spool, out, to, gzip, None, nodes);
    }
    let nodes = file_numbering(path);
    let done = convert_into(text.reader, out, to, gzip, read_error, nodes)?;
    input
        .check_unchanged(path, true)
        .map_err(|e| ConvertError::Input(e.message))?;
    Ok(done)
}

/// [`convert`], through a gzip encoder when `gzip`.
fn convert_into(
    input: impl io::Read,
    out: &mut dyn Write,
    to: Option<Format>,
    gzip: bool,
    read_error: Option<&'static str>,
    nodes: Numbering,
) -> Result<(Format, Vec<String>), ConvertError> {
    if !gzip {
        return convert(input, out, to, read_error, nodes);
    }
    let mut z = flate2::write::GzEncoder::new(out, flate2::Compression::new(6));
    let done = convert(input, &mut z, to, read_error, nodes)?;
    z.finish()?;
    Ok(done)
}

/// A pipe's whole text in an unnamed temp file (gone with its descriptor), to read twice.
fn spool(
    mut text: impl io::Read,
    read_error: Option<&'static str>,
) -> Result<std::fs::File, ConvertError> {
    let mut file = tempfile::tempfile()
        .map_err(|e| ConvertError::Input(format!("cannot keep the piped text: {e}")))?;
    io::copy(&mut text, &mut file).map_err(|e| ConvertError::Input(io_text(&e, read_error)))?;
    file.rewind()?;
    Ok(file)
}

/// The node numbers of the objects of the snapshot file at `path`, from a first read of it,
/// which must find it whole and unchanged.
fn file_numbering(path: &std::path::Path) -> Numbering {
    use crate::snapshot::read::{describe_io, Input};
    let first = Input::open(path).map_err(|e| e.message)?;
    let text = first.text().map_err(|e| describe_io(&e))?;
    let nodes = numbering(text.reader)?;
    first.check_unchanged(path, true).map_err(|e| e.message)?;
    Ok(nodes)
}

/// The node numbers of the objects of a snapshot text, from a first read of it.
fn numbering(text: impl io::Read) -> Numbering {
    let ids = object_ids(text)?;
    NodeNumbers::of_file(ids).map(Rc::new)
}

/// The ids of the objects of the snapshot text `input` (either format), in file order, and
/// whether it ends with its end record; or the first error of a binary text, in the words of
/// the conversion (a JSON line that does not parse is left to it).
pub fn object_ids(input: impl io::Read) -> Result<FileIds, String> {
    use crate::snapshot::read::{split_lines, LineBatches};
    let mut input = input;
    let mut start = Vec::new();
    (&mut input)
        .take(MAGIC.len() as u64)
        .read_to_end(&mut start)
        .map_err(|e| crate::snapshot::read::describe_io(&e))?;
    let whole = io::Cursor::new(start.clone()).chain(input);
    let mut ids = Vec::new();
    let mut complete = false;
    if super::is_binary(&start) {
        let mut blocks = Blocks::new(whole, None)?;
        while let Next::Block(b) = blocks.next_block()? {
            let in_block = |m| format!("block {} (byte {}): {m}", b.number, b.offset);
            match b.kind {
                kind::OBJECTS => match decode::block(b.kind, &b.payload).map_err(in_block)? {
                    Block::Objects(o) => ids.extend_from_slice(&o.ids),
                    _ => return Err(in_block("not an objects block".into())),
                },
                kind::END => complete = true,
                _ => {}
            }
        }
    } else {
        let mut batches = LineBatches::new(whole);
        while let Some(batch) = batches.next_batch().map_err(|_| "unreadable".to_string())? {
            for (_, line) in split_lines(&batch.text, batch.first_line) {
                match Record::parse(line) {
                    Ok(Record::Objects(o)) => ids.extend_from_slice(&o.id),
                    Ok(Record::End(_)) => complete = true,
                    _ => {}
                }
            }
        }
    }
    Ok(FileIds { ids, complete })
}

fn json_to(
    input: impl io::Read,
    out: impl Write,
    to: Format,
    read_error: Option<&'static str>,
    nodes: Numbering,
) -> Result<Vec<String>, ConvertError> {
    use crate::snapshot::read::{split_lines, LineBatches};
    let mut warnings = Vec::new();
    let mut batches = LineBatches::new(input);
    let mut writer = None::<Writer<_>>;
    let mut plain = None;
    match to {
        Format::Binary => writer = Some(Writer::new(out)?.with_node_numbers(nodes.ok())),
        Format::Json => plain = Some(out),
    }
    let mut first = true;
    loop {
        let batch = match batches.next_batch() {
            Ok(Some(b)) => b,
            Ok(None) => break,
            Err(e) => {
                let m = match e {
                    crate::snapshot::read::LineError::Io(e) => io_text(&e, read_error),
                    crate::snapshot::read::LineError::TooLong(l) => {
                        format!("line {l} is too long to be a snapshot line")
                    }
                    crate::snapshot::read::LineError::Control(l) => {
                        format!("line {l} holds control bytes; not a snapshot")
                    }
                };
                return Err(ConvertError::Input(m));
            }
        };
        let lines = split_lines(&batch.text, batch.first_line);
        let count = lines.len();
        for (i, (no, line)) in lines.into_iter().enumerate() {
            if first {
                let newer = check_json_header(line)?;
                if plain.is_none() {
                    warnings.extend(newer);
                }
                first = false;
            }
            if let Some(out) = &mut plain {
                out.write_all(line)?;
                out.write_all(b"\n")?;
                continue;
            }
            match Record::parse(line) {
                Ok(r) => writer.as_mut().map_or(Ok(()), |w| w.record(line, r))?,
                Err(_) if i + 1 == count && batch.unterminated => {
                    warnings.push(format!("line {no}: the last record is cut short"));
                }
                Err(e) => {
                    let m = match e {
                        crate::snapshot::format::RecordError::Json(e) => e.to_string(),
                        crate::snapshot::format::RecordError::UnknownKind(k) => {
                            format!("unknown record kind '{k}'")
                        }
                    };
                    return Err(ConvertError::Input(format!("line {no}: {m}")));
                }
            }
        }
    }
    if first {
        return Err(ConvertError::Input("empty file, not a snapshot".into()));
    }
    if let Some(w) = writer {
        w.into_inner().flush()?;
    } else if let Some(mut out) = plain {
        out.flush()?;
    }
    Ok(warnings)
}

/// Check the header; a warning when it is of a newer minor format version, whose additions
/// (fields and blocks this refgraph does not know) a conversion cannot carry over.
fn check_json_header(line: &[u8]) -> Result<Option<String>, ConvertError> {
    use crate::snapshot::format::{FORMAT_MAJOR, FORMAT_MINOR};
    let path = std::path::Path::new("");
    let header = crate::snapshot::load::parse_header(path, 1, line)
        .map_err(|e| ConvertError::Input(e.message))?;
    let (major, minor) = header.version;
    Ok((minor > FORMAT_MINOR).then(|| {
        format!(
            "snapshot format {major}.{minor} is newer than this refgraph's {FORMAT_MAJOR}.{FORMAT_MINOR}: what {major}.{minor} added is not converted"
        )
    }))
}

fn io_text(e: &io::Error, read_error: Option<&str>) -> String {
    match read_error {
        Some(what) => format!("{what}: {e}"),
        None => crate::snapshot::read::describe_io(e),
    }
}

fn binary_to(
    input: impl io::Read,
    out: impl Write,
    to: Format,
    read_error: Option<&'static str>,
    nodes: Numbering,
) -> Result<Vec<String>, ConvertError> {
    let mut blocks = Blocks::new(input, read_error).map_err(ConvertError::Input)?;
    let mut warnings = Vec::new();
    let mut cut_off = 0u64;
    let mut sink = match to {
        Format::Binary => Sink::Binary(
            Writer::new(out)?.with_node_numbers(nodes.clone().ok()),
            Vec::new(),
        ),
        Format::Json => Sink::Json(JsonOut {
            out,
            edge_labels: Vec::new(),
        }),
    };
    let mut first = true;
    loop {
        let raw = match blocks.next_block().map_err(ConvertError::Input)? {
            Next::Block(b) => b,
            Next::Eof => break,
            Next::Cut(m) => {
                warnings.push(m);
                break;
            }
        };
        if first && raw.kind != kind::HEADER {
            return Err(ConvertError::Input(
                "not a refgraph snapshot (its first block is not a header)".into(),
            ));
        }
        let mut block = decode::block(raw.kind, &raw.payload).map_err(|m| {
            ConvertError::Input(format!("block {} (byte {}): {m}", raw.number, raw.offset))
        })?;
        if let Block::Objects(o) = &mut block {
            if o.ref_nodes {
                // Both sinks take ids: the writer numbers them again.
                let numbers = nodes.as_ref().map_err(|m| ConvertError::Input(m.clone()))?;
                let (ids, cut) = numbers.ids_of(&o.refs).ok_or_else(|| {
                    ConvertError::Input(format!(
                        "block {}: a reference to a node number past the file's objects",
                        raw.number
                    ))
                })?;
                o.refs = ids;
                o.ref_nodes = false;
                cut_off += cut;
            }
        }
        if first {
            let Block::Header(text) = block else {
                return Err(ConvertError::Input(
                    "not a refgraph snapshot (its first block is not a header)".into(),
                ));
            };
            warnings.extend(check_json_header(text)?);
            first = false;
        }
        let written = match &mut sink {
            // Re-encoded block by block: the same records, each column chosen again.
            Sink::Binary(w, table) => write_block(w, table, block),
            Sink::Json(json) => json.block(block),
        };
        written.map_err(|e| {
            e.unwrap_or_else(|| {
                ConvertError::Input(format!(
                    "block {}: an edge label code past the edge-label table",
                    raw.number
                ))
            })
        })?;
    }
    if first {
        return Err(ConvertError::Input(
            "holds no header: the binary snapshot was cut short".into(),
        ));
    }
    match sink {
        Sink::Binary(w, _) => w.into_inner().flush()?,
        Sink::Json(mut json) => json.out.flush()?,
    }
    if cut_off > 0 {
        warnings.push(format!(
            "{cut_off} references point to objects cut off the end; written as id 0, which no object has"
        ));
    }
    Ok(warnings)
}

/// Where [`binary_to`] writes: a binary writer and the file's edge-label table, or JSON.
enum Sink<W: Write> {
    Binary(Writer<W>, Vec<String>),
    Json(JsonOut<W>),
}

/// `Err(None)`: an edge-label code the table does not have.
type BlockResult = Result<(), Option<ConvertError>>;

fn edge_texts<'t>(
    table: &'t [String],
    codes: &[u64],
) -> Result<Vec<Option<&'t str>>, Option<ConvertError>> {
    codes
        .iter()
        .map(|&c| match c {
            0 => Ok(None),
            k => table
                .get(k as usize - 1)
                .map(|s| Some(s.as_str()))
                .ok_or(None),
        })
        .collect()
}

fn write_block<W: Write>(
    w: &mut Writer<W>,
    table: &mut Vec<String>,
    block: Block<'_>,
) -> BlockResult {
    let io = |e: io::Error| Some(ConvertError::Output(e));
    match block {
        Block::Header(text) => w.header(text).map_err(io),
        Block::Types { base, names } => w.types(base, &names).map_err(io),
        Block::EdgeLabels { base, texts } => {
            if base != table.len() as u64 {
                return Err(Some(ConvertError::Input(format!(
                    "edge labels base {base} does not follow the {} before",
                    table.len()
                ))));
            }
            table.extend(texts.into_iter().map(String::from));
            Ok(())
        }
        Block::Objects(o) => {
            let edge = edge_texts(table, &o.edge_labels)?;
            let input = ObjectsIn {
                ids: &o.ids,
                types: &o.types,
                sizes: &o.sizes,
                refcounts: &o.refcounts,
                flags: &o.flags,
                nrefs: &o.nrefs,
                refs: &o.refs,
                sites: o.sites.as_deref(),
            };
            w.objects(input, &o.labels, &edge).map_err(io)
        }
        Block::Roots(r) => w.roots(&r).map_err(io),
        Block::Threads(t) => w.threads(&t).map_err(io),
        Block::Marks(m) => w.marks(&m).map_err(io),
        Block::Sites { base, sites } => w.sites(base, &sites).map_err(io),
        Block::End(e) => w.end(&e).map_err(io),
        Block::Skipped => Ok(()),
    }
}

/// Writes decoded blocks as JSON lines.
struct JsonOut<W> {
    out: W,
    /// The file's edge-label table so far.
    edge_labels: Vec<String>,
}

impl<W: Write> JsonOut<W> {
    /// One record: `kind` first, as the dumper writes it (the loader reads it from there
    /// without parsing the line twice), then the fields in order.
    fn line(&mut self, kind: &str, fields: &[(&str, serde_json::Value)]) -> BlockResult {
        let io = |e: io::Error| Some(ConvertError::Output(e));
        write!(self.out, "{{\"kind\":\"{kind}\"").map_err(io)?;
        for (name, value) in fields {
            write!(self.out, ",\"{name}\":").map_err(io)?;
            serde_json::to_writer(&mut self.out, value).map_err(|e| io(e.into()))?;
        }
        self.out.write_all(b"}\n").map_err(io)
    }

    fn block(&mut self, block: Block<'_>) -> BlockResult {
        use serde_json::json;
        match block {
            Block::Header(text) => {
                let io = |e: io::Error| Some(ConvertError::Output(e));
                self.out.write_all(text).map_err(io)?;
                self.out.write_all(b"\n").map_err(io)
            }
            Block::Types { base, names } => {
                self.line("types", &[("base", json!(base)), ("names", json!(names))])
            }
            Block::EdgeLabels { base, texts } => {
                if base != self.edge_labels.len() as u64 {
                    return Err(Some(ConvertError::Input(format!(
                        "edge labels base {base} does not follow the {} before",
                        self.edge_labels.len()
                    ))));
                }
                self.edge_labels.extend(texts.into_iter().map(String::from));
                Ok(())
            }
            Block::Objects(o) => {
                let edge = edge_texts(&self.edge_labels, &o.edge_labels)?;
                let mut fields = vec![
                    ("id", json!(o.ids)),
                    ("type", json!(o.types)),
                    ("size", json!(o.sizes)),
                    ("refcount", json!(o.refcounts)),
                    ("flags", json!(o.flags)),
                    ("label", json!(o.labels)),
                    ("nrefs", json!(o.nrefs)),
                    ("refs", json!(o.refs)),
                    ("edge_labels", json!(edge)),
                ];
                if let Some(sites) = &o.sites {
                    let sites: Vec<Option<u64>> = sites.iter().map(|&s| s.checked_sub(1)).collect();
                    fields.push(("site", json!(sites)));
                }
                self.line("objects", &fields)
            }
            Block::Roots(roots) => roots.iter().try_for_each(|r| {
                let f = [
                    ("root", json!(r.root)),
                    ("name", json!(r.name)),
                    ("id", json!(r.id)),
                ];
                self.line("root", &f)
            }),
            Block::Threads(threads) => threads.iter().try_for_each(|t| {
                let f = [
                    ("name", json!(t.name)),
                    ("ident", json!(t.ident)),
                    ("daemon", json!(t.daemon)),
                    ("main", json!(t.main)),
                    ("frames", json!(t.frames)),
                ];
                self.line("thread", &f)
            }),
            Block::Marks(marks) => marks.iter().try_for_each(|m| {
                self.line("mark", &[("name", json!(m.name)), ("id", json!(m.id))])
            }),
            Block::Sites { base, sites } => {
                self.line("sites", &[("base", json!(base)), ("sites", json!(sites))])
            }
            Block::End(e) => {
                let mut f = vec![("objects", json!(e.objects))];
                f.extend(e.edges.map(|v| ("edges", json!(v))));
                f.extend(e.garbage.map(|v| ("garbage", json!(v))));
                f.extend(e.seconds.map(|v| ("seconds", json!(v))));
                self.line("end", &f)
            }
            Block::Skipped => Ok(()),
        }
    }
}

/// Does every object without the indexed flag have its edge labels? (For writers that take
/// columns from elsewhere.)
pub fn labelled_refs(nrefs: &[u64], flags: &[u8]) -> u64 {
    nrefs
        .iter()
        .zip(flags)
        .filter(|(_, f)| **f & FLAG_INDEXED == 0)
        .map(|(n, _)| n)
        .sum()
}
