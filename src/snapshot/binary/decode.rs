//! One block's payload → values. Every count, length and index is checked against the bytes
//! actually present before anything is allocated for it: a lying block is an error string,
//! never a panic or an allocation bigger than the block.

use super::{column, enc, kind, unzigzag};
use crate::snapshot::format::{EndRecord, MarkRecord, RootRecord, ThreadRecord, FLAG_INDEXED};

/// A decoded block, borrowing its texts from the payload.
#[derive(Debug)]
pub enum Block<'a> {
    /// The header record's JSON text.
    Header(&'a [u8]),
    /// Type names `[module, qualname]`, numbered from `base`.
    Types {
        /// Number of the first.
        base: u64,
        /// The names.
        names: Vec<(&'a str, &'a str)>,
    },
    /// Edge-label texts, numbered from `base`.
    EdgeLabels {
        /// Number of the first.
        base: u64,
        /// The texts.
        texts: Vec<&'a str>,
    },
    /// A chunk of objects.
    Objects(Objects<'a>),
    /// Module roots.
    Roots(Vec<RootRecord>),
    /// Threads.
    Threads(Vec<ThreadRecord>),
    /// Marks.
    Marks(Vec<MarkRecord>),
    /// Allocation sites (each a list of `(file, line)` frames), numbered from `base`.
    Sites {
        /// Number of the first.
        base: u64,
        /// The sites.
        sites: Vec<Vec<(&'a str, u64)>>,
    },
    /// The end record.
    End(EndRecord),
    /// An optional block this reader does not know.
    Skipped,
}

/// The columns of an objects block, all of the same length except the reference columns.
#[derive(Debug, Default)]
pub struct Objects<'a> {
    /// `id(obj)`.
    pub ids: Vec<u64>,
    /// Type-table indices.
    pub types: Vec<u64>,
    /// Shallow sizes.
    pub sizes: Vec<u64>,
    /// Reference counts.
    pub refcounts: Vec<i64>,
    /// Flag bits.
    pub flags: Vec<u8>,
    /// References per object.
    pub nrefs: Vec<u64>,
    /// Each object's label: `None`, or its text.
    pub labels: Vec<Option<&'a str>>,
    /// Referenced ids, or node numbers when `ref_nodes`.
    pub refs: Vec<u64>,
    /// The block's references are node numbers (its [`column::REF_NODES`] column).
    pub ref_nodes: bool,
    /// Edge-label codes (0 = none, `k + 1` = table entry `k`) of the references of the
    /// objects without the indexed flag.
    pub edge_labels: Vec<u64>,
    /// Allocation-site codes (0 = unknown, `k + 1` = site `k`), when the block has them.
    pub sites: Option<Vec<u64>>,
}

/// A cursor over a payload.
struct Cur<'a> {
    data: &'a [u8],
    at: usize,
}

type R<T> = Result<T, String>;

impl<'a> Cur<'a> {
    fn new(data: &'a [u8]) -> Self {
        Cur { data, at: 0 }
    }

    fn left(&self) -> usize {
        self.data.len() - self.at
    }

