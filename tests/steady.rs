//! `diff A B C` on three dumps of one process: only the steady leak (new in B, alive in C) is
//! reported, with its holder; a burst B made and C freed is not; snapshots of two processes
//! are compared by counts only, with a warning.

use crate::util::{json, run, stdout, Workdir};
use refgraph::query::steady::SteadyLeak;

fn three_dumps(w: &Workdir) -> [String; 3] {
    let dir = w.dumper_dir();
    let snaps = [w.arg("a.rgsnap"), w.arg("b.rgsnap"), w.arg("c.rgsnap")];
    w.python("steady.py", &[&dir, &snaps[0], &snaps[1], &snaps[2]]);
    snaps
}

#[test]
fn only_the_steady_leak_is_reported_with_its_holder() {
    let w = Workdir::new();
    let [a, b, c] = three_dumps(&w);
    let leak: SteadyLeak = json(&["diff", &a, &b, &c, "--limit", "0"]);
    let leak_row = leak
        .types
        .iter()
        .find(|t| t.type_name == "__main__.Leak")
        .expect("the Leak objects B added are a steady leak");
    assert_eq!(leak_row.count, 100, "B's 100, not C's new ones");
    let held = leak_row.held_by.as_deref().unwrap_or_default();
    assert!(
        held.starts_with("module __main__ → .__dict__['leaks'] → list["),
        "{held}"
    );
    assert!(
        leak.types.iter().all(|t| t.type_name != "__main__.Burst"),
        "the burst is gone by C: {:?}",
        leak.types
    );
    let grew: Vec<&str> = leak
        .grew_every_step
        .iter()
        .map(|g| g.type_name.as_str())
        .collect();
    assert!(grew.contains(&"__main__.Leak"), "{grew:?}");
    assert!(!grew.contains(&"__main__.Burst"), "{grew:?}");
    let text = stdout(&["diff", &a, &b, &c]);
    assert!(text.contains("Steady leak: "), "{text}");
    assert!(text.contains("__main__.Leak"), "{text}");
    assert!(text.contains("Types that grew at every step:"), "{text}");
}

#[test]
fn three_snapshots_of_different_processes_compare_counts_only() {
    let w = Workdir::new();
    let [a, b, _] = three_dumps(&w);
    let w2 = Workdir::new();
    let [_, _, other] = three_dumps(&w2);
    let out = run(&["diff", &a, &b, &other]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("different processes"), "{stderr}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("Steady leak: "), "{text}");
}
