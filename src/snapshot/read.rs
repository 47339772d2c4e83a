//! Bytes in: opening a snapshot (a regular file, or a pipe read once as a stream; a device
//! is refused, a FIFO never blocks), gzip detected by its magic bytes, and the text handed to
//! the parser in batches of whole lines. Plain `read`s, never a memory map: a map of a file
//! truncated underneath kills the process with SIGBUS; a file that changes while it is read
//! is noticed instead ([`Input::check_unchanged`]).

use super::load::LoadError;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// What kind of file a snapshot path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InputKind {
    /// A regular file: its size, times and inode are checked again after the read.
    Regular(Stamp),
    /// A pipe (`<(…)`, `/dev/stdin` from a pipe, a FIFO): read once, as a stream.
    Pipe,
}

/// What identifies a regular file's content, without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    len: u64,
    mtime: Option<std::time::SystemTime>,
    ctime_ns: i128,
    ino: u64,
}

impl Stamp {
    pub(crate) fn of(meta: &std::fs::Metadata) -> Stamp {
        #[cfg(unix)]
        let (ctime_ns, ino) = {
            use std::os::unix::fs::MetadataExt;
            (
                i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
                meta.ino(),
            )
        };
        #[cfg(not(unix))]
        let (ctime_ns, ino) = (0, 0);
        Stamp {
            len: meta.len(),
            mtime: meta.modified().ok(),
            ctime_ns,
            ino,
        }
    }
}

pub(super) const EMPTY_FILE: &str = "empty file, not a snapshot";

/// The message for what cannot be read as a stream of bytes from start to end.
const NOT_REGULAR: &str =
    "not a regular file (a pipe or device); save the snapshot to a file first";

/// An opened snapshot.
pub(super) struct Input {
    file: std::fs::File,
    kind: InputKind,
    /// Bytes read from the file so far.
    /// (atomic: the reader may run on the loader's read-ahead thread)
    read: AtomicU64,
}

/// The snapshot's text, decompressed if it was gzip.
pub(super) struct Text<'a> {
    pub reader: Box<dyn Read + Send + 'a>,
    /// It was gzip: a read error means corrupt data.
    pub gzip: bool,
    /// The file's last line and its length (plain regular files only): see
    /// `Builder::reserve`.
    pub end_hint: Option<(Vec<u8>, u64)>,
}

impl Input {
    /// Check the file type before opening (a device is refused, a FIFO opened without
    /// blocking), and again on what was opened.
    pub(super) fn open(path: &Path) -> Result<Input, LoadError> {
        let io_err = |e: std::io::Error| LoadError::file(path, describe_io(&e));
        input_kind(path, &std::fs::metadata(path).map_err(io_err)?)?;
        let file = crate::open::open_read(path).map_err(io_err)?;
        let meta = file.metadata().map_err(io_err)?;
        let kind = input_kind(path, &meta)?;
        if matches!(kind, InputKind::Regular(s) if s.len == 0) {
            return Err(LoadError::file(path, EMPTY_FILE));
        }
        // A named FIFO may have no writer yet (and never one): wait a little for data rather
        // than read it as empty at once, and never forever. An anonymous pipe (`<(…)`,
        // /dev/stdin) has its writer, however slow: reads just wait.
        let named_fifo = std::fs::symlink_metadata(path).is_ok_and(|m| is_fifo(&m));
        if named_fifo && !crate::open::wait_for_writer(&file, crate::open::FIFO_WRITER_WAIT_MS) {
            return Err(LoadError::file(
                path,
                "empty pipe, not a snapshot (nothing came through it in 2 s)",
            ));
        }
        Ok(Input {
            file,
            kind,
            read: AtomicU64::new(0),
        })
    }

