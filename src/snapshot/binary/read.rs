//! A binary snapshot, streamed: blocks are read one by one (never more than a batch of them
//! held), decoded in parallel a batch at a time, then added in file order to the same
//! [`Builder`] the JSON loader uses — so both formats give the same [`Snapshot`] and the
//! same load report.

use super::decode::{self, Block};
use super::{kind, BLOCK_HEADER_LEN, LAYOUT_MAJOR, MAGIC, MAX_BLOCK_BYTES, PREAMBLE_LEN};
use crate::snapshot::format::{Record, SitesRecord, TypesRecord};
use crate::snapshot::load::{parse_header, Builder, LoadError};
use crate::snapshot::read::{describe_io, BATCH_BYTES};
use crate::snapshot::Snapshot;
use rayon::prelude::*;
use std::borrow::Cow;
use std::io::Read;
use std::path::Path;

/// One block as read from the stream.
pub struct RawBlock {
    /// Its kind.
    pub kind: u8,
    /// Its payload.
    pub payload: Vec<u8>,
    /// 1-based block number (the header is block 1).
    pub number: usize,
    /// Byte offset of its header in the (decompressed) stream.
    pub offset: u64,
}

/// What comes next in the stream.
pub enum Next {
    /// A whole block.
    Block(RawBlock),
    /// The end of the stream, between blocks.
    Eof,
    /// The stream ends inside a block: the message says where.
    Cut(String),
}

/// Reads the preamble, then block after block.
pub struct Blocks<R> {
    reader: R,
    offset: u64,
    number: usize,
    read_error: Option<&'static str>,
}

impl<R: Read> Blocks<R> {
    /// Check the magic and the layout version. `read_error` prefixes read errors (a gzip
    /// stream's "corrupt gzip data").
    pub fn new(mut reader: R, read_error: Option<&'static str>) -> Result<Self, String> {
        let mut pre = Vec::with_capacity(PREAMBLE_LEN);
        (&mut reader)
            .take(PREAMBLE_LEN as u64)
            .read_to_end(&mut pre)
            .map_err(|e| io_message(&e, read_error))?;
        if !pre.starts_with(&MAGIC) {
            return Err("not a binary refgraph snapshot (no magic)".into());
        }
        if pre.len() < PREAMBLE_LEN {
            return Err(
                "holds no header: the binary snapshot was cut short after its magic".into(),
            );
        }
        let (major, minor) = (pre[MAGIC.len()], pre[MAGIC.len() + 1]);
        if major != LAYOUT_MAJOR {
            return Err(format!(
                "binary snapshot layout {major}.{minor} is not supported (this refgraph reads {LAYOUT_MAJOR}.x)"
            ));
        }
        Ok(Blocks {
            reader,
            offset: PREAMBLE_LEN as u64,
            number: 0,
            read_error,
        })
    }

    /// The next block. A payload is read as it arrives (never allocated from its declared
    /// length alone), so a lying length costs no more memory than the bytes really there.
    pub fn next_block(&mut self) -> Result<Next, String> {
        let mut head = Vec::with_capacity(BLOCK_HEADER_LEN);
        self.read_up_to(&mut head, BLOCK_HEADER_LEN as u64)?;
        let (offset, number) = (self.offset, self.number + 1);
        if head.is_empty() {
            return Ok(Next::Eof);
        }
        if head.len() < BLOCK_HEADER_LEN {
            return Ok(Next::Cut(format!(
                "block {number} (byte {offset}) is cut short in its header"
            )));
        }
        let kind = head[0];
        let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]);
        if len > MAX_BLOCK_BYTES {
            return Err(format!(
                "block {number} (byte {offset}): a block of {len} bytes, more than the {} MiB a block may have",
                MAX_BLOCK_BYTES >> 20
            ));
        }
        let mut payload = Vec::new();
        self.read_up_to(&mut payload, u64::from(len))?;
        if payload.len() < len as usize {
            return Ok(Next::Cut(format!(
                "block {number} (byte {offset}) is cut short ({} of its {len} bytes)",
                payload.len()
            )));
        }
        self.number = number;
        self.offset += (BLOCK_HEADER_LEN + payload.len()) as u64;
        Ok(Next::Block(RawBlock {
            kind,
            payload,
            number,
            offset,
        }))
    }

    fn read_up_to(&mut self, buf: &mut Vec<u8>, n: u64) -> Result<(), String> {
        let got = (&mut self.reader)
            .take(n)
            .read_to_end(buf)
            .map_err(|e| io_message(&e, self.read_error))?;
        if (got as u64) < n {
            self.offset += got as u64;
        }
        Ok(())
    }
}