    fn bytes(&mut self, n: u64, what: &str) -> R<&'a [u8]> {
        if n > self.left() as u64 {
            return Err(format!(
                "{what} needs {n} bytes, but only {} are left in the block",
                self.left()
            ));
        }
        let s = &self.data[self.at..self.at + n as usize];
        self.at += n as usize;
        Ok(s)
    }

    fn u8(&mut self, what: &str) -> R<u8> {
        Ok(self.bytes(1, what)?[0])
    }

    fn varint(&mut self, what: &str) -> R<u64> {
        let (v, used) = varint_at(&self.data[self.at..])
            .ok_or_else(|| format!("{what}: a varint that is cut short or longer than 64 bits"))?;
        self.at += used;
        Ok(v)
    }

    /// A count of items that each take at least `min_bytes` bytes of what is left.
    fn count(&mut self, what: &str, min_bytes: usize) -> R<usize> {
        let n = self.varint(what)?;
        if n.saturating_mul(min_bytes as u64) > self.left() as u64 {
            return Err(format!(
                "{what} {n} is more than the {} bytes left in the block can hold",
                self.left()
            ));
        }
        Ok(n as usize)
    }

    fn text(&mut self, what: &str) -> R<&'a str> {
        let n = self.varint(what)?;
        let bytes = self.bytes(n, what)?;
        std::str::from_utf8(bytes).map_err(|_| format!("{what} is not UTF-8"))
    }

    fn f64(&mut self, what: &str) -> R<f64> {
        let b = self.bytes(8, what)?;
        Ok(f64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    fn done(&self, what: &str) -> R<()> {
        match self.left() {
            0 => Ok(()),
            n => Err(format!("{n} bytes after the end of the {what}")),
        }
    }
}

/// The varint at the start of `b` and its length, or `None` when it is cut short or does not
/// fit 64 bits.
pub fn varint_at(b: &[u8]) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for (i, &byte) in b.iter().enumerate().take(10) {
        let bits = u64::from(byte & 0x7f);
        if i == 9 && bits > 1 {
            return None;
        }
        v |= bits << (7 * i);
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// Decode one block of `kind` from its payload.
pub fn block(kind: u8, payload: &[u8]) -> R<Block<'_>> {
    let mut c = Cur::new(payload);
    let block = match kind {
        kind::HEADER => return Ok(Block::Header(payload)),
        kind::TYPES => {
            let base = c.varint("types base")?;
            let n = c.count("type count", 2)?;
            let mut names = Vec::with_capacity(n);
            for _ in 0..n {
                names.push((c.text("type module")?, c.text("type qualname")?));
            }
            Block::Types { base, names }
        }
        kind::EDGE_LABELS => {
            let base = c.varint("edge labels base")?;
            let n = c.count("edge label count", 1)?;
            let mut texts = Vec::with_capacity(n);
            for _ in 0..n {
                texts.push(c.text("edge label")?);
            }
            Block::EdgeLabels { base, texts }
        }
        kind::OBJECTS => return objects(payload).map(Block::Objects),
        kind::ROOTS => {
            let n = c.count("root count", 3)?;
            let mut roots = Vec::with_capacity(n);
            for _ in 0..n {
                let root_kind = c.u8("root kind")?;
                if root_kind != 0 {
                    return Err(format!("unknown root kind {root_kind}"));
                }
                let name = c.text("root name")?.to_string();
                let id = c.varint("root id")?;
                roots.push(RootRecord {
                    root: "module".into(),
                    name,
                    id,
                });
            }
            Block::Roots(roots)
        }
        kind::THREADS => {
            let n = c.count("thread count", 2)?;
            let mut threads = Vec::with_capacity(n);
            for _ in 0..n {
                let bits = c.u8("thread flags")?;
                let name = match bits & 1 {
                    0 => None,
                    _ => Some(c.text("thread name")?.to_string()),
                };
                let ident = match bits & 2 {
                    0 => None,
                    _ => Some(c.varint("thread ident")?),
                };
                let nframes = c.count("thread frame count", 1)?;
                let mut frames = Vec::with_capacity(nframes);
                for _ in 0..nframes {
                    frames.push(c.varint("frame id")?);
                }
                threads.push(ThreadRecord {
                    name,
                    ident,
                    daemon: bits & 4 != 0,
                    main: bits & 8 != 0,
                    frames,
                });
            }
            Block::Threads(threads)
        }
        kind::MARKS => {
            let n = c.count("mark count", 2)?;
            let mut marks = Vec::with_capacity(n);
            for _ in 0..n {
                let name = c.text("mark name")?.to_string();
                let id = c.varint("mark id")?;
                marks.push(MarkRecord { name, id });
            }
            Block::Marks(marks)
        }
        kind::SITES => {
            let base = c.varint("sites base")?;
            let n = c.count("site count", 1)?;
            let mut sites = Vec::with_capacity(n);
            for _ in 0..n {
                let frames = c.count("site frame count", 2)?;
                let mut site = Vec::with_capacity(frames);
                for _ in 0..frames {
                    site.push((c.text("site file")?, c.varint("site line")?));
                }
                sites.push(site);
            }
            Block::Sites { base, sites }
        }
        kind::END => {
            let objects = c.varint("end objects")?;
            let bits = c.u8("end fields")?;
            let edges = if bits & 1 != 0 {
                Some(c.varint("end edges")?)
            } else {
                None
            };
            let garbage = if bits & 2 != 0 {
                Some(c.varint("end garbage")?)
            } else {
                None
            };
            let seconds = if bits & 4 != 0 {
                Some(c.f64("end seconds")?)
            } else {
                None
            };
            Block::End(EndRecord {
                objects,
                edges,
                garbage,
                seconds,
            })
        }
        k if k >= kind::OPTIONAL_KINDS => return Ok(Block::Skipped),
        k => return Err(format!("unknown block kind {k}")),
    };
    c.done("block")?;
    Ok(block)
}

/// One column's tag, encoding and bytes.
struct Column<'a> {
    tag: u8,
    enc: u8,
    bytes: &'a [u8],
}

