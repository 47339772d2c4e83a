//! "Who holds this object": shortest reference chains from a root (objgraph's
//! `find_backref_chain`, MAT's path to GC roots), and why an object has none.

use super::object::ObjectInfo;
use crate::snapshot::{NodeIx, RootKind, Snapshot};
use fixedbitset::FixedBitSet;
use petgraph::visit::IntoNeighborsDirected;
use petgraph::Direction;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};
use std::hash::Hash;

/// Breadth-first search from `start` along `dir` for the nearest node that `goal` ranks
/// (`Some(rank)`); of the goals at that distance the lowest rank wins, then the first found.
/// `blocked` nodes are never entered. Returns the path `start ..= goal`.
///
/// Generic over petgraph's traits, so the same code runs on a [`Snapshot`] and on the small
/// `petgraph::Graph`s the property tests check it against.
pub fn shortest_path<G>(
    g: G,
    start: G::NodeId,
    dir: Direction,
    goal: impl Fn(G::NodeId) -> Option<u32>,
    blocked: impl Fn(G::NodeId) -> bool,
    max_depth: usize,
) -> Option<Vec<G::NodeId>>
where
    G: IntoNeighborsDirected,
    G::NodeId: Hash + Eq,
{
    let mut parent: FxHashMap<G::NodeId, G::NodeId> = FxHashMap::default();
    let mut seen: FxHashSet<G::NodeId> = FxHashSet::default();
    seen.insert(start);
    let mut frontier = vec![start];
    for _ in 0..max_depth {
        let mut next = Vec::new();
        let mut best: Option<(u32, G::NodeId)> = None;
        for &u in &frontier {
            for v in g.neighbors_directed(u, dir) {
                if blocked(v) || !seen.insert(v) {
                    continue;
                }
                parent.insert(v, u);
                match goal(v) {
                    Some(rank) if best.is_none_or(|(b, _)| rank < b) => best = Some((rank, v)),
                    Some(_) => {}
                    None => next.push(v),
                }
            }
        }
        if let Some((_, found)) = best {
            return Some(walk_back(&parent, start, found));
        }
        if next.is_empty() {
            return None;
        }
        frontier = next;
    }
    None
}

fn walk_back<N: Copy + Eq + Hash>(parent: &FxHashMap<N, N>, start: N, end: N) -> Vec<N> {
    let mut path = vec![end];
    let mut at = end;
    while at != start {
        at = parent[&at];
        path.push(at);
    }
    path.reverse();
    path
}

/// What stops a chain search.
#[derive(Debug, Clone, Default)]
pub struct ChainQuery {
    /// Stop at objects of these types instead of at roots.
    pub to_types: Option<Vec<u32>>,
    /// Objects the search must not pass through (DevTools' "ignore this retainer").
    pub ignore: Vec<NodeIx>,
    /// Longest chain searched, in references.
    pub max_depth: usize,
    /// Objects a forward search does not pass through unless they are what it looks for:
    /// classes, modules and module dicts, as `cycles` leaves them out (`None`: no such rule).
    pub infrastructure: Option<FixedBitSet>,
}

impl ChainQuery {
    fn rank(&self, snap: &Snapshot, n: NodeIx) -> Option<u32> {
        match &self.to_types {
            Some(types) => types.contains(&snap.type_index(n)).then_some(0),
            None => root_rank(snap, n),
        }
    }
}

/// Modules are preferred to thread frames at equal distance: a frame that sees a global
/// through `f_globals` is a less useful answer than the module that owns it.
fn root_rank(snap: &Snapshot, n: NodeIx) -> Option<u32> {
    snap.root(n).map(|r| match r.kind {
        RootKind::Module { .. } => 0,
        RootKind::ThreadFrame { .. } => 1,
    })
}

/// The shortest chain that holds `target`, root (or `--to` holder) first, `target` last.
pub fn backref_chain(snap: &Snapshot, target: NodeIx, q: &ChainQuery) -> Option<Vec<NodeIx>> {
    if q.rank(snap, target).is_some() && q.to_types.is_none() {
        return Some(vec![target]);
    }
    let ignore: FxHashSet<NodeIx> = q.ignore.iter().copied().collect();
    let mut path = shortest_path(
        snap,
        target,
        Direction::Incoming,
        |n| q.rank(snap, n),
        |n| ignore.contains(&n),
        q.max_depth,
    )?;
    path.reverse();
    Some(path)
}

