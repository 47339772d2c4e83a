//! Fuzz target: the snapshot loader on arbitrary bytes must return a snapshot or a
//! `LoadError`, never panic, hang or allocate more than the input justifies.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(snap) = refgraph::snapshot::parse_snapshot(Path::new("fuzz"), data) {
        // A loaded snapshot must be consistent enough for the queries: walk every edge both
        // ways, which indexes the CSR arrays the loader built.
        for node in snap.nodes() {
            for (target, label) in snap.labelled_referents(node) {
                let _ = (snap.referrers(target).len(), label.to_string());
            }
            let _ = (snap.label(node), snap.type_index(node));
        }
    }
});
