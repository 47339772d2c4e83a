//! Hostile programs (issue 6): the dumper against objects whose hooks record and raise, mocks,
//! weakref proxies, C extension types, huge values, subclasses of builtins, threads mutating
//! containers mid-dump, dumps that cannot be written, and planted secrets.
//!
//! Every program (tests/scripts/hostile_*.py, see hostile_common.py) records any call into its
//! own code once its objects are built, and an atexit handler, which runs after the exit dump,
//! prints "no user code ran" or exits 99. Each test also runs the program under plain python3
//! and asserts the same exit code and output, and loads every snapshot.

use crate::util::{json, run, script, Workdir};
use refgraph::query::find::Found;
use refgraph::query::show::Shown;
use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Instant;

/// What a program visibly did: its exit code and output, with refgraph's own stderr lines
/// (`refgraph: wrote …`) kept apart.
#[derive(Debug, PartialEq, Eq)]
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// The `refgraph: …` lines a capture added to stderr.
fn refgraph_lines(out: &Output) -> Vec<String> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    stderr
        .lines()
        .filter(|l| l.starts_with("refgraph: "))
        .map(str::to_string)
        .collect()
}

impl Ran {
    fn from(out: &Output) -> Ran {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let program: Vec<&str> = stderr
            .lines()
            .filter(|l| !l.starts_with("refgraph: "))
            .collect();
        Ran {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: program.join("\n"),
        }
    }

    /// The atexit check passed: no hook of the program was called.
    fn assert_no_user_code(&self, what: &str) {
        assert!(
            !self.stderr.contains("USER CODE RAN"),
            "{what}: {}",
            self.stderr
        );
        assert_ne!(self.code, Some(99), "{what}: {self:?}");
        assert!(
            self.stdout.ends_with("no user code ran\n"),
            "{what}: {self:?}"
        );
    }
}

/// `python3 tests/scripts/NAME ARGS…`, whatever its exit code.
fn plain(name: &str, args: &[&str], env: &[(&str, &str)]) -> Ran {
    let out = Command::new("python3")
        .arg(script(name))
        .args(args)
        .envs(env.iter().copied())
        .output();
    Ran::from(&out.expect("python3 runs"))
}

/// `refgraph capture OPTIONS -o SNAP -- python3 NAME ARGS…`: asserts that the program ran as it
/// does under plain python3 and called none of its hooks; returns what it did and refgraph's
/// own stderr lines.
fn capture_like_plain(
    w: &Workdir,
    name: &str,
    snap: &str,
    options: &[&str],
    args: &[&str],
) -> (Ran, Vec<String>) {
    let out = w.capture_output(name, snap, options, args);
    let ran = Ran::from(&out);
    ran.assert_no_user_code(&format!("capture {name}"));
    assert_eq!(
        ran,
        plain(name, args, &[]),
        "capture changed what {name} did"
    );
    (ran, refgraph_lines(&out))
}

/// `python3 NAME DUMPER_DIR SNAP ARGS…`: the program dumps through the API; asserts that it
/// ran as without the dump and called none of its hooks.
fn api_like_plain(w: &Workdir, name: &str, snap: &str, args: &[&str]) -> Ran {
    let dir = w.dumper_dir();
    let mut all = vec![dir.as_str(), snap];
    all.extend_from_slice(args);
    let ran = plain(name, &all, &[]);
    ran.assert_no_user_code(&format!("dump() in {name}"));
    let without = plain(name, args, &[]);
    assert_eq!(
        (&ran.code, &ran.stdout),
        (&without.code, &without.stdout),
        "dump() changed what {name} did"
    );
    ran
}

