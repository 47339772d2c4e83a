//! The header's memory figures (issue 15.3) against /proc/self/status read in the same process,
//! and `summary`'s first line that answers "is it Python objects or the allocator?".

use crate::util::{stdout, Workdir};

fn figures(w: &Workdir, extra: &[&str]) -> (serde_json::Value, serde_json::Value, String) {
    let dir = w.dumper_dir();
    let snap = w.arg("m.rgsnap");
    let json_path = w.arg("status.json");
    let mut args = vec![dir.as_str(), snap.as_str(), json_path.as_str()];
    args.extend(extra);
    w.python("memory_figures.py", &args);
    let text = std::fs::read_to_string(&snap).unwrap();
    let header: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let status: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    (header["memory"].clone(), status, snap)
}

#[test]
fn the_header_records_rss_peak_and_allocators_as_the_process_saw_them() {
    let w = Workdir::new();
    let (memory, status, snap) = figures(&w, &["ctypes"]);
    let rss = memory["rss"].as_u64().expect("rss");
    let peak = memory["peak_rss"].as_u64().expect("peak_rss");
    let before = status["before"]["VmRSS"].as_u64().unwrap();
    let after_peak = status["after"]["VmHWM"].as_u64().unwrap();
    assert!(
        rss * 10 >= before * 9 && rss <= after_peak,
        "rss {rss} between {before} (before) and the peak after {after_peak}"
    );
    assert!(peak >= rss && peak <= after_peak, "peak {peak}");
    assert!(memory["allocated_blocks"].as_u64().unwrap() > 10_000);
    let in_use = memory["c_allocator"]["in_use"]
        .as_u64()
        .expect("glibc's totals");
    assert!(
        in_use >= 30_000_000,
        "30 MB of bytearrays are malloc'd: {in_use}"
    );
    let page = w.arg("m.html");
    stdout(&["report", &snap, "-o", &page]);
    let html = std::fs::read_to_string(&page).unwrap();
    let overview = &html[html.find("id=\"overview\"").expect("an overview")..];
    let memory = &overview[..overview.find("</p>").expect("the memory line")];
    assert!(
        memory.contains("Python objects")
            && memory.contains(" RSS (")
            && memory.contains("C allocator"),
        "the report opens with the answer: {memory}"
    );
    let summary = stdout(&["summary", &snap]);
    let first = summary.lines().next().unwrap();
    assert!(
        first.starts_with("Memory    Python objects ")
            && first.contains(" RSS (")
            && first.contains("C allocator "),
        "{first}"
    );
}

#[test]
fn without_ctypes_loaded_the_c_allocator_is_unknown_not_guessed() {
    let w = Workdir::new();
    let (memory, _, snap) = figures(&w, &[]);
    assert!(memory["rss"].as_u64().is_some());
    assert!(memory["c_allocator"].is_null(), "{memory}");
    let first = stdout(&["summary", &snap])
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert!(!first.contains("C allocator"), "{first}");
}