fn io_message(e: &std::io::Error, read_error: Option<&str>) -> String {
    match read_error {
        Some(what) => format!("{what}: {e}"),
        None => describe_io(e),
    }
}

/// Load a binary snapshot from `reader` (which starts with the magic). `path` is for messages.
pub fn parse_stream(
    path: &Path,
    reader: impl Read + Send,
    read_error: Option<&'static str>,
) -> Result<Snapshot, LoadError> {
    let fail = |m: String| LoadError::file(path, m);
    let mut blocks = Blocks::new(reader, read_error).map_err(fail)?;
    let first = match blocks.next_block().map_err(fail)? {
        Next::Block(b) if b.kind == kind::HEADER => b,
        Next::Block(_) => {
            return Err(fail(
                "not a refgraph snapshot (its first block is not a header)".into(),
            ))
        }
        Next::Eof | Next::Cut(_) => {
            return Err(fail(
                "holds no header: the binary snapshot was cut short".into(),
            ))
        }
    };
    let header = parse_header(path, 1, &first.payload).map_err(|e| in_block(path, e))?;
    let mut load = Load {
        builder: Builder::new(path, header),
        codes: Vec::new(),
        path,
    };
    load.builder.in_blocks();
    // The next batch is read while this one is decoded and added, as for JSON lines: one
    // batch ahead (the batch added, one waiting, one being read).
    let (ahead, batches) = std::sync::mpsc::sync_channel(1);
    std::thread::scope(|scope| {
        let reading = std::thread::Builder::new().spawn_scoped(scope, move || {
            read_ahead(&mut blocks, &ahead);
        });
        if let Err(e) = reading {
            return Err(fail(format!("cannot start a thread to read it: {e}")));
        }
        for batch in batches {
            load.add_batch(batch.map_err(fail)?)?;
        }
        Ok(())
    })?;
    load.builder.finish().map_err(|e| in_block(path, e))
}

/// Blocks read together, up to [`BATCH_BYTES`]; `cut` when the stream ended inside a block.
struct Batch {
    blocks: Vec<RawBlock>,
    cut: Option<String>,
}

/// Send batch after batch to `ahead` until the stream ends, fails or is cut, or the loader
/// stops listening (after an error of its own).
fn read_ahead<R: Read>(
    blocks: &mut Blocks<R>,
    ahead: &std::sync::mpsc::SyncSender<Result<Batch, String>>,
) {
    loop {
        let mut batch = Batch {
            blocks: Vec::new(),
            cut: None,
        };
        let mut bytes = 0usize;
        let mut ended = false;
        while bytes < BATCH_BYTES && !ended {
            match blocks.next_block() {
                Ok(Next::Block(b)) => {
                    bytes += b.payload.len() + BLOCK_HEADER_LEN;
                    batch.blocks.push(b);
                }
                Ok(Next::Eof) => ended = true,
                Ok(Next::Cut(m)) => {
                    batch.cut = Some(m);
                    ended = true;
                }
                Err(e) => {
                    let _ = ahead.send(Err(e));
                    return;
                }
            }
        }
        if ahead.send(Ok(batch)).is_err() || ended {
            return;
        }
    }
}