    /// The text, through a gzip decoder when it starts with gzip's magic bytes.
    pub(super) fn text(&self) -> std::io::Result<Text<'_>> {
        let mut reader = Counted { input: self };
        let mut magic = Vec::with_capacity(2);
        (&mut reader).take(2).read_to_end(&mut magic)?;
        let gzip = magic == GZIP_MAGIC;
        let whole = std::io::Cursor::new(magic).chain(reader);
        if gzip {
            let buffered = std::io::BufReader::with_capacity(1 << 20, whole);
            let reader = Box::new(flate2::read::MultiGzDecoder::new(buffered));
            return Ok(Text {
                reader,
                gzip,
                end_hint: None,
            });
        }
        let end_hint = match self.kind {
            InputKind::Regular(stamp) => tail_line(&self.file, stamp.len).map(|t| (t, stamp.len)),
            InputKind::Pipe => None,
        };
        Ok(Text {
            reader: Box::new(whole),
            gzip,
            end_hint,
        })
    }

    /// A pipe (or FIFO): its text can be read only once.
    pub(super) fn is_pipe(&self) -> bool {
        matches!(self.kind, InputKind::Pipe)
    }

    /// What to say when the input holds nothing but blank lines.
    pub(super) fn empty_message(&self) -> &'static str {
        match self.kind {
            InputKind::Regular(_) => EMPTY_FILE,
            InputKind::Pipe => "empty pipe, not a snapshot",
        }
    }

    /// A regular file must still be what was opened; after a `complete` parse, every byte of
    /// it must have been read.
    pub(super) fn check_unchanged(&self, path: &Path, complete: bool) -> Result<(), LoadError> {
        let InputKind::Regular(before) = self.kind else {
            return Ok(());
        };
        let now = self.file.metadata().map(|m| Stamp::of(&m));
        let shrank_or_grew = complete && self.read.load(Ordering::Relaxed) != before.len;
        if now.ok() != Some(before) || shrank_or_grew {
            return Err(LoadError::file(path, "the file changed while it was read"));
        }
        Ok(())
    }
}

/// Regular files and pipes are read; a directory, a device or a socket is refused.
fn input_kind(path: &Path, meta: &std::fs::Metadata) -> Result<InputKind, LoadError> {
    if meta.is_dir() {
        return Err(LoadError::file(path, "is a directory, not a snapshot file"));
    }
    if meta.is_file() {
        return Ok(InputKind::Regular(Stamp::of(meta)));
    }
    if is_fifo(meta) {
        return Ok(InputKind::Pipe);
    }
    Err(LoadError::file(path, NOT_REGULAR))
}

fn is_fifo(meta: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        meta.file_type().is_fifo()
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        false
    }
}

/// The input's file, counting the bytes read.
struct Counted<'a> {
    input: &'a Input,
}

impl Read for Counted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (&self.input.file).read(buf)?;
        self.input.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// gzip's magic bytes.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The last non-empty line of the file's last 4 KiB (the end record, in a whole snapshot).
fn tail_line(file: &std::fs::File, len: u64) -> Option<Vec<u8>> {
    let n = len.min(4096);
    let mut tail = vec![0; n as usize];
    read_exact_at(file, &mut tail, len - n).ok()?;
    split_lines(&tail, 1).last().map(|&(_, l)| l.to_vec())
}

#[cfg(unix)]
fn read_exact_at(file: &std::fs::File, buf: &mut [u8], at: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, at)
}

#[cfg(not(unix))]
fn read_exact_at(_: &std::fs::File, _: &mut [u8], _: u64) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}