/// Up to `limit` chains, each through a different direct holder of `target`, shortest first:
/// a second holder is never hidden behind the first. Also how many more were found.
pub fn backref_chains(
    snap: &Snapshot,
    target: NodeIx,
    q: &ChainQuery,
    limit: usize,
) -> (Vec<Vec<NodeIx>>, u64) {
    if q.rank(snap, target).is_some() && q.to_types.is_none() {
        return (vec![vec![target]], 0);
    }
    let mut holders: Vec<NodeIx> = snap.referrers(target).to_vec();
    holders.dedup();
    let mut sub = q.clone();
    sub.ignore.push(target);
    sub.max_depth = q.max_depth.saturating_sub(1);
    let mut chains: Vec<Vec<NodeIx>> = holders
        .into_iter()
        .filter(|h| !q.ignore.contains(h))
        .filter_map(|h| {
            let mut c = backref_chain(snap, h, &sub)?;
            c.push(target);
            Some(c)
        })
        .collect();
    // Shortest first; of equally short chains, the one from the better root (a module
    // before a thread's frame that sees the same globals through `.f_globals`).
    chains.sort_by_key(|c| (c.len(), q.rank(snap, c[0]).unwrap_or(u32::MAX)));
    let more = chains.len().saturating_sub(limit) as u64;
    chains.truncate(limit);
    (chains, more)
}

/// The shortest chain of references from `start` to an object of one of `to_types`
/// (objgraph's `find_ref_chain`), `start` first.
///
/// With [`ChainQuery::infrastructure`], the search does not wander through `__class__` → class
/// → method → `__globals__` → module: it enters no class, module or module dict (but the
/// start's own `__dict__`) unless that is what it looks for.
pub fn forward_chain(snap: &Snapshot, start: NodeIx, q: &ChainQuery) -> Option<Vec<NodeIx>> {
    let types = q.to_types.as_deref().unwrap_or(&[]);
    let ignore: FxHashSet<NodeIx> = q.ignore.iter().copied().collect();
    let is_goal = |n: NodeIx| types.contains(&snap.type_index(n));
    let own_dict: Vec<NodeIx> = snap
        .labelled_referents(start)
        .filter(|(_, l)| l.to_string() == ".__dict__")
        .map(|(n, _)| n)
        .collect();
    let infrastructure = |n: NodeIx| {
        q.infrastructure
            .as_ref()
            .is_some_and(|set| set.contains(n as usize))
            && !is_goal(n)
            && !own_dict.contains(&n)
    };
    shortest_path(
        snap,
        start,
        Direction::Outgoing,
        |n| is_goal(n).then_some(0),
        |n| ignore.contains(&n) || infrastructure(n),
        q.max_depth,
    )
}

/// Why nothing rooted holds an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case", deny_unknown_fields)]
pub enum Unrooted {
    /// The object is part of a reference cycle nothing rooted reaches.
    Cycle {
        /// True when the collector flagged it as garbage.
        collector_flagged: bool,
        /// The members of the cycle (its strongly connected component).
        members: Vec<ObjectInfo>,
    },
    /// Held by objects that are themselves unrooted (e.g. an object inside a garbage cycle).
    HeldByUnrooted {
        /// Objects that hold it and are part of a cycle nothing rooted reaches.
        cycle_members: Vec<ObjectInfo>,
        /// True when the collector flagged it as garbage.
        collector_flagged: bool,
    },
    /// More references than the snapshot recorded: held from C code or interpreter internals.
    HeldFromOutside {
        /// Its reference count.
        refcount: u32,
        /// References found in the snapshot.
        recorded_referrers: usize,
    },
    /// Nothing refers to it and its refcount shows no outside holder.
    Orphan,
}

/// How many cycle members an explanation lists.
const MAX_MEMBERS: usize = 20;

/// Explain why `target` has no chain from a root.
pub fn why_unrooted(snap: &Snapshot, target: NodeIx) -> Unrooted {
    why_unrooted_ignoring(snap, target, &[])
}

