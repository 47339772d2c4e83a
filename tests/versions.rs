//! The dumper on every CPython the machine has (pyenv's 3.8–3.13 and the system python3),
//! checked against the live heap: each tests/scripts/versions_*.py program writes what gc
//! reports (referents, referrers, type counts, retained sizes, paths) next to its snapshot,
//! and refgraph's answers about the snapshot must agree. A version not found is skipped,
//! loudly, on stderr.

use crate::util::{json, run, script, Workdir};
use refgraph::query::chain::ChainAnswer;
use refgraph::query::show::Shown;
use refgraph::query::subgraph::SubgraphView;
use refgraph::query::types::TypeStat;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The versions refgraph supports; each is looked for under ~/.pyenv/versions.
const MINORS: [&str; 6] = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13"];

/// A program that does not finish in this time hangs (the 3.12.0–3.12.4 asyncio hazard).
const TIMEOUT: Duration = Duration::from_secs(120);

/// (label, interpreter) for every CPython found: pyenv's, then the system python3.
pub(crate) fn pythons() -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    let root = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pyenv")))
        .map(|r| r.join("versions"));
    let installed: Vec<String> = root
        .as_ref()
        .and_then(|r| std::fs::read_dir(r).ok())
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    for minor in MINORS {
        let prefix = format!("{minor}.");
        let mut matching: Vec<&String> = installed
            .iter()
            .filter(|v| v.starts_with(&prefix) && v[prefix.len()..].parse::<u32>().is_ok())
            .collect();
        matching.sort_by_key(|v| v[prefix.len()..].parse::<u32>().unwrap_or(0));
        let python = matching.last().and_then(|v| {
            let p = root.as_ref()?.join(v).join("bin/python3");
            p.exists().then(|| (format!("CPython {v}"), p))
        });
        match python {
            Some(p) => found.push(p),
            None => eprintln!("SKIPPED: CPython {minor} not found under ~/.pyenv/versions"),
        }
    }
    match Command::new("python3").arg("--version").output() {
        Ok(out) if out.status.success() => found.push((
            format!("system {}", String::from_utf8_lossy(&out.stdout).trim()),
            PathBuf::from("python3"),
        )),
        _ => eprintln!("SKIPPED: no system python3"),
    }
    assert!(!found.is_empty(), "no CPython found at all");
    found
}

