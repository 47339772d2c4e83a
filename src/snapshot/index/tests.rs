//! Tests of the binary index: it round-trips a snapshot exactly, and a truncated, flipped,
//! stale or otherwise wrong index is refused (never a panic), so the JSON is loaded instead.

use super::*;
use crate::snapshot::load::load_using;
use serde_json::json;
use std::fmt::Debug;

/// Compare every column of two snapshots; the error names the first that differs.
pub(crate) fn same_snapshot(a: &Snapshot, b: &Snapshot) -> Result<(), String> {
    fn same<T: PartialEq + Debug>(name: &str, x: &T, y: &T) -> Result<(), String> {
        if x == y {
            Ok(())
        } else {
            Err(format!("{name} differs"))
        }
    }
    same("path", &a.path, &b.path)?;
    same("header", &json_of(&a.header), &json_of(&b.header))?;
    same("report", &json_of(&a.report), &json_of(&b.report))?;
    same("ids", &a.ids, &b.ids)?;
    same("type_of", &a.type_of, &b.type_of)?;
    same("sizes", &a.sizes, &b.sizes)?;
    same("refcounts", &a.refcounts, &b.refcounts)?;
    same("flags", &a.flags, &b.flags)?;
    same(
        "labels",
        &(&a.labels.data, &a.labels.ends),
        &(&b.labels.data, &b.labels.ends),
    )?;
    same("types", &a.types, &b.types)?;
    same(
        "fwd",
        &(&a.fwd.offsets, &a.fwd.targets),
        &(&b.fwd.offsets, &b.fwd.targets),
    )?;
    same("fwd_labels", &a.fwd_labels, &b.fwd_labels)?;
    same("edge_texts", &a.edge_texts, &b.edge_texts)?;
    same(
        "rev",
        &(&a.rev.offsets, &a.rev.targets),
        &(&b.rev.offsets, &b.rev.targets),
    )?;
    same("roots", &a.roots, &b.roots)?;
    same("root_of", &a.root_of, &b.root_of)?;
    same("marks", &a.marks, &b.marks)?;
    same(
        "sites",
        &(&a.sites.table, &a.sites.of),
        &(&b.sites.table, &b.sites.of),
    )?;
    same("by_id", &a.by_id, &b.by_id)
}

/// Header and LoadReport have no `PartialEq`; their JSON does.
fn json_of<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).expect("serializable")
}

/// A snapshot with every feature the index must keep: non-ASCII and empty labels, indexed and
/// labelled references, repeated and unique edge texts, dangling references, module and
/// thread roots, a root with no object (a warning), marks, ids not in file order, allocation
/// sites (some objects without one).
fn sample_json(n: u64) -> String {
    let id = |i: u64| (i.wrapping_mul(0x9E37_79B9) % (1 << 40)) + 16;
    let mut lines = vec![
        json!({"kind":"header","format":"refgraph-snapshot","version":[1,3],"pid":42,"argv":["app.py","-x"],"python":"3.12","trace_alloc":3}),
        json!({"kind":"types","base":0,"names":[["builtins","list"],["builtins","dict"],["app","Sessión"],["","€"]]}),
        json!({"kind":"sites","base":0,"sites":[[["/app/a.py",3],["/app/main.py",10]],[["/app/é.py",1]],[["<frozen abc>",106],["/app/a.py",3],["/app/main.py",1]]]}),
    ];
    for chunk in (0..n).collect::<Vec<_>>().chunks(97) {
        lines.push(objects_record(chunk, n, id));
    }
    lines.push(json!({"kind":"root","root":"module","name":"app","id":id(0)}));
    lines.push(json!({"kind":"root","root":"module","name":"ghost","id":7}));
    lines.push(json!({"kind":"thread","name":"MainThread","frames":[id(1), id(2)]}));
    lines.push(json!({"kind":"mark","name":"the thing","id":id(3)}));
    lines.push(json!({"kind":"end","objects":n}));
    lines.iter().map(|l| format!("{l}\n")).collect()
}

