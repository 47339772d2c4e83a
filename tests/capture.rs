//! Capture and load (issue 2): the seed's three programs, marks, threads, labels, exit codes,
//! values=False, hostile objects, and the snapshot format as documented.

use crate::util::{json, run, stdout, Workdir};
use refgraph::query::chain::ChainAnswer;
use refgraph::query::find::Found;
use refgraph::query::show::Shown;
use refgraph::query::summary::Summary;

#[test]
fn seed_local_list_is_gone_after_main_returns() {
    let w = Workdir::new();
    let snap = w.capture("seed_local.py", &[]);
    let lists: Found = json(&["find", &snap, "list", "--sort", "size", "--limit", "1"]);
    assert!(
        lists.objects[0].size < 100_000,
        "a big list survived: {:?}",
        lists.objects[0]
    );
}

#[test]
fn seed_global_list_is_held_by_main_a() {
    let w = Workdir::new();
    let snap = w.capture("seed_global.py", &[]);
    let summary: Summary = json(&["summary", &snap]);
    let biggest = &summary.largest[0];
    assert_eq!(biggest.object.type_name, "list");
    assert_eq!(biggest.object.label.as_deref(), Some("200000 items"));
    let chain = biggest.held_by.as_ref().expect("the global list is rooted");
    assert_eq!(chain.path, "__main__.a");
    let text = stdout(&["summary", &snap]);
    assert!(text.contains("← __main__.a"), "{text}");
    assert!(text.contains("200,000 items"), "{text}");
}

#[test]
fn seed_cycle_is_reported_as_garbage() {
    let w = Workdir::new();
    let snap = w.capture("seed_cycle.py", &[]);
    let summary: Summary = json(&["summary", &snap]);
    let big: Vec<_> = summary
        .largest
        .iter()
        .filter(|l| l.object.label.as_deref() == Some("200001 items"))
        .collect();
    // One list of the cycle keeps the other alive (dominates it): the other is counted
    // inside its row rather than listed again.
    assert_eq!(big.len(), 1, "one row for the cycle's two lists");
    let inside = &big[0].inside;
    assert!(
        inside.iter().any(|t| t.type_name == "list" && t.count == 1),
        "the other list is inside it: {inside:?}"
    );
    for l in &big {
        assert!(l.object.garbage, "flagged by the collector: {l:?}");
        assert!(l.held_by.is_none());
    }
    assert!(summary.garbage >= 2);
    let answers: Vec<ChainAnswer> = crate::util::json_code(&["chain", &snap, &big[0].object.id], 1);
    let why = answers[0].unrooted.as_ref().expect("explained");
    let text = serde_json::to_string(why).unwrap();
    assert!(
        text.contains("\"reason\":\"cycle\"") && text.contains("\"collector_flagged\":true"),
        "{text}"
    );
}

#[test]
fn marks_name_objects_and_labels_name_edges() {
    let w = Workdir::new();
    let dir = w.dumper_dir();
    let snap = w.arg("marks.rgsnap");
    w.python("marks_api.py", &[&dir, &snap, "values"]);
    let cache: Shown = json(&["show", &snap, "mark:cache"]);
    assert_eq!(cache.object.marks, ["cache"]);
    let edges: Vec<_> = cache
        .referents
        .iter()
        .map(|n| n.edge.clone().unwrap_or_default())
        .collect();
    assert_eq!(edges, ["[0]", "[1]"]);
    let config: Shown = json(&["show", &snap, "mark:config"]);
    let keys: Vec<_> = config
        .referents
        .iter()
        .filter_map(|n| n.edge.clone())
        .collect();
    assert!(keys.contains(&"['password']".to_string()), "{keys:?}");
    assert!(keys.contains(&"key 'password'".to_string()), "{keys:?}");
    let secret = config
        .referents
        .iter()
        .find(|n| n.edge.as_deref() == Some("['password']"))
        .unwrap();
    assert_eq!(
        secret.object.label.as_deref(),
        Some("'hunter2-s3cr3t-token'")
    );
    let out = run(&["show", &snap, "mark:nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no mark 'nope'"));
}

#[test]
fn values_false_leaves_no_string_content_in_the_file() {
    let w = Workdir::new();
    let dir = w.dumper_dir();
    let snap = w.arg("secret.rgsnap");
    w.python("marks_api.py", &[&dir, &snap, "novalues"]);
    let bytes = std::fs::read(&snap).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        !text.contains("hunter2") && !text.contains("s3cr3t"),
        "a secret leaked into the snapshot"
    );
    assert!(!text.contains("alice"));
    let config: Shown = json(&["show", &snap, "mark:config"]);
    let edges: Vec<_> = config
        .referents
        .iter()
        .filter_map(|n| n.edge.as_deref())
        .collect();
    assert!(
        edges.contains(&"[<str 8 chars>]") && !edges.contains(&"['password']"),
        "a data dict's keys are hidden, identifiers too: {edges:?}"
    );
    let answers: Vec<ChainAnswer> = json(&["chain", &snap, "mark:config"]);
    assert!(
        answers[0].chains[0].text.contains(".__dict__['config']"),
        "a module global's name stays: {}",
        answers[0].chains[0].text
    );
}

