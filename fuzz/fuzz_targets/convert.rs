//! Fuzz target: `convert` on arbitrary input (a binary file when it starts with the magic,
//! JSON lines otherwise), with the node numbers of its first pass, to either format, must
//! return the converted text or a `ConvertError`, never panic or hang; what it writes from a
//! binary input must load or fail with a `LoadError`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use refgraph::snapshot::binary::write::{convert, object_ids, Format, NodeNumbers};
use std::path::Path;
use std::rc::Rc;

fuzz_target!(|data: &[u8]| {
    for to in [Format::Json, Format::Binary] {
        let nodes = object_ids(data)
            .and_then(NodeNumbers::of_file)
            .map(Rc::new);
        let mut out = Vec::new();
        if convert(data, &mut out, Some(to), None, nodes).is_ok() {
            let _ = refgraph::snapshot::parse_snapshot(Path::new("fuzz"), &out);
        }
    }
});
