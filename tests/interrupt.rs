//! Ctrl-C during a long load: a clear message, exit 130, and no output or temp file left.

use crate::util::{refgraph, Workdir};
use std::io::Write;
use std::time::Duration;

/// A snapshot of `n` lists, each referring to the next: slow enough to load (debug build)
/// that a signal sent shortly after start arrives mid-load.
fn big_snapshot(path: &std::path::Path, n: u64) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(
        f,
        r#"{{"kind":"header","format":"refgraph-snapshot","version":[1,0]}}"#
    )
    .unwrap();
    writeln!(
        f,
        r#"{{"kind":"types","base":0,"names":[["builtins","list"]]}}"#
    )
    .unwrap();
    let chunk = 10_000;
    for start in (0..n).step_by(chunk) {
        let ids: Vec<u64> = (start..(start + chunk as u64).min(n)).collect();
        let join =
            |f: &dyn Fn(u64) -> String| ids.iter().map(|&i| f(i)).collect::<Vec<_>>().join(",");
        writeln!(
            f,
            r#"{{"kind":"objects","id":[{}],"type":[{}],"size":[{}],"refcount":[{}],"flags":[{}],"label":[{}],"nrefs":[{}],"refs":[{}],"edge_labels":[]}}"#,
            join(&|i| (i + 1).to_string()),
            join(&|_| "0".into()),
            join(&|_| "64".into()),
            join(&|_| "1".into()),
            join(&|_| "6".into()),
            join(&|_| "\"1 item\"".into()),
            join(&|_| "1".into()),
            join(&|i| (i + 2).to_string()),
        )
        .unwrap();
    }
    writeln!(f, r#"{{"kind":"root","root":"module","name":"m","id":1}}"#).unwrap();
    writeln!(f, r#"{{"kind":"end","objects":{n}}}"#).unwrap();
}

#[test]
fn ctrl_c_during_a_load_leaves_nothing_behind() {
    let w = Workdir::new();
    let snap = w.path("big.rgsnap");
    big_snapshot(&snap, 1_500_000);
    let out = w.path("out.json");
    let child = refgraph()
        .env("REFGRAPH_NO_INDEX", "1")
        .args([
            "refs",
            snap.to_str().unwrap(),
            "0x1",
            "-o",
            out.to_str().unwrap(),
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: sends a signal to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let result = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(
        result.status.code(),
        Some(130),
        "the load finished before the signal? {stderr}"
    );
    assert_eq!(stderr, "refgraph: interrupted; no output was written\n");
    let left: Vec<_> = std::fs::read_dir(w.path(""))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        left,
        [std::ffi::OsString::from("big.rgsnap")],
        "only the snapshot remains"
    );
}