fn objects_record(chunk: &[u64], n: u64, id: impl Fn(u64) -> u64) -> serde_json::Value {
    let mut refs = Vec::new();
    let mut edge_labels = Vec::new();
    for &i in chunk {
        for k in 0..i % 4 {
            // Every 50th object also refers to an id that is not in the snapshot.
            refs.push(if i % 50 == 0 && k == 0 {
                3
            } else {
                id((i * 31 + k * 7) % n)
            });
            if i % 3 != 0 {
                edge_labels.push(match (i + k) % 4 {
                    0 => json!(null),
                    1 => json!(format!(".attr{}", k)),
                    2 => json!(format!("['ключ {i}']")),
                    _ => json!(""),
                });
            }
        }
    }
    let label = |i: u64| match i % 5 {
        0 => json!(null),
        1 => json!(format!("héllo € {i}")),
        2 => json!(""),
        3 => json!("x".repeat(300)),
        _ => json!(format!("{i} items")),
    };
    json!({
        "kind": "objects",
        "id": chunk.iter().map(|&i| id(i)).collect::<Vec<_>>(),
        "type": chunk.iter().map(|&i| i % 4).collect::<Vec<_>>(),
        "size": chunk.iter().map(|&i| 16 + i % 1000).collect::<Vec<_>>(),
        "refcount": chunk.iter().map(|&i| (i % 7) as i64 - 1).collect::<Vec<_>>(),
        "flags": chunk.iter().map(|&i| if i % 3 == 0 { 6 } else { (i % 3) as u8 }).collect::<Vec<_>>(),
        "label": chunk.iter().map(|&i| label(i)).collect::<Vec<_>>(),
        "nrefs": chunk.iter().map(|&i| i % 4).collect::<Vec<_>>(),
        "refs": refs,
        "edge_labels": edge_labels,
        "site": chunk.iter().map(|&i| if i % 4 == 3 { json!(null) } else { json!(i % 4) }).collect::<Vec<_>>(),
    })
}

/// A snapshot file in a temp dir, with its JSON-loaded snapshot and an index that is always
/// worth writing.
struct Fixture {
    dir: tempfile::TempDir,
    path: PathBuf,
    json: Snapshot,
}

impl Fixture {
    fn new(n: u64) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("heap.rgsnap");
        std::fs::write(&path, sample_json(n)).unwrap();
        let json = load_using(&path, None).unwrap();
        Fixture { dir, path, json }
    }

    fn index(&self) -> Index {
        let index = Index::new(&self.path).unwrap();
        Index {
            min_objects: 0,
            min_bytes: 0,
            ..index
        }
    }

    fn index_path(&self) -> PathBuf {
        beside(&self.path)
    }

    fn write_index(&self) -> Vec<u8> {
        assert_eq!(self.index().store(&self.json).unwrap(), self.index_path());
        std::fs::read(self.index_path()).unwrap()
    }

    fn read(&self) -> Check<Snapshot> {
        read_index(&self.index_path(), &self.path, &self.index().fingerprint)
    }

    /// The index with `bytes` as its content must be refused, and a load must give the JSON's
    /// snapshot and leave a valid index behind.
    fn assert_refused_then_rebuilt(&self, bytes: &[u8], why: &str) {
        std::fs::write(self.index_path(), bytes).unwrap();
        assert!(self.read().is_err(), "{why}: a bad index was accepted");
        let loaded = load_using(&self.path, Some(&self.index())).unwrap();
        same_snapshot(&loaded, &self.json).unwrap();
        same_snapshot(&self.read().unwrap(), &self.json).unwrap();
    }
}

#[test]
fn an_index_reads_back_the_same_snapshot() {
    let f = Fixture::new(1000);
    assert!(f.json.report.dangling_refs > 0 && !f.json.report.warnings.is_empty());
    f.write_index();
    same_snapshot(&f.read().unwrap(), &f.json).unwrap();
}

#[test]
fn a_reopened_snapshot_reads_its_columns_in_place() {
    let f = Fixture::new(1000);
    f.write_index();
    let snap = f.read().unwrap();
    assert!(!f.json.ids.is_mapped());
    let columns = [
        snap.ids.is_mapped(),
        snap.sizes.is_mapped(),
        snap.fwd.targets.is_mapped(),
        snap.rev.offsets.is_mapped(),
        snap.by_id.is_mapped(),
        snap.labels.ends.is_mapped(),
    ];
    assert_eq!(columns, [true; 6]);
    // The map outlives the file's replacement: a rename puts a new inode in its place.
    f.write_index();
    drop(f);
    assert_eq!(snap.ids.len(), 1000);
    assert!(snap.labels.get(1).is_some_and(|l| l.starts_with("héllo")));
}

#[test]
fn a_load_writes_the_index_and_the_next_load_reads_it() {
    let f = Fixture::new(300);
    let first = load_using(&f.path, Some(&f.index())).unwrap();
    same_snapshot(&first, &f.json).unwrap();
    let index = f
        .index()
        .read()
        .expect("the first load wrote a valid index");
    same_snapshot(&index, &f.json).unwrap();
    same_snapshot(&load_using(&f.path, Some(&f.index())).unwrap(), &f.json).unwrap();
}

