//! The bad-snapshot corpus (tests/fixtures/bad/): each file gives its one expected line on
//! stderr and its exit code, never a panic.

use crate::util::refgraph;
use std::path::Path;

#[test]
fn every_bad_snapshot_gives_its_one_line_error() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad");
    let manifest = std::fs::read_to_string(dir.join("expected.tsv")).unwrap();
    let mut checked = 0;
    for line in manifest
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let mut cols = line.split('\t');
        let (file, code, message) = (
            cols.next().unwrap(),
            cols.next().unwrap(),
            cols.next().unwrap_or(""),
        );
        let out = refgraph()
            .current_dir(&dir)
            .args(["summary", file])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(code.parse().unwrap()),
            "{file}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{file} panicked: {stderr}");
        if message.is_empty() {
            assert!(stderr.is_empty(), "{file}: unexpected stderr {stderr}");
        } else {
            assert_eq!(stderr, format!("refgraph: {message}\n"), "{file}");
        }
        if code == "2" {
            assert!(out.stdout.is_empty(), "{file}: an error printed an answer");
        }
        checked += 1;
    }
    assert!(checked >= 30, "the whole corpus was checked ({checked})");
}

#[test]
fn an_unreadable_file_says_permission_denied() {
    // Root reads everything: the check only means something for other users.
    let w = crate::util::Workdir::new();
    let path = w.path("secret.rgsnap");
    std::fs::write(&path, "x").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
        if std::fs::read(&path).is_ok() {
            eprintln!("skipped: running as root, permissions are not enforced");
            return;
        }
        let out = refgraph()
            .args(["summary", path.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).ends_with(": permission denied\n"));
    }
}

/// Every header field `summary` prints reaches the terminal escaped: a dump time or trigger
/// holding control sequences (a title change, a screen clear, a newline) is shown as text.
#[test]
fn header_time_and_trigger_are_escaped_in_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.rgsnap");
    let header = serde_json::json!({"kind":"header","format":"refgraph-snapshot","version":[1,0],
        "python":"3.11","pid":1,"time":"\u{1b}]0;PWNED\u{7}\u{1b}[2J","trigger":"exit\nforged"});
    let text = format!(
        "{header}\n{}\n{}\n{}\n",
        r#"{"kind":"types","base":0,"names":[["builtins","list"]]}"#,
        r#"{"kind":"objects","id":[1],"type":[0],"size":[56],"refcount":[1],"flags":[0],"label":[null],"nrefs":[0],"refs":[],"edge_labels":[]}"#,
        r#"{"kind":"end","objects":1,"edges":0}"#
    );
    std::fs::write(&path, text).unwrap();
    let out = crate::util::stdout(&["summary", path.to_str().unwrap()]);
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out}");
    assert!(!out.contains("exit\nforged"), "{out}");
    assert!(out.contains("PWNED"), "{out}");
}