fn objects(payload: &[u8]) -> R<Objects<'_>> {
    let mut c = Cur::new(payload);
    let n = c.count("object count", 1)?;
    let mut columns: Vec<Column<'_>> = Vec::new();
    while c.left() > 0 {
        let tag = c.u8("column tag")?;
        let enc = c.u8("column encoding")?;
        let len = c.varint("column length")?;
        let bytes = c.bytes(len, "column")?;
        if columns.iter().any(|col| col.tag == tag) {
            return Err(format!("column {tag} appears twice"));
        }
        columns.push(Column { tag, enc, bytes });
    }
    let find = |tag: u8, name: &str| {
        columns
            .iter()
            .find(|c| c.tag == tag)
            .ok_or_else(|| format!("objects block has no {name} column"))
    };
    let ints = |tag: u8, name: &str, count: usize| -> R<Vec<u64>> {
        unsigned(find(tag, name)?, count).map_err(|e| format!("{name} column: {e}"))
    };
    let ids = ints(column::ID, "id", n)?;
    let types = ints(column::TYPE, "type", n)?;
    let sizes = ints(column::SIZE, "size", n)?;
    let refcounts = signed(find(column::REFCOUNT, "refcount")?, n)
        .map_err(|e| format!("refcount column: {e}"))?;
    let flags = ints(column::FLAGS, "flags", n)?
        .into_iter()
        .map(|f| u8::try_from(f).map_err(|_| format!("flags {f} do not fit 8 bits")))
        .collect::<R<Vec<u8>>>()?;
    let nrefs = ints(column::NREFS, "nrefs", n)?;
    let label_lens = ints(column::LABEL_LEN, "label length", n)?;
    let text = find(column::LABEL_TEXT, "label text")?;
    if text.enc != enc::RAW {
        return Err(format!("label text column has encoding {}", text.enc));
    }
    let labels = split_labels(text.bytes, &label_lens)?;
    // Each reference takes at least one byte of its column: a total beyond that is a lie,
    // refused before anything is allocated for it.
    let total = nrefs.iter().fold(0u64, |a, &b| a.saturating_add(b));
    let labelled = nrefs
        .iter()
        .zip(&flags)
        .filter(|(_, f)| **f & FLAG_INDEXED == 0)
        .fold(0u64, |a, (&b, _)| a.saturating_add(b));
    let (refs_col, ref_nodes) = refs_column(&columns)?;
    let labels_col = find(column::EDGE_LABEL, "edge label")?;
    if total > refs_col.bytes.len() as u64 || labelled > labels_col.bytes.len() as u64 {
        return Err(format!(
            "nrefs add up to {total}, more than the reference columns can hold"
        ));
    }
    let refs = unsigned(refs_col, total as usize).map_err(|e| format!("refs column: {e}"))?;
    let edge_labels =
        unsigned(labels_col, labelled as usize).map_err(|e| format!("edge label column: {e}"))?;
    let sites = match columns.iter().find(|c| c.tag == column::SITE) {
        Some(col) => Some(unsigned(col, n).map_err(|e| format!("site column: {e}"))?),
        None => None,
    };
    Ok(Objects {
        ids,
        types,
        sizes,
        refcounts,
        flags,
        nrefs,
        labels,
        refs,
        ref_nodes,
        edge_labels,
        sites,
    })
}

