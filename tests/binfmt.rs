//! The binary snapshot format end to end: a real program dumped twice in one process, as JSON
//! lines and as binary, on every CPython the machine has, gives the same answers about its
//! objects; `capture --format binary`; `convert` both ways, atomic and never over its input.

use crate::util::{run, script, stdout, Workdir};
use serde_json::Value;
use std::process::Command;

/// The answers that must not depend on the format. (Whole-heap counts may differ by the few
/// objects the first dump leaves behind: its result dict, a frame's locals.)
fn answers(snap: &str) -> Vec<String> {
    let types: Value = serde_json::from_str(&stdout(&["types", "--json", snap])).expect("json");
    let program_types: Vec<&Value> = types["data"]
        .as_array()
        .expect("a list of types")
        .iter()
        .filter(|t| {
            ["Node", "Leak", "bytearray", "frozenset"].contains(&t["type"].as_str().unwrap_or(""))
        })
        .collect();
    vec![
        stdout(&["chain", "--json", snap, "mark:target"]),
        cycles_of_the_program(snap),
        stdout(&["show", "--json", snap, "mark:target"]),
        format!("{program_types:?}"),
    ]
}

/// `cycles --json` less its whole-heap count of references left out.
fn cycles_of_the_program(snap: &str) -> String {
    let mut cycles: Value =
        serde_json::from_str(&stdout(&["cycles", "--json", snap])).expect("json");
    if let Some(data) = cycles["data"].as_object_mut() {
        data.remove("references_left_out");
    }
    cycles.to_string()
}

