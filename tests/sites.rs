//! Allocation sites (issue 15.2, format 1.3): a program whose objects are made on known lines,
//! traced by its own tracemalloc.start(), by PYTHONTRACEMALLOC, or by `capture --trace-alloc`;
//! `show`, `chain`, `find --by site` and `types --by site` must name those lines, on every
//! CPython found. Without tracing, nothing changes but a clear error for `--by site`.

use crate::util::{json, refgraph, run, run_code, script, stdout, Workdir};
use crate::versions::pythons;
use serde_json::Value;
use std::path::Path;

/// The line of the script holding `# MARK`.
fn line_of(mark: &str) -> usize {
    let text = std::fs::read_to_string(script("sites_alloc.py")).expect("script");
    let tag = format!("# {mark}");
    1 + text
        .lines()
        .position(|l| l.trim_end().ends_with(&tag))
        .unwrap_or_else(|| panic!("no {tag} in sites_alloc.py"))
}

/// `FILE:LINE` of the mark, as tracemalloc names the script (its absolute path).
fn at(mark: &str) -> String {
    format!("{}:{}", script("sites_alloc.py").display(), line_of(mark))
}

/// Capture sites_alloc.py with `python`, extra capture options, script args and environment.
fn capture(
    w: &Workdir,
    name: &str,
    python: &Path,
    options: &[&str],
    env: &[(&str, &str)],
    args: &[&str],
) -> String {
    let snap = w.arg(&format!("{name}.rgsnap"));
    let out = refgraph()
        .args(["capture", "-o", &snap])
        .args(options)
        .arg("--")
        .arg(python)
        .arg(script("sites_alloc.py"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("refgraph capture runs");
    assert!(
        out.status.success(),
        "{name}: capture failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    snap
}

/// `show --json`'s allocation frames as `FILE:LINE`.
fn allocated(snap: &str, obj: &str) -> Vec<String> {
    let shown: Value = json(&["show", snap, obj]);
    shown["allocated"]
        .as_array()
        .map(|frames| {
            frames
                .iter()
                .map(|f| format!("{}:{}", f["file"].as_str().unwrap_or("?"), f["line"]))
                .collect()
        })
        .unwrap_or_default()
}

/// What every traced snapshot of the script must answer.
fn assert_sites(label: &str, snap: &str, python_minor: Option<u32>) {
    let leak_stack = [
        at("ALLOC leak"),
        at("CALL fill"),
        at("CALL main"),
        at("CALL top"),
    ];
    assert_eq!(
        allocated(snap, "type:Leak"),
        leak_stack,
        "{label}: show --json"
    );
    let shown = stdout(&["show", snap, "type:Leak"]);
    assert!(
        shown.contains(&format!("  allocated at {}\n", leak_stack[0])),
        "{label}: {shown}"
    );
    assert!(
        !shown.contains(" from "),
        "{label}: no stack without --stack: {shown}"
    );
    let stacked = stdout(&["show", snap, "type:Leak", "--stack"]);
    for caller in &leak_stack[1..] {
        assert!(
            stacked.contains(&format!("from {caller}\n")),
            "{label}: {stacked}"
        );
    }
    let chain = stdout(&["chain", snap, "type:Leak"]);
    assert!(
        chain.contains(&format!("  allocated at {}\n", leak_stack[0])),
        "{label}: {chain}"
    );
    let by_site: Vec<Value> = json(&["find", snap, "Leak", "--by", "site"]);
    assert_eq!(by_site.len(), 1, "{label}: {by_site:?}");
    assert_eq!(by_site[0]["count"], 3, "{label}: {by_site:?}");
    assert_eq!(by_site[0]["site"]["line"], line_of("ALLOC leak"), "{label}");
    let types: Vec<Value> = json(&["types", snap, "--by", "site", "--limit", "0"]);
    let row = types
        .iter()
        .find(|r| {
            r["site"]["line"] == line_of("ALLOC leak")
                && r["site"]["file"]
                    .as_str()
                    .is_some_and(|f| f.ends_with("sites_alloc.py"))
        })
        .unwrap_or_else(|| panic!("{label}: no row for the Leak line in {types:?}"));
    assert_eq!(row["count"], 3, "{label}: {row}");
    let text = stdout(&["types", snap, "--by", "site", "--limit", "0"]);
    assert!(text.contains(&at("ALLOC leak")), "{label}: {text}");
    // CPython 3.11 alone cannot find the allocation of an instance with a (managed) __dict__
    let plain = allocated(snap, "type:Plain");
    if python_minor == Some(11) {
        assert!(plain.is_empty(), "{label}: {plain:?}");
    } else {
        assert_eq!(
            plain.first(),
            Some(&at("ALLOC plain")),
            "{label}: {plain:?}"
        );
    }
}

/// The minor version of a pyenv label like `3.11.7` (None for the system python3).
fn minor(python: &Path) -> Option<u32> {
    let out = std::process::Command::new(python)
        .args(["-c", "import sys; print(sys.version_info[1])"])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

#[test]
fn capture_trace_alloc_names_the_allocating_line_on_every_version() {
    let w = Workdir::new();
    for (label, python) in pythons() {
        let name = format!("sites-{}", label.replace([' ', '.'], "_"));
        let snap = capture(&w, &name, &python, &["--trace-alloc=5"], &[], &[]);
        assert_sites(&label, &snap, minor(&python));
    }
}

#[test]
fn the_programs_own_tracemalloc_start_and_pythontracemalloc_give_sites_too() {
    let w = Workdir::new();
    let python = Path::new("python3");
    let own = capture(&w, "own", python, &[], &[], &["--start"]);
    assert_sites("tracemalloc.start()", &own, minor(python));
    let env = capture(&w, "env", python, &[], &[("PYTHONTRACEMALLOC", "10")], &[]);
    assert_sites("PYTHONTRACEMALLOC", &env, minor(python));
    // tracemalloc keeps as many frames as it was told: the allocating line and one caller
    let two = capture(&w, "two", python, &[], &[("PYTHONTRACEMALLOC", "2")], &[]);
    assert_eq!(
        allocated(&two, "type:Leak"),
        [at("ALLOC leak"), at("CALL fill")]
    );
    // the default --trace-alloc keeps 5 frames: all 4 here, and the header says 5
    let default = capture(&w, "default", python, &["--trace-alloc"], &[], &[]);
    assert_eq!(allocated(&default, "type:Leak").len(), 4);
    let header = std::fs::read_to_string(&default).expect("snapshot");
    assert!(header
        .lines()
        .next()
        .is_some_and(|h| h.contains(r#""trace_alloc":5"#)));
}

#[test]
fn without_tracing_nothing_changes_and_by_site_says_how_to_get_sites() {
    let w = Workdir::new();
    let snap = capture(&w, "untraced", Path::new("python3"), &[], &[], &[]);
    let header = std::fs::read_to_string(&snap).expect("snapshot");
    let header = header.lines().next().unwrap_or_default();
    assert!(header.contains(r#""trace_alloc":null"#), "{header}");
    assert!(!std::fs::read_to_string(&snap)
        .unwrap()
        .contains(r#""kind":"sites""#));
    let shown: Value = json(&["show", &snap, "type:Leak"]);
    assert!(shown.get("allocated").is_none(), "{shown}");
    let chains: Value = json(&["chain", &snap, "type:Leak"]);
    assert!(chains[0].get("allocated_at").is_none(), "{chains}");
    for args in [
        vec!["show", &snap, "type:Leak", "--stack"],
        vec!["chain", &snap, "type:Leak"],
    ] {
        let text = stdout(&args);
        assert!(!text.contains("allocated"), "{text}");
    }
    for args in [
        vec!["types", &snap, "--by", "site"],
        vec!["find", &snap, "Leak", "--by", "site"],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&snap)
                && err.contains("no allocation sites")
                && err.contains("capture --trace-alloc"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn a_bad_site_index_is_a_one_line_error_naming_file_and_line() {
    let w = Workdir::new();
    let snap = w.path("bad-site.rgsnap");
    std::fs::write(
        &snap,
        concat!(
            r#"{"kind":"header","format":"refgraph-snapshot","version":[1,3],"trace_alloc":1}"#, "\n",
            r#"{"kind":"types","base":0,"names":[["builtins","dict"]]}"#, "\n",
            r#"{"kind":"sites","base":0,"sites":[[["/app.py",3]]]}"#, "\n",
            r#"{"kind":"objects","id":[16],"type":[0],"size":[64],"refcount":[1],"flags":[2],"label":[null],"nrefs":[0],"refs":[],"edge_labels":[],"site":[1]}"#, "\n",
            r#"{"kind":"end","objects":1}"#, "\n"
        ),
    )
    .expect("write");
    let out = run(&["show", &snap.to_string_lossy(), "0x10"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}:4: object 0x10 has site index 1, but only 1 sites are defined",
            snap.display()
        )),
        "{err}"
    );
}

#[test]
fn capture_pid_refuses_trace_alloc() {
    let out = run(&["capture", "--pid", "1", "--trace-alloc"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--trace-alloc"), "{err}");
}

#[test]
fn the_report_lists_sites_escaped_and_each_objects_allocation() {
    let w = Workdir::new();
    let snap = capture(
        &w,
        "report",
        Path::new("python3"),
        &["--trace-alloc=3"],
        &[],
        &[],
    );
    let page = w.arg("report.html");
    let out = run(&["report", &snap, "-o", &page]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(&page).expect("page");
    assert!(html.contains(r#"<section id="sites">"#));
    // tracing from the start: the import system's frozen modules allocate, named `<frozen …>`
    assert!(html.contains("&lt;frozen ") && !html.contains("<frozen "));
    let line = format!(":{}</td>", line_of("ALLOC leak"));
    assert!(html.contains(&line), "no row for the Leak line");
    let untraced = capture(&w, "plain", Path::new("python3"), &[], &[], &[]);
    let page = w.arg("plain.html");
    assert!(run(&["report", &untraced, "-o", &page]).status.success());
    let html = std::fs::read_to_string(&page).expect("page");
    assert!(!html.contains("id=\"sites\"") && !html.contains("Allocated at"));
}

#[cfg(unix)]
#[test]
fn a_file_name_that_is_not_utf8_is_escaped_like_all_text() {
    use std::os::unix::ffi::OsStrExt;
    let w = Workdir::new();
    let dir = w.path("").join(std::ffi::OsStr::from_bytes(b"caf\xe9"));
    std::fs::create_dir(&dir).expect("dir");
    let program = dir.join("app.py");
    std::fs::write(
        &program,
        "class Leak:\n    __slots__ = ()\n\nKEEP = Leak()\n",
    )
    .expect("app");
    let snap = w.arg("latin1.rgsnap");
    let out = refgraph()
        .args(["capture", "--trace-alloc=1", "-o", &snap, "--", "python3"])
        .arg(&program)
        .output()
        .expect("capture runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let frames = allocated(&snap, "type:Leak");
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert!(frames[0].ends_with("caf\\udce9/app.py:4"), "{frames:?}");
}

#[test]
fn binary_snapshots_carry_sites_both_from_the_dumper_and_through_convert() {
    let w = Workdir::new();
    let python = Path::new("python3");
    let opts = ["--trace-alloc=5", "--format", "binary"];
    let bin = capture(&w, "bin", python, &opts, &[], &[]);
    assert!(std::fs::read(&bin)
        .expect("snapshot")
        .starts_with(b"\x89RGSNAP"));
    assert_sites("binary", &bin, minor(python));
    // JSON with sites -> binary -> JSON: the same sites, and the dumper's text back
    let json_snap = capture(&w, "json", python, &["--trace-alloc=5"], &[], &[]);
    let converted = w.arg("converted.rgbin");
    let back = w.arg("back.rgsnap");
    run_code(&["convert", &json_snap, &converted], 0);
    assert_sites("converted", &converted, minor(python));
    run_code(&["convert", &converted, &back], 0);
    assert_eq!(
        std::fs::read(&json_snap).expect("json"),
        std::fs::read(&back).expect("back"),
        "binary -> JSON gives the sites lines and columns back byte for byte"
    );
}
