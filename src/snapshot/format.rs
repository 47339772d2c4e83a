//! On-disk records of the snapshot format (docs/FORMAT.md): one serde type per line kind.
//!
//! Records borrow from the input line where they can (`Cow<str>`): serde_json can only borrow a
//! string that has no escapes, so plain `&str` would reject 5 % of real labels.

use serde::Deserialize;
use std::borrow::Cow;

/// The format name every header carries.
pub const FORMAT_NAME: &str = "refgraph-snapshot";
/// The major version this reader understands; newer minor versions only add optional fields.
pub const FORMAT_MAJOR: u32 = 1;
/// The minor version this reader was written for.
pub const FORMAT_MINOR: u32 = 3;

/// Flag bit: the cycle collector found the object unreachable.
pub const FLAG_GARBAGE: u8 = 1;
/// Flag bit: the object is gc-tracked.
pub const FLAG_TRACKED: u8 = 2;
/// Flag bit: the object's references are labelled by position (`[0]`, `[1]`, …).
pub const FLAG_INDEXED: u8 = 4;

/// One line of a snapshot file. Each line's `kind` field says which; it is read first and
/// the line is then deserialized straight into that record's struct ([`Record::parse`]): a
/// serde internally-tagged enum would buffer every value and lose string borrowing (measured:
/// a third of the load time).
#[derive(Debug)]
pub enum Record<'a> {
    /// The first line: what was dumped, and the format version.
    Header(Header),
    /// Additions to the type table.
    Types(TypesRecord<'a>),
    /// Additions to the allocation-site table (format 1.3).
    Sites(SitesRecord<'a>),
    /// A column chunk of objects.
    Objects(ObjectsRecord<'a>),
    /// A module root.
    Root(RootRecord),
    /// A live thread and its frames.
    Thread(ThreadRecord),
    /// A named object from `dump(marks=…)`.
    Mark(MarkRecord),
    /// The last line: the counts of what the file holds.
    End(EndRecord),
}

/// Just the `kind` of a line, for lines the fast path does not recognize.
#[derive(Deserialize)]
struct KindOnly<'a> {
    #[serde(borrow)]
    kind: Cow<'a, str>,
}

/// The kinds of line, in the order FORMAT.md lists them.
const KINDS: [&str; 8] = [
    "header", "types", "sites", "objects", "root", "thread", "mark", "end",
];

/// The `kind` of a line: read from the prefix the dumper writes (`{"kind":"objects",…`), or
/// by a full parse of the line when it is written differently.
fn line_kind(line: &[u8]) -> Result<Cow<'_, str>, serde_json::Error> {
    if let Some(rest) = line.strip_prefix(br#"{"kind":""#) {
        if let Some(end) = rest.iter().position(|&b| b == b'"') {
            if let Ok(kind) = std::str::from_utf8(&rest[..end]) {
                if KINDS.contains(&kind) {
                    return Ok(Cow::Borrowed(kind));
                }
            }
        }
    }
    serde_json::from_slice::<KindOnly<'_>>(line).map(|k| k.kind)
}

/// Why a line is not a record.
#[derive(Debug)]
pub enum RecordError {
    /// Not JSON, or JSON of the wrong shape.
    Json(serde_json::Error),
    /// A `kind` this reader does not know.
    UnknownKind(String),
}

impl<'a> Record<'a> {
    /// Parse one line.
    pub fn parse(line: &'a [u8]) -> Result<Self, RecordError> {
        use serde_json::from_slice as json;
        let kind = line_kind(line).map_err(RecordError::Json)?;
        let record = match kind.as_ref() {
            "header" => json(line).map(Record::Header),
            "types" => json(line).map(Record::Types),
            "sites" => json(line).map(Record::Sites),
            "objects" => json(line).map(Record::Objects),
            "root" => json(line).map(Record::Root),
            "thread" => json(line).map(Record::Thread),
            "mark" => json(line).map(Record::Mark),
            "end" => json(line).map(Record::End),
            other => return Err(RecordError::UnknownKind(other.to_string())),
        };
        record.map_err(RecordError::Json)
    }
}

/// The header line: facts about the dumped process.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
pub struct Header {
    /// Always [`FORMAT_NAME`].
    pub format: String,
    /// `[major, minor]`.
    pub version: (u32, u32),
    /// `sys.version`.
    #[serde(default)]
    pub python: Option<String>,
    /// `platform`, e.g. `linux`.
    #[serde(default)]
    pub platform: Option<String>,
    /// The process id.
    #[serde(default)]
    pub pid: Option<u64>,
    /// `sys.argv`.
    #[serde(default)]
    pub argv: Vec<String>,
    /// `sys.executable`.
    #[serde(default)]
    pub executable: Option<String>,
    /// When the dump started, ISO 8601 UTC.
    #[serde(default)]
    pub time: Option<String>,
    /// False when str/bytes contents were left out of labels.
    #[serde(default = "default_true")]
    pub values: bool,
    /// True when the collector ran with DEBUG_SAVEALL before the dump.
    #[serde(default)]
    pub collect: bool,
    /// `api`, `exit` or `signal`.
    #[serde(default)]
    pub trigger: Option<String>,
    /// gc-tracked objects when the dump started.
    #[serde(default)]
    pub objects_hint: Option<u64>,
    /// The process's memory when the dump started (format 1.1).
    #[serde(default)]
    pub memory: Option<Memory>,
    /// How many frames tracemalloc kept per allocation when the dump ran, or `None` when it
    /// was not tracing (format 1.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_alloc: Option<u64>,
}