/// `refgraph summary SNAP` succeeds (it loads and walks the whole graph).
fn assert_loads(snap: &str) {
    let out = run(&["summary", snap]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{snap} does not load: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Instances of a type, largest first (the first 50).
fn found(snap: &str, type_name: &str) -> Found {
    json(&["find", snap, type_name, "--sort", "size", "--limit", "50"])
}

/// How many instances of the type named one of `names` (names change across Python versions).
fn count(snap: &str, names: &[&str]) -> u64 {
    let mut total = 0;
    for name in names {
        let out = run(&["find", snap, name, "--json"]);
        if out.status.code() == Some(0) {
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            total += v["data"]["total"].as_u64().unwrap();
        }
    }
    total
}

/// The names of the files in a directory.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "refgraph_dump.py" && n != "__pycache__")
        .collect();
    names.sort();
    names
}

#[test]
fn hooks_metaclasses_and_properties_are_never_called_by_capture() {
    let w = Workdir::new();
    let snap = w.arg("hooks.rgsnap");
    let (ran, said) = capture_like_plain(&w, "hostile_hooks.py", &snap, &[], &[]);
    assert_eq!(ran.code, Some(7));
    assert!(said[0].starts_with("refgraph: wrote "), "{said:?}");
    assert_loads(&snap);
    // 13 are made; the one in a function's frame is gone at exit
    assert_eq!(
        found(&snap, "Hostile").total,
        12,
        "every instance is in the snapshot"
    );
    assert_eq!(found(&snap, "Slotted").total, 1);
    assert_eq!(found(&snap, "HostileModule").total, 1);
    let slotted: Shown = json(&["show", &snap, "type:Slotted"]);
    let edges: Vec<_> = slotted
        .referents
        .iter()
        .filter_map(|n| n.edge.as_deref())
        .collect();
    assert!(
        edges.contains(&".a") && edges.contains(&".b"),
        "slots named without __getattribute__: {edges:?}"
    );
}

#[test]
fn hooks_are_never_called_by_the_api_dump() {
    let w = Workdir::new();
    let snap = w.arg("hooks_api.rgsnap");
    let ran = api_like_plain(&w, "hostile_hooks.py", &snap, &[]);
    assert_eq!(ran.code, Some(7));
    assert_loads(&snap);
    assert_eq!(
        found(&snap, "Hostile").total,
        13,
        "with the one in the running frame"
    );
}

#[test]
fn mocks_record_no_calls_and_weakref_proxies_are_not_followed() {
    let w = Workdir::new();
    let snap = w.arg("mocks.rgsnap");
    capture_like_plain(&w, "hostile_mocks.py", &snap, &[], &[]);
    assert_loads(&snap);
    for mock in ["Mock", "MagicMock", "NonCallableMagicMock", "AsyncMock"] {
        assert!(found(&snap, mock).total >= 1, "{mock} is in the snapshot");
    }
    let proxies = count(&snap, &["weakref.ProxyType", "weakproxy"]);
    assert_eq!(proxies, 2, "the proxies to the live and to the dead object");
    assert_eq!(
        count(&snap, &["weakref.CallableProxyType", "weakcallableproxy"]),
        1
    );
    let api = w.arg("mocks_api.rgsnap");
    api_like_plain(&w, "hostile_mocks.py", &api, &[]);
    assert_loads(&api);
}

#[test]
fn c_extension_objects_are_dumped_even_when_closed_or_released() {
    let w = Workdir::new();
    let snap = w.arg("cext.rgsnap");
    capture_like_plain(&w, "hostile_cext.py", &snap, &[], &[]);
    assert_loads(&snap);
    for (type_name, at_least) in [
        ("array.array", 2),
        ("decimal.Decimal", 1),
        ("sqlite3.Connection", 2),
        ("sqlite3.Cursor", 1),
        ("collections.deque", 1),
        ("_io.BytesIO", 2),
        ("memoryview", 3),
        ("ctypes.c_int", 1),
    ] {
        let f = found(&snap, type_name);
        assert!(
            f.total >= at_least,
            "{type_name}: {} in the snapshot",
            f.total
        );
    }
    let deque = found(&snap, "collections.deque");
    assert!(
        deque
            .objects
            .iter()
            .any(|o| o.label.as_deref() == Some("100 items")),
        "{deque:?}"
    );
    let api = w.arg("cext_api.rgsnap");
    api_like_plain(&w, "hostile_cext.py", &api, &[]);
    assert_loads(&api);
}

#[test]
fn a_5_mb_string_gets_a_label_of_80_characters_and_the_file_stays_small() {
    let w = Workdir::new();
    let snap = w.arg("big.rgsnap");
    capture_like_plain(&w, "hostile_big.py", &snap, &[], &[]);
    assert_loads(&snap);
    let size = std::fs::metadata(&snap).unwrap().len();
    assert!(
        size < 5 << 20,
        "the snapshot is {size} bytes: a 5 MB value was written whole"
    );
    let strs = found(&snap, "str");
    let labelled = |label: String| {
        let o = strs
            .objects
            .iter()
            .find(|o| o.label.as_deref() == Some(label.as_str()));
        o.unwrap_or_else(|| panic!("no str labelled {label}: {strs:?}"))
            .size
    };
    assert!(labelled(format!("'{}'…", "S".repeat(80))) > 5 << 20);
    // 80 characters, not bytes: a label never ends inside a character
    assert!(labelled(format!("'{}'…", "é😀".repeat(40))) > 2 << 20);
    let bytes = found(&snap, "bytes");
    assert_eq!(
        bytes.objects[0].label.as_deref(),
        Some(format!("b'{}'…", "B".repeat(80)).as_str())
    );
}

#[test]
fn a_dict_with_a_million_keys_dumps_in_seconds() {
    let w = Workdir::new();
    let snap = w.arg("million.rgsnap");
    let started = Instant::now();
    let (_, said) = capture_like_plain(&w, "hostile_big_dict.py", &snap, &[], &[]);
    let seconds = started.elapsed().as_secs_f64();
    // The dumper alone takes ~3 s of CPU here; the bound only catches a quadratic walk.
    eprintln!("1M-key dict: capture in {seconds:.1} s ({})", said[0]);
    assert!(seconds < 120.0, "capture took {seconds:.1} s");
    // One load answers both "it loads" and "the dict is whole" (the binary index is not
    // wanted: it would write another 100 MB).
    let out = crate::util::refgraph()
        .env("REFGRAPH_NO_INDEX", "1")
        .args([
            "find", &snap, "dict", "--sort", "size", "--limit", "1", "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("\"label\": \"1000000 items\""), "{text}");
}

#[test]
fn subclasses_of_builtins_are_read_through_their_base_type() {
    let w = Workdir::new();
    let snap = w.arg("subclasses.rgsnap");
    capture_like_plain(&w, "hostile_subclasses.py", &snap, &[], &[]);
    assert_loads(&snap);
    let strs = found(&snap, "HookedStr");
    assert!(
        strs.objects
            .iter()
            .any(|o| o.label.as_deref() == Some("'a str subclass with every method hooked'")),
        "{strs:?}"
    );
    let long = format!("'{}'…", "L".repeat(80));
    assert!(
        strs.objects
            .iter()
            .any(|o| o.label.as_deref() == Some(long.as_str())),
        "{strs:?}"
    );
    assert_eq!(
        found(&snap, "HookedBytes").objects[0].label.as_deref(),
        Some("b'a bytes subclass'")
    );
    assert_eq!(
        found(&snap, "HookedFloat").objects[0].label.as_deref(),
        Some("2.5")
    );
    let dict: Shown = json(&["show", &snap, "type:HookedDict"]);
    let edges: Vec<_> = dict
        .referents
        .iter()
        .filter_map(|n| n.edge.as_deref())
        .collect();
    assert_eq!(
        &edges[..6],
        [
            "key 'a str subclass key'",
            "['a str subclass key']",
            "key 'not an identifier!'",
            "['not an identifier!']",
            "key 3",
            "[3]"
        ]
    );
    let hidden = w.arg("subclasses_novalues.rgsnap");
    capture_like_plain(&w, "hostile_subclasses.py", &hidden, &["--no-values"], &[]);
    let dict: Shown = json(&["show", &hidden, "type:HookedDict"]);
    let edges: Vec<_> = dict
        .referents
        .iter()
        .filter_map(|n| n.edge.as_deref())
        .collect();
    assert_eq!(
        &edges[..2],
        ["key <str 18 chars>", "[<str 18 chars>]"],
        "a str subclass key is hidden too"
    );
    let api = w.arg("subclasses_api.rgsnap");
    api_like_plain(&w, "hostile_subclasses.py", &api, &[]);
    assert_loads(&api);
}

#[test]
fn patched_os_and_time_functions_are_not_called_by_the_dump() {
    let w = Workdir::new();
    let snap = w.arg("patched.rgsnap");
    capture_like_plain(&w, "hostile_patched.py", &snap, &[], &[]);
    assert_loads(&snap);
    let api = w.arg("patched_api.rgsnap");
    api_like_plain(&w, "hostile_patched.py", &api, &[]);
    assert_loads(&api);
}

/// The ids of the `objects` lines of a snapshot, each once.
fn assert_ids_unique(snap: &str) -> usize {
    let text = std::fs::read_to_string(snap).unwrap();
    let mut ids = HashSet::new();
    let mut end = None;
    for line in text.lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        match record["kind"].as_str() {
            Some("objects") => {
                for id in record["id"].as_array().unwrap() {
                    assert!(
                        ids.insert(id.as_u64().unwrap()),
                        "{snap}: id {id} written twice"
                    );
                }
            }
            Some("end") => end = record["objects"].as_u64(),
            _ => {}
        }
    }
    assert_eq!(
        end,
        Some(ids.len() as u64),
        "{snap}: the end record counts what was written"
    );
    ids.len()
}

