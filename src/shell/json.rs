//! `refgraph shell --json SNAP`: the machine protocol the Python package (`refgraph.session()`,
//! `refgraph.objgraph`) talks to. One JSON request per line in, one JSON reply per line out;
//! the first line out says hello (protocol name, version, the snapshot's size). Every answer
//! comes from the engine's own queries (subgraph, chain, types, orphans) on the snapshot kept
//! open; the Python side only maps ids back to live objects and runs its callables on them.
//! The shell ends at end of input, so a killed client leaves no process behind.

use crate::cli::ShellArgs;
use crate::commands::Outcome;
use crate::query::chain::{
    answer_chain, backref_chain, forward_chain, why_unrooted_ignoring, ChainAnswer, ChainMode,
    ChainQuery, ChainView,
};
use crate::query::object::ObjectInfo;
use crate::query::subgraph::{subgraph, SubgraphDirection, SubgraphOptions, SubgraphView};
use crate::render::image::{render_image_with_legend, ImageFormat, Renderer};
use crate::render::style;
use crate::session::Session;
use crate::snapshot::{EdgeLabel, NodeIx, ObjectId, Snapshot};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::io::{self, BufRead, Write};
use std::path::PathBuf;

/// The protocol's version: it changes when a request or a reply field changes meaning.
pub const PROTOCOL_VERSION: u32 = 1;

/// One request line.
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
enum Request {
    /// The snapshot's size (the same as the hello line).
    Hello,
    /// Every type with objects: `[index, module, qualname, count]`, counting gc-tracked
    /// objects only when `tracked_only` (types with none then have a count of 0).
    Types {
        #[serde(default)]
        tracked_only: bool,
    },
    /// The ids of the objects of these type indices, grouped by type: `[[index, [ids]]]`.
    Find {
        types: Vec<u32>,
        #[serde(default)]
        tracked_only: bool,
    },
    /// The neighbourhood of `ids` (objgraph's `show_refs` / `show_backrefs`).
    Subgraph {
        ids: Vec<u64>,
        direction: SubgraphDirection,
        max_depth: usize,
        too_many: usize,
        #[serde(default)]
        ignore: Vec<u64>,
        max_nodes: Option<usize>,
        /// objgraph's pictures: a start module is not expanded by backrefs either.
        #[serde(default)]
        objgraph_modules: bool,
    },
    /// Each object: `[id, type index, label, module root, refcount, tracked]` (`null` for
    /// an id the snapshot has not recorded).
    Info { ids: Vec<u64> },
    /// The referents (`refs`: one per reference, in order) or referrers (`backrefs`: each
    /// once) of each id, with the reference's label: `[[id, [[id, label]]]]`.
    Neighbours {
        ids: Vec<u64>,
        direction: SubgraphDirection,
    },
    /// The shortest chain from `id` to a module (`backrefs`: module first, `id` last) or
    /// forward to an object of one of `to_types`: the ids, or `[id]` when none is found.
    Chain {
        id: u64,
        direction: SubgraphDirection,
        #[serde(default)]
        to_types: Vec<u32>,
        max_depth: Option<usize>,
        #[serde(default)]
        ignore: Vec<u64>,
    },
    /// `refgraph chain`'s answer for `id` (the chain from a root, or why there is none),
    /// not passing through `ignore` (the asker's own frames).
    Why {
        id: u64,
        #[serde(default)]
        ignore: Vec<u64>,
    },
    /// gc-tracked objects no gc-tracked object refers to (objgraph's `get_leaking_objects`),
    /// not counting references from `ignore` (the caller's own list of them).
    Leaking {
        #[serde(default)]
        ignore: Vec<u64>,
    },
    /// Draw `view` (a subgraph as `subgraph` returned it, changed by the client) as SVG or
    /// PNG: into `path`, or the SVG text in the reply.
    Render {
        view: SubgraphView,
        format: String,
        legend: Option<String>,
        path: Option<PathBuf>,
        #[serde(default)]
        graphviz: bool,
    },
}