pub(super) fn describe_io(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// Lines parsed at once, in bytes of text. Parsed records take about as much memory as their
/// text, and only one batch of them exists at a time, so this bounds the parse's own memory.
/// A dumper line is about 1 MB, so a batch still gives both cores several lines; 8 MB rather
/// than 32 took the cold-load peak of a 1.6M-object snapshot from 230 to 167 MB, no slower.
pub(super) const BATCH_BYTES: usize = 8 << 20;

/// Longest line read. The dumper writes 8192 objects a line, so a line is about 1 MB; only
/// an object with tens of millions of references (a dict of 20M keys) comes near this. It
/// bounds the memory a line with no end (a decompression bomb) can take.
pub(super) const MAX_LINE_BYTES: usize = 1 << 30;

/// Why the next batch of lines could not be read.
#[derive(Debug)]
pub(super) enum LineError {
    Io(std::io::Error),
    /// The line (1-based) grew past [`MAX_LINE_BYTES`].
    TooLong(usize),
    /// The line holds a byte below 0x20 other than tab and CR.
    Control(usize),
}

/// Whole lines of about [`BATCH_BYTES`] at a time, read from a stream.
pub(super) struct LineBatches<R> {
    reader: R,
    /// Read but not yet handed out: the start of an unfinished line.
    pending: Vec<u8>,
    /// How much of `pending` is known to hold no newline and no control byte.
    scanned: usize,
    /// The 1-based number of the line `pending` starts.
    line: usize,
    eof: bool,
}

/// A run of whole lines.
pub(super) struct Batch {
    pub text: Vec<u8>,
    /// The number of the batch's first line.
    pub first_line: usize,
    /// The text ends the input without a final newline.
    pub unterminated: bool,
}

impl<R: Read> LineBatches<R> {
    pub(super) fn new(reader: R) -> Self {
        LineBatches {
            reader,
            pending: Vec::new(),
            scanned: 0,
            line: 1,
            eof: false,
        }
    }

    /// The next batch, or `None` at the end of the input.
    pub(super) fn next_batch(&mut self) -> Result<Option<Batch>, LineError> {
        let mut target = BATCH_BYTES;
        loop {
            self.fill(target)?;
            let cut = match memchr::memrchr(b'\n', &self.pending[self.scanned..]) {
                Some(i) => self.scanned + i + 1,
                None if self.eof => self.pending.len(),
                None => {
                    self.check_unfinished_line()?;
                    target = self.pending.len() + BATCH_BYTES;
                    continue;
                }
            };
            if cut == 0 {
                return Ok(None);
            }
            let rest = self.pending.split_off(cut);
            let text = std::mem::replace(&mut self.pending, rest);
            self.scanned = 0;
            let first_line = self.line;
            self.line += memchr::memchr_iter(b'\n', &text).count();
            let unterminated = self.eof && self.pending.is_empty() && text.last() != Some(&b'\n');
            return Ok(Some(Batch {
                text,
                first_line,
                unterminated,
            }));
        }
    }

    /// Read until `pending` holds `target` bytes or the input ends.
    fn fill(&mut self, target: usize) -> Result<(), LineError> {
        if self.eof || self.pending.len() >= target {
            return Ok(());
        }
        let want = (target - self.pending.len()) as u64;
        let got = (&mut self.reader)
            .take(want)
            .read_to_end(&mut self.pending)
            .map_err(LineError::Io)?;
        self.eof = (got as u64) < want;
        Ok(())
    }

    /// `pending` is one unfinished line: refuse it early when it cannot be JSON (control
    /// bytes: a run of zeros) or has grown too long, rather than buffering it to the end.
    fn check_unfinished_line(&mut self) -> Result<(), LineError> {
        let fresh = &self.pending[self.scanned..];
        if fresh.iter().any(|&b| b < 0x20 && b != b'\t' && b != b'\r') {
            return Err(LineError::Control(self.line));
        }
        self.scanned = self.pending.len();
        if self.pending.len() > MAX_LINE_BYTES {
            return Err(LineError::TooLong(self.line));
        }
        Ok(())
    }
}

/// Non-empty lines with their numbers, counting from `first` (the number of the first).
pub(super) fn split_lines(bytes: &[u8], first: usize) -> Vec<(usize, &[u8])> {
    let mut lines = Vec::new();
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\n', bytes).chain(std::iter::once(bytes.len()));
    for (index, end) in ends.enumerate() {
        let line = trim_ascii(&bytes[start..end]);
        if !line.is_empty() {
            lines.push((first + index, line));
        }
        start = end + 1;
    }
    lines
}

fn trim_ascii(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &s[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line once, numbered, in whole-line batches of about `BATCH_BYTES`.
    fn batches_of(text: &[u8]) -> Vec<(usize, Vec<u8>, bool)> {
        let mut batches = LineBatches::new(text);
        let mut all = Vec::new();
        while let Some(b) = batches.next_batch().unwrap() {
            for (no, line) in split_lines(&b.text, b.first_line) {
                all.push((no, line.to_vec(), b.unterminated));
            }
        }
        all
    }

    #[test]
    fn batches_cover_every_line_once_with_its_number() {
        let big = "x".repeat(BATCH_BYTES / 3 + 1);
        let text = format!("{big}\n\n{big}\n{big}\n{big}\n{big}\nlast");
        let lines = batches_of(text.as_bytes());
        let numbers: Vec<usize> = lines.iter().map(|l| l.0).collect();
        assert_eq!(numbers, [1, 3, 4, 5, 6, 7]);
        assert!(lines[..5].iter().all(|l| l.1.len() == big.len() && !l.2));
        assert_eq!((lines[5].1.as_slice(), lines[5].2), (&b"last"[..], true));
        let one_long = "y".repeat(3 * BATCH_BYTES);
        assert_eq!(batches_of(one_long.as_bytes())[0].1.len(), one_long.len());
    }
}