#[test]
fn threads_mutating_containers_during_five_dumps_leave_whole_snapshots() {
    let w = Workdir::new();
    let base = w.arg("threads");
    api_like_plain(&w, "hostile_threads.py", &base, &["5"]);
    for n in 0..5 {
        let snap = format!("{base}.{n}");
        assert!(assert_ids_unique(&snap) > 10_000);
        assert_loads(&snap);
        let holder: Shown = json(&["show", &snap, "type:Holder"]);
        assert_eq!(holder.object.type_name, "Holder");
    }
}

#[test]
fn an_unwritable_path_raises_one_dump_error_naming_it_and_leaves_no_file() {
    let w = Workdir::new();
    let dir = w.dumper_dir();
    let ran = plain("hostile_dump_fails.py", &[&dir, &dir], &[]);
    ran.assert_no_user_code("dump() to bad paths");
    let ok = "DumpError naming the path: True; one line: True\n";
    // a path under a regular file, a missing directory, and two writes stopped half-way
    // by the file size limit (plain and gzip)
    assert_eq!(
        ran.stdout,
        format!("{}still running\nno user code ran\n", ok.repeat(4)),
        "{ran:?}"
    );
    assert!(
        ran.stderr.contains("file.txt/snap.rgsnap: Not a directory"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains("too_big.rgsnap: File too large"),
        "{}",
        ran.stderr
    );
    assert_eq!(
        listing(&w.path("")),
        ["file.txt"],
        "no snapshot and no temp file is left"
    );
}

/// Captures `hostile_dump_fails.py` into `name` under a work dir holding only `file.txt`: the
/// program keeps its exit code 5, refgraph says `could not write NAME: REASON` in one line, and
/// nothing but `file.txt` is left.
fn capture_write_fails_in_one_line(name: &str, reason: &str) {
    let w = Workdir::new();
    let dir = w.arg("");
    let snap = w.arg(name);
    let (ran, said) = capture_like_plain(&w, "hostile_dump_fails.py", &snap, &[], &["-", &dir]);
    assert_eq!(ran.code, Some(5));
    assert_eq!(
        said,
        [format!("refgraph: could not write {snap}: {reason}")]
    );
    assert_eq!(listing(&w.path("")), ["file.txt"]);
}

/// An output that cannot be written when capture starts is refused before the program runs,
/// as a shell refuses `> file.txt/out` before running the command.
#[test]
fn capture_refuses_an_unwritable_path_in_one_line_before_the_program_runs() {
    let w = Workdir::new();
    std::fs::write(w.path("file.txt"), "a regular file\n").unwrap();
    let snap = w.arg("file.txt/snap.rgsnap");
    let out = w.capture_output("hostile_dump_fails.py", &snap, &[], &["-", &w.arg("")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "the program ran");
    let dir = w.arg("file.txt");
    assert_eq!(
        refgraph_lines(&out),
        [format!(
            "refgraph: {snap}: cannot write: {dir}/ is not a directory"
        )]
    );
    assert_eq!(listing(&w.path("")), ["file.txt"]);
}

#[test]
fn a_write_failing_half_way_leaves_no_partial_snapshot_or_temp_file() {
    // The program limits its file size (RLIMIT_FSIZE), as a full disk would stop the write.
    capture_write_fails_in_one_line("full.rgsnap", "File too large (errno 27)");
}

#[test]
fn no_values_keeps_planted_secrets_out_of_the_snapshot() {
    let w = Workdir::new();
    let env = [("HOSTILE_SECRET", "env-s3cr3t-value")];
    let argv = "--token=argv-s3cr3t-value";
    let leaks = |snap: &str| {
        let bytes = std::fs::read(snap).unwrap();
        bytes.windows(6).filter(|w| w == b"s3cr3t").count()
    };
    let capture = |snap: &str, options: &[&str]| {
        let mut c = crate::util::refgraph();
        c.args(["capture", "-o", snap])
            .args(options)
            .args(["--", "python3"])
            .arg(script("hostile_secrets.py"));
        let out = c.arg(argv).envs(env).output().unwrap();
        let ran = Ran::from(&out);
        ran.assert_no_user_code("capture hostile_secrets.py");
        assert_eq!(ran, plain("hostile_secrets.py", &[argv], &env));
        assert_loads(snap);
    };
    // The control: with values the secrets are in the file, so the grep below can find them.
    let shown = w.arg("values.rgsnap");
    capture(&shown, &[]);
    assert!(
        leaks(&shown) >= 15,
        "the planted secrets are reachable ({} found)",
        leaks(&shown)
    );
    let hidden = w.arg("novalues.rgsnap");
    capture(&hidden, &["--no-values"]);
    assert_eq!(
        leaks(&hidden),
        0,
        "a secret leaked into the --no-values snapshot"
    );
    let api = w.arg("api_novalues.rgsnap");
    let dir = w.dumper_dir();
    let ran = plain("hostile_secrets.py", &[&dir, &api], &env);
    ran.assert_no_user_code("dump(values=False) in hostile_secrets.py");
    assert_eq!(
        leaks(&api),
        0,
        "a secret leaked into the values=False snapshot"
    );
    assert_loads(&api);
    let summary = crate::util::stdout(&["summary", &hidden]);
    assert!(
        summary.contains("<str 25 chars>"),
        "argv is shown by length: {summary}"
    );
}

/// The `garbage` count of a snapshot's `end` line.
fn garbage_written(snap: &str) -> u64 {
    let text = std::fs::read_to_string(snap).expect("snapshot");
    let end: serde_json::Value =
        serde_json::from_str(text.lines().last().expect("an end line")).expect("JSON");
    end["garbage"].as_u64().expect("garbage count")
}

#[test]
fn patched_builtins_gc_sys_tracers_and_an_open_mock_are_never_called_by_the_dump() {
    let w = Workdir::new();
    let snap = w.arg("builtins.rgsnap");
    capture_like_plain(&w, "hostile_builtins.py", &snap, &[], &[]);
    assert_loads(&snap);
    assert!(
        garbage_written(&snap) >= 1,
        "a no-op gc.collect hid the garbage"
    );
    let api = w.arg("builtins_api.rgsnap");
    api_like_plain(&w, "hostile_builtins.py", &api, &[]);
    assert_loads(&api);
    assert!(
        garbage_written(&api) >= 1,
        "a no-op gc.collect hid the garbage"
    );
}

#[test]
fn an_audit_hook_refusing_the_dump_is_named_and_the_exit_code_kept() {
    let w = Workdir::new();
    let snap = w.arg("audit.rgsnap");
    let out = w.capture_output("hostile_audit.py", &snap, &[], &[]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "audited\n");
    let said = refgraph_lines(&out).join("\n");
    assert!(
        said.contains("refused by an audit hook: PermissionError: no heap walks here"),
        "{said}"
    );
    assert!(!w.path("audit.rgsnap").exists());
    assert!(listing(w.path("").as_path())
        .iter()
        .all(|f| !f.contains(".tmp")));
}