#[test]
fn thread_frames_are_roots_with_named_locals() {
    let w = Workdir::new();
    let snap = w.capture("thread_local.py", &[]);
    let answers: Vec<ChainAnswer> = json(&["chain", &snap, "type:Payload"]);
    let chain = &answers[0].chains[0];
    assert!(
        chain
            .text
            .starts_with("thread 'holder-thread' → frame worker()"),
        "{}",
        chain.text
    );
    assert!(
        chain.text.ends_with("→ local 'held' → Payload"),
        "{}",
        chain.text
    );
}

#[test]
fn exit_codes_and_output_pass_through() {
    let w = Workdir::new();
    for code in ["0", "3"] {
        let snap = w.arg(&format!("exit{code}.rgsnap"));
        let out = w.capture_output("exit_code.py", &snap, &[], &[code]);
        assert_eq!(out.status.code(), Some(code.parse().unwrap()));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("out:{code}\n")
        );
        assert!(std::path::Path::new(&snap).exists());
    }
    let snap = w.arg("raise.rgsnap");
    let out = w.capture_output("exit_code.py", &snap, &[], &["raise"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ValueError: boom"), "{stderr}");
    assert!(stderr.contains("exit_code.py\", line"), "{stderr}");
    assert!(
        !stderr.contains("refgraph_dump"),
        "the dumper's frames show in the traceback: {stderr}"
    );
    assert!(
        std::path::Path::new(&snap).exists(),
        "the snapshot is written even when the program fails"
    );
}

#[test]
fn hostile_objects_are_dumped_without_calling_their_code() {
    let w = Workdir::new();
    let snap = w.arg("hostile.rgsnap");
    let out = w.capture_output("hostile.py", &snap, &[], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hostile ok\n");
    let found: Found = json(&["find", &snap, "Hostile"]);
    assert_eq!(found.total, 1);
    let mocks: Found = json(&["find", &snap, "MagicMock"]);
    assert_eq!(mocks.total, 1);
}

#[test]
fn snapshots_follow_docs_format_md() {
    let w = Workdir::new();
    let snap = w.capture("cache_dict.py", &[]);
    let text = std::fs::read_to_string(&snap).unwrap();
    let header: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/FORMAT.md")).unwrap();
    let section = &doc[doc.find("### `header`").unwrap()..doc.find("### `types`").unwrap()];
    let mut fields = 0;
    for row in section.lines().filter(|l| l.starts_with("| `")) {
        for name in row.split('|').nth(1).unwrap().split(',') {
            let name = name.trim().trim_matches('`');
            assert!(
                header.get(name).is_some(),
                "header lacks documented field {name}"
            );
            fields += 1;
        }
    }
    assert!(
        fields >= 10,
        "the FORMAT.md header table was read ({fields} fields)"
    );
    assert_eq!(header["kind"], "header");
    assert_eq!(header["format"], "refgraph-snapshot");
    assert_eq!(
        header["version"][0],
        refgraph::snapshot::format::FORMAT_MAJOR
    );
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["kind"], "end");
    let kinds = [
        "header", "types", "objects", "root", "thread", "mark", "end",
    ];
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(
            kinds.contains(&v["kind"].as_str().unwrap()),
            "undocumented record kind {}",
            v["kind"]
        );
    }
}

#[test]
fn gzip_snapshots_load_the_same() {
    let w = Workdir::new();
    let snap = w.arg("global.rgsnap.gz");
    let out = w.capture_output("seed_global.py", &snap, &[], &[]);
    assert!(out.status.success());
    assert_eq!(&std::fs::read(&snap).unwrap()[..2], &[0x1f, 0x8b]);
    let summary: Summary = json(&["summary", &snap]);
    assert_eq!(
        summary.largest[0].held_by.as_ref().unwrap().path,
        "__main__.a"
    );
}

#[test]
fn capture_says_what_it_wrote_and_what_to_try() {
    let w = Workdir::new();
    let snap = w.arg("said.rgsnap");
    let out = w.capture_output("self_list.py", &snap, &[], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("wrote {snap}"))
            && stderr.contains(&format!(
                "try: {} summary {snap}",
                env!("CARGO_BIN_EXE_refgraph")
            )),
        "{stderr}"
    );
}

#[test]
fn a_signal_dumps_a_running_program_to_numbered_files() {
    use std::io::{BufRead, BufReader};
    let w = Workdir::new();
    let snap = w.arg("server.rgsnap");
    let stop = w.arg("stop");
    let mut child = crate::util::refgraph()
        .args([
            "capture", "-o", &snap, "--signal", "SIGUSR2", "--", "python3",
        ])
        .arg(crate::util::script("server.py"))
        .arg(&stop)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    let pid: i32 = first
        .split("pid ")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{first}"));
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut ready = String::new();
    stdout.read_line(&mut ready).unwrap();
    assert_eq!(ready, "ready\n", "wait for the program, not a fixed sleep");
    // SAFETY: signals the Python child that refgraph started for this test.
    unsafe { libc::kill(pid, libc::SIGUSR2) };
    let numbered = w.path("server.1.rgsnap");
    for _ in 0..200 {
        if numbered.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::fs::write(&stop, "").unwrap();
    let status = child.wait().unwrap();
    assert!(status.success());
    assert!(numbered.exists(), "the signal wrote server.1.rgsnap");
    assert!(
        std::path::Path::new(&snap).exists(),
        "the exit snapshot too"
    );
    let main_frames: Summary = json(&["summary", numbered.to_str().unwrap()]);
    assert!(
        main_frames.thread_frames >= 1,
        "the interrupted main-thread frames are recorded"
    );
}
