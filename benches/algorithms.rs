//! Times the whole-heap algorithms on real snapshots, one phase at a time: load (JSON, then
//! the binary index), strongly connected components (with the `cycles` rules and with every
//! reference), the dominator tree with retained sizes, and both at once as `cycles` runs them.
//!
//!     cargo bench --bench algorithms -- SNAPSHOT...
//!
//! (`python3 benches/compare.py N` writes one: target/bench/heap.rgsnap.) Each phase prints its
//! wall time and the process's peak resident memory so far, in bytes per object.

use refgraph::query::cycles::default_edge_mask;
use refgraph::query::retained::Retained;
use refgraph::query::scc::snapshot_sccs;
use std::path::Path;
use std::time::Instant;

fn main() {
    let paths: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if paths.is_empty() {
        eprintln!("usage: cargo bench --bench algorithms -- SNAPSHOT...");
        return;
    }
    for path in paths {
        bench(Path::new(&path));
    }
}

fn bench(path: &Path) {
    println!("{}", path.display());
    let index = {
        let mut name = path.as_os_str().to_owned();
        name.push(".rgidx");
        std::path::PathBuf::from(name)
    };
    let _ = std::fs::remove_file(&index);
    let snap = match timed("load from JSON (and write the index)", None, || {
        refgraph::load(path)
    }) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("  {e}");
            return;
        }
    };
    let n = snap.node_count();
    println!(
        "  {n} objects, {} references; peak so far {:.0} bytes/object",
        snap.edge_count(),
        peak_bytes() as f64 / n as f64
    );
    drop(snap);
    let snap = timed("re-open from the index", Some(n), || refgraph::load(path))
        .expect("the snapshot loaded a moment ago");
    let mask = timed("cycles' reference rules (edge mask)", Some(n), || {
        default_edge_mask(&snap)
    });
    timed("SCCs, cycles' rules", Some(n), || {
        snapshot_sccs(&snap, Some(&mask)).count()
    });
    timed("SCCs, every reference", Some(n), || {
        snapshot_sccs(&snap, None).count()
    });
    timed("dominator tree + retained sizes", Some(n), || {
        Retained::compute(&snap).total_size()
    });
    timed(
        "both on two threads (as `cycles` runs them)",
        Some(n),
        || {
            rayon::join(
                || snapshot_sccs(&snap, Some(&default_edge_mask(&snap))).count(),
                || Retained::compute(&snap).total_size(),
            )
        },
    );
}

/// Run `f`, print its wall time (and the peak memory so far, per object, when `n` is known).
fn timed<T>(what: &str, n: Option<usize>, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let result = f();
    let seconds = start.elapsed().as_secs_f64();
    match n {
        Some(n) => println!(
            "  {what:<46} {seconds:7.3} s   peak {:.0} bytes/object",
            peak_bytes() as f64 / n as f64
        ),
        None => println!("  {what:<46} {seconds:7.3} s"),
    }
    result
}

/// The process's peak resident set (VmHWM), in bytes.
fn peak_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}