/// The references column: ids ([`column::REFS`]) or node numbers ([`column::REF_NODES`]),
/// exactly one of them.
fn refs_column<'c, 'a>(columns: &'c [Column<'a>]) -> R<(&'c Column<'a>, bool)> {
    let ids = columns.iter().find(|c| c.tag == column::REFS);
    let nodes = columns.iter().find(|c| c.tag == column::REF_NODES);
    match (ids, nodes) {
        (Some(col), None) => Ok((col, false)),
        (None, Some(col)) => Ok((col, true)),
        (Some(_), Some(_)) => Err("objects block has both a refs and a ref-nodes column".into()),
        (None, None) => Err("objects block has no refs column".into()),
    }
}

/// Split the label text by the length column (0 = no label, `k + 1` = `k` bytes).
fn split_labels<'a>(text: &'a [u8], lens: &[u64]) -> R<Vec<Option<&'a str>>> {
    let text = std::str::from_utf8(text).map_err(|_| "label text is not UTF-8".to_string())?;
    let mut labels = Vec::with_capacity(lens.len());
    let mut at = 0usize;
    for &len in lens {
        if len == 0 {
            labels.push(None);
            continue;
        }
        let end = (len - 1)
            .checked_add(at as u64)
            .filter(|&e| e <= text.len() as u64)
            .ok_or("label lengths add up to more than the label text")? as usize;
        let label = text
            .get(at..end)
            .ok_or("a label length cuts a UTF-8 character")?;
        labels.push(Some(label));
        at = end;
    }
    if at != text.len() {
        return Err(format!(
            "label text has {} bytes, the lengths add up to {at}",
            text.len()
        ));
    }
    Ok(labels)
}

/// `count` unsigned values of a column.
fn unsigned(col: &Column<'_>, count: usize) -> R<Vec<u64>> {
    let b = col.bytes;
    match col.enc {
        w @ (1 | 2 | 4 | 8) => {
            let w = w as usize;
            if b.len() as u64 != count as u64 * w as u64 {
                return Err(format!("{} bytes for {count} values of {w} bytes", b.len()));
            }
            Ok(match w {
                1 => b.iter().map(|&x| u64::from(x)).collect(),
                2 => b
                    .chunks_exact(2)
                    .map(|x| u64::from(u16::from_le_bytes([x[0], x[1]])))
                    .collect(),
                4 => b
                    .chunks_exact(4)
                    .map(|x| u64::from(u32::from_le_bytes([x[0], x[1], x[2], x[3]])))
                    .collect(),
                _ => b
                    .chunks_exact(8)
                    .map(|x| u64::from_le_bytes(x.try_into().expect("8 bytes")))
                    .collect(),
            })
        }
        enc::VARINT | enc::DELTA => {
            if count > b.len() {
                return Err(format!("{} bytes cannot hold {count} varints", b.len()));
            }
            let mut out = Vec::with_capacity(count);
            let mut at = 0usize;
            let mut prev = 0u64;
            for _ in 0..count {
                let (v, used) = varint_at(&b[at..]).ok_or("a varint is cut short or too long")?;
                at += used;
                let v = if col.enc == enc::DELTA {
                    prev = prev.wrapping_add(unzigzag(v) as u64);
                    prev
                } else {
                    v
                };
                out.push(v);
            }
            if at != b.len() {
                return Err(format!("{} bytes after {count} varints", b.len() - at));
            }
            Ok(out)
        }
        e => Err(format!("unknown encoding {e}")),
    }
}

/// `count` signed values of a column: fixed widths sign-extended, varints zigzag.
fn signed(col: &Column<'_>, count: usize) -> R<Vec<i64>> {
    let raw = unsigned(col, count)?;
    Ok(match col.enc {
        1 => raw.into_iter().map(|v| i64::from(v as u8 as i8)).collect(),
        2 => raw
            .into_iter()
            .map(|v| i64::from(v as u16 as i16))
            .collect(),
        4 => raw
            .into_iter()
            .map(|v| i64::from(v as u32 as i32))
            .collect(),
        8 | enc::DELTA => raw.into_iter().map(|v| v as i64).collect(),
        _ => raw.into_iter().map(unzigzag).collect(),
    })
}