#[test]
fn json_and_binary_dumps_of_one_process_answer_alike_on_every_cpython() {
    let dir = Workdir::new();
    let dumper = dir.dumper_dir();
    let mut tried = 0;
    for (label, python) in crate::versions::pythons() {
        for gz in ["", ".gz"] {
            let (json, binary) = (dir.arg("t.rgsnap"), dir.arg(&format!("t.rgbin{gz}")));
            let out = Command::new(&python)
                .arg(script("binfmt_twice.py"))
                .args([&dumper, &json, &binary])
                .output()
                .expect("python runs");
            assert!(
                out.status.success(),
                "{label}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let bytes = std::fs::read(&binary).expect("binary snapshot");
            if gz.is_empty() {
                assert!(bytes.starts_with(b"\x89RGSNAP\x1a"), "{label}: not binary");
                let json_len = std::fs::metadata(&json).expect("json").len();
                assert!(
                    (bytes.len() as u64) < json_len,
                    "{label}: binary is smaller"
                );
            }
            let (a, b) = (answers(&json), answers(&binary));
            for (x, y) in a.iter().zip(&b) {
                assert_eq!(x, y, "{label}{gz}: JSON and binary answers differ");
            }
            assert!(
                a[0].contains("Leak") && a[1].contains("Node"),
                "{label}: {}",
                a[0]
            );
        }
        tried += 1;
    }
    assert!(tried > 0, "no CPython found");
}

#[test]
fn capture_writes_binary_on_request_and_everything_reads_it() {
    let dir = Workdir::new();
    let snap = dir.arg("c.rgbin");
    let out = dir.capture_output("cache_dict.py", &snap, &["--format", "binary"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::read(&snap)
        .expect("snapshot")
        .starts_with(b"\x89RGSNAP"));
    let json = dir.capture("cache_dict.py", &[]);
    // the same program's summary, but for the lines naming the file, the pid and the time
    let tail = |s: &str| -> Vec<String> {
        stdout(&["types", "--json", s])
            .lines()
            .map(String::from)
            .collect()
    };
    assert_eq!(tail(&snap).len(), tail(&json).len());
    // diff reads either format on either side
    let d = run(&["diff", &json, &snap]);
    assert!(d.status.success(), "{}", String::from_utf8_lossy(&d.stderr));
}

#[test]
fn convert_goes_both_ways_keeps_everything_and_never_replaces_its_input() {
    let dir = Workdir::new();
    let json = dir.capture("cache_dict.py", &[]);
    let (bin, back, gz) = (
        dir.arg("x.rgbin"),
        dir.arg("back.rgsnap"),
        dir.arg("x.rgbin.gz"),
    );
    assert!(run(&["convert", &json, &bin]).status.success());
    assert!(run(&["convert", &bin, &back]).status.success());
    assert_eq!(
        std::fs::read(&json).expect("json"),
        std::fs::read(&back).expect("back"),
        "JSON → binary → JSON is the dumper's JSON"
    );
    assert!(run(&["convert", "--to", "binary", &json, &gz])
        .status
        .success());
    let answers = |s: &str| stdout(&["types", "--json", s]);
    assert_eq!(answers(&json), answers(&gz));
    assert_eq!(answers(&json), answers(&bin));
    // never over its input, never a partial output
    let same = run(&["convert", &bin, &bin]);
    assert_eq!(same.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&same.stderr).contains("not overwritten"));
    let cut = dir.path("cut.rgbin");
    let bytes = std::fs::read(&bin).expect("bin");
    std::fs::write(&cut, &bytes[..20]).expect("write");
    let bad = dir.arg("bad.rgbin");
    std::fs::write(
        dir.path("garbage"),
        b"\x89RGSNAP\x1a\x01\x00\x04\x00\x00\x00\x00",
    )
    .expect("write");
    let out = run(&["convert", &dir.arg("garbage"), &bad]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("garbage: not a refgraph snapshot"), "{err}");
    assert!(!dir.path("bad.rgbin").exists(), "no partial output");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path(""))
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// `convert` reads what a load reads: a pipe or FIFO (read once, though the conversion reads
/// twice), a binary file cut short (references to the objects cut off become dangling, with a
/// warning), and a corrupt one is refused naming the block a load names. The snapshot's
/// index is an input too.
#[test]
fn convert_takes_pipes_and_cut_files_as_a_load_does_and_names_a_corrupt_block_alike() {
    let dir = Workdir::new();
    let json = dir.capture("cache_dict.py", &[]);
    let bin = dir.arg("x.rgbin");
    assert!(run(&["convert", &json, &bin]).status.success());
    let bin_bytes = std::fs::read(&bin).expect("bin");
    let refgraph = env!("CARGO_BIN_EXE_refgraph");
    let shell = |script: &str| {
        Command::new("bash")
            .current_dir(dir.path(""))
            .args(["-c", script])
            .output()
            .expect("bash")
    };
    // A pipe, a process substitution, a FIFO: the same file as from the snapshot itself.
    let from_file = dir.arg("file.rgsnap");
    assert!(run(&["convert", &bin, &from_file]).status.success());
    let expected = std::fs::read(&from_file).expect("converted");
    for (name, script) in [
        (
            "stdin.rgsnap",
            format!("cat x.rgbin | '{refgraph}' convert /dev/stdin stdin.rgsnap"),
        ),
        (
            "subst.rgsnap",
            format!("'{refgraph}' convert <(gzip -c x.rgbin) subst.rgsnap"),
        ),
        (
            "fifo.rgsnap",
            format!("mkfifo f && (cat x.rgbin > f &) && '{refgraph}' convert f fifo.rgsnap"),
        ),
    ] {
        let out = shell(&script);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            std::fs::read(dir.path(name)).expect(name),
            expected,
            "{name}"
        );
    }
    // Cut short: converted as far as it goes, answering as the cut file does.
    let cut = dir.arg("cut.rgbin");
    std::fs::write(&cut, &bin_bytes[..bin_bytes.len() * 8 / 10]).expect("write");
    let cut_json = dir.arg("cut.rgsnap");
    let out = run(&["convert", &cut, &cut_json]);
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is cut short"), "{err}");
    assert!(
        err.contains("references point to objects cut off the end"),
        "{err}"
    );
    let types = |s: &str| stdout(&["types", "--json", "--limit", "0", s]);
    let data = |s: &str| serde_json::from_str::<Value>(&types(s)).expect("json")["data"].clone();
    assert_eq!(data(&cut), data(&cut_json));
    let orphans = |s: &str| stdout(&["orphans", "--json", s]);
    assert_eq!(orphans(&cut), orphans(&cut_json));
    // Corrupt: the same one-line error as a load.
    let mut corrupt = bin_bytes.clone();
    let at = corrupt.len() - 3000;
    for (k, flip) in [0xff, 0xff, 0x80].iter().enumerate() {
        corrupt[at - 1 + k] ^= flip;
    }
    let bad = dir.arg("corrupt.rgbin");
    std::fs::write(&bad, &corrupt).expect("write");
    let load = run(&["types", &bad]);
    let converted = run(&["convert", &bad, &dir.arg("corrupt.rgsnap")]);
    assert_eq!(load.status.code(), Some(2));
    assert_eq!(converted.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&load.stderr),
        String::from_utf8_lossy(&converted.stderr)
    );
    assert!(!dir.path("corrupt.rgsnap").exists());
    // The index is an input of the conversion (this one too small to have one: a stand-in).
    let index = format!("{bin}.rgidx");
    std::fs::write(&index, "the index").expect("write");
    let before = std::fs::read(&index).expect("index");
    let out = run(&["convert", &bin, &index]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not overwritten"));
    assert_eq!(std::fs::read(&index).expect("index"), before);
}

