//! Strongly connected components without recursion: Pearce's space-efficient variant of
//! Tarjan's algorithm, run with an explicit stack so that a 10M-node heap (or a
//! 1,000,000-long linked list) never overflows the call stack, as petgraph's recursive
//! `tarjan_scc` did.
//!
//! Everything is `u32` arrays: one `rindex` word per node (which becomes the component number)
//! plus one root bit, and a DFS stack of `(node, next edge, end)` frames.

use crate::snapshot::{EdgeLabel, NodeIx, Snapshot};
use fixedbitset::FixedBitSet;
use petgraph::visit::{IntoNeighbors, NodeIndexable};

/// The strongly connected components of a graph: a component number per node and the members
/// of each component, stored compactly (no allocation per component).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sccs {
    /// Component of each node. Components are numbered in the order they complete, which is a
    /// reverse topological order: whatever a component points to has a smaller number.
    comp_of: Vec<u32>,
    /// Members of component `c` are `members[offsets[c]..offsets[c + 1]]`, ascending.
    offsets: Vec<u32>,
    members: Vec<NodeIx>,
}

impl Sccs {
    /// Number of components (singletons included).
    pub fn count(&self) -> usize {
        self.offsets.len() - 1
    }

    /// The component of node `n`.
    pub fn component_of(&self, n: NodeIx) -> u32 {
        self.comp_of[n as usize]
    }

    /// The members of component `c`, ascending.
    pub fn members(&self, c: u32) -> &[NodeIx] {
        let c = c as usize;
        &self.members[self.offsets[c] as usize..self.offsets[c + 1] as usize]
    }

    /// The number of members of component `c`.
    pub fn len(&self, c: u32) -> usize {
        let c = c as usize;
        (self.offsets[c + 1] - self.offsets[c]) as usize
    }

    /// True when the graph had no nodes.
    pub fn is_empty(&self) -> bool {
        self.comp_of.is_empty()
    }

    /// The components with at least `min` members, as component numbers.
    pub fn with_at_least(&self, min: usize) -> impl Iterator<Item = u32> + '_ {
        (0..self.count() as u32).filter(move |&c| self.len(c) >= min)
    }

    /// Groups nodes by component (a counting sort of `comp_of`).
    fn from_comp_of(comp_of: Vec<u32>, count: usize) -> Sccs {
        let mut offsets = vec![0u32; count + 1];
        for &c in &comp_of {
            offsets[c as usize + 1] += 1;
        }
        for i in 1..offsets.len() {
            offsets[i] += offsets[i - 1];
        }
        let mut fill = offsets.clone();
        let mut members = vec![0; comp_of.len()];
        for (n, &c) in comp_of.iter().enumerate() {
            let slot = &mut fill[c as usize];
            members[*slot as usize] = n as NodeIx;
            *slot += 1;
        }
        Sccs {
            comp_of,
            offsets,
            members,
        }
    }
}

/// The core: SCCs of a graph of `node_count` nodes whose node `v` has edge slots
/// `edges(v) = (start, end)` and where slot `e` leads to `target(e)`, or nowhere when the
/// edge is filtered out (`None`).
///
/// Pearce, "A space-efficient algorithm for finding strongly connected components" (2016),
/// `PEA_FIND_SCC2`, with the recursion turned into an explicit stack.
pub fn sccs_by_slots(
    node_count: usize,
    edges: impl Fn(NodeIx) -> (u32, u32),
    target: impl Fn(u32) -> Option<NodeIx>,
) -> Sccs {
    assert!(node_count < u32::MAX as usize, "more than 2^32 - 1 nodes");
    let mut st = Pearce::new(node_count);
    for s in 0..node_count as NodeIx {
        if st.rindex[s as usize] == UNVISITED {
            st.search_from(s, &edges, &target);
        }
    }
    st.finish()
}

const UNVISITED: u32 = 0;

/// One DFS frame: the node, its next edge slot, its end slot.
type Frame = (NodeIx, u32, u32);

/// The state of Pearce's algorithm.
///
/// `rindex[v]` is 0 (unvisited), a DFS index `< next_comp` while `v` is on the search path or
/// the component stack, or a component number `>= next_comp` once `v` is assigned. Indices
/// are reused (`index` goes down as components complete), so the two ranges never meet and
/// one comparison `rindex[w] < rindex[v]` ignores completed nodes without an on-stack flag.
struct Pearce {
    rindex: Vec<u32>,
    /// `v` has not (yet) found a back edge to an earlier node: it roots a component.
    root: FixedBitSet,
    /// Visited nodes waiting for their component's root to complete.
    waiting: Vec<NodeIx>,
    calls: Vec<Frame>,
    index: u32,
    /// The next component number, counting down from `node_count - 1`.
    next_comp: u32,
}