#[test]
fn a_snapshot_without_references_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("one.rgsnap");
    std::fs::write(&path, sample_json(1)).unwrap();
    let json = load_using(&path, None).unwrap();
    let index = Index {
        min_objects: 0,
        ..Index::new(&path).unwrap()
    };
    index.store(&json).unwrap();
    same_snapshot(&index.read().unwrap(), &json).unwrap();
}

#[test]
fn small_snapshots_get_no_index() {
    let f = Fixture::new(300);
    same_snapshot(&crate::snapshot::load(&f.path).unwrap(), &f.json).unwrap();
    assert_eq!(
        std::fs::read_dir(f.dir.path()).unwrap().count(),
        1,
        "only the snapshot"
    );
}

#[test]
fn a_stale_index_is_removed_even_where_no_new_one_is_written() {
    let f = Fixture::new(300);
    f.write_index();
    let file = File::options().write(true).open(&f.path).unwrap();
    let mtime = file.metadata().unwrap().modified().unwrap();
    file.set_modified(mtime + std::time::Duration::from_secs(1))
        .unwrap();
    assert_eq!(f.read().err(), Some(Invalid("stale")));
    let never_worth = Index {
        min_objects: usize::MAX,
        ..f.index()
    };
    same_snapshot(&load_using(&f.path, Some(&never_worth)).unwrap(), &f.json).unwrap();
    assert!(!f.index_path().exists(), "the stale index is gone");
    // What is not a file at the index's place is left alone.
    std::fs::create_dir(f.index_path()).unwrap();
    same_snapshot(&load_using(&f.path, Some(&never_worth)).unwrap(), &f.json).unwrap();
    assert!(f.index_path().is_dir());
}

#[test]
fn worth_it_means_many_objects_or_a_big_file_of_many_objects() {
    let f = Fixture::new(300);
    let index = |min_objects, min_bytes| Index {
        min_objects,
        min_bytes,
        ..f.index()
    };
    assert!(index(300, u64::MAX).worth(&f.json));
    assert!(!index(301, u64::MAX).worth(&f.json));
    assert!(index(3000, 1).worth(&f.json));
    assert!(
        !index(3010, 1).worth(&f.json),
        "a big file of few objects parses fast"
    );
}

#[test]
fn a_truncated_index_is_refused_and_rebuilt() {
    let f = Fixture::new(1000);
    let good = f.write_index();
    for tenth in 0..10 {
        f.assert_refused_then_rebuilt(&good[..good.len() * tenth / 10], "truncated");
    }
    f.assert_refused_then_rebuilt(&good[..good.len() - 1], "one byte short");
    let mut longer = good.clone();
    longer.push(0);
    f.assert_refused_then_rebuilt(&longer, "one byte long");
}

/// A small deterministic generator (xorshift64*): no dependency for a few random numbers.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as usize % n
    }
}

#[test]
fn every_flipped_byte_is_caught() {
    let f = Fixture::new(1000);
    let good = f.write_index();
    let mut rng = Rng(0x5EED);
    let section_starts = section_offsets(&good);
    let positions = (0..HEADER_BYTES)
        .step_by(8)
        .chain(section_starts)
        .chain((0..300).map(|_| rng.below(good.len())));
    for at in positions.filter(|&at| at < good.len()).collect::<Vec<_>>() {
        let mut bad = good.clone();
        bad[at] ^= 1 << rng.below(8);
        std::fs::write(f.index_path(), &bad).unwrap();
        assert!(f.read().is_err(), "a flip at byte {at} was not caught");
    }
    f.assert_refused_then_rebuilt(&good[..0], "empty");
}

#[test]
fn a_wrong_format_or_refgraph_version_is_refused() {
    let f = Fixture::new(100);
    let good = f.write_index();
    let mut bad = good.clone();
    bad[8] += 1;
    std::fs::write(f.index_path(), &bad).unwrap();
    assert_eq!(f.read().err(), Some(Invalid("format version")));
    let mut bad = good.clone();
    bad[16] ^= 0x20;
    reseal(&mut bad);
    std::fs::write(f.index_path(), &bad).unwrap();
    assert_eq!(f.read().err(), Some(Invalid("refgraph version")));
    f.assert_refused_then_rebuilt(&bad, "version");
}

