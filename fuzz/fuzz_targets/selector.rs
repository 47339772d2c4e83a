//! Fuzz target: any UTF-8 text parses into a `Selector` or a `SelectError`, never a panic;
//! what parses resolves against a small snapshot without panicking, and prints back into
//! text that parses to the same selector.

#![no_main]

use libfuzzer_sys::fuzz_target;
use refgraph::select::{resolve, Selector};
use refgraph::Snapshot;
use std::path::Path;
use std::str::FromStr;
use std::sync::OnceLock;

/// module m → dict → list, a mark on the list: enough for every selector kind to match.
const SNAPSHOT: &str = r#"{"kind":"header","format":"refgraph-snapshot","version":[1,0]}
{"kind":"types","base":0,"names":[["builtins","module"],["builtins","dict"],["app.models","Session"]]}
{"kind":"objects","id":[1,2,3],"type":[0,1,2],"size":[72,232,56],"refcount":[1,1,1],"flags":[2,2,2],"label":["m","1 item",null],"nrefs":[1,1,0],"refs":[2,3],"edge_labels":[".__dict__","['s']"]}
{"kind":"root","root":"module","name":"m","id":1}
{"kind":"mark","name":"s","id":3}
{"kind":"end","objects":3}
"#;

fn snapshot() -> &'static Snapshot {
    static SNAP: OnceLock<Snapshot> = OnceLock::new();
    SNAP.get_or_init(|| {
        refgraph::snapshot::parse_snapshot(Path::new("fuzz"), SNAPSHOT.as_bytes())
            .expect("the fixed snapshot loads")
    })
}

/// The canonical text of a selector.
fn text(selector: &Selector) -> String {
    match selector {
        Selector::Id(id) => format!("{:#x}", id.0),
        Selector::Mark(name) => format!("mark:{name}"),
        Selector::Type(name) => format!("type:{name}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(selector) = Selector::from_str(input) else {
        return;
    };
    assert_eq!(Selector::from_str(&text(&selector)).as_ref(), Ok(&selector));
    let _ = resolve(snapshot(), &selector, 10);
});