/// The process's memory as the OS and the allocators saw it (header `memory`, format 1.1);
/// each figure absent when the dumper could not know it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Memory {
    /// Resident set size, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss: Option<u64>,
    /// Peak resident set size, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss: Option<u64>,
    /// `sys.getallocatedblocks()`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocated_blocks: Option<u64>,
    /// glibc's heap (`malloc_info`), when the program had ctypes loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c_allocator: Option<CAllocator>,
}

/// glibc's heap totals, bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct CAllocator {
    /// In use: the arena less its free chunks, plus mmapped chunks.
    pub in_use: u64,
    /// Free chunks kept in the arena.
    pub free: u64,
    /// Chunks allocated with mmap.
    pub mmap: u64,
    /// The arena's size.
    pub arena: u64,
}

fn default_true() -> bool {
    true
}

/// A `types` line: `names[i]` is type number `base + i`.
#[derive(Debug, Deserialize)]
pub struct TypesRecord<'a> {
    /// Index of the first name.
    pub base: u64,
    /// `[module, qualname]` pairs.
    #[serde(borrow)]
    pub names: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

/// A `sites` line: `sites[i]` is allocation site number `base + i`, its frames most recent
/// first, each `[file, line]`.
#[derive(Debug, Deserialize)]
pub struct SitesRecord<'a> {
    /// Index of the first site.
    pub base: u64,
    /// Each site's frames.
    #[serde(borrow)]
    pub sites: Vec<Vec<(Cow<'a, str>, u64)>>,
}

/// An `objects` line: parallel columns, one entry per object.
#[derive(Debug, Deserialize)]
pub struct ObjectsRecord<'a> {
    /// `id(obj)`.
    pub id: Vec<u64>,
    /// Type-table index.
    #[serde(rename = "type")]
    pub type_index: Vec<u64>,
    /// Shallow size in bytes.
    pub size: Vec<u64>,
    /// Reference count, less the dumper's own references.
    pub refcount: Vec<i64>,
    /// Flag bits.
    pub flags: Vec<u8>,
    /// Safe short labels.
    #[serde(borrow)]
    pub label: Vec<Option<Cow<'a, str>>>,
    /// Number of references of each object.
    pub nrefs: Vec<u64>,
    /// Referenced ids, concatenated.
    pub refs: Vec<u64>,
    /// Labels of the references of the non-indexed objects, concatenated.
    #[serde(borrow, default)]
    pub edge_labels: Vec<Option<Cow<'a, str>>>,
    /// Allocation-site index of each object, or null (format 1.3; absent when not tracing).
    #[serde(default)]
    pub site: Option<Vec<Option<u64>>>,
}

/// A `root` line: one `sys.modules` entry.
#[derive(Debug, Deserialize)]
pub struct RootRecord {
    /// `module` (the only kind so far).
    pub root: String,
    /// The `sys.modules` key.
    pub name: String,
    /// The module object's id.
    pub id: u64,
}

/// A `thread` line: a live thread and its frames, innermost first.
#[derive(Debug, Deserialize)]
pub struct ThreadRecord {
    /// `Thread.name`.
    #[serde(default)]
    pub name: Option<String>,
    /// `threading.get_ident()`.
    #[serde(default)]
    pub ident: Option<u64>,
    /// Whether it is a daemon thread.
    #[serde(default)]
    pub daemon: bool,
    /// Whether it is the main thread.
    #[serde(default)]
    pub main: bool,
    /// Frame ids, innermost first.
    pub frames: Vec<u64>,
}

/// A `mark` line.
#[derive(Debug, Deserialize)]
pub struct MarkRecord {
    /// The name given in `marks=`.
    pub name: String,
    /// The object's id.
    pub id: u64,
}

/// The `end` line.
#[derive(Debug, Deserialize)]
pub struct EndRecord {
    /// Objects written.
    pub objects: u64,
    /// References written.
    #[serde(default)]
    pub edges: Option<u64>,
    /// Objects flagged garbage.
    #[serde(default)]
    pub garbage: Option<u64>,
    /// How long the dump took.
    #[serde(default)]
    pub seconds: Option<f64>,
}