/// [`why_unrooted`], as if the objects of `ignore` (the asker's own frames) held nothing.
pub fn why_unrooted_ignoring(snap: &Snapshot, target: NodeIx, ignore: &[NodeIx]) -> Unrooted {
    let holders = backward_closure(snap, target, ignore);
    let cycle = cycle_through(snap, target, &holders);
    let flagged = snap.is_garbage(target);
    if !cycle.is_empty() {
        return Unrooted::Cycle {
            collector_flagged: flagged,
            members: infos(snap, &cycle),
        };
    }
    if holders.count_ones(..) > 1 {
        let members = nodes_in_cycles(snap, &holders);
        return Unrooted::HeldByUnrooted {
            cycle_members: infos(snap, &members),
            collector_flagged: flagged,
        };
    }
    let recorded = snap.referrers(target).len();
    if snap.refcount(target) as usize > recorded {
        return Unrooted::HeldFromOutside {
            refcount: snap.refcount(target),
            recorded_referrers: recorded,
        };
    }
    Unrooted::Orphan
}

fn infos(snap: &Snapshot, nodes: &[NodeIx]) -> Vec<ObjectInfo> {
    nodes
        .iter()
        .take(MAX_MEMBERS)
        .map(|&n| ObjectInfo::of(snap, n))
        .collect()
}

/// Everything that reaches `target` (target included) other than through `ignore`.
fn backward_closure(snap: &Snapshot, target: NodeIx, ignore: &[NodeIx]) -> FixedBitSet {
    let mut seen = FixedBitSet::with_capacity(snap.node_count());
    for &n in ignore {
        seen.insert(n as usize);
    }
    seen.insert(target as usize);
    let mut stack = vec![target];
    while let Some(n) = stack.pop() {
        for &m in snap.referrers(n) {
            if !seen.put(m as usize) {
                stack.push(m);
            }
        }
    }
    for &n in ignore {
        if n != target {
            seen.set(n as usize, false);
        }
    }
    seen
}

/// The strongly connected component of `target` (empty when it is on no cycle): the nodes
/// that both reach it (`holders`) and are reached from it.
fn cycle_through(snap: &Snapshot, target: NodeIx, holders: &FixedBitSet) -> Vec<NodeIx> {
    let mut seen = FixedBitSet::with_capacity(snap.node_count());
    let mut stack = vec![target];
    let mut members = Vec::new();
    let mut self_loop = false;
    seen.insert(target as usize);
    while let Some(n) = stack.pop() {
        members.push(n);
        for &m in snap.referents(n) {
            self_loop |= m == target;
            if holders.contains(m as usize) && !seen.put(m as usize) {
                stack.push(m);
            }
        }
    }
    if members.len() > 1 || self_loop {
        members
    } else {
        Vec::new()
    }
}

/// Nodes of `set` that lie on a cycle inside `set` (a referent in `set` reaches back).
fn nodes_in_cycles(snap: &Snapshot, set: &FixedBitSet) -> Vec<NodeIx> {
    // Bounded: each test is a traversal, and the answer only needs a few examples.
    set.ones()
        .take(1000)
        .map(|n| n as NodeIx)
        .filter(|&n| !cycle_through(snap, n, set).is_empty())
        .take(MAX_MEMBERS)
        .collect()
}

/// One object of a chain and the reference it follows to the next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainStep {
    /// The object.
    pub object: ObjectInfo,
    /// The label of the reference to the next object (`None` on the last step or when the
    /// dumper could not name it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edge: Option<String>,
}

/// A chain as answers present it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainView {
    /// Root (or holder) first, the object last.
    pub steps: Vec<ChainStep>,
    /// Readable form: `module app → .__dict__['cache'] → dict['k'] → Session`.
    pub text: String,
    /// Compact path expression: `app.cache['k']`.
    pub path: String,
}

impl ChainView {
    /// The view of `chain` (node indices, holder first).
    pub fn of(snap: &Snapshot, chain: &[NodeIx]) -> Self {
        let steps = chain
            .iter()
            .enumerate()
            .map(|(i, &n)| ChainStep {
                object: ObjectInfo::of(snap, n),
                edge: chain.get(i + 1).and_then(|&m| edge_text(snap, n, m)),
            })
            .collect();
        ChainView {
            steps,
            text: arrow_text(snap, chain),
            path: path_expression(snap, chain),
        }
    }
}