#[test]
fn an_index_of_a_changed_snapshot_is_stale() {
    let f = Fixture::new(300);
    let good = f.write_index();
    let file = File::options().write(true).open(&f.path).unwrap();
    let mtime = file.metadata().unwrap().modified().unwrap();
    file.set_modified(mtime + std::time::Duration::from_nanos(1))
        .unwrap();
    assert_eq!(f.read().err(), Some(Invalid("stale")), "a newer mtime");
    f.assert_refused_then_rebuilt(&good, "mtime");

    // Same size and mtime, other content: the sampled hash tells.
    let text = std::fs::read_to_string(&f.path)
        .unwrap()
        .replace(r#""pid":42"#, r#""pid":43"#);
    std::fs::write(&f.path, text).unwrap();
    File::options()
        .write(true)
        .open(&f.path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    std::fs::write(f.index_path(), &good).unwrap();
    assert_eq!(
        f.read().err(),
        Some(Invalid("stale")),
        "same size and mtime, new content"
    );
}

/// A rewrite that keeps the size, the mtime and the first and last 64 KiB (`cp -p` in place,
/// `rsync -a` by rename) changes the ctime or the inode: the index is stale.
#[test]
fn a_rewrite_keeping_size_mtime_and_ends_makes_the_index_stale() {
    let f = Fixture::new(3000);
    let text = std::fs::read(&f.path).unwrap();
    assert!(
        text.len() > 3 * SAMPLE_BYTES as usize,
        "the middle is not sampled"
    );
    let mtime = std::fs::metadata(&f.path).unwrap().modified().unwrap();
    let mut changed = text.clone();
    let middle = changed.len() / 2;
    let digit = changed[middle..]
        .iter()
        .position(u8::is_ascii_digit)
        .unwrap()
        + middle;
    changed[digit] = if changed[digit] == b'1' { b'2' } else { b'1' };
    let keep_mtime = |path: &Path| {
        File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(mtime)
            .unwrap()
    };
    for how in ["in place", "by rename"] {
        let good = f.write_index();
        assert!(f.read().is_ok());
        std::thread::sleep(std::time::Duration::from_millis(20));
        if how == "in place" {
            std::fs::write(&f.path, &changed).unwrap();
            keep_mtime(&f.path);
        } else {
            let other = f.dir.path().join("other");
            std::fs::write(&other, &changed).unwrap();
            keep_mtime(&other);
            std::fs::rename(&other, &f.path).unwrap();
        }
        let fresh = Index::new(&f.path).unwrap();
        assert_eq!(fresh.fingerprint.size, f.index().fingerprint.size);
        std::fs::write(f.index_path(), &good).unwrap();
        let read = read_index(&f.index_path(), &f.path, &fresh.fingerprint);
        assert_eq!(read.err(), Some(Invalid("stale")), "{how}");
        std::fs::write(&f.path, &text).unwrap();
    }
}

/// A FIFO planted where the index goes is neither opened (it would block) nor replaced.
#[test]
fn a_fifo_at_the_index_place_is_ignored() {
    let f = Fixture::new(300);
    let status = std::process::Command::new("mkfifo")
        .arg(f.index_path())
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(f.read().err(), Some(Invalid("unreadable")));
    let loaded = load_using(&f.path, Some(&f.index())).unwrap();
    same_snapshot(&loaded, &f.json).unwrap();
    let kind = std::fs::symlink_metadata(f.index_path())
        .unwrap()
        .file_type();
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(&kind));
}

/// The byte offset of each section in an index file.
fn section_offsets(index: &[u8]) -> Vec<usize> {
    let lens = (0..SECTIONS).map(|s| word(&index[(FIXED_WORDS + 2 * s) * 8..][..8]) as usize);
    lens.scan(HEADER_BYTES, |at, len| {
        let start = *at;
        *at = (*at + len).next_multiple_of(ALIGN);
        Some(start)
    })
    .collect()
}

/// Recompute every checksum, so a test can reach the structural checks behind them.
fn reseal(index: &mut [u8]) {
    let starts = section_offsets(index);
    for (s, &start) in starts.iter().enumerate() {
        let len = word(&index[(FIXED_WORDS + 2 * s) * 8..][..8]) as usize;
        let sum = digest(&index[start..start + len]);
        index[(FIXED_WORDS + 2 * s + 1) * 8..][..8].copy_from_slice(&sum.to_le_bytes());
    }
    let sum = hash_bytes(&index[..HEADER_BYTES - 8]);
    index[HEADER_BYTES - 8..HEADER_BYTES].copy_from_slice(&sum.to_le_bytes());
}

/// Overwrite `bytes` at `offset` within section `section`, and reseal.
fn patched(good: &[u8], section: usize, offset: usize, bytes: &[u8]) -> Vec<u8> {
    let mut bad = good.to_vec();
    let at = section_offsets(good)[section] + offset;
    bad[at..at + bytes.len()].copy_from_slice(bytes);
    reseal(&mut bad);
    bad
}

#[test]
fn structurally_wrong_sections_are_refused() {
    let f = Fixture::new(1000);
    let good = f.write_index();
    let big = u32::MAX.to_le_bytes();
    let cases: [(usize, usize, &[u8], &str); 14] = [
        (0, 0, b"[", "meta"),
        (2, 0, &big, "type index"),
        (3, 0, &u64::MAX.to_le_bytes(), "object size"),
        (6, 6, &[0xff], "text not UTF-8"),
        (7, 8, &0u32.to_le_bytes(), "text ends"),
        (7, 4, &2u32.to_le_bytes(), "text ends"),
        (9, 0, &big, "text ends"),
        (12, 4, &big, "offsets order"),
        (12, 0, &1u32.to_le_bytes(), "offsets"),
        (13, 8, &1000u32.to_le_bytes(), "edge target"),
        (14, 0, &(INDEX_BIT - 1).to_le_bytes(), "edge label code"),
        (17, 0, &1000u32.to_le_bytes(), "by_id node"),
        (18, 4, &3u32.to_le_bytes(), "site index"),
        (
            17,
            0,
            &good[section_offsets(&good)[17] + 4..][..4],
            "by_id order",
        ),
    ];
    for (section, offset, bytes, why) in cases {
        let bad = patched(&good, section, offset, bytes);
        std::fs::write(f.index_path(), &bad).unwrap();
        assert_eq!(
            f.read().err(),
            Some(Invalid(why)),
            "section {section}+{offset}"
        );
    }
}

#[test]
fn resealed_garbage_never_panics() {
    let f = Fixture::new(1000);
    let good = f.write_index();
    let mut rng = Rng(0xF1A5);
    for _ in 0..400 {
        let mut bad = good.clone();
        for _ in 0..1 + rng.below(4) {
            let at = HEADER_BYTES + rng.below(good.len() - HEADER_BYTES);
            bad[at] = rng.below(256) as u8;
        }
        reseal(&mut bad);
        std::fs::write(f.index_path(), &bad).unwrap();
        let _ = f.read(); // valid or refused, never a panic
    }
}

#[test]
fn index_places() {
    assert_eq!(
        beside(Path::new("d/heap.rgsnap.gz")),
        Path::new("d/heap.rgsnap.gz.rgidx")
    );
    let a = cache_file(Path::new("/c"), Path::new("/x/heap.rgsnap"));
    let b = cache_file(Path::new("/c"), Path::new("/y/heap.rgsnap"));
    assert!(a.starts_with("/c") && a.to_string_lossy().starts_with("/c/heap.rgsnap-"));
    assert_ne!(a, b);
    assert!(disabled_by(Some("1".into())) && disabled_by(Some("yes".into())));
    assert!(!disabled_by(None) && !disabled_by(Some("0".into())) && !disabled_by(Some("".into())));
}

#[test]
fn an_unwritable_place_falls_back_to_the_cache_directory() {
    let f = Fixture::new(300);
    // A directory where the index file should go: the rename onto it fails, as in a
    // read-only directory (which root, running the tests, could still write).
    std::fs::create_dir(f.index_path()).unwrap();
    let cached = cache_file(&f.dir.path().join("cache/refgraph"), &f.path);
    let index = Index {
        places: vec![f.index_path(), cached.clone()],
        ..f.index()
    };
    let first = load_using(&f.path, Some(&index)).unwrap();
    same_snapshot(&first, &f.json).unwrap();
    assert!(cached.is_file(), "the index went to the cache directory");
    let names: Vec<_> = std::fs::read_dir(f.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 3, "no temp file left behind: {names:?}");
    let second = read_index(&cached, &f.path, &index.fingerprint).unwrap();
    same_snapshot(&second, &f.json).unwrap();
    same_snapshot(&index.read().unwrap(), &f.json).unwrap();
}

#[test]
fn old_cached_indexes_are_pruned_when_another_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("gone.rgsnap-0123456789abcdef.rgidx");
    let recent = dir.path().join("kept.rgsnap-fedcba9876543210.rgidx");
    let other = dir.path().join("notes.txt");
    let written = dir.path().join("new.rgsnap-0000000000000000.rgidx");
    for p in [&old, &recent, &other, &written] {
        std::fs::write(p, b"x").unwrap();
    }
    let long_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(40 * 24 * 3600);
    for p in [&old, &other] {
        std::fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
    }
    prune_cache(&written, MAX_CACHE_AGE);
    assert!(!old.exists(), "an index untouched for 40 days goes");
    assert!(recent.exists() && written.exists());
    assert!(other.exists(), "only .rgidx files are pruned");
}
