//! The binary format against the JSON one: the same snapshot either way, byte-for-byte JSON
//! back from binary, and every damaged file an error or a cut-short warning, never a panic.

use super::write::{convert, Format};
use crate::snapshot::index::tests::same_snapshot;
use crate::snapshot::{parse_snapshot, Snapshot};
use proptest::prelude::*;
use std::path::Path;

const HEADER: &str = r#"{"kind":"header","format":"refgraph-snapshot","version":[1,2],"pid":7,"argv":["app.py"],"python_version":[3,11,7]}"#;

/// module m → dict ['a'] → list [0] → int; the list also refers to itself; a thread, a mark.
const SMALL: &str = r#"{"kind":"types","base":0,"names":[["builtins","module"],["builtins","dict"],["builtins","list"],["builtins","int"]]}
{"kind":"objects","id":[1,2,3,4],"type":[0,1,2,3],"size":[72,232,64,28],"refcount":[1,-1,2,4294967296],"flags":[2,2,6,0],"label":["m","1 item","2 items","7"],"nrefs":[1,2,2,0],"refs":[2,10,3,4,3],"edge_labels":[".__dict__","key 'a'","['a']"]}
{"kind":"objects","id":[10,140000000000000],"type":[3,3],"size":[50,28],"refcount":[1,1],"flags":[0,0],"label":["'a'",null],"nrefs":[1,0],"refs":[99],"edge_labels":[null]}
{"kind":"root","root":"module","name":"m","id":1}
{"kind":"thread","name":"MainThread","ident":140001,"daemon":false,"main":true,"frames":[3]}
{"kind":"mark","name":"the_list","id":3}
{"kind":"end","objects":6,"edges":6,"garbage":0,"seconds":0.25}
"#;

fn json_text(body: &str) -> String {
    format!("{HEADER}\n{body}")
}

fn to(format: Format, input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let nodes = super::write::object_ids(input)
        .and_then(super::write::NodeNumbers::of_file)
        .map(std::rc::Rc::new);
    convert(input, &mut out, Some(format), None, nodes).expect("converts");
    out
}

fn load(bytes: &[u8]) -> Result<Snapshot, String> {
    parse_snapshot(Path::new("t"), bytes).map_err(|e| e.to_string())
}

#[test]
fn binary_loads_as_the_json_it_came_from_and_converts_back_byte_for_byte() {
    let json = json_text(SMALL);
    let binary = to(Format::Binary, json.as_bytes());
    assert!(super::is_binary(&binary));
    let (a, b) = (load(json.as_bytes()).unwrap(), load(&binary).unwrap());
    same_snapshot(&a, &b).unwrap();
    assert_eq!(b.load_report().dangling_refs, 1);
    assert_eq!(String::from_utf8(to(Format::Json, &binary)).unwrap(), json);
    // binary → binary is the same file again
    assert_eq!(to(Format::Binary, &binary), binary);
}

#[test]
fn every_cut_of_a_binary_file_is_an_error_or_a_cut_short_load() {
    let binary = to(Format::Binary, json_text(SMALL).as_bytes());
    for len in 0..binary.len() {
        match load(&binary[..len]) {
            Ok(s) => assert!(s.load_report().truncated, "cut at {len} loads as whole"),
            Err(e) => assert!(e.starts_with("t: "), "cut at {len}: {e}"),
        }
    }
}

#[test]
fn every_byte_changed_gives_a_snapshot_or_an_error_never_a_panic() {
    let binary = to(Format::Binary, json_text(SMALL).as_bytes());
    for at in 0..binary.len() {
        for value in [0u8, 1, 0x7f, 0x80, 0xff] {
            let mut bad = binary.clone();
            bad[at] = value;
            if let Err(e) = load(&bad) {
                assert!(e.starts_with("t: ") && !e.contains('\n'), "{e}");
            }
        }
    }
}

/// Append a block of kind `k`.
fn push_block(file: &mut Vec<u8>, k: u8, payload: &[u8]) {
    file.push(k);
    file.extend((payload.len() as u32).to_le_bytes());
    file.extend(payload);
}

/// The magic, layout 1.`minor` and the header block.
fn with_header(minor: u8) -> Vec<u8> {
    let mut file = super::MAGIC.to_vec();
    file.extend([1, minor]);
    push_block(&mut file, super::kind::HEADER, HEADER.as_bytes());
    file
}