impl Pearce {
    fn new(n: usize) -> Self {
        Pearce {
            rindex: vec![UNVISITED; n],
            root: FixedBitSet::with_capacity(n),
            waiting: Vec::new(),
            calls: Vec::new(),
            index: 1,
            next_comp: (n as u32).wrapping_sub(1),
        }
    }

    fn enter(&mut self, v: NodeIx, edges: &impl Fn(NodeIx) -> (u32, u32)) {
        self.rindex[v as usize] = self.index;
        self.index += 1;
        self.root.insert(v as usize);
        let (start, end) = edges(v);
        self.calls.push((v, start, end));
    }

    fn search_from(
        &mut self,
        s: NodeIx,
        edges: &impl Fn(NodeIx) -> (u32, u32),
        target: &impl Fn(u32) -> Option<NodeIx>,
    ) {
        self.enter(s, edges);
        while let Some(&(v, slot, end)) = self.calls.last() {
            match self.next_unvisited(v, slot, end, target) {
                Some(w) => self.enter(w, edges),
                None => {
                    self.calls.pop();
                    self.complete(v);
                    if let Some(&(u, _, _)) = self.calls.last() {
                        self.lower(u, v);
                    }
                }
            }
        }
    }

    /// Scans `v`'s edges from `slot`, lowering `v` by every visited target, and stops at the
    /// first unvisited one (remembering where to resume).
    fn next_unvisited(
        &mut self,
        v: NodeIx,
        mut slot: u32,
        end: u32,
        target: &impl Fn(u32) -> Option<NodeIx>,
    ) -> Option<NodeIx> {
        while slot < end {
            let w = target(slot);
            slot += 1;
            let Some(w) = w else { continue };
            if self.rindex[w as usize] == UNVISITED {
                if let Some(top) = self.calls.last_mut() {
                    top.1 = slot;
                }
                return Some(w);
            }
            self.lower(v, w);
        }
        None
    }

    fn lower(&mut self, v: NodeIx, w: NodeIx) {
        let (rv, rw) = (self.rindex[v as usize], self.rindex[w as usize]);
        if rw < rv {
            self.rindex[v as usize] = rw;
            self.root.set(v as usize, false);
        }
    }

    /// All of `v`'s edges are done: either it roots a component (pop its members) or it
    /// waits for the root below it.
    fn complete(&mut self, v: NodeIx) {
        if !self.root.contains(v as usize) {
            self.waiting.push(v);
            return;
        }
        let rv = self.rindex[v as usize];
        self.index -= 1;
        while let Some(&w) = self.waiting.last() {
            if self.rindex[w as usize] < rv {
                break;
            }
            self.waiting.pop();
            self.rindex[w as usize] = self.next_comp;
            self.index -= 1;
        }
        self.rindex[v as usize] = self.next_comp;
        self.next_comp = self.next_comp.wrapping_sub(1);
    }

    /// Renumbers components `0..count` in completion order.
    fn finish(self) -> Sccs {
        let n = self.rindex.len() as u32;
        let count = n.wrapping_sub(1).wrapping_sub(self.next_comp) as usize;
        let mut comp_of = self.rindex;
        for c in &mut comp_of {
            *c = n - 1 - *c;
        }
        Sccs::from_comp_of(comp_of, count)
    }
}

/// SCCs of any petgraph graph, keeping only the edges `keep(src, dst)` accepts.
///
/// Copies the kept edges into a compact edge list first; for a [`Snapshot`] use
/// [`snapshot_sccs`], which works in place.
pub fn sccs<G>(g: G, keep: impl Fn(G::NodeId, G::NodeId) -> bool) -> Sccs
where
    G: IntoNeighbors + NodeIndexable,
{
    let n = g.node_bound();
    let mut offsets = Vec::with_capacity(n + 1);
    let mut targets: Vec<NodeIx> = Vec::new();
    offsets.push(0u32);
    for i in 0..n {
        let v = g.from_index(i);
        targets.extend(
            g.neighbors(v)
                .filter(|&w| keep(v, w))
                .map(|w| g.to_index(w) as NodeIx),
        );
        offsets.push(targets.len() as u32);
    }
    sccs_by_slots(
        n,
        |v| (offsets[v as usize], offsets[v as usize + 1]),
        |e| Some(targets[e as usize]),
    )
}

