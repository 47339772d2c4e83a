//! Every reference named (issue 15.1, format 1.2): tests/scripts/edges_kinds.py holds one
//! object per kind of reference, on every CPython found, and `refgraph chain --json` must name
//! each step of its chain in CPython's terms, never with a bare `?`.

use crate::util::{json, refgraph, script, Workdir};
use crate::versions::pythons;
use serde_json::Value;

/// (class of the held object, labels its chain must contain).
const KINDS: &[(&str, &[&str])] = &[
    (
        "ViaTraceback",
        &[
            ".__traceback__",
            ".tb_next",
            ".tb_frame",
            "local 'held_by_tb'",
        ],
    ),
    ("ViaCell", &["cell 'cell_var'", ".cell_contents"]),
    ("ViaFree", &["free 'free_var'", ".cell_contents"]),
    ("ViaGenerator", &["local 'gen_local'"]),
    ("ViaCoroutine", &["._coro", "local 'coro_local'"]),
    ("ViaFutureResult", &["._result"]),
    ("ViaLruCache", &[".cache"]),
    ("ViaLruResult", &["lru result"]),
    ("ViaSet", &["{member}"]),
    ("ViaFrozenset", &["{member}"]),
    ("ViaDeque", &["[1]"]),
    ("ViaPartialArg", &[".args", "[0]"]),
    ("ViaPartialKeyword", &[".keywords", "['sep']"]),
    ("ViaDefaultFactory", &[".default_factory"]),
    ("ViaWeakCallback", &[".__callback__", ".__self__"]),
    ("ViaBoundSelf", &[".__self__"]),
    ("ViaClassDict", &[".__dict__", "['class_attr']"]),
    ("ViaGlobal", &["['GLOBAL']"]),
    ("ViaUnnamed", &["<referent of C type itertools.repeat>"]),
];

/// The edge labels of the chain `refgraph chain --json` finds for the one object of `class`.
fn chain_edges(snap: &str, class: &str) -> Vec<Option<String>> {
    let answers: Vec<Value> = json(&["chain", snap, &format!("type:{class}")]);
    assert_eq!(answers.len(), 1, "{snap}: one {class}: {answers:?}");
    let steps = answers[0]["chains"][0]["steps"]
        .as_array()
        .unwrap_or_else(|| panic!("{snap}: no chain to {class}: {answers:?}"))
        .clone();
    // every step but the last (the target) has the edge it leaves by
    steps[..steps.len() - 1]
        .iter()
        .map(|s| s["edge"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn every_kind_of_reference_is_named_on_every_version() {
    let w = Workdir::new();
    for (label, python) in pythons() {
        let snap = w.arg(&format!("edges-{}.rgsnap", label.replace([' ', '.'], "_")));
        let out = refgraph()
            .args(["capture", "-o", &snap, "--"])
            .arg(&python)
            .arg(script("edges_kinds.py"))
            .output()
            .expect("refgraph capture runs");
        assert!(
            out.status.success(),
            "{label}: capture failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for (class, expected) in KINDS {
            let edges = chain_edges(&snap, class);
            for edge in &edges {
                assert!(
                    matches!(edge.as_deref(), Some(e) if e != "?" && !e.is_empty()),
                    "{label}: {class}: an unnamed step in {edges:?}"
                );
            }
            for want in *expected {
                assert!(
                    edges.iter().any(|e| e.as_deref() == Some(want)),
                    "{label}: {class}: no {want:?} in {edges:?}"
                );
            }
        }
    }
}