#[test]
fn lying_lengths_and_counts_are_refused_without_allocating_for_them() {
    use super::{kind, put_varint, BLOCK_HEADER_LEN};
    let block = push_block;
    let file = with_header(0);
    // a block that claims 1 GiB and has 3 bytes: cut short, not an allocation
    let mut huge = file.clone();
    huge.push(kind::OBJECTS);
    huge.extend((1u32 << 30).to_le_bytes());
    huge.extend([1, 2, 3]);
    let s = load(&huge).unwrap_err();
    assert_eq!(
        s,
        "t: holds no objects: the dump was cut short after the header"
    );
    // a length over the limit is an error
    let mut over = file.clone();
    over.push(kind::OBJECTS);
    over.extend(u32::MAX.to_le_bytes());
    assert!(load(&over)
        .unwrap_err()
        .contains("more than the 1024 MiB a block may have"));
    // an objects block that claims 2^60 objects in 10 bytes
    let mut payload = Vec::new();
    put_varint(&mut payload, 1 << 60);
    payload.extend([0; 9]);
    let mut lying = file.clone();
    block(&mut lying, kind::OBJECTS, &payload);
    let e = load(&lying).unwrap_err();
    assert!(
        e.starts_with(&format!(
            "t: block 2 (byte {}): object count",
            10 + BLOCK_HEADER_LEN + HEADER.len()
        )),
        "{e}"
    );
    // types that claim more names than bytes
    let mut types = Vec::new();
    put_varint(&mut types, 0);
    put_varint(&mut types, 1 << 40);
    let mut lying = file.clone();
    block(&mut lying, kind::TYPES, &types);
    assert!(load(&lying).unwrap_err().contains("type count"));
    // an unknown required kind is an error; an unknown optional one is skipped
    let mut unknown = file.clone();
    block(&mut unknown, 0x42, b"");
    assert!(load(&unknown)
        .unwrap_err()
        .contains("unknown block kind 66"));
    let body = to(Format::Binary, json_text(SMALL).as_bytes());
    let mut optional = body[..10 + BLOCK_HEADER_LEN + HEADER.len()].to_vec();
    block(&mut optional, 0x90, b"anything");
    optional.extend(&body[10 + BLOCK_HEADER_LEN + HEADER.len()..]);
    same_snapshot(&load(&optional).unwrap(), &load(&body).unwrap()).unwrap();
    // another layout major version
    let mut v2 = body.clone();
    v2[8] = 2;
    let e = load(&v2).unwrap_err();
    let expected = format!("layout 2.{} is not supported", super::LAYOUT_MINOR);
    assert!(e.contains(&expected), "{e}");
}