fn edge_text(snap: &Snapshot, src: NodeIx, dst: NodeIx) -> Option<String> {
    let label = snap.edge_label(src, dst).to_string();
    (!label.is_empty()).then_some(label)
}

/// Labels that read as a suffix (`.x`, `[3]`) attach to the object; words (`local 'x'`,
/// `key 'k'`) stand alone.
fn attaches(label: &str) -> bool {
    label.starts_with('.') || label.starts_with('[')
}

fn is_dict_edge(snap: &Snapshot, src: NodeIx, dst: NodeIx) -> bool {
    edge_text(snap, src, dst).as_deref() == Some(".__dict__")
}

/// `module appcache → .__dict__['_sessions'] → dict['user:42'] → Session`.
fn arrow_text(snap: &Snapshot, chain: &[NodeIx]) -> String {
    let mut pieces: Vec<String> = Vec::new();
    for (i, &n) in chain.iter().enumerate() {
        let next = chain.get(i + 1).copied();
        let via_dict = i > 0 && is_dict_edge(snap, chain[i - 1], n);
        let mut piece = if via_dict {
            ".__dict__".to_string()
        } else if i == 0 {
            root_pieces(snap, n, &mut pieces)
        } else {
            snap.type_name(n).short().to_string()
        };
        if let Some(m) = next {
            match edge_text(snap, n, m) {
                Some(l) if l == ".__dict__" && is_dict_edge(snap, n, m) => {}
                Some(l) if attaches(&l) => piece.push_str(&l),
                Some(l) => {
                    pieces.push(piece);
                    piece = l;
                }
                None => piece.push_str(" ?"),
            }
        }
        pieces.push(piece);
    }
    collapse_runs(&pieces).join(" → ")
}

/// Runs shorter than this are printed as they are.
const MIN_RUN: usize = 4;

/// `Node.next` 199,999 times in a row reads as `Node.next ×199,999`: a linked list must not
/// print a 2 MB line.
fn collapse_runs(pieces: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < pieces.len() {
        let run = pieces[i..].iter().take_while(|p| **p == pieces[i]).count();
        if run >= MIN_RUN {
            out.push(format!(
                "{} ×{}",
                pieces[i],
                crate::render::text::thousands(run as u64)
            ));
        } else {
            out.extend(pieces[i..i + run].iter().cloned());
        }
        i += run;
    }
    out
}

/// The first piece(s) of a chain: `module app`, or `thread 't'` then `frame f() app.py:3`.
fn root_pieces(snap: &Snapshot, n: NodeIx, pieces: &mut Vec<String>) -> String {
    let frame = || format!("frame {}", snap.label(n).unwrap_or("?"));
    match snap.root(n).map(|r| &r.kind) {
        Some(RootKind::Module { name }) => format!("module {name}"),
        Some(RootKind::ThreadFrame { thread, .. }) => {
            pieces.push(format!("thread '{thread}'"));
            frame()
        }
        None => format!("{} {}", snap.type_name(n).short(), snap.id(n)),
    }
}

/// `appcache._sessions['user:42']`: the chain as a Python-like expression.
fn path_expression(snap: &Snapshot, chain: &[NodeIx]) -> String {
    let Some(&first) = chain.first() else {
        return String::new();
    };
    let head = match snap.root(first).map(|r| &r.kind) {
        Some(RootKind::Module { name }) => name.clone(),
        Some(RootKind::ThreadFrame { thread, .. }) => {
            format!("thread '{thread}' {}", frame_name(snap.label(first)))
        }
        None => format!("{}@{}", snap.type_name(first).short(), snap.id(first)),
    };
    let mut steps: Vec<String> = Vec::new();
    let mut i = 0;
    while i + 1 < chain.len() {
        let (src, dst) = (chain[i], chain[i + 1]);
        let label = edge_text(snap, src, dst).unwrap_or_else(|| "?".into());
        let key = chain.get(i + 2).and_then(|&m| edge_text(snap, dst, m));
        match (label.as_str(), key.as_deref().and_then(identifier_key)) {
            (".__dict__", Some(name)) => {
                steps.push(format!(".{name}"));
                i += 2;
                continue;
            }
            (l, _) if attaches(l) => steps.push(l.to_string()),
            (l, _) => steps.push(format!(" {l}")),
        }
        i += 1;
    }
    let steps = collapse_runs(&steps);
    let mut out = head;
    for step in steps {
        if step.contains(" ×") {
            out.push_str(&format!("({step})"));
        } else {
            out.push_str(&step);
        }
    }
    out
}