/// Wait for a child, killing it after TIMEOUT (a hang is a failure, not a stuck test run).
fn output_within(mut c: Command, what: &str) -> Output {
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "{what} hung for {TIMEOUT:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One program run on one interpreter: the snapshot and the in-process truth.
struct Run {
    what: String,
    snap: String,
    truth: Value,
    stdout: String,
}

/// `PYTHON tests/scripts/PROGRAM DUMPER_DIR SNAP TRUTH.json`, asserting a clean exit.
fn run_program(w: &Workdir, label: &str, python: &PathBuf, program: &str) -> Run {
    let tag = label.replace([' ', '.'], "_");
    let snap = w.arg(&format!("{program}-{tag}.rgsnap"));
    let truth = w.arg(&format!("{program}-{tag}.json"));
    let mut c = Command::new(python);
    c.arg(script(program))
        .args([&w.dumper_dir(), &snap, &truth]);
    let what = format!("{label}: {program}");
    let out = output_within(c, &what);
    assert!(
        out.status.success(),
        "{what} exited {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&truth).unwrap_or_else(|e| panic!("{what}: {e}"));
    Run {
        what,
        snap,
        truth: serde_json::from_str(&text).expect("truth JSON"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
    }
}

/// Run `program` on every interpreter and check each snapshot against its truth, then `more`.
fn on_every_version(program: &str, more: impl Fn(&Run)) {
    let w = Workdir::new();
    for (label, python) in pythons() {
        let r = run_program(&w, &label, &python, program);
        check_against_gc(&r);
        more(&r);
    }
}

/// The ids at the other end of `obj`'s references (`refs`) or referrers (`backrefs`).
fn neighbours(snap: &str, command: &str, obj: &str) -> BTreeSet<String> {
    let view: SubgraphView = json(&[
        command,
        snap,
        obj,
        "--max-depth",
        "1",
        "--too-many",
        "1000000",
        "--max-nodes",
        "1000000",
    ]);
    view.edges
        .into_iter()
        .filter_map(|e| match command {
            "refs" if e.from == obj => Some(e.to),
            "backrefs" if e.to == obj => Some(e.from),
            _ => None,
        })
        .collect()
}

fn ids(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Every check the truth file asks for.
fn check_against_gc(r: &Run) {
    let objects = r.truth["objects"].as_object().cloned().unwrap_or_default();
    for (name, o) in &objects {
        let id = o["id"].as_str().expect("id");
        let refs = neighbours(&r.snap, "refs", id);
        let missing: Vec<_> = ids(&o["referents"]).difference(&refs).cloned().collect();
        assert!(
            missing.is_empty(),
            "{}: {name} {id}: references gc reports are not in the snapshot: {missing:?} (snapshot: {refs:?})",
            r.what
        );
        let holders = neighbours(&r.snap, "backrefs", id);
        let missing: Vec<_> = ids(&o["referrers"]).difference(&holders).cloned().collect();
        assert!(
            missing.is_empty(),
            "{}: {name} {id}: referrers gc reports are not in the snapshot: {missing:?}",
            r.what
        );
        check_chain(r, name, id);
    }
    let counted = r.truth["types"].as_object().cloned().unwrap_or_default();
    if !counted.is_empty() {
        let stats: Vec<TypeStat> = json(&["types", &r.snap, "--longnames", "--limit", "100000"]);
        let found: BTreeMap<&str, u64> = stats
            .iter()
            .map(|s| (s.type_name.as_str(), s.count))
            .collect();
        for (name, count) in &counted {
            assert_eq!(
                found.get(name.as_str()).copied(),
                count.as_u64(),
                "{}: instances of {name}",
                r.what
            );
        }
    }
    for (name, bytes) in r.truth["retained"].as_object().cloned().unwrap_or_default() {
        let id = objects[&name]["id"].as_str().expect("id");
        let shown: Shown = json(&["show", &r.snap, id]);
        assert_eq!(
            Some(shown.retained),
            bytes.as_u64(),
            "{}: retained size of {name}",
            r.what
        );
    }
}

/// The chain that holds a chosen object: every step a reference gc knows (for the objects
/// on paths from __main__, recorded in `edges`), starting at `module __main__`.
fn check_chain(r: &Run, name: &str, id: &str) {
    let answers: Vec<ChainAnswer> = json(&["chain", &r.snap, id]);
    let chain = answers[0]
        .chains
        .first()
        .unwrap_or_else(|| panic!("{}: no chain holds {name}", r.what));
    let steps: Vec<&str> = chain.steps.iter().map(|s| s.object.id.as_str()).collect();
    assert_eq!(
        chain.steps[0].object.root.as_deref(),
        Some("module __main__"),
        "{}: {name} is held by {}",
        r.what,
        chain.text
    );
    let edges = &r.truth["edges"];
    for pair in steps.windows(2) {
        let known = ids(&edges[pair[0]]);
        assert!(
            known.contains(pair[1]),
            "{}: chain step {} → {} of {name} is not a reference gc knows ({})",
            r.what,
            pair[0],
            pair[1],
            chain.text
        );
    }
}

#[test]
fn static_types_never_readied_are_dumped_without_a_crash() {
    on_every_version("versions_unready_types.py", |_| {});
}

#[test]
fn asyncio_programs_do_not_hang_after_a_dump() {
    on_every_version("versions_asyncio_module.py", |r| {
        assert_eq!(r.stdout, "collected\n", "{}", r.what);
    });
}

#[test]
fn shared_singletons_keep_every_reference() {
    on_every_version("versions_singletons.py", |_| {});
}

#[test]
fn a_materialized_instance_dict_is_recorded_once_and_never_an_orphan() {
    on_every_version("versions_materialized_dict.py", |r| {
        for pair in r.truth["extra"]["dicts"].as_array().expect("dicts") {
            let (instance, dict) = (pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
            let holders = neighbours(&r.snap, "backrefs", dict);
            assert!(
                holders.contains(instance),
                "{}: dict {dict} is not held by its instance {instance}: {holders:?}",
                r.what
            );
            // one holder per attribute: what the dict refers to, the instance does not
            let through_dict = neighbours(&r.snap, "refs", dict);
            let on_instance = neighbours(&r.snap, "refs", instance);
            let twice: Vec<_> = through_dict.intersection(&on_instance).collect();
            assert!(twice.is_empty(), "{}: held twice: {twice:?}", r.what);
        }
    });
}

#[test]
fn a_bytesio_is_sized_alone_and_retains_its_buffer() {
    on_every_version("versions_bytesio.py", |r| {
        let id = r.truth["objects"]["BUFFER"]["id"].as_str().expect("id");
        let shown: Shown = json(&["show", &r.snap, id]);
        assert_eq!(
            Some(shown.object.size),
            r.truth["extra"]["size"].as_u64(),
            "{}",
            r.what
        );
    });
}

#[test]
fn a_leak_in_main_globals_is_held_by_the_module_with_its_retained_size() {
    on_every_version("versions_main_globals.py", |_| {});
}

#[test]
fn running_frames_locals_hold_their_objects_and_frames_name_their_package() {
    on_every_version("versions_frame_locals.py", |r| {
        let mine = r.truth["mine"].as_str().expect("mine");
        let sessions = ids(&r.truth["sessions"]);
        assert_eq!(sessions.len(), 2, "{}", r.what);
        for session in &sessions {
            let answers: Vec<ChainAnswer> = json(&["chain", &r.snap, session]);
            let chain = answers[0]
                .chains
                .first()
                .unwrap_or_else(|| panic!("{}: nothing holds Session {session}", r.what));
            let (expected, frame) = if session == mine {
                ("local 'mine'", "frame main() versions_frame_locals.py:")
            } else {
                ("local 'session'", "frame work() versions_pkg/worker.py:")
            };
            assert!(
                chain.text.contains(frame) && chain.text.contains(expected),
                "{}: {}",
                r.what,
                chain.text
            );
        }
    });
}

/// Runs `tests/scripts/SCRIPT DUMPER_DIR SNAPSHOT` on every Python: it must exit 0 with its
/// last line `last_line`, and the snapshot it dumped must load.
fn script_ends_with_on_every_version(script_name: &str, last_line: &str) {
    let w = Workdir::new();
    let stem = script_name.trim_end_matches(".py");
    for (label, python) in pythons() {
        let snap = w.arg(&format!("{stem}-{}.rgsnap", label.replace([' ', '.'], "_")));
        let mut c = Command::new(&python);
        c.arg(script(script_name)).args([&w.dumper_dir(), &snap]);
        let out = output_within(c, &label);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.ends_with(&format!("{last_line}\n")),
            "{label}: {stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(run(&["summary", &snap]).status.success(), "{label}");
    }
}

#[test]
fn patched_builtins_tracers_and_mocks_change_nothing_on_every_version() {
    script_ends_with_on_every_version("hostile_builtins.py", "no user code ran");
}

#[test]
fn a_program_under_cprofile_dumps_and_keeps_its_profiler_on_every_version() {
    script_ends_with_on_every_version("under_cprofile.py", "profiled after the dump");
}