#[test]
fn the_json_loaders_checks_apply_to_binary_too() {
    let cases = [
        (
            r#""id":[10,140000000000000]"#,
            r#""id":[10,1]"#,
            "object id 0x1 is recorded twice",
        ),
        (r#""type":[3,3]"#, r#""type":[3,9]"#, "has type index 9"),
        (
            r#""objects":6"#,
            r#""objects":7"#,
            "the end record counts 7 objects",
        ),
    ];
    for (from, into, message) in cases {
        let json = json_text(&SMALL.replace(from, into));
        let binary = to(Format::Binary, json.as_bytes());
        let e = load(&binary).unwrap_err();
        assert!(e.starts_with("t: ") && e.contains(message), "{e}");
    }
    let json = json_text(&SMALL.replace(r#""name":"m","id":1"#, r#""name":"m","id":12345"#));
    let s = load(&to(Format::Binary, json.as_bytes())).unwrap();
    assert!(s.load_report().warnings[0].starts_with("block 6: root 0x3039 has no object"));
}

/// A generated snapshot: objects in random chunks with labels of any text (NUL, escapes,
/// astral characters, over the label limit), references to present and absent ids, edge
/// labels and nulls, flags including indexed, roots, threads and marks of present objects.
fn arb_snapshot() -> impl Strategy<Value = String> {
    let label = prop_oneof![
        Just(None),
        "[a-z'\\[\\]. ]{0,12}".prop_map(Some),
        any::<String>().prop_map(Some),
        Just(Some("é".repeat(700))),
    ];
    let object = (
        0u64..4,
        0u64..1 << 20,
        any::<i64>(),
        prop_oneof![Just(0u8), Just(2), Just(4), Just(6), Just(1), Just(16)],
        label,
        proptest::collection::vec((0usize..60, proptest::option::of("[.a-z]{1,6}")), 0..5),
    );
    (
        proptest::collection::vec(object, 1..40),
        proptest::collection::vec(1usize..10, 1..6),
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(|(objects, chunk_sizes, with_end, id_base)| {
            let n = objects.len();
            let id_of = |i: usize| id_base.wrapping_add(16 * i as u64);
            let mut lines = vec![
                r#"{"kind":"types","base":0,"names":[["builtins","dict"],["builtins","list"],["m","C"],["","x\u0000y"]]}"#.to_string(),
            ];
            let mut at = 0;
            let mut sizes = chunk_sizes.into_iter().cycle();
            while at < n {
                let end = (at + sizes.next().unwrap_or(1)).min(n);
                let chunk = &objects[at..end];
                let ids: Vec<u64> = (at..end).map(id_of).collect();
                let mut refs = Vec::new();
                let mut edge_labels = Vec::new();
                for o in chunk {
                    for (target, label) in &o.5 {
                        // a target past the objects is a dangling reference
                        refs.push(id_of(*target));
                        if o.3 & 4 == 0 {
                            edge_labels.push(label.clone());
                        }
                    }
                }
                let col = |v: serde_json::Value| v.to_string();
                lines.push(format!(
                    r#"{{"kind":"objects","id":{},"type":{},"size":{},"refcount":{},"flags":{},"label":{},"nrefs":{},"refs":{},"edge_labels":{}}}"#,
                    col(ids.into()),
                    col(chunk.iter().map(|o| o.0).collect::<Vec<_>>().into()),
                    col(chunk.iter().map(|o| o.1).collect::<Vec<_>>().into()),
                    col(chunk.iter().map(|o| o.2).collect::<Vec<_>>().into()),
                    col(chunk.iter().map(|o| o.3).collect::<Vec<_>>().into()),
                    col(chunk.iter().map(|o| o.4.clone()).collect::<Vec<_>>().into()),
                    col(chunk.iter().map(|o| o.5.len()).collect::<Vec<_>>().into()),
                    col(refs.into()),
                    col(edge_labels.into()),
                ));
                at = end;
            }
            lines.push(format!(r#"{{"kind":"root","root":"module","name":"m\u0000é","id":{}}}"#, id_of(0)));
            lines.push(format!(r#"{{"kind":"thread","name":null,"ident":null,"daemon":true,"main":false,"frames":[{},{}]}}"#, id_of(n - 1), id_of(0)));
            lines.push(format!(r#"{{"kind":"mark","name":"k","id":{}}}"#, id_of(n / 2)));
            if with_end {
                lines.push(format!(r#"{{"kind":"end","objects":{n}}}"#));
            }
            json_text(&(lines.join("\n") + "\n"))
        })
}

proptest! {
    /// JSON → binary → load is JSON → load, and binary → JSON gives the JSON back.
    #[test]
    fn binary_round_trip_equals_the_json_load(json in arb_snapshot()) {
        let binary = to(Format::Binary, json.as_bytes());
        let (a, b) = (load(json.as_bytes()), load(&binary));
        match (a, b) {
            (Ok(a), Ok(b)) => prop_assert_eq!(same_snapshot(&a, &b), Ok(())),
            (Err(a), Err(b)) => prop_assert_eq!(a.rsplit(": ").next(), b.rsplit(": ").next()),
            (a, b) => prop_assert!(false, "json {:?} vs binary {:?}", a.map(|_| ()), b.map(|_| ())),
        }
        let back = String::from_utf8(to(Format::Json, &binary)).unwrap();
        prop_assert_eq!(load(back.as_bytes()).map(|s| s.node_count()), load(json.as_bytes()).map(|s| s.node_count()));
    }
}

#[test]
fn sites_are_read_checked_and_converted() {
    use super::write::{ObjectsIn, Writer};
    use crate::snapshot::format::EndRecord;
    let file = |site_codes: &[u64]| {
        let mut w = Writer::new(Vec::new()).unwrap();
        w.header(HEADER.as_bytes()).unwrap();
        w.types(0, &[("builtins", "list")]).unwrap();
        w.sites(
            0,
            &[vec![("app.py", 12), ("lib/x.py", 3)], vec![("é.py", 1)]],
        )
        .unwrap();
        let objects = ObjectsIn {
            ids: &[16, 32],
            types: &[0, 0],
            sizes: &[56, 56],
            refcounts: &[1, 1],
            flags: &[6, 6],
            nrefs: &[1, 0],
            refs: &[32],
            sites: Some(site_codes),
        };
        w.objects(objects, &[Some("1 item"), None], &[]).unwrap();
        w.end(&EndRecord {
            objects: 2,
            edges: Some(1),
            garbage: None,
            seconds: None,
        })
        .unwrap();
        w.into_inner()
    };
    let good = file(&[2, 0]);
    let s = load(&good).unwrap();
    assert_eq!((s.node_count(), s.edge_count()), (2, 1));
    let json = String::from_utf8(to(Format::Json, &good)).unwrap();
    assert!(
        json.contains(
            r#"{"kind":"sites","base":0,"sites":[[["app.py",12],["lib/x.py",3]],[["é.py",1]]]}"#
        ),
        "{json}"
    );
    assert!(json.contains(r#","site":[1,null]}"#), "{json}");
    // written again with references as node numbers: the same snapshot, and a fixed point
    let again = to(Format::Binary, &good);
    same_snapshot(&load(&again).unwrap(), &s).unwrap();
    assert_eq!(to(Format::Binary, &again), again);
    // code 3 is site 2: one past the table, the JSON loader's message
    let e = load(&file(&[3, 0])).unwrap_err();
    assert_eq!(
        e,
        "t: block 4: object 0x10 has site index 2, but only 2 sites are defined"
    );
    // and the sites reach the Snapshot
    assert_eq!(s.site_count(), 2);
    assert_eq!(s.allocation(0).map(<[_]>::len), Some(1));
}

#[test]
fn the_index_serves_binary_snapshots_too() {
    use super::write::{ObjectsIn, Writer};
    use crate::snapshot::index::Index;
    use crate::snapshot::load::load_using;
    // big enough for an index (index::MIN_OBJECTS)
    let n = crate::snapshot::index::MIN_OBJECTS as u64;
    let ids: Vec<u64> = (1..=n).map(|i| 16 * i).collect();
    let zeros = vec![0u64; n as usize];
    let mut w = Writer::new(Vec::new()).unwrap();
    w.header(HEADER.as_bytes()).unwrap();
    w.types(0, &[("builtins", "int")]).unwrap();
    let objects = ObjectsIn {
        ids: &ids,
        types: &zeros,
        sizes: &zeros,
        refcounts: &vec![1; n as usize],
        flags: &vec![0; n as usize],
        nrefs: &zeros,
        refs: &[],
        sites: None,
    };
    w.objects(objects, &vec![Some("7"); n as usize], &[])
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.rgbin");
    std::fs::write(&path, w.into_inner()).unwrap();
    let index = Index::for_snapshot(&path).expect("an index place (REFGRAPH_NO_INDEX unset)");
    let first = load_using(&path, Some(&index)).unwrap();
    assert!(index.read().is_some(), "the first load wrote the index");
    let again = load_using(&path, Some(&index)).unwrap();
    same_snapshot(&first, &again).unwrap();
}

/// The column of each objects block that holds its references: REFS or REF_NODES.
fn ref_columns(binary: &[u8]) -> Vec<u8> {
    use super::read::{Blocks, Next};
    let mut blocks = Blocks::new(binary, None).unwrap();
    let mut tags = Vec::new();
    while let Next::Block(b) = blocks.next_block().unwrap() {
        if let super::decode::Block::Objects(o) = super::decode::block(b.kind, &b.payload).unwrap()
        {
            tags.push(if o.ref_nodes {
                super::column::REF_NODES
            } else {
                super::column::REFS
            });
        }
    }
    tags
}

#[test]
fn references_are_written_as_node_numbers_where_all_are_objects_and_checked_when_read() {
    use super::column::{REFS, REF_NODES};
    use super::write::NodeNumbers;
    use std::rc::Rc;
    let json = json_text(SMALL);
    let binary = to(Format::Binary, json.as_bytes());
    // the second block refers to id 99, which no object has: it keeps ids
    assert_eq!(ref_columns(&binary), [REF_NODES, REFS]);
    same_snapshot(&load(json.as_bytes()).unwrap(), &load(&binary).unwrap()).unwrap();
    // a numbering that claims a seventh object makes a reference one past the six there are
    let json = json_text(&SMALL.replace("[99]", "[555]"));
    let ids = vec![1, 2, 3, 4, 10, 140000000000000, 555];
    let nodes = NodeNumbers::new(ids).map(Rc::new).ok_or_else(String::new);
    let mut lying = Vec::new();
    convert(
        json.as_bytes(),
        &mut lying,
        Some(Format::Binary),
        None,
        nodes,
    )
    .unwrap();
    assert_eq!(ref_columns(&lying), [REF_NODES, REF_NODES]);
    assert_eq!(
        load(&lying).unwrap_err(),
        "t: block 5: a reference to node 6, but the file holds 6 objects"
    );
    // cut short before its end block, the same reference is to an object cut off: dangling
    let end = {
        use super::read::{Blocks, Next};
        let mut blocks = Blocks::new(&lying[..], None).unwrap();
        let mut last = 0;
        while let Next::Block(b) = blocks.next_block().unwrap() {
            last = b.offset as usize;
        }
        last
    };
    assert_eq!(lying[end], super::kind::END);
    let cut = load(&lying[..end]).unwrap();
    assert_eq!(
        cut.marks().len(),
        1,
        "the blocks before the end block all load"
    );
    assert!(cut.load_report().truncated);
    assert_eq!(cut.load_report().dangling_refs, 1);
    // converted, the reference to the object cut off is an id no object has: dangling too
    let nodes = super::write::object_ids(&lying[..end])
        .and_then(NodeNumbers::of_file)
        .map(Rc::new);
    let mut json = Vec::new();
    let (_, warnings) = convert(&lying[..end], &mut json, Some(Format::Json), None, nodes).unwrap();
    assert_eq!(
        warnings,
        ["1 references point to objects cut off the end; written as id 0, which no object has"]
    );
    let back = load(&json).unwrap();
    assert!(back.load_report().truncated);
    assert_eq!(back.load_report().dangling_refs, 1);
    assert_eq!(back.marks().len(), 1);
}

#[test]
fn a_node_number_past_any_snapshot_is_refused_in_its_block() {
    use super::{column, kind, put_varint};
    let block = push_block;
    let mut file = with_header(1);
    let mut types = Vec::new();
    put_varint(&mut types, 0);
    put_varint(&mut types, 1);
    types.extend([8]);
    types.extend(b"builtins");
    types.extend([4]);
    types.extend(b"list");
    block(&mut file, kind::TYPES, &types);
    for node in [1u64, 1 << 40] {
        let mut objects = vec![1];
        let one_byte = [
            (column::ID, 5),
            (column::TYPE, 0),
            (column::SIZE, 56),
            (column::REFCOUNT, 1),
            (column::FLAGS, 0),
            (column::NREFS, 1),
            (column::LABEL_LEN, 0),
            (column::EDGE_LABEL, 0),
        ];
        for (tag, value) in one_byte {
            objects.extend([tag, 1, 1, value]);
        }
        objects.extend([column::LABEL_TEXT, super::enc::RAW, 0]);
        objects.extend([column::REF_NODES, 8, 8]);
        objects.extend(node.to_le_bytes());
        let mut f = file.clone();
        block(&mut f, kind::OBJECTS, &objects);
        block(&mut f, kind::END, &[1, 0]);
        let e = load(&f).unwrap_err();
        let expected = if node == 1 {
            "t: block 3: a reference to node 1, but the file holds 1 objects".to_string()
        } else {
            format!(
                "t: block 3: a reference to node {node}, past the 2^31 objects a snapshot can hold"
            )
        };
        assert_eq!(e, expected);
    }
}

#[test]
fn a_newer_minor_version_converts_with_a_warning_that_its_additions_are_not_kept() {
    let newer = json_text(SMALL).replace(r#""version":[1,2]"#, r#""version":[1,99]"#);
    let newer = newer.replace(r#""nrefs":"#, r#""added_in_1_99":[1,2,3,4],"nrefs":"#);
    let mut binary = Vec::new();
    let (_, warnings) = convert(
        newer.as_bytes(),
        &mut binary,
        Some(Format::Binary),
        None,
        Err(String::new()),
    )
    .unwrap();
    let minor = crate::snapshot::format::FORMAT_MINOR;
    assert_eq!(
        warnings,
        [format!("snapshot format 1.99 is newer than this refgraph's 1.{minor}: what 1.99 added is not converted")]
    );
    let mut back = Vec::new();
    let (_, warnings) = convert(
        &binary[..],
        &mut back,
        Some(Format::Json),
        None,
        Err(String::new()),
    )
    .unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    // JSON to JSON copies every line, additions included: nothing to warn about.
    let mut copy = Vec::new();
    let (_, warnings) = convert(
        newer.as_bytes(),
        &mut copy,
        Some(Format::Json),
        None,
        Err(String::new()),
    )
    .unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(copy, newer.as_bytes());
}