/// `worker()` from a frame label `worker() app.py:30`.
fn frame_name(label: Option<&str>) -> &str {
    label.and_then(|l| l.split(' ').next()).unwrap_or("?")
}

/// `name` from a dict-value label `['name']` when `name` is an identifier.
fn identifier_key(label: &str) -> Option<&str> {
    let key = label.strip_prefix("['")?.strip_suffix("']")?;
    let mut chars = key.chars();
    let first = chars.next()?;
    ((first.is_alphabetic() || first == '_') && chars.all(|c| c.is_alphanumeric() || c == '_'))
        .then_some(key)
}

/// The `chain` answer for one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainAnswer {
    /// The object asked about.
    pub object: ObjectInfo,
    /// Its chains, shortest first (empty when none was found).
    pub chains: Vec<ChainView>,
    /// Why no root holds it (backward searches without `--to` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unrooted: Option<Unrooted>,
    /// A root does hold it, through a chain longer than the depth searched.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub beyond_depth: bool,
    /// The search went forward (`--forward --to TYPE`), from the object.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forward: bool,
    /// With `--all`: chains through further direct holders that the limit left out.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub more_holders: u64,
    /// The line that allocated the object (the most recent frame of its tracemalloc
    /// traceback), when the dump recorded sites (format 1.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocated_at: Option<crate::snapshot::Frame>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// How `chain` searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainMode {
    /// The shortest chain from a root (or `--to` holder).
    Shortest,
    /// Up to N chains through different direct holders.
    Distinct(usize),
    /// The shortest chain forward to an object of a `--to` type.
    Forward,
}