/// The first line out.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Hello {
    /// Always `refgraph-shell`.
    pub protocol: String,
    /// [`PROTOCOL_VERSION`].
    pub version: u32,
    /// Objects in the snapshot.
    pub objects: usize,
    /// References in the snapshot.
    pub edges: usize,
}

/// Answer requests from stdin until it ends.
pub fn run(args: &ShellArgs, session: &mut Session) -> anyhow::Result<Outcome> {
    let snap = session.snapshot(&args.snapshot)?;
    let stdin = io::stdin();
    let mut out = io::stdout().lock();
    let hello = hello(&snap);
    if write_line(&mut out, &serde_json::to_value(&hello)?).is_err() {
        return Ok(Outcome::Found);
    }
    for line in stdin.lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let reply = match serde_json::from_str::<Request>(&line) {
            Ok(request) => match answer(&snap, request) {
                Ok(data) => json!({"version": PROTOCOL_VERSION, "data": data}),
                Err(e) => json!({"version": PROTOCOL_VERSION, "error": format!("{e:#}")}),
            },
            Err(e) => json!({"version": PROTOCOL_VERSION, "error": format!("bad request: {e}")}),
        };
        if write_line(&mut out, &reply).is_err() {
            break;
        }
    }
    Ok(Outcome::Found)
}

fn hello(snap: &Snapshot) -> Hello {
    Hello {
        protocol: "refgraph-shell".into(),
        version: PROTOCOL_VERSION,
        objects: snap.node_count(),
        edges: snap.edge_count(),
    }
}

fn write_line(out: &mut impl Write, value: &Value) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// The reply's `data` for one request.
fn answer(snap: &Snapshot, request: Request) -> anyhow::Result<Value> {
    Ok(match request {
        Request::Hello => serde_json::to_value(hello(snap))?,
        Request::Types { tracked_only } => json!(type_counts(snap, tracked_only)),
        Request::Find {
            types,
            tracked_only,
        } => json!(find(snap, &types, tracked_only)),
        Request::Subgraph {
            ids,
            direction,
            max_depth,
            too_many,
            ignore,
            max_nodes,
            objgraph_modules,
        } => {
            let opts = SubgraphOptions {
                max_depth,
                too_many,
                max_nodes: max_nodes.unwrap_or(usize::MAX),
                filter: None,
                ignore: nodes(snap, &ignore),
                highlight: None,
                modules_stop_at_start: objgraph_modules,
            };
            let starts = known_nodes(snap, &ids)?;
            serde_json::to_value(subgraph(snap, &starts, direction, &opts).view())?
        }
        Request::Info { ids } => json!(ids.iter().map(|&i| info(snap, i)).collect::<Vec<_>>()),
        Request::Neighbours { ids, direction } => json!(neighbours(snap, &ids, direction)?),
        Request::Chain {
            id,
            direction,
            to_types,
            max_depth,
            ignore,
        } => json!(chain(snap, id, direction, to_types, max_depth, &ignore)?),
        Request::Why { id, ignore } => serde_json::to_value(why(snap, id, &ignore)?)?,
        Request::Leaking { ignore } => json!(crate::query::orphans::unreferenced_tracked(
            snap,
            &nodes(snap, &ignore)
        )
        .into_iter()
        .map(|n| snap.id(n).0)
        .collect::<Vec<_>>()),
        Request::Render {
            view,
            format,
            legend,
            path,
            graphviz,
        } => render(&view, &format, legend, path, graphviz)?,
    })
}