/// The builder's `path:N: message` made `path: block N: message`.
fn in_block(path: &Path, e: LoadError) -> LoadError {
    match e.line {
        Some(n) => LoadError::file(path, format!("block {n}: {}", e.message)),
        None => e,
    }
}

/// A load in progress: the builder and the file's own tables.
struct Load<'p> {
    builder: Builder<'p>,
    /// The file's edge-label table, as this snapshot's label codes.
    codes: Vec<u32>,
    path: &'p Path,
}

impl Load<'_> {
    /// Decode a batch's blocks on all cores, then add them in file order (the objects blocks
    /// that follow each other together, so that their columns are appended on all cores).
    fn add_batch(&mut self, batch: Batch) -> Result<(), LoadError> {
        let path = self.path;
        let decoded: Vec<Result<Block<'_>, String>> = batch
            .blocks
            .par_iter()
            .map(|b| decode::block(b.kind, &b.payload))
            .collect();
        let mut blocks = Vec::with_capacity(decoded.len());
        for (raw, block) in batch.blocks.iter().zip(decoded) {
            let block = block.map_err(|m| {
                LoadError::file(
                    path,
                    format!("block {} (byte {}): {m}", raw.number, raw.offset),
                )
            })?;
            blocks.push((raw.number, block));
        }
        let mut at = 0;
        while at < blocks.len() {
            let run = blocks[at..]
                .iter()
                .map_while(|(number, block)| match block {
                    Block::Objects(o) => Some((*number, o)),
                    _ => None,
                })
                .collect::<Vec<_>>();
            if run.is_empty() {
                let (number, block) = std::mem::replace(&mut blocks[at], (0, Block::Skipped));
                self.add(number, block)?;
                at += 1;
                continue;
            }
            at += run.len();
            self.builder
                .add_binary_objects(&run, &self.codes)
                .map_err(|e| in_block(path, e))?;
        }
        if let Some(m) = batch.cut {
            self.builder
                .warn(format!("{m}; loaded the blocks before it"));
            self.builder.report.truncated = true;
        }
        Ok(())
    }

    fn add(&mut self, number: usize, block: Block<'_>) -> Result<(), LoadError> {
        let path = self.path;
        let at = |m: String| LoadError::file(path, format!("block {number}: {m}"));
        let b = &mut self.builder;
        let added = match block {
            Block::Header(_) => b.add(number, Record::Header(Default::default())),
            Block::Types { base, names } => {
                let names = names
                    .into_iter()
                    .map(|(m, q)| (Cow::Borrowed(m), Cow::Borrowed(q)))
                    .collect();
                b.add_types(number, TypesRecord { base, names })
            }
            Block::EdgeLabels { base, texts } => {
                if base != self.codes.len() as u64 {
                    return Err(at(format!(
                        "edge labels base {base} does not follow the {} edge labels defined before",
                        self.codes.len()
                    )));
                }
                for text in texts {
                    self.codes.push(b.intern_edge_label(Some(text)));
                }
                Ok(())
            }
            Block::Objects(o) => b.add_binary_objects(&[(number, &o)], &self.codes),
            Block::Roots(roots) => roots
                .into_iter()
                .try_for_each(|r| b.add(number, Record::Root(r))),
            Block::Threads(threads) => threads
                .into_iter()
                .try_for_each(|t| b.add(number, Record::Thread(t))),
            Block::Marks(marks) => marks
                .into_iter()
                .try_for_each(|m| b.add(number, Record::Mark(m))),
            Block::Sites { base, sites } => {
                let sites = sites
                    .into_iter()
                    .map(|frames| {
                        frames
                            .into_iter()
                            .map(|(f, l)| (Cow::Borrowed(f), l))
                            .collect()
                    })
                    .collect();
                b.add_sites(number, SitesRecord { base, sites })
            }
            Block::End(e) => b.add(number, Record::End(e)),
            Block::Skipped => Ok(()),
        };
        added.map_err(|e| in_block(path, e))
    }
}