/// Answer `chain` for `target`.
pub fn answer_chain(
    snap: &Snapshot,
    target: NodeIx,
    q: &ChainQuery,
    mode: ChainMode,
) -> ChainAnswer {
    let (chains, more_holders): (Vec<Vec<NodeIx>>, u64) = match mode {
        ChainMode::Shortest => (backref_chain(snap, target, q).into_iter().collect(), 0),
        ChainMode::Distinct(limit) => backref_chains(snap, target, q, limit),
        ChainMode::Forward => (forward_chain(snap, target, q).into_iter().collect(), 0),
    };
    let backward = chains.is_empty() && mode != ChainMode::Forward && q.to_types.is_none();
    let rooted = backward && super::reach::reachable_from_roots(snap).contains(target as usize);
    let explain = backward && !rooted && q.ignore.is_empty();
    ChainAnswer {
        object: ObjectInfo::of(snap, target),
        chains: chains.iter().map(|c| ChainView::of(snap, c)).collect(),
        unrooted: explain.then(|| why_unrooted(snap, target)),
        beyond_depth: rooted && q.ignore.is_empty(),
        forward: mode == ChainMode::Forward,
        more_holders,
        allocated_at: snap.allocated_at(target).cloned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use petgraph::graph::{DiGraph, NodeIndex};
    use proptest::prelude::*;

    /// Distances from `start` along `dir`, never entering `blocked`, by plain BFS.
    fn distances(
        g: &DiGraph<(), ()>,
        start: usize,
        dir: Direction,
        blocked: &[bool],
    ) -> Vec<Option<usize>> {
        let mut dist = vec![None; g.node_count()];
        dist[start] = Some(0);
        let mut queue = std::collections::VecDeque::from([start]);
        while let Some(u) = queue.pop_front() {
            for v in g.neighbors_directed(NodeIndex::new(u), dir) {
                let v = v.index();
                if dist[v].is_none() && !blocked[v] {
                    dist[v] = Some(dist[u].unwrap_or(0) + 1);
                    queue.push_back(v);
                }
            }
        }
        dist
    }

    /// `__main__`'s globals (id 3) hold SEEN (10) and a frame's locals dict (4) holds it
    /// too; the module (1) owns the globals, the main thread's frame (2) sees them through
    /// `.f_globals` and owns the locals dict. Every chain is three objects long.
    fn main_globals_snapshot() -> Snapshot {
        let lines = [
            r#"{"kind":"header","format":"refgraph-snapshot","version":[1,0]}"#,
            r#"{"kind":"types","base":0,"names":[["builtins","module"],["builtins","frame"],["builtins","dict"],["builtins","set"]]}"#,
            r#"{"kind":"root","root":"module","name":"__main__","id":1}"#,
            r#"{"kind":"thread","name":"MainThread","ident":7,"daemon":false,"main":true,"frames":[2]}"#,
            r#"{"kind":"objects","id":[2,4,1,3,10],"type":[1,2,0,2,3],"size":[1,1,1,1,1],"refcount":[1,1,1,2,2],"flags":[2,2,2,2,2],"label":[null,null,null,null,null],"nrefs":[2,2,1,2,0],"refs":[3,4,10,10,3,10,10],"edge_labels":[".f_globals",".f_locals","key 'x'","['x']",".__dict__","key 'SEEN'","['SEEN']"]}"#,
        ];
        crate::snapshot::parse_snapshot(std::path::Path::new("t"), lines.join("\n").as_bytes())
            .expect("valid snapshot")
    }

    #[test]
    fn a_module_is_preferred_to_a_frame_on_a_tie() {
        let snap = main_globals_snapshot();
        let seen = snap
            .node_by_id(crate::snapshot::ObjectId(10))
            .expect("SEEN");
        let q = ChainQuery {
            max_depth: usize::MAX,
            ..Default::default()
        };
        let (chains, _) = backref_chains(&snap, seen, &q, 5);
        assert_eq!(chains.len(), 2);
        let first: Vec<u64> = chains[0].iter().map(|&n| snap.id(n).0).collect();
        assert_eq!(
            first,
            [1, 3, 10],
            "module __main__ → .__dict__['SEEN'] first"
        );
        let held: Vec<u64> = backref_chain(
            &snap,
            snap.node_by_id(crate::snapshot::ObjectId(3))
                .expect("globals"),
            &q,
        )
        .expect("rooted")
        .iter()
        .map(|&n| snap.id(n).0)
        .collect();
        assert_eq!(held, [1, 3]);
    }

    /// Node count, edges, which nodes are goals, which are blocked, backward or forward.
    type Case = (usize, Vec<(usize, usize)>, Vec<bool>, Vec<bool>, bool);

    fn graph_and_query() -> impl Strategy<Value = Case> {
        (1usize..12).prop_flat_map(|n| {
            (
                Just(n),
                proptest::collection::vec((0..n, 0..n), 0..40),
                proptest::collection::vec(proptest::bool::weighted(0.2), n),
                proptest::collection::vec(proptest::bool::weighted(0.15), n),
                any::<bool>(),
            )
        })
    }

    proptest! {
        #[test]
        fn shortest_path_is_a_real_shortest_path_to_a_goal(
            (n, edges, goals, blocked, backward) in graph_and_query()
        ) {
            let mut g = DiGraph::<(), ()>::new();
            for _ in 0..n { g.add_node(()); }
            for &(a, b) in &edges { g.add_edge(NodeIndex::new(a), NodeIndex::new(b), ()); }
            let dir = if backward { Direction::Incoming } else { Direction::Outgoing };
            let start = 0;
            let mut blocked = blocked;
            blocked[start] = false;
            let found = shortest_path(
                &g,
                NodeIndex::new(start),
                dir,
                |v| goals[v.index()].then_some(0),
                |v| blocked[v.index()],
                usize::MAX,
            );
            let dist = distances(&g, start, dir, &blocked);
            let best = (0..n).filter(|&v| v != start && goals[v]).filter_map(|v| dist[v]).min();
            match (found, best) {
                (None, None) => {}
                (Some(path), Some(best)) => {
                    prop_assert_eq!(path.len() - 1, best, "shortest");
                    prop_assert_eq!(path[0].index(), start);
                    prop_assert!(goals[path[path.len() - 1].index()], "ends at a goal");
                    for w in path.windows(2) {
                        prop_assert!(g.neighbors_directed(w[0], dir).any(|x| x == w[1]), "a real edge");
                        prop_assert!(!blocked[w[1].index()], "never enters a blocked node");
                    }
                }
                (found, best) => prop_assert!(false, "found {:?}, brute force {:?}", found, best),
            }
        }
    }
}
