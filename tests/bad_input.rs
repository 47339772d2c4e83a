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

/// Characters that act on the text around them, planted in every text field of a snapshot:
/// the header, type and module names, labels, edge labels, roots, threads, marks, sites.
const HOSTILE: [char; 8] = [
    '\u{1b}', '\u{7}', '\u{0}', '\r', '\u{202e}', '\u{2028}', '\u{2029}', '\u{85}',
];

/// Heap text is shown escaped in every output: terminal text, DOT, SVG and the HTML report
/// (each of its sections: header, types, growth, sites, objects, cycles). A planted newline
/// never starts a line of its own.
#[test]
fn heap_text_is_shown_escaped_in_every_output() {
    let dir = tempfile::tempdir().unwrap();
    let evil =
        |what: &str| format!("{what}\u{1b}[2J\u{7}\u{0}\r\u{202e}\u{2028}\u{2029}\u{85}\nFORGED");
    let header = serde_json::json!({"kind":"header","format":"refgraph-snapshot","version":[1,3],
        "python":evil("3.11"),"platform":evil("linux"),"pid":1,"argv":[evil("app.py")],
        "executable":evil("/usr/bin/python3"),"time":evil("2026"),"trigger":evil("exit"),
        "trace_alloc":1});
    let records = [
        header,
        serde_json::json!({"kind":"types","base":0,"names":[
            [evil("mod"), evil("Evil")], ["builtins","list"], ["builtins","module"]]}),
        serde_json::json!({"kind":"sites","base":0,"sites":[[[evil("/srv/file.py"), 41]]]}),
        serde_json::json!({"kind":"objects","id":[1,2,3,4],"type":[2,1,0,0],
            "size":[72,64,100,100],"refcount":[1,1,2,2],"flags":[0,6,0,0],
            "label":[evil("m"), "2 items", evil("label"), evil("other")],
            "nrefs":[1,2,1,1],"refs":[2,3,4,4,3],
            "edge_labels":[evil(".attr"), evil(".peer"), evil(".back")],
            "site":[null, 0, 0, 0]}),
        serde_json::json!({"kind":"root","root":"module","name":evil("root"),"id":1}),
        serde_json::json!({"kind":"thread","name":evil("thread"),"ident":7,"daemon":false,
            "main":true,"frames":[]}),
        serde_json::json!({"kind":"mark","name":evil("mark"),"id":3}),
        serde_json::json!({"kind":"end","objects":4,"edges":5}),
    ];
    let text: String = records.iter().map(|r| format!("{r}\n")).collect();
    let snap = dir.path().join("evil.rgsnap");
    std::fs::write(&snap, &text).unwrap();
    // A baseline without the Evil objects: the report's growth table lists them.
    let old = dir.path().join("old.rgsnap");
    let old_text = concat!(
        r#"{"kind":"header","format":"refgraph-snapshot","version":[1,0]}"#,
        "\n",
        r#"{"kind":"types","base":0,"names":[["builtins","module"]]}"#,
        "\n",
        r#"{"kind":"objects","id":[1],"type":[0],"size":[72],"refcount":[1],"flags":[0],"label":["m"],"nrefs":[0],"refs":[],"edge_labels":[]}"#,
        "\n",
        r#"{"kind":"end","objects":1,"edges":0}"#,
        "\n"
    );
    std::fs::write(&old, old_text).unwrap();
    let s = snap.to_str().unwrap();
    let o = old.to_str().unwrap();
    let file = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let commands: Vec<Vec<String>> = [
        vec!["summary", s],
        vec!["types", s, "--limit", "0"],
        vec!["types", s, "--by", "site"],
        vec!["show", s, "0x3"],
        vec!["chain", s, "0x4"],
        vec!["cycles", s],
        vec!["top", s],
        vec!["find", s, "Evil"],
        vec!["diff", o, s],
        vec!["orphans", s],
    ]
    .iter()
    .map(|c| c.iter().map(|a| a.to_string()).collect())
    .collect();
    let mut outputs = Vec::new();
    for args in &commands {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = crate::util::run(&args);
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        outputs.push((
            format!("{args:?}"),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        ));
    }
    let (dot, svg, page, growth) = (file("r.dot"), file("b.svg"), file("r.html"), file("g.html"));
    let pictures = [
        vec!["refs", s, "0x1", "-o", &dot],
        vec!["backrefs", s, "0x4", "-o", &svg, "--renderer", "builtin"],
        vec!["report", s, "-o", &page],
        vec!["report", s, "--baseline", o, "-o", &growth],
    ];
    for args in &pictures {
        let out = crate::util::run(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let written =
            std::fs::read_to_string(args[args.iter().position(|a| *a == "-o").unwrap() + 1])
                .unwrap();
        outputs.push((format!("{args:?}"), written));
    }
    for (what, text) in &outputs {
        for c in HOSTILE {
            assert!(!text.contains(c), "{what}: raw {c:?} in\n{text}");
        }
        assert!(
            !text.lines().any(|l| l.trim_start().starts_with("FORGED")),
            "{what}: a forged line in\n{text}"
        );
    }
    let report = &outputs
        .iter()
        .find(|(w, _)| w.contains("g.html"))
        .unwrap()
        .1;
    for field in ["Evil", "file.py", "FORGED"] {
        assert!(report.contains(field), "the report shows {field}");
    }
}
