//! Times the builtin renderer's layout against the number of objects, for both engines:
//! dagre (used up to `svg::DAGRE_MAX_BOXES` boxes) and the layered fallback (above).
//!
//!     cargo build --profile bench --bench layout && target/release/deps/layout-* [--dagre-max N]
//!
//! Pictures: a chain (each object refers to the next, `.next`), a star (one list of N
//! items, `[i]`) and a tree (each object refers to three, `.a`/`.b`/`.c`), all labelled.
//! dagre is timed only up to `--dagre-max` objects (default 1,000): beyond, it takes minutes.

use refgraph::query::subgraph::{
    SubgraphDirection, SubgraphEdgeView, SubgraphNodeView, SubgraphView,
};
use refgraph::render::svg::{layout_with, Engine};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dagre_max = args
        .iter()
        .position(|a| a == "--dagre-max")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000usize);
    println!("| picture | objects | edges | dagre | layered |");
    println!("|---|---|---|---|---|");
    for shape in ["chain", "star", "tree"] {
        for n in [100, 300, 400, 1000, 3000, 10_000, 30_000] {
            let view = picture(shape, n);
            let dagre = if n <= dagre_max {
                format!("{:.2} s", time(&view, Engine::Dagre))
            } else {
                "—".to_string()
            };
            let layered = time(&view, Engine::Layered);
            println!(
                "| {shape} | {n} | {} | {dagre} | {layered:.3} s |",
                view.edges.len()
            );
        }
    }
}

/// Seconds to lay `view` out with `engine` (dagre on a 1 GB stack: a 30,000-box chain
/// overflows less).
fn time(view: &SubgraphView, engine: Engine) -> f64 {
    let view = view.clone();
    std::thread::Builder::new()
        .stack_size(1 << 30)
        .spawn(move || {
            let start = Instant::now();
            let l = layout_with(&view, "legend", Some(engine));
            assert_eq!(l.boxes().count(), view.nodes.len());
            start.elapsed().as_secs_f64()
        })
        .expect("thread starts")
        .join()
        .unwrap_or(f64::NAN)
}

fn picture(shape: &str, n: usize) -> SubgraphView {
    let mut depth = vec![0usize; n];
    let mut edges = Vec::new();
    for i in 1..n {
        let (parent, label) = match shape {
            "chain" => (i - 1, ".next".to_string()),
            "star" => (0, format!("[{}]", i - 1)),
            _ => ((i - 1) / 3, [".a", ".b", ".c"][(i - 1) % 3].to_string()),
        };
        depth[i] = depth[parent] + 1;
        edges.push(SubgraphEdgeView {
            from: id(parent),
            to: id(i),
            label: Some(label),
            refs: 1,
        });
    }
    SubgraphView {
        direction: SubgraphDirection::Refs,
        max_depth: depth.iter().copied().max().unwrap_or(0).max(1),
        too_many: n,
        max_nodes: n,
        cap_reached: false,
        not_expanded_by_cap: 0,
        nodes: (0..n)
            .map(|i| SubgraphNodeView {
                id: id(i),
                type_name: "Node".into(),
                type_long: "app.Node".into(),
                label: Some(format!("node {i}")),
                size: 56,
                depth: depth[i],
                start: i == 0,
                highlight: false,
                module: false,
                truncated: false,
            })
            .collect(),
        more: Vec::new(),
        edges,
    }
}

fn id(i: usize) -> String {
    format!("{:#x}", 0x1000 + i)
}