/// The chain from a root to `id` avoiding `ignore`; without one, why nothing rooted holds it.
fn why(snap: &Snapshot, id: u64, ignore: &[u64]) -> anyhow::Result<ChainAnswer> {
    let target = known_nodes(snap, &[id])?[0];
    let q = ChainQuery {
        max_depth: usize::MAX,
        ignore: nodes(snap, ignore),
        ..ChainQuery::default()
    };
    if q.ignore.is_empty() {
        return Ok(answer_chain(snap, target, &q, ChainMode::Shortest));
    }
    let chain = backref_chain(snap, target, &q);
    Ok(ChainAnswer {
        object: ObjectInfo::of(snap, target),
        unrooted: chain
            .is_none()
            .then(|| why_unrooted_ignoring(snap, target, &q.ignore)),
        chains: chain.iter().map(|c| ChainView::of(snap, c)).collect(),
        beyond_depth: false,
        forward: false,
        more_holders: 0,
        allocated_at: snap.allocated_at(target).cloned(),
    })
}

fn type_counts(snap: &Snapshot, tracked_only: bool) -> Vec<(u32, &str, &str, u64)> {
    let mut counts = vec![(0u64, 0u64); snap.types().len()];
    for n in snap.nodes() {
        let c = &mut counts[snap.type_index(n) as usize];
        c.0 += 1;
        c.1 += u64::from(snap.is_tracked(n));
    }
    snap.types()
        .iter()
        .zip(counts)
        .enumerate()
        .filter(|(_, (_, (all, _)))| *all > 0)
        .map(|(i, (t, (all, tracked)))| {
            let count = if tracked_only { tracked } else { all };
            (i as u32, &*t.module, &*t.qualname, count)
        })
        .collect()
}

fn find(snap: &Snapshot, types: &[u32], tracked_only: bool) -> Vec<(u32, Vec<u64>)> {
    let mut found: Vec<(u32, Vec<u64>)> = types.iter().map(|&t| (t, Vec::new())).collect();
    for n in snap.nodes() {
        if tracked_only && !snap.is_tracked(n) {
            continue;
        }
        let t = snap.type_index(n);
        if let Some((_, ids)) = found.iter_mut().find(|(i, _)| *i == t) {
            ids.push(snap.id(n).0);
        }
    }
    found
}

/// The snapshot's nodes for `ids`, skipping ids it has not recorded.
fn nodes(snap: &Snapshot, ids: &[u64]) -> Vec<NodeIx> {
    ids.iter()
        .filter_map(|&i| snap.node_by_id(ObjectId(i)))
        .collect()
}

/// The nodes for `ids`; an id the snapshot has not recorded is an error.
fn known_nodes(snap: &Snapshot, ids: &[u64]) -> anyhow::Result<Vec<NodeIx>> {
    ids.iter()
        .map(|&i| {
            snap.node_by_id(ObjectId(i))
                .ok_or_else(|| anyhow::anyhow!("no object {} in the snapshot", ObjectId(i)))
        })
        .collect()
}

fn info(snap: &Snapshot, id: u64) -> Value {
    let Some(n) = snap.node_by_id(ObjectId(id)) else {
        return Value::Null;
    };
    let module = matches!(
        snap.root(n).map(|r| &r.kind),
        Some(crate::snapshot::RootKind::Module { .. })
    );
    json!([
        id,
        snap.type_index(n),
        snap.label(n),
        module,
        snap.refcount(n),
        snap.is_tracked(n)
    ])
}

/// A reference's label as text, `None` when unknown.
fn label_text(label: EdgeLabel<'_>) -> Option<String> {
    match label {
        EdgeLabel::Unknown => None,
        other => Some(other.to_string()),
    }
}

type Labelled = Vec<(u64, Option<String>)>;