/// Every text of a snapshot holding `udc8` (the lone surrogates of surrogate_names.py), read
/// from the JSON lines of `snap` (or of its conversion to JSON), sorted.
fn surrogate_texts(snap: &str) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) if s.contains("udc8") => out.push(s.clone()),
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Object(fields) => fields.values().for_each(|f| walk(f, out)),
            _ => {}
        }
    }
    let json = format!("{snap}.json");
    assert!(run(&["convert", "--to", "json", snap, &json])
        .status
        .success());
    let text = std::fs::read_to_string(&json).expect("JSON lines");
    let mut found = Vec::new();
    for line in text.lines().skip(1) {
        walk(
            &serde_json::from_str(line).expect("a JSON line"),
            &mut found,
        );
    }
    std::fs::remove_file(&json).expect("remove");
    found.sort();
    found
}

/// A name with a lone surrogate (no UTF-8 holds one) is written as the text `\udXXX` in both
/// formats, by both dumpers: the same texts, so `diff` of a JSON and a binary snapshot of one
/// program finds no type of its own.
#[test]
fn names_with_lone_surrogates_read_the_same_from_json_and_binary() {
    let dir = Workdir::new();
    let mut seen = Vec::new();
    for native in ["1", "0"] {
        for format in ["json", "binary"] {
            let snap = dir.arg(&format!("s_{native}_{format}.rgsnap"));
            let out = dir.capture_output(
                "surrogate_names.py",
                &snap,
                &["--format", format, "--trace-alloc"],
                &[],
            );
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            seen.push((native, format, snap));
        }
    }
    let texts: Vec<Vec<String>> = seen.iter().map(|(_, _, s)| surrogate_texts(s)).collect();
    for name in [
        "lone\\udc80surr",
        "mod\\udc81x",
        ".attr\\udc82y",
        "f\\udc86.py",
        "th\\udc87",
    ] {
        assert!(
            texts[0].iter().any(|t| t == name),
            "{name} in {:?}",
            texts[0]
        );
    }
    for ((native, format, _), found) in seen.iter().zip(&texts) {
        assert_eq!(
            found, &texts[0],
            "native={native} {format} against native=1 json"
        );
    }
    let d = stdout(&["diff", &seen[0].2, &seen[1].2]);
    assert!(!d.contains("surr"), "{d}");
}

#[test]
fn dump_refuses_a_format_it_does_not_write() {
    let dir = Workdir::new();
    let dumper = dir.dumper_dir();
    let out = Command::new("python3")
        .args(["-c", "import sys; sys.path.insert(0, sys.argv[1]); import refgraph_dump\ntry:\n    refgraph_dump.dump(sys.argv[2], format='xml')\nexcept refgraph_dump.DumpError as e:\n    print(e)"])
        .args([&dumper, &dir.arg("x.rgsnap")])
        .output()
        .expect("python3 runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("format must be \"json\" or \"binary\""),
        "{text}"
    );
    assert!(!dir.path("x.rgsnap").exists());
}
