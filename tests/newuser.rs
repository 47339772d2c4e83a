//! What a new user sees: the demo's next steps run as printed, the largest-object lists show
//! other suspects than one leak's parts, and `top` and `summary` say the same thing.

use crate::util::{refgraph, stdout, Workdir};

#[test]
fn the_demo_prints_next_commands_that_run_as_printed() {
    let w = Workdir::new();
    // The binary's directory is not on PATH, as after `cargo run`.
    let path = std::env::var_os("PATH").unwrap_or_default();
    let out = refgraph()
        .args(["demo", "--dir", &w.arg("demo dir")])
        .env("PATH", &path)
        .output()
        .expect("demo runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let next: Vec<&str> = text
        .split("Next, try:\n")
        .nth(1)
        .expect("next steps")
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .collect();
    assert!(next.len() >= 4, "{text}");
    let show = next
        .iter()
        .find(|l| l.contains(" show "))
        .expect("a show line");
    let bin = env!("CARGO_BIN_EXE_refgraph");
    assert!(
        show.starts_with(bin) || show.starts_with(&format!("'{bin}'")),
        "the binary's own path: {show}"
    );
    let run = std::process::Command::new("sh")
        .args(["-c", show])
        .env("PATH", &path)
        .env("NO_COLOR", "1")
        .output()
        .expect("sh runs");
    assert!(
        run.status.success(),
        "{show}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(String::from_utf8_lossy(&run.stdout).contains("held by"));
}

#[test]
fn rows_kept_alive_by_a_row_above_are_counted_in_it_not_listed() {
    let w = Workdir::new();
    let snap = w.capture("nested_leak.py", &[]);
    let text = stdout(&["summary", &snap, "--limit", "3"]);
    let rows: Vec<&str> = text
        .split("what holds them\n")
        .nth(1)
        .expect("the largest objects")
        .lines()
        .collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert!(rows[0].contains("← __main__.leak"), "{text}");
    assert!(
        rows[0].contains("10 list")
            && rows[0].contains("20 ValueError")
            && rows[0].ends_with("inside it)"),
        "{text}"
    );
    assert!(
        rows.iter().any(|r| r.contains("← __main__.other")),
        "the other suspect shows: {text}"
    );
    let json: refgraph::query::summary::Summary =
        crate::util::json(&["summary", &snap, "--top", "3"]);
    let inside = &json.largest[0].inside;
    assert_eq!(
        inside
            .iter()
            .find(|t| t.type_name == "ValueError")
            .map(|t| t.count),
        Some(20)
    );

    let html = w.arg("r.html");
    stdout(&["report", &snap, "--limit", "3", "-o", &html]);
    let page = std::fs::read_to_string(&html).expect("the report");
    assert!(
        page.contains("By retained size"),
        "the heading says the order"
    );
    assert!(!page.contains("By shallow size"));
    assert!(
        page.contains("20 ValueError"),
        "collapsed rows counted in the report"
    );
    assert!(
        page.contains(r#"<th class="num" data-sort="num" aria-sort="descending">Retained</th>"#),
        "the sorted column is the retained one"
    );
}

#[test]
fn top_and_summary_name_the_holder_of_every_suspect_alike() {
    let w = Workdir::new();
    let snap = w.capture("seed_cycle.py", &[]);
    let top = stdout(&["top", &snap]);
    let summary = stdout(&["summary", &snap]);
    for block in top.split("\nSuspect #").skip(1) {
        let second = block.lines().nth(1).unwrap_or_default();
        assert!(second.starts_with("  held by   "), "{top}");
    }
    let garbage = "nothing: cyclic garbage (the cycle collector flagged it)";
    assert!(top.contains(&format!("held by   {garbage}")), "{top}");
    assert!(summary.contains(&format!("← {garbage}")), "{summary}");
    assert!(
        top.contains("(its children in the dominator tree)"),
        "{top}"
    );
    assert!(!top.contains("garbage or held from C"), "{top}");
}

#[test]
fn one_instance_and_type_selectors_everywhere() {
    let w = Workdir::new();
    let snap = w.capture("nested_leak.py", &[]);
    let found = stdout(&["find", &snap, "type:bytearray", "--top", "5"]);
    assert!(found.starts_with("1 instance of bytearray,"), "{found}");
    let both = stdout(&["types", &snap, "--top", "2"]);
    assert_eq!(both, stdout(&["types", &snap, "--limit", "2"]));
}