/// One bit per reference of `snap`, in the order of [`Snapshot::labelled_referents`] over
/// all nodes: set when `keep(src, label, dst)` accepts the reference.
pub fn edge_mask(
    snap: &Snapshot,
    keep: impl Fn(NodeIx, EdgeLabel<'_>, NodeIx) -> bool,
) -> FixedBitSet {
    let mut mask = FixedBitSet::with_capacity(snap.edge_count());
    let mut e = 0;
    for src in snap.nodes() {
        for (dst, label) in snap.labelled_referents(src) {
            mask.set(e, keep(src, label, dst));
            e += 1;
        }
    }
    mask
}

/// SCCs of a snapshot's reference graph, along the references `mask` keeps (all of them when
/// `None`). Build the mask with [`edge_mask`].
pub fn snapshot_sccs(snap: &Snapshot, mask: Option<&FixedBitSet>) -> Sccs {
    let fwd = &snap.fwd;
    let edges = |v: NodeIx| {
        let (s, e) = fwd.range(v);
        (s as u32, e as u32)
    };
    match mask {
        Some(m) => sccs_by_slots(snap.node_count(), edges, |e| {
            m.contains(e as usize).then(|| fwd.targets[e as usize])
        }),
        None => sccs_by_slots(snap.node_count(), edges, |e| Some(fwd.targets[e as usize])),
    }
}

/// The position of `src`'s `k`-th reference in an [`edge_mask`].
pub fn edge_slot(snap: &Snapshot, src: NodeIx, k: usize) -> usize {
    snap.fwd.range(src).0 + k
}

#[cfg(test)]
mod tests {
    use super::*;
    use petgraph::graph::{DiGraph, NodeIndex};
    use proptest::prelude::*;
    use std::path::Path;

    fn graph(n: usize, edges: &[(u32, u32)]) -> DiGraph<(), ()> {
        let mut g = DiGraph::new();
        for _ in 0..n {
            g.add_node(());
        }
        for &(a, b) in edges {
            g.add_edge(NodeIndex::new(a as usize), NodeIndex::new(b as usize), ());
        }
        g
    }

    /// The partition as sorted member lists, sorted: comparable across algorithms.
    fn partition(s: &Sccs) -> Vec<Vec<u32>> {
        let mut p: Vec<Vec<u32>> = (0..s.count() as u32)
            .map(|c| s.members(c).to_vec())
            .collect();
        p.sort();
        p
    }

    /// Brute force: u and v share a component iff each reaches the other (Floyd–Warshall).
    fn brute_force(n: usize, edges: &[(u32, u32)]) -> Vec<Vec<u32>> {
        let mut reach = vec![vec![false; n]; n];
        for (i, row) in reach.iter_mut().enumerate() {
            row[i] = true;
        }
        for &(a, b) in edges {
            reach[a as usize][b as usize] = true;
        }
        for k in 0..n {
            for i in 0..n {
                for j in 0..n {
                    reach[i][j] |= reach[i][k] && reach[k][j];
                }
            }
        }
        let mut p: Vec<Vec<u32>> = Vec::new();
        for (u, row) in reach.iter().enumerate() {
            if p.iter().any(|c| c.contains(&(u as u32))) {
                continue;
            }
            p.push(
                (0..n)
                    .filter(|&v| row[v] && reach[v][u])
                    .map(|v| v as u32)
                    .collect(),
            );
        }
        p.sort();
        p
    }

    fn kosaraju(n: usize, edges: &[(u32, u32)]) -> Vec<Vec<u32>> {
        let g = graph(n, edges);
        let mut p: Vec<Vec<u32>> = petgraph::algo::kosaraju_scc(&g)
            .into_iter()
            .map(|c| {
                let mut c: Vec<u32> = c.into_iter().map(|x| x.index() as u32).collect();
                c.sort();
                c
            })
            .collect();
        p.sort();
        p
    }

    /// A snapshot of nodes `0..n` (ids `1..=n`) whose edges are labelled `.keep` or `.drop`.
    fn snapshot_of(n: usize, edges: &[(u32, u32, bool)]) -> Snapshot {
        let mut out: Vec<Vec<(u32, bool)>> = vec![Vec::new(); n];
        for &(a, b, k) in edges {
            out[a as usize].push((b + 1, k));
        }
        let ids: Vec<String> = (1..=n).map(|i| i.to_string()).collect();
        let nrefs: Vec<String> = out.iter().map(|o| o.len().to_string()).collect();
        let refs: Vec<String> = out.iter().flatten().map(|(t, _)| t.to_string()).collect();
        let labels: Vec<&str> = out
            .iter()
            .flatten()
            .map(|&(_, k)| if k { "\".keep\"" } else { "\".drop\"" })
            .collect();
        let zeros = vec!["0"; n].join(",");
        let text = format!(
            "{{\"kind\":\"header\",\"format\":\"refgraph-snapshot\",\"version\":[1,0]}}\n\
             {{\"kind\":\"types\",\"base\":0,\"names\":[[\"builtins\",\"object\"]]}}\n\
             {{\"kind\":\"objects\",\"id\":[{}],\"type\":[{zeros}],\"size\":[{zeros}],\
             \"refcount\":[{zeros}],\"flags\":[{zeros}],\"label\":[{}],\"nrefs\":[{}],\
             \"refs\":[{}],\"edge_labels\":[{}]}}\n",
            ids.join(","),
            vec!["null"; n].join(","),
            nrefs.join(","),
            refs.join(","),
            labels.join(","),
        );
        crate::snapshot::parse_snapshot(Path::new("t"), text.as_bytes()).expect("valid snapshot")
    }

    fn random_graph() -> impl Strategy<Value = (usize, Vec<(u32, u32, bool)>)> {
        (1usize..=12).prop_flat_map(|n| {
            let edge = (0..n as u32, 0..n as u32, any::<bool>());
            (Just(n), proptest::collection::vec(edge, 0..40))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn partition_matches_brute_force_and_kosaraju((n, edges) in random_graph()) {
            let plain: Vec<(u32, u32)> = edges.iter().map(|&(a, b, _)| (a, b)).collect();
            let ours = partition(&sccs(&graph(n, &plain), |_, _| true));
            prop_assert_eq!(&ours, &brute_force(n, &plain));
            prop_assert_eq!(&ours, &kosaraju(n, &plain));
        }

        #[test]
        fn filtered_snapshot_partition_matches_brute_force((n, edges) in random_graph()) {
            let snap = snapshot_of(n, &edges);
            let mask = edge_mask(&snap, |_, l, _| l == EdgeLabel::Text(".keep"));
            let ours = partition(&snapshot_sccs(&snap, Some(&mask)));
            let kept: Vec<(u32, u32)> =
                edges.iter().filter(|e| e.2).map(|&(a, b, _)| (a, b)).collect();
            prop_assert_eq!(&ours, &brute_force(n, &kept));
            let all: Vec<(u32, u32)> = edges.iter().map(|&(a, b, _)| (a, b)).collect();
            prop_assert_eq!(partition(&snapshot_sccs(&snap, None)), brute_force(n, &all));
            let generic = sccs(&snap, |_, _| true);
            prop_assert_eq!(generic, snapshot_sccs(&snap, None), "the generic path on &Snapshot");
        }

        #[test]
        fn components_are_numbered_in_reverse_topological_order((n, edges) in random_graph()) {
            let plain: Vec<(u32, u32)> = edges.iter().map(|&(a, b, _)| (a, b)).collect();
            let s = sccs(&graph(n, &plain), |_, _| true);
            for &(a, b) in &plain {
                prop_assert!(s.component_of(b) <= s.component_of(a));
            }
        }
    }

    /// Runs `f` on a thread with the default main-thread stack size (8 MiB), as the CLI does.
    fn on_main_sized_stack(f: impl FnOnce() + Send + 'static) {
        std::thread::Builder::new()
            .stack_size(8 << 20)
            .spawn(f)
            .expect("spawn")
            .join()
            .expect("no stack overflow");
    }

    const LONG: u32 = 1_000_000;

    #[test]
    fn a_million_long_linked_list_is_a_million_singletons() {
        on_main_sized_stack(|| {
            let s = sccs_by_slots(
                LONG as usize,
                |v| (v, v + u32::from(v + 1 < LONG)),
                |e| Some(e + 1),
            );
            assert_eq!(s.count(), LONG as usize);
            assert_eq!(s.component_of(0), LONG - 1, "the head completes last");
        });
    }

    #[test]
    fn a_million_long_cycle_is_one_component() {
        on_main_sized_stack(|| {
            let edges: Vec<(u32, u32)> = (0..LONG).map(|i| (i, (i + 1) % LONG)).collect();
            let s = sccs(&graph(LONG as usize, &edges), |_, _| true);
            assert_eq!(s.count(), 1);
            assert_eq!(s.len(0), LONG as usize);
        });
    }

    #[test]
    fn self_loops_and_filters() {
        let g = graph(3, &[(0, 0), (0, 1), (1, 0), (1, 2)]);
        assert_eq!(partition(&sccs(&g, |_, _| true)), vec![vec![0, 1], vec![2]]);
        let no_back = sccs(&g, |a, b| !(a.index() == 1 && b.index() == 0));
        assert_eq!(partition(&no_back), vec![vec![0], vec![1], vec![2]]);
        assert_eq!(no_back.with_at_least(2).count(), 0);
    }

    #[test]
    fn an_empty_graph_has_no_components() {
        let s = sccs(&graph(0, &[]), |_, _| true);
        assert!(s.is_empty());
        assert_eq!(s.count(), 0);
    }
}
