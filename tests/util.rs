//! The black-box harness: a temp dir per test, the built binary, helpers that assert
//! success and decode JSON answers.

use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A scratch directory for one test.
pub struct Workdir {
    dir: tempfile::TempDir,
}

/// The fixture programs.
pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scripts")
        .join(name)
}

/// `tool` on PATH, or `None`. Under CI (`CI=true`), which installs every tool the tests use,
/// a missing tool fails the test instead: a green CI run ran everything.
pub fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("`{name}` is not on PATH, and CI must run the tests that need it");
    }
    found
}

/// The binary under test, with a clean environment for its behaviour.
pub fn refgraph() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_refgraph"));
    c.env_remove("RUST_BACKTRACE").env("NO_COLOR", "1");
    c
}

/// Run and return the output whatever the exit code.
pub fn run(args: &[&str]) -> Output {
    refgraph()
        .args(args)
        .output()
        .expect("the refgraph binary runs")
}

/// Run, assert exit code `code`, return stdout.
pub fn run_code(args: &[&str], code: i32) -> String {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(code),
        "refgraph {args:?}\nstderr: {stderr}\nstdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).expect("stdout is UTF-8")
}

/// Run, assert success, return stdout.
pub fn stdout(args: &[&str]) -> String {
    run_code(args, 0)
}

/// Run with `--json` appended, assert exit `code`, decode the envelope's data as `T`
/// (every answer type denies unknown fields, so this checks the schema).
pub fn json_code<T: DeserializeOwned>(args: &[&str], code: i32) -> T {
    let mut all = args.to_vec();
    all.push("--json");
    let text = run_code(&all, code);
    let envelope: refgraph::render::json::Envelope<T> = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("bad JSON from {args:?}: {e}\n{text}"));
    assert_eq!(envelope.version, refgraph::render::json::JSON_VERSION);
    envelope.data
}

/// [`json_code`] expecting success.
pub fn json<T: DeserializeOwned>(args: &[&str]) -> T {
    json_code(args, 0)
}

impl Workdir {
    /// A new empty directory.
    pub fn new() -> Self {
        Workdir {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// A path inside it.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A path inside it, as a string for argv.
    pub fn arg(&self, name: &str) -> String {
        self.path(name).to_string_lossy().into_owned()
    }

    /// `refgraph capture -o DIR/NAME.rgsnap -- python3 tests/scripts/SCRIPT ARGS…`, asserting
    /// exit 0; returns the snapshot path.
    pub fn capture(&self, name: &str, args: &[&str]) -> String {
        let snap = self.arg(&format!("{}.rgsnap", name.trim_end_matches(".py")));
        let out = self.capture_output(name, &snap, &[], args);
        assert!(
            out.status.success(),
            "capture {name} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        snap
    }

    /// Run a capture and return its output whatever the exit code.
    pub fn capture_output(
        &self,
        name: &str,
        snap: &str,
        options: &[&str],
        args: &[&str],
    ) -> Output {
        let script = script(name);
        let mut c = refgraph();
        c.args(["capture", "-o", snap])
            .args(options)
            .args(["--", "python3"])
            .arg(&script)
            .args(args);
        c.output().expect("refgraph capture runs")
    }

    /// Write the dumper module into the directory (for programs that call `dump()`); returns
    /// the directory to put on `sys.path`.
    pub fn dumper_dir(&self) -> String {
        let out = run(&["dumper"]);
        assert!(out.status.success());
        std::fs::write(self.path("refgraph_dump.py"), out.stdout).expect("write dumper");
        self.arg("")
    }

    /// Run `python3 tests/scripts/SCRIPT ARGS…` directly, asserting success.
    pub fn python(&self, name: &str, args: &[&str]) -> Output {
        let out = Command::new("python3")
            .arg(script(name))
            .args(args)
            .output()
            .expect("python3 runs");
        assert!(
            out.status.success(),
            "python3 {name} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}
