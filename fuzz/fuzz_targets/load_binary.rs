//! Fuzz target: the binary snapshot reader on arbitrary blocks must return a snapshot or a
//! `LoadError`, never panic, hang or allocate more than the input justifies. The input is the
//! file after its 10-byte preamble (magic and layout), which the target puts in front, so
//! the fuzzer spends its time on the blocks; an input that starts with the magic is taken as
//! a whole file.

#![no_main]

use libfuzzer_sys::fuzz_target;
use refgraph::snapshot::binary::{is_binary, LAYOUT_MAJOR, LAYOUT_MINOR, MAGIC};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let mut file = Vec::with_capacity(data.len() + 10);
    if !is_binary(data) {
        file.extend_from_slice(&MAGIC);
        file.extend_from_slice(&[LAYOUT_MAJOR, LAYOUT_MINOR]);
    }
    file.extend_from_slice(data);
    if let Ok(snap) = refgraph::snapshot::parse_snapshot(Path::new("fuzz"), &file) {
        for node in snap.nodes() {
            for (target, label) in snap.labelled_referents(node) {
                let _ = (snap.referrers(target).len(), label.to_string());
            }
            let _ = (snap.label(node), snap.type_index(node));
        }
    }
});
