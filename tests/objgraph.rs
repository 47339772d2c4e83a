//! `refgraph.objgraph`, the objgraph drop-in: its documented behaviour (tests/objgraph/
//! test_objgraph.py; objgraph's underscore helpers, tests/objgraph/test_private.py) on every
//! CPython here, the same answers as PyPI's objgraph side by side,
//! and a notebook executed headlessly whose graphs show inline with no Graphviz on PATH.
//! The last two need a venv with objgraph, nbclient and ipykernel (.ci/run makes it in
//! target/ci-venv, or name one with REFGRAPH_CI_VENV): without it they print SKIPPED, and
//! fail under CI=true.

use crate::versions::pythons;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `python` on a file of tests/objgraph/, with the package from python/ and this build's
/// binary.
fn run_python(python: &Path, args: &[&str], path_env: Option<&str>) -> Output {
    let mut c = Command::new(python);
    c.args(args)
        .current_dir(root())
        .env("PYTHONPATH", root().join("python"))
        .env("REFGRAPH_BIN", env!("CARGO_BIN_EXE_refgraph"))
        .env("PYTHONDONTWRITEBYTECODE", "1");
    if let Some(path) = path_env {
        c.env("PATH", path);
    }
    c.output().expect("python runs")
}

fn assert_ok(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The venv with objgraph, nbclient and ipykernel, or `None` (SKIPPED; a failure under CI).
fn ci_venv() -> Option<PathBuf> {
    let dir = std::env::var_os("REFGRAPH_CI_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/ci-venv"));
    let python = dir.join("bin/python");
    let has = python.is_file()
        && Command::new(&python)
            .args(["-c", "import objgraph, nbclient, ipykernel, nbformat"])
            .output()
            .is_ok_and(|o| o.status.success());
    if has {
        return Some(python);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{}: no venv with objgraph, nbclient and ipykernel, and CI must run these tests (.ci/run makes it)", dir.display());
    }
    eprintln!(
        "SKIPPED: no venv with objgraph, nbclient and ipykernel at {} (.ci/run makes it)",
        dir.display()
    );
    None
}

#[test]
fn objgraph_documented_behaviour_on_every_cpython() {
    let threads: Vec<_> = pythons()
        .into_iter()
        .map(|(label, python)| {
            std::thread::spawn(move || {
                for file in [
                    "tests/objgraph/test_objgraph.py",
                    "tests/objgraph/test_private.py",
                ] {
                    let out = run_python(&python, &[file], None);
                    assert_ok(&format!("{label}: {file}"), &out);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a CPython's objgraph tests passed");
    }
}

#[test]
fn objgraph_answers_match_pypi_objgraph_side_by_side() {
    let Some(python) = ci_venv() else { return };
    let out = run_python(&python, &["tests/objgraph/compare_objgraph.py"], None);
    assert_ok("compare_objgraph.py", &out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("agree"));
    // objgraph's underscore helpers, each answer compared with PyPI objgraph's own.
    let private = run_python(&python, &["tests/objgraph/test_private.py"], None);
    assert_ok("test_private.py beside PyPI objgraph", &private);
    assert!(!String::from_utf8_lossy(&private.stderr).contains("skipped"));
}

#[test]
fn notebook_graphs_show_inline_without_graphviz() {
    let Some(python) = ci_venv() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    // Only the venv's scripts on PATH: no `dot`, as on a machine without Graphviz.
    let bin = python
        .parent()
        .expect("venv bin")
        .to_string_lossy()
        .into_owned();
    let notebook = root().join("tests/objgraph/notebook.ipynb");
    let out = run_python(
        &python,
        &[
            "tests/objgraph/run_notebook.py",
            &notebook.to_string_lossy(),
            &dir.path().to_string_lossy(),
        ],
        Some(&bin),
    );
    assert_ok("run_notebook.py", &out);
}

#[test]
fn shell_json_speaks_one_reply_per_request_and_ends_at_end_of_input() {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("temp dir");
    let snap = dir.path().join("s.rgsnap");
    let program = format!(
        "import refgraph\nHELD = [object()]\nrefgraph.dump({:?})\nprint(id(HELD))",
        snap.to_string_lossy()
    );
    let out = run_python(Path::new("python3"), &["-c", &program], None);
    assert_ok("dump", &out);
    let held: u64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("an id");
    let mut shell = crate::util::refgraph()
        .args(["shell", "--json"])
        .arg(&snap)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the shell starts");
    let requests = [
        format!(r#"{{"op":"info","ids":[{held}]}}"#),
        format!(r#"{{"op":"neighbours","ids":[{held}],"direction":"backrefs"}}"#),
        r#"{"op":"types","bogus":1}"#.to_string(),
        r#"{"op":"why","id":1}"#.to_string(),
        format!(r#"{{"op":"chain","id":{held},"direction":"backrefs"}}"#),
    ];
    let mut stdin = shell.stdin.take().expect("stdin");
    for r in &requests {
        writeln!(stdin, "{r}").expect("request written");
    }
    drop(stdin);
    let out = shell
        .wait_with_output()
        .expect("the shell ends at end of input");
    assert!(out.status.success());
    let replies: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(replies.len(), 1 + requests.len(), "{replies:?}");
    assert_eq!(replies[0]["protocol"], "refgraph-shell");
    assert_eq!(replies[0]["version"], 1);
    let info = &replies[1]["data"][0];
    assert_eq!(info[0], held);
    assert_eq!(info[2], "1 item");
    let holders = replies[2]["data"][0][1].as_array().expect("holders");
    assert!(holders.iter().any(|h| h[1] == "['HELD']"), "{holders:?}");
    assert!(replies[3]["error"]
        .as_str()
        .is_some_and(|e| e.contains("unknown field `bogus`")));
    assert!(replies[4]["error"]
        .as_str()
        .is_some_and(|e| e.contains("no object 0x1")));
    let chain = replies[5]["data"].as_array().expect("a chain");
    assert_eq!(chain.last(), Some(&serde_json::json!(held)));
    assert!(chain.len() >= 3, "module → dict → list: {chain:?}");
}