fn neighbours(
    snap: &Snapshot,
    ids: &[u64],
    direction: SubgraphDirection,
) -> anyhow::Result<Vec<(u64, Labelled)>> {
    let starts = known_nodes(snap, ids)?;
    Ok(starts
        .iter()
        .map(|&n| {
            let next: Labelled = match direction {
                SubgraphDirection::Refs => snap
                    .labelled_referents(n)
                    .map(|(m, l)| (snap.id(m).0, label_text(l)))
                    .collect(),
                SubgraphDirection::Backrefs => {
                    let mut holders = snap.referrers(n).to_vec();
                    holders.dedup();
                    holders
                        .into_iter()
                        .map(|r| (snap.id(r).0, label_text(snap.edge_label(r, n))))
                        .collect()
                }
            };
            (snap.id(n).0, next)
        })
        .collect())
}

fn chain(
    snap: &Snapshot,
    id: u64,
    direction: SubgraphDirection,
    to_types: Vec<u32>,
    max_depth: Option<usize>,
    ignore: &[u64],
) -> anyhow::Result<Vec<u64>> {
    let target = known_nodes(snap, &[id])?[0];
    let q = ChainQuery {
        to_types: (!to_types.is_empty()).then_some(to_types),
        ignore: nodes(snap, ignore),
        max_depth: max_depth.unwrap_or(usize::MAX),
        infrastructure: None,
    };
    let found = match direction {
        SubgraphDirection::Backrefs => backref_chain(snap, target, &q),
        SubgraphDirection::Refs => forward_chain(snap, target, &q),
    };
    let chain = found.unwrap_or_else(|| vec![target]);
    Ok(chain.into_iter().map(|n| snap.id(n).0).collect())
}

fn render(
    view: &SubgraphView,
    format: &str,
    legend: Option<String>,
    path: Option<PathBuf>,
    graphviz: bool,
) -> anyhow::Result<Value> {
    let legend = legend.unwrap_or_else(|| style::legend(view));
    let format = match format {
        "svg" => ImageFormat::Svg,
        "png" => ImageFormat::Png,
        "dot" => return dot_text(view, legend, path),
        other => {
            anyhow::bail!("render: format {other:?}: refgraph draws \"svg\", \"png\" and \"dot\"")
        }
    };
    let renderer = if graphviz {
        Renderer::Dot
    } else {
        Renderer::Builtin
    };
    let bytes = render_image_with_legend(view, &legend, format, renderer)?;
    Ok(match path {
        Some(path) => {
            crate::output::write_to(Some(&path), |w| w.write_all(&bytes))?;
            json!({"path": path, "bytes": bytes.len()})
        }
        None if format == ImageFormat::Svg => {
            json!({"svg": String::from_utf8_lossy(&bytes)})
        }
        None => anyhow::bail!("render: a PNG needs a path"),
    })
}

/// The view as refgraph's DOT (what `refs -o x.dot` writes): into `path`, or in the reply.
fn dot_text(view: &SubgraphView, legend: String, path: Option<PathBuf>) -> anyhow::Result<Value> {
    let opts = crate::render::dot::DotOptions {
        legend: Some(legend),
        ..Default::default()
    };
    let mut text = Vec::new();
    crate::render::dot::write_dot_with(&mut text, view, &opts)?;
    Ok(match path {
        Some(path) => {
            crate::output::write_to(Some(&path), |w| w.write_all(&text))?;
            json!({"path": path, "bytes": text.len()})
        }
        None => json!({"dot": String::from_utf8_lossy(&text)}),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_and_unknown_fields_are_refused() {
        let r: Request = serde_json::from_str(r#"{"op":"types","tracked_only":true}"#).unwrap();
        assert!(matches!(r, Request::Types { tracked_only: true }));
        let r: Request = serde_json::from_str(
            r#"{"op":"subgraph","ids":[16],"direction":"backrefs","max_depth":3,"too_many":10}"#,
        )
        .unwrap();
        assert!(matches!(r, Request::Subgraph { max_depth: 3, .. }));
        assert!(serde_json::from_str::<Request>(r#"{"op":"types","bogus":1}"#).is_err());
        assert!(serde_json::from_str::<Request>(r#"{"op":"frobnicate"}"#).is_err());
    }
}
