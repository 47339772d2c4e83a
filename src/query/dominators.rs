//! The dominator tree of the heap, from a synthetic super-root, without recursion: the
//! semi-NCA algorithm (Lengauer–Tarjan's semi-dominators with path compression, then each
//! immediate dominator as a nearest common ancestor; Georgiadis, Tarjan and Werneck,
//! "Finding dominators in practice", 2006) on flat `u32` arrays.
//!
//! # The super-root
//!
//! The super-root `S` has an edge to every root (modules, thread frames). Objects that no root
//! reaches (cyclic garbage, objects held from C code) must get a dominator too, so `S` also
//! has an edge to one *entry* per unreachable "source" component: for every strongly
//! connected component `C` of the unreachable objects that no other unreachable object
//! refers to, the member of `C` with the smallest node index. Every unreachable object is
//! reached from such an entry (follow references backwards: you end in a source component),
//! so every node gets an immediate dominator, and:
//!
//! - an orphan (nothing refers to it) is its own entry: it hangs under `S`;
//! - a garbage cycle is entered at its first member (file order), which therefore retains
//!   the whole cycle and whatever only the cycle holds: "this cycle keeps 50 MB", one number;
//! - a garbage object referenced by a garbage cycle is dominated from inside that cycle,
//!   exactly as if the cycle were a root.
//!
//! Unreachable entries are found without computing all SCCs: a forward DFS over the
//! unreachable objects gives a postorder; in reverse postorder, the first object not yet
//! reached is always in a source component, and is the member of it that the DFS (which
//! starts from objects in ascending index order) entered first, i.e. its smallest index
//! (Kosaraju's lemma: a component that points into another finishes later). That pass costs
//! 12 bytes per unreachable object, only while it runs.
//!
//! # Cost
//!
//! Nodes are renumbered in DFS preorder from `S` (`S` = 0). Working arrays, 20 bytes per node:
//! `pre` (node → number), `vertex` (number → node, later the semi-dominators), `parent`
//! (later the idoms) and a pair per number, first the DFS edge cursor, then the
//! path-compression forest `[ancestor, label]`; plus two bit sets. The DFS climbs back
//! through `parent`, so it needs no stack: a 1,000,000-long linked list costs nothing extra;
//! path compression uses a scratch stack as long as the longest path it compresses. The DFS
//! preorder doubles as the bottom-up order of the tree, as an immediate dominator is a DFS
//! ancestor.
//!
//! On a heap of 10M objects the time goes to cache misses, not instructions, so the code
//! tests "visited" in a bit set that stays in cache, keeps together what is read together,
//! prefetches what it knows it will need, gathers the predecessors of a block of nodes in
//! loops whose loads the CPU can overlap before evaluating the block, and asks for
//! transparent huge pages (random access over hundreds of MB is TLB-bound). A second thread
//! gathering blocks ahead was tried and measured no faster: the evaluation's own chains of
//! misses are the bottleneck.
//!
//! Why not petgraph's `dominators::simple_fast` (Cooper–Harvey–Kennedy): its intersections
//! walk up the tree, which is quadratic on long chains (136 s at 1M nodes, unfinished after
//! 600 s at 10M, see deps.md §3); rustc left it for Lengauer–Tarjan for the same reason.

use crate::snapshot::graph::Csr;
use crate::snapshot::{NodeIx, Snapshot};
use fixedbitset::FixedBitSet;

/// A directed graph in compressed-sparse-row form: numbered edge slots forward, slices of
/// sources backward.
///
/// The dominator computation needs nothing more, so it runs on a [`Snapshot`] as well as on
/// the tiny graphs the property tests build.
pub trait Adjacency {
    /// Number of nodes; nodes are `0..node_count()`.
    fn node_count(&self) -> usize;
    /// `[first, end)`: the edge slots of `n`'s references, in order.
    fn successor_slots(&self, n: NodeIx) -> [u32; 2];
    /// The target of edge slot `slot`.
    fn target(&self, slot: u32) -> NodeIx;
    /// The sources of the edges into `n`.
    fn predecessors(&self, n: NodeIx) -> &[NodeIx];
    /// A hint that `successor_slots(n)` will probably be asked for soon.
    fn prefetch_successors(&self, _n: NodeIx) {}
}

impl Adjacency for Snapshot {
    fn node_count(&self) -> usize {
        Snapshot::node_count(self)
    }
    fn successor_slots(&self, n: NodeIx) -> [u32; 2] {
        csr_slots(&self.fwd, n)
    }
    fn target(&self, slot: u32) -> NodeIx {
        self.fwd.targets[slot as usize]
    }
    fn predecessors(&self, n: NodeIx) -> &[NodeIx] {
        self.referrers(n)
    }
    fn prefetch_successors(&self, n: NodeIx) {
        prefetch(&self.fwd.offsets[n as usize]);
    }
}

fn csr_slots(csr: &Csr, n: NodeIx) -> [u32; 2] {
    let (start, end) = csr.range(n);
    [start as u32, end as u32]
}

/// The immediate dominator of a child of the super-root.
pub const SUPER_ROOT: NodeIx = NodeIx::MAX;

/// The dominator tree of a graph from the super-root (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DominatorTree {
    /// Immediate dominator of each node, [`SUPER_ROOT`] for the super-root's children.
    idom: Vec<NodeIx>,
    /// All nodes in DFS preorder from the super-root: every node after its immediate
    /// dominator. The nodes the roots reach come first.
    preorder: Vec<NodeIx>,
    /// How many nodes the roots reach: `preorder[..reachable]`.
    reachable: usize,
}

impl DominatorTree {
    /// The immediate dominator of `n`, `None` for the super-root's children.
    pub fn idom(&self, n: NodeIx) -> Option<NodeIx> {
        let d = self.idom[n as usize];
        (d != SUPER_ROOT).then_some(d)
    }

    /// Immediate dominators of all nodes, [`SUPER_ROOT`] for the super-root's children.
    pub fn idoms(&self) -> &[NodeIx] {
        &self.idom
    }

    /// All nodes, each after its immediate dominator (reverse it for a bottom-up pass).
    pub fn preorder(&self) -> &[NodeIx] {
        &self.preorder
    }

    /// The nodes some root reaches.
    pub fn reachable(&self) -> &[NodeIx] {
        &self.preorder[..self.reachable]
    }

    /// The nodes no root reaches (entries of unreachable components and what they reach).
    pub fn unreachable(&self) -> &[NodeIx] {
        &self.preorder[self.reachable..]
    }

    /// Gives up the arrays: `(idom, preorder, reachable count)`.
    pub fn into_parts(self) -> (Vec<NodeIx>, Vec<NodeIx>, usize) {
        (self.idom, self.preorder, self.reachable)
    }
}

/// The dominator tree of `g` from a super-root with an edge to each of `roots` and to the
/// entries of the unreachable source components (see the module docs).
///
/// # Panics
/// If `g` has `u32::MAX - 2` nodes or more, or a root is not a node of `g`.
pub fn dominator_tree<G: Adjacency + ?Sized>(g: &G, roots: &[NodeIx]) -> DominatorTree {
    dominator_tree_with(g, roots, |_| {})
}

/// [`dominator_tree`], calling `done(phase)` as each phase ends: `"dfs"` (numbering, the
/// unreachable entries included), `"semi"`, `"nca"`, `"finish"`. For progress and timings.
pub fn dominator_tree_with<G: Adjacency + ?Sized>(
    g: &G,
    roots: &[NodeIx],
    mut done: impl FnMut(&'static str),
) -> DominatorTree {
    let (dfs, reachable) = number_nodes(g, roots);
    done("dfs");
    let mut semi_nca = SemiNca::from_dfs(dfs);
    semi_nca.semi_dominators(g);
    done("semi");
    semi_nca.nearest_common_ancestors();
    done("nca");
    let tree = semi_nca.finish(reachable);
    done("finish");
    tree
}

/// The DFS from the super-root: first from the roots, then from the unreachable entries.
/// Returns the numbering and how many nodes the roots reach.
fn number_nodes<G: Adjacency + ?Sized>(g: &G, roots: &[NodeIx]) -> (Dfs, usize) {
    let n = g.node_count();
    assert!(n < SUPER_ROOT as usize, "more than 2^32 - 2 nodes");
    let mut dfs = Dfs::new(n);
    for &r in roots {
        dfs.entries.insert(r as usize);
        if !dfs.numbered.contains(r as usize) {
            dfs.search_from(g, r);
        }
    }
    let reachable = dfs.count as usize;
    if reachable < n {
        for v in unreachable_in_reverse_postorder(g, &dfs.numbered) {
            if !dfs.numbered.contains(v as usize) {
                dfs.entries.insert(v as usize);
                dfs.search_from(g, v);
            }
        }
    }
    debug_assert_eq!(dfs.count as usize, n, "the super-root reaches every node");
    (dfs, reachable)
}

/// The DFS from the super-root: numbers nodes `1..=n` in preorder (0 is the super-root).
struct Dfs {
    /// Node → preorder number (meaningless before it is numbered).
    pre: Vec<u32>,
    /// The numbered nodes. The test the DFS makes on every edge, so it is a bit set: 1.25 MB
    /// for 10M nodes stays in cache, where `pre` (40 MB) would cost a miss per edge.
    numbered: FixedBitSet,
    /// Preorder number → node (`vertex[0]` is unused: the super-root is no node).
    vertex: Vec<NodeIx>,
    /// Preorder number → preorder number of the DFS parent.
    parent: Vec<u32>,
    /// Preorder number → `[next edge slot to look at, end slot]`. Kept here rather than
    /// looked up again on every return to a node: that would be another cache miss. The same
    /// memory becomes [`Forest::links`].
    cursor: Vec<[u32; 2]>,
    /// Nodes the super-root has an edge to.
    entries: FixedBitSet,
    /// The last number given.
    count: u32,
}

impl Dfs {
    fn new(n: usize) -> Self {
        Dfs {
            pre: big_vec(n, 0),
            numbered: FixedBitSet::with_capacity(n),
            vertex: big_vec(n + 1, 0),
            parent: big_vec(n + 1, 0),
            cursor: big_vec(n + 1, [0, 0]),
            entries: FixedBitSet::with_capacity(n),
            count: 0,
        }
    }

    fn number<G: Adjacency + ?Sized>(&mut self, g: &G, v: NodeIx, parent: u32) -> u32 {
        self.count += 1;
        let k = self.count;
        self.pre[v as usize] = k;
        self.numbered.insert(v as usize);
        self.vertex[k as usize] = v;
        self.parent[k as usize] = parent;
        self.cursor[k as usize] = g.successor_slots(v);
        k
    }

    /// Numbers everything reachable from `start` that is not numbered yet, `start` as a child
    /// of the super-root. The way back up is `parent`, so no stack is needed.
    fn search_from<G: Adjacency + ?Sized>(&mut self, g: &G, start: NodeIx) {
        let mut cur = self.number(g, start, 0);
        loop {
            match self.next_unseen(g, cur) {
                Some(w) => cur = self.number(g, w, cur),
                None if self.parent[cur as usize] == 0 => return,
                None => cur = self.parent[cur as usize],
            }
        }
    }

    /// The next successor of (the node numbered) `k` that has no number yet.
    fn next_unseen<G: Adjacency + ?Sized>(&mut self, g: &G, k: u32) -> Option<NodeIx> {
        let [mut slot, end] = self.cursor[k as usize];
        let found = loop {
            if slot == end {
                break None;
            }
            let w = g.target(slot);
            slot += 1;
            // If `w` is new, its successors come next: start loading them now.
            g.prefetch_successors(w);
            if !self.numbered.contains(w as usize) {
                break Some(w);
            }
        };
        self.cursor[k as usize][0] = slot;
        found
    }
}

/// A `Vec` of `len` copies of `value`, on transparent huge pages where the kernel grants them
/// on request: the random accesses of the algorithm over hundreds of MB are TLB-bound.
fn big_vec<T: Copy>(len: usize, value: T) -> Vec<T> {
    let mut v = Vec::with_capacity(len);
    crate::hugepages::advise_huge_pages(v.as_mut_ptr() as usize, len * std::mem::size_of::<T>());
    v.resize(len, value);
    v
}

/// Asks the CPU to start loading `x` into the cache.
#[cfg(target_arch = "x86_64")]
fn prefetch<T>(x: &T) {
    use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
    // SAFETY: a prefetch is only a hint: it never faults and reads nothing into the program
    // (and `x` is a valid reference anyway).
    unsafe { _mm_prefetch::<_MM_HINT_T0>((x as *const T).cast::<i8>()) };
}

#[cfg(not(target_arch = "x86_64"))]
fn prefetch<T>(_x: &T) {}

/// The nodes not `numbered` (the unreachable ones) in reverse postorder of a DFS over them
/// that starts from them in ascending index order. In this order, each node not yet numbered
/// when its turn comes is the entry of a source component (see the module docs).
fn unreachable_in_reverse_postorder<G: Adjacency + ?Sized>(
    g: &G,
    numbered: &FixedBitSet,
) -> Vec<NodeIx> {
    let mut seen = numbered.clone();
    let mut post = Vec::new();
    // (node, next slot, end slot)
    let mut stack: Vec<(NodeIx, u32, u32)> = Vec::new();
    let mut visit = |v: NodeIx, stack: &mut Vec<(NodeIx, u32, u32)>| {
        if !seen.put(v as usize) {
            let [first, end] = g.successor_slots(v);
            stack.push((v, first, end));
        }
    };
    for s in 0..numbered.len() as NodeIx {
        visit(s, &mut stack);
        while let Some(top) = stack.last_mut() {
            let (v, slot, end) = *top;
            if slot == end {
                post.push(v);
                stack.pop();
            } else {
                top.1 += 1;
                visit(g.target(slot), &mut stack);
            }
        }
    }
    post.reverse();
    post
}

/// Semi-NCA over the DFS numbering. All arrays are indexed by preorder number.
struct SemiNca {
    pre: Vec<u32>,
    /// Number → node until the number is processed, then its semi-dominator.
    vertex_then_semi: Vec<u32>,
    /// DFS parent, then (after `nearest_common_ancestors`) the immediate dominator.
    idom: Vec<u32>,
    forest: Forest,
    entries: FixedBitSet,
}

impl SemiNca {
    fn from_dfs(dfs: Dfs) -> Self {
        let Dfs {
            pre,
            vertex,
            parent,
            cursor: mut links,
            entries,
            ..
        } = dfs;
        for (f, &p) in links.iter_mut().zip(&parent) {
            *f = [p, 0];
        }
        let forest = Forest {
            links,
            path: Vec::new(),
        };
        SemiNca {
            pre,
            vertex_then_semi: vertex,
            idom: parent,
            forest,
            entries,
        }
    }

    /// Semi-dominators, in reverse preorder, a block of nodes at a time: first the
    /// preorder numbers of the block's predecessors are gathered in tight loops whose random
    /// reads do not depend on each other (so the CPU overlaps their cache misses, which it
    /// cannot do once path compression is interleaved), then the block is evaluated.
    fn semi_dominators<G: Adjacency + ?Sized>(&mut self, g: &G) {
        let SemiNca {
            pre,
            vertex_then_semi,
            idom,
            forest,
            entries,
        } = self;
        let gather = Gather { pre, idom, entries };
        for (lo, slots) in blocks_from_top(&mut vertex_then_semi[1..]) {
            gather.block(g, slots, lo, &forest.links).evaluate(forest);
        }
    }

    /// idom(w) = the nearest common ancestor of parent(w) and semi(w) in the tree built so
    /// far: climb from the parent until at or above the semi-dominator.
    fn nearest_common_ancestors(&mut self) {
        for i in 1..self.idom.len() {
            let semi = self.vertex_then_semi[i];
            let mut d = self.idom[i];
            while d > semi {
                d = self.idom[d as usize];
            }
            self.idom[i] = d;
        }
    }

    /// Back from preorder numbers to node indices, reusing the arrays.
    fn finish(self, reachable: usize) -> DominatorTree {
        let SemiNca {
            mut pre,
            idom,
            vertex_then_semi: mut preorder,
            forest,
            ..
        } = self;
        drop(forest);
        for (v, &k) in pre.iter().enumerate() {
            preorder[k as usize] = v as NodeIx;
        }
        // `pre` becomes the node-indexed idom array in place: each entry is read once, first.
        for k in pre.iter_mut() {
            let d = idom[*k as usize];
            *k = if d == 0 {
                SUPER_ROOT
            } else {
                preorder[d as usize]
            };
        }
        preorder.remove(0);
        DominatorTree {
            idom: pre,
            preorder,
            reachable,
        }
    }
}

/// `slots` (the entries of numbers `1..`) cut into blocks from the top, each with the number
/// of its first entry.
fn blocks_from_top(slots: &mut [u32]) -> impl Iterator<Item = (u32, &mut [u32])> {
    let mut hi = slots.len() as u32 + 1;
    slots.rchunks_mut(BLOCK_NODES).map(move |chunk| {
        hi -= chunk.len() as u32;
        (hi, chunk)
    })
}

/// Nodes per block: their prefetched forest entries (two lines per later-numbered
/// predecessor) should fit in L2.
const BLOCK_NODES: usize = 4096;

/// The path-compression forest of Lengauer–Tarjan's `eval`.
struct Forest {
    /// `[ancestor, label]` by preorder number: the forest (it starts as the DFS tree) and the
    /// smallest semi-dominator on the compressed path up to the ancestor. Side by side, as
    /// `eval` reads both of each node it visits: one cache miss instead of two.
    links: Vec<[u32; 2]>,
    /// Scratch for path compression.
    path: Vec<u32>,
}

impl Forest {
    /// The smallest semi-dominator on the forest path from `u` up to (not including) the
    /// first unprocessed ancestor (number `<= i`), compressing the path on the way.
    /// Numbers above `i` are processed, i.e. linked to their DFS parent.
    fn eval(&mut self, u: u32, i: u32) -> u32 {
        let mut v = u;
        while self.links[v as usize][0] > i {
            self.path.push(v);
            v = self.links[v as usize][0];
        }
        // `v` is the topmost processed node on the path; below it, top-down, each node takes
        // the smaller label and the ancestor of the one above it.
        while let Some(x) = self.path.pop() {
            let [a, _] = self.links[x as usize];
            let [above, label] = self.links[a as usize];
            let own = &mut self.links[x as usize];
            *own = [above, own[1].min(label)];
        }
        self.links[u as usize][1]
    }
}

/// What gathering reads: nothing that changes during the semi phase.
struct Gather<'a> {
    pre: &'a [u32],
    /// The DFS parents.
    idom: &'a [u32],
    entries: &'a FixedBitSet,
}

/// A block of consecutive preorder numbers, gathered and ready to evaluate.
struct Block<'a> {
    /// The nodes' `vertex_then_semi` entries, numbers `lo..lo + len`: the gatherer replaces
    /// each node by its semi-dominator candidate from parent, super-root and lower-numbered
    /// predecessors; the evaluator by the final semi-dominator.
    slots: &'a mut [u32],
    lo: u32,
    /// Higher-numbered predecessors (those need `eval`), top node first.
    later: Vec<u32>,
    /// `later[ends[k - 1]..ends[k]]` belong to the `k`-th node from the top.
    ends: Vec<u32>,
}

impl Gather<'_> {
    /// Gathers the block of `slots` (numbers `lo..`), prefetching the `links` that its
    /// evaluation will climb first.
    fn block<'s, G: Adjacency + ?Sized>(
        &self,
        g: &G,
        slots: &'s mut [u32],
        lo: u32,
        links: &[[u32; 2]],
    ) -> Block<'s> {
        let (mut later, mut ends) = self.predecessor_numbers(g, slots);
        self.split_lower_numbers(slots, lo, &mut later, &mut ends, links);
        // `eval` climbs from each of them: prefetch the next step up too (by now the first
        // prefetches have mostly arrived).
        for &u in &later {
            prefetch(&links[links[u as usize][0] as usize]);
        }
        Block {
            slots,
            lo,
            later,
            ends,
        }
    }

    /// The preorder numbers of the predecessors of the nodes in `slots`, top node first, and
    /// where each node's end: nothing but independent loads.
    fn predecessor_numbers<G: Adjacency + ?Sized>(
        &self,
        g: &G,
        slots: &[u32],
    ) -> (Vec<u32>, Vec<u32>) {
        let mut numbers = Vec::new();
        let mut ends = Vec::with_capacity(slots.len());
        for &w in slots.iter().rev() {
            numbers.extend(g.predecessors(w).iter().map(|&v| self.pre[v as usize]));
            ends.push(numbers.len() as u32);
        }
        (numbers, ends)
    }

    /// On cached data: folds each node's lower-numbered predecessors (and its parent, or the
    /// super-root) into its slot, and keeps only the higher numbers in `numbers`, which need
    /// `eval`, prefetching their forest entries.
    fn split_lower_numbers(
        &self,
        slots: &mut [u32],
        lo: u32,
        numbers: &mut Vec<u32>,
        ends: &mut [u32],
        links: &[[u32; 2]],
    ) {
        let (mut start, mut kept) = (0, 0);
        for (k, slot) in slots.iter_mut().rev().enumerate() {
            let i = lo + (ends.len() - 1 - k) as u32;
            let mut semi = if self.entries.contains(*slot as usize) {
                0
            } else {
                self.idom[i as usize]
            };
            for r in start..ends[k] as usize {
                let u = numbers[r];
                if u <= i {
                    semi = semi.min(u);
                } else {
                    prefetch(&links[u as usize]);
                    numbers[kept] = u;
                    kept += 1;
                }
            }
            start = ends[k] as usize;
            ends[k] = kept as u32;
            *slot = semi;
        }
        numbers.truncate(kept);
    }
}

impl Block<'_> {
    /// Final semi-dominators of the block, top node first, each linked into the forest.
    fn evaluate(self, forest: &mut Forest) {
        let mut start = 0;
        for (k, slot) in self.slots.iter_mut().rev().enumerate() {
            let i = self.lo + (self.ends.len() - 1 - k) as u32;
            let end = self.ends[k] as usize;
            let mut semi = *slot;
            for &u in &self.later[start..end] {
                semi = semi.min(forest.eval(u, i));
            }
            start = end;
            *slot = semi;
            forest.links[i as usize][1] = semi;
        }
    }
}

/// Graphs for tests: CSR built from edge lists, and brute-force dominators.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// A graph as forward and reverse CSR.
    pub(crate) struct CsrGraph {
        pub(crate) fwd: Csr,
        pub(crate) rev: Csr,
    }

    impl CsrGraph {
        pub(crate) fn new(n: usize, edges: &[(NodeIx, NodeIx)]) -> Self {
            let mut counts = vec![0u32; n + 1];
            for &(a, _) in edges {
                counts[a as usize + 1] += 1;
            }
            for i in 1..counts.len() {
                counts[i] += counts[i - 1];
            }
            let mut fill = counts.clone();
            let mut targets = vec![0; edges.len()];
            for &(a, b) in edges {
                targets[fill[a as usize] as usize] = b;
                fill[a as usize] += 1;
            }
            let fwd = Csr {
                offsets: counts.into(),
                targets: targets.into(),
            };
            let rev = fwd.reversed(n);
            CsrGraph { fwd, rev }
        }
    }

    impl Adjacency for CsrGraph {
        fn node_count(&self) -> usize {
            self.fwd.offsets.len() - 1
        }
        fn successor_slots(&self, n: NodeIx) -> [u32; 2] {
            csr_slots(&self.fwd, n)
        }
        fn target(&self, slot: u32) -> NodeIx {
            self.fwd.targets[slot as usize]
        }
        fn predecessors(&self, n: NodeIx) -> &[NodeIx] {
            self.rev.neighbors(n)
        }
        fn prefetch_successors(&self, n: NodeIx) {
            prefetch(&self.fwd.offsets[n as usize]);
        }
    }

    /// A small graph (at most 32 nodes) answered by brute force, with the super-root
    /// semantics of the module docs.
    pub(crate) struct Brute {
        n: usize,
        edges: Vec<(NodeIx, NodeIx)>,
        /// The super-root's edges.
        pub(crate) entries: Vec<NodeIx>,
    }

    impl Brute {
        pub(crate) fn new(n: usize, edges: &[(NodeIx, NodeIx)], roots: &[NodeIx]) -> Self {
            let mut b = Brute {
                n,
                edges: edges.to_vec(),
                entries: Vec::new(),
            };
            let reached = b.reach(roots, None);
            let garbage_entries: Vec<NodeIx> = (0..n as NodeIx)
                .filter(|&v| reached & (1 << v) == 0 && b.is_unreachable_entry(v, reached))
                .collect();
            b.entries = roots.to_vec();
            b.entries.extend(garbage_entries);
            b
        }

        /// Bit set of the nodes reachable from `starts` without entering `removed`.
        pub(crate) fn reach(&self, starts: &[NodeIx], removed: Option<NodeIx>) -> u32 {
            self.reach_avoiding(starts, removed.map_or(0, |r| 1u32 << r))
        }

        /// Bit set of the nodes reachable from `starts` without entering the set `blocked`.
        fn reach_avoiding(&self, starts: &[NodeIx], blocked: u32) -> u32 {
            let mut seen = starts.iter().fold(0u32, |s, &v| s | 1 << v) & !blocked;
            loop {
                let next = self
                    .edges
                    .iter()
                    .filter(|&&(a, _)| seen & (1 << a) != 0)
                    .fold(seen, |s, &(_, b)| s | 1 << b)
                    & !blocked;
                if next == seen {
                    return seen;
                }
                seen = next;
            }
        }

        /// `v` is the smallest member of a component of unreachable nodes that no other
        /// unreachable node points into.
        fn is_unreachable_entry(&self, v: NodeIx, reached: u32) -> bool {
            let from_v = self.reach(&[v], None);
            let scc: Vec<NodeIx> = (0..self.n as NodeIx)
                .filter(|&w| from_v & (1 << w) != 0 && self.reach(&[w], None) & (1 << v) != 0)
                .collect();
            let in_scc = |x: NodeIx| scc.contains(&x);
            let entered = self
                .edges
                .iter()
                .any(|&(a, b)| in_scc(b) && !in_scc(a) && reached & (1 << a) == 0);
            !entered && scc.iter().all(|&w| w >= v)
        }

        /// Everything the super-root reaches when `removed` is taken out.
        pub(crate) fn alive_without(&self, removed: Option<NodeIx>) -> u32 {
            self.reach(&self.entries, removed)
        }

        /// Everything the super-root reaches when the set `removed` is taken out.
        pub(crate) fn alive_without_set(&self, removed: u32) -> u32 {
            self.reach_avoiding(&self.entries, removed)
        }

        /// The strongly connected components, as bit sets.
        pub(crate) fn components(&self) -> Vec<u32> {
            let from: Vec<u32> = (0..self.n as NodeIx)
                .map(|v| self.reach(&[v], None))
                .collect();
            let mut comps: Vec<u32> = (0..self.n)
                .map(|v| {
                    (0..self.n)
                        .filter(|&w| from[v] & (1 << w) != 0 && from[w] & (1 << v) != 0)
                        .fold(0, |c, w| c | 1 << w)
                })
                .collect();
            comps.sort_unstable();
            comps.dedup();
            comps
        }

        /// Strict dominators of `v` (the super-root not included).
        fn dominators(&self, v: NodeIx) -> Vec<NodeIx> {
            (0..self.n as NodeIx)
                .filter(|&d| d != v && self.alive_without(Some(d)) & (1 << v) == 0)
                .collect()
        }

        /// The immediate dominator: the strict dominator with the most dominators itself.
        pub(crate) fn idom(&self, v: NodeIx) -> NodeIx {
            self.dominators(v)
                .into_iter()
                .max_by_key(|&d| self.dominators(d).len())
                .unwrap_or(SUPER_ROOT)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{Brute, CsrGraph};
    use super::*;
    use proptest::prelude::*;

    fn tree(n: usize, edges: &[(NodeIx, NodeIx)], roots: &[NodeIx]) -> DominatorTree {
        dominator_tree(&CsrGraph::new(n, edges), roots)
    }

    fn idoms(t: &DominatorTree) -> Vec<Option<NodeIx>> {
        (0..t.idom.len() as NodeIx).map(|v| t.idom(v)).collect()
    }

    #[test]
    fn a_diamond_is_dominated_by_its_top() {
        // 0 → 1, 0 → 2, 1 → 3, 2 → 3, 3 → 4
        let t = tree(5, &[(0, 1), (0, 2), (1, 3), (2, 3), (3, 4)], &[0]);
        assert_eq!(idoms(&t), [None, Some(0), Some(0), Some(0), Some(3)]);
        assert_eq!(t.reachable().len(), 5);
    }

    #[test]
    fn objects_held_by_two_roots_hang_under_the_super_root() {
        let t = tree(4, &[(0, 2), (1, 2), (2, 3)], &[0, 1]);
        assert_eq!(idoms(&t), [None, None, None, Some(2)]);
    }

    #[test]
    fn a_root_reached_from_another_root_is_still_a_child_of_the_super_root() {
        let t = tree(3, &[(0, 1), (1, 2)], &[0, 1]);
        assert_eq!(idoms(&t), [None, None, Some(1)]);
    }

    #[test]
    fn a_garbage_cycle_is_entered_at_its_smallest_member() {
        // root 0 → 1; garbage cycle 4 → 2 → 3 → 4, 3 → 5; orphan 6 → 1.
        let t = tree(7, &[(0, 1), (4, 2), (2, 3), (3, 4), (3, 5), (6, 1)], &[0]);
        assert_eq!(
            idoms(&t),
            [None, None, None, Some(2), Some(3), Some(3), None]
        );
        let mut unreachable = t.unreachable().to_vec();
        unreachable.sort();
        assert_eq!(unreachable, [2, 3, 4, 5, 6]);
    }

    #[test]
    fn a_cycle_below_a_garbage_cycle_is_not_an_entry() {
        // cycle 0 ⇄ 1 → cycle 2 ⇄ 3, nothing rooted
        let t = tree(4, &[(0, 1), (1, 0), (1, 2), (2, 3), (3, 2)], &[]);
        assert_eq!(idoms(&t), [None, Some(0), Some(1), Some(2)]);
    }

    #[test]
    fn an_empty_graph_has_an_empty_tree() {
        let t = tree(0, &[], &[]);
        assert!(t.preorder().is_empty());
    }

    const MILLION: u32 = 1_000_000;

    #[test]
    fn a_million_long_linked_list_needs_no_deep_stack() {
        let edges: Vec<_> = (0..MILLION - 1).map(|i| (i, i + 1)).collect();
        let t = tree(MILLION as usize, &edges, &[0]);
        assert_eq!(t.idom(0), None);
        assert!((1..MILLION).all(|i| t.idom(i) == Some(i - 1)));
    }

    #[test]
    fn a_million_node_garbage_cycle_needs_no_deep_stack() {
        let edges: Vec<_> = (0..MILLION).map(|i| (i, (i + 1) % MILLION)).collect();
        let t = tree(MILLION as usize, &edges, &[]);
        assert_eq!(t.idom(0), None);
        assert!((1..MILLION).all(|i| t.idom(i) == Some(i - 1)));
        assert!(t.reachable().is_empty());
    }

    #[test]
    fn a_back_edge_over_a_million_nodes_compresses_one_long_path() {
        // 0 → 1 → … → n-1 → 1: node 1's semi-dominator search walks the whole chain.
        let mut edges: Vec<_> = (0..MILLION - 1).map(|i| (i, i + 1)).collect();
        edges.push((MILLION - 1, 1));
        edges.push((0, MILLION / 2));
        let t = tree(MILLION as usize, &edges, &[0]);
        assert_eq!(t.idom(1), Some(0));
        assert_eq!(t.idom(MILLION / 2), Some(0));
        assert_eq!(t.idom(MILLION / 2 + 1), Some(MILLION / 2));
        assert_eq!(t.idom(2), Some(1));
    }

    /// splitmix64: a deterministic generator for the synthetic graphs.
    pub(crate) struct Rng(pub(crate) u64);

    impl Rng {
        pub(crate) fn below(&mut self, n: u32) -> u32 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((((z ^ (z >> 31)) >> 32) * n as u64) >> 32) as u32
        }
    }

    /// The shape of deps.md §3 at `n` nodes and `3 n` edges: 1000 roots with 50 objects each,
    /// 1000 hot nodes taking 20 % of the random edges, a chain of n/5 nodes off root 1, cycles
    /// of n/10 (off root 2), n/40 (garbage) and n/40 (garbage, held by an orphan), every chain
    /// and cycle node with a payload edge, random edges among the remaining objects, 1 % of
    /// them back to roots. Returns the edges and the roots.
    pub(crate) fn synthetic(n: u32) -> (Vec<(NodeIx, NodeIx)>, Vec<NodeIx>) {
        let mut rng = Rng(42);
        let (roots, hot) = (0..1000, 1000..2000);
        let chain = hot.end..hot.end + n / 5;
        let cycles = [chain.end, chain.end + n / 10, chain.end + n / 10 + n / 40];
        let lens = [n / 10, n / 40, n / 40];
        let rest = cycles[2] + lens[2]..n - 1;
        let orphan = n - 1;
        let in_rest = |rng: &mut Rng| rest.start + rng.below(rest.end - rest.start);
        let mut edges = Vec::with_capacity(3 * n as usize);
        for r in roots.clone() {
            edges.extend((0..50).map(|_| (r, 1000 + rng.below(n - 1001))));
        }
        edges.push((1, chain.start));
        for c in chain.clone() {
            edges.push((c, in_rest(&mut rng)));
            if c + 1 < chain.end {
                edges.push((c, c + 1));
            }
        }
        edges.push((2, cycles[0]));
        edges.push((orphan, cycles[2]));
        for (&start, &len) in cycles.iter().zip(&lens) {
            for i in 0..len {
                edges.push((start + i, start + (i + 1) % len));
                edges.push((start + i, in_rest(&mut rng)));
            }
        }
        while edges.len() < 3 * n as usize {
            let src = in_rest(&mut rng);
            let dst = match rng.below(100) {
                0 => rng.below(roots.end),
                1..=20 => hot.start + rng.below(1000),
                _ => in_rest(&mut rng),
            };
            edges.push((src, dst));
        }
        (edges, roots.collect())
    }

    /// A `/proc/self/status` field in KiB (0 where there is none).
    pub(crate) fn proc_status_kib(key: &str) -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|l| {
                l.strip_prefix(key)?
                    .trim()
                    .strip_suffix("kB")?
                    .trim()
                    .parse()
                    .ok()
            })
            .unwrap_or(0)
    }

    /// Resets the peak resident size, so that `VmHWM` afterwards is the peak of what follows.
    pub(crate) fn reset_peak_rss() {
        let _ = std::fs::write("/proc/self/clear_refs", "5");
    }

    /// [`synthetic`] as a [`Snapshot`]: object ids `0..n`, random sizes, 1000 module roots,
    /// two types (the roots are modules), no labels.
    pub(crate) fn synthetic_snapshot(n: u32) -> Snapshot {
        use crate::snapshot::graph::{TextColumn, NO_LABEL};
        use crate::snapshot::{Root, RootKind, TypeName};
        let (edges, roots) = synthetic(n);
        let CsrGraph { fwd, rev } = CsrGraph::new(n as usize, &edges);
        drop(edges);
        let mut rng = Rng(7);
        let roots: Vec<Root> = roots
            .into_iter()
            .map(|node| Root {
                node,
                kind: RootKind::Module {
                    name: format!("m{node}"),
                },
            })
            .collect();
        let type_name = |q: &str| TypeName {
            module: "builtins".into(),
            qualname: q.into(),
        };
        Snapshot {
            ids: (0..n as u64).collect(),
            by_id: (0..n).collect(),
            type_of: (0..n).map(|v| u32::from(v < 1000)).collect(),
            types: vec![type_name("object"), type_name("module")],
            sizes: (0..n).map(|_| 16 + rng.below(200) as u64).collect(),
            refcounts: vec![1; n as usize].into(),
            flags: vec![2; n as usize].into(),
            labels: TextColumn {
                data: String::new().into(),
                ends: vec![0; n as usize].into(),
            },
            fwd_labels: vec![NO_LABEL; fwd.targets.len()].into(),
            root_of: roots.iter().enumerate().map(|(i, r)| (r.node, i)).collect(),
            roots,
            fwd,
            rev,
            ..Snapshot::default()
        }
    }

    /// CPU time of the calling thread: unlike wall time, not inflated by other processes
    /// taking turns on the CPU.
    pub(crate) fn thread_cpu() -> std::time::Duration {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid timespec to write to.
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    }

    /// Runs `f`, printing its time and peak memory above what was resident before (which
    /// undercounts when `f` reuses memory freed earlier).
    pub(crate) fn measure<T>(what: &str, n: u32, f: impl FnOnce() -> T) -> T {
        reset_peak_rss();
        let base = proc_status_kib("VmRSS:");
        let start = std::time::Instant::now();
        let result = f();
        let took = start.elapsed();
        let peak = proc_status_kib("VmHWM:").saturating_sub(base);
        eprintln!(
            "{what}: {took:.2?}, peak +{} MiB ({:.1} bytes/node)",
            peak / 1024,
            peak as f64 * 1024.0 / n as f64
        );
        result
    }

    fn scale(n: u32) {
        use crate::query::retained::{top, Retained, TopQuery};
        let t0 = std::time::Instant::now();
        let snap = synthetic_snapshot(n);
        eprintln!(
            "built {n} nodes / {} edges in {:.2?}",
            snap.edge_count(),
            t0.elapsed()
        );
        // First, in a fresh process, so that its peak memory is not blurred by memory freed
        // earlier: everything `refgraph top` needs.
        let r = measure(
            "Retained::compute (dominators, sizes, children lists)",
            n,
            || Retained::compute(&snap),
        );
        let answer = measure("top", n, || top(&snap, &r, &TopQuery::default()));
        eprintln!(
            "  top level {}, largest retains {} B, {} suspects",
            r.top_level().len(),
            answer.top[0].retained,
            answer.suspects.len()
        );
        drop(r);
        let roots: Vec<NodeIx> = snap.roots().iter().map(|r| r.node).collect();
        let tree = timed_tree(&snap, &roots);
        measure("Retained::from_tree (sizes, children lists)", n, || {
            Retained::from_tree(tree, |v| snap.size(v))
        });
        measure("for comparison, snapshot_sccs", n, || {
            crate::query::scc::snapshot_sccs(&snap, None)
        });
    }

    /// The dominator tree of `snap`, timed phase by phase.
    fn timed_tree(snap: &Snapshot, roots: &[NodeIx]) -> DominatorTree {
        let mut last = (std::time::Instant::now(), thread_cpu());
        let mut phases = String::new();
        let tree = measure("dominators", snap.node_count() as u32, || {
            dominator_tree_with(snap, roots, |phase| {
                let cpu = thread_cpu() - last.1;
                let wall = last.0.elapsed();
                phases.push_str(&format!(" {phase} {wall:.2?} (cpu {cpu:.2?})"));
                last = (std::time::Instant::now(), thread_cpu());
            })
        });
        eprintln!("  phases:{phases}");
        let top_level = tree.idoms().iter().filter(|&&d| d == SUPER_ROOT).count();
        eprintln!(
            "  {} reachable, {top_level} top level",
            tree.reachable().len()
        );
        tree
    }

    #[test]
    #[ignore = "slow: 10M nodes; run with --release --ignored --nocapture"]
    fn scale_10m_nodes_30m_edges() {
        scale(10_000_000);
    }

    #[test]
    #[ignore = "slow: run with --release --ignored --nocapture"]
    fn scale_1m_nodes_3m_edges() {
        scale(1_000_000);
    }

    /// Cooper–Harvey–Kennedy, plainly: the reference for medium graphs. The super-root is
    /// node `n`; its edges go to `roots` and to the smallest member of every source component
    /// of the unreachable nodes, found with the SCC module (independent code).
    fn reference_idoms(g: &CsrGraph, roots: &[NodeIx]) -> Vec<NodeIx> {
        let n = g.node_count();
        let reached = reach(g, roots);
        let unreached = |v: NodeIx| !reached[v as usize];
        let sccs = crate::query::scc::sccs_by_slots(
            n,
            |v| {
                if unreached(v) {
                    (g.fwd.offsets[v as usize], g.fwd.offsets[v as usize + 1])
                } else {
                    (0, 0)
                }
            },
            |e| Some(g.fwd.targets[e as usize]).filter(|&t| unreached(t)),
        );
        let mut entries = roots.to_vec();
        for c in 0..sccs.count() as u32 {
            let members = sccs.members(c);
            let entered = members
                .iter()
                .any(|&m| g.predecessors(m).iter().any(|&p| sccs.component_of(p) != c));
            if unreached(members[0]) && !entered {
                entries.push(members[0]);
            }
        }
        chk(g, &entries)
    }

    fn reach(g: &CsrGraph, starts: &[NodeIx]) -> Vec<bool> {
        let mut seen = vec![false; g.node_count()];
        let mut stack = starts.to_vec();
        while let Some(v) = stack.pop() {
            if !std::mem::replace(&mut seen[v as usize], true) {
                stack.extend_from_slice(g.fwd.neighbors(v));
            }
        }
        seen
    }

    fn chk(g: &CsrGraph, entries: &[NodeIx]) -> Vec<NodeIx> {
        let n = g.node_count();
        let s = n as NodeIx;
        let succ = |v: NodeIx| if v == s { entries } else { g.fwd.neighbors(v) };
        // Postorder numbers by an iterative DFS from the super-root.
        let mut post = vec![u32::MAX; n + 1];
        let mut order = Vec::new();
        let mut seen = vec![false; n + 1];
        let mut stack = vec![(s, 0usize)];
        seen[n] = true;
        while let Some(&mut (v, ref mut k)) = stack.last_mut() {
            if let Some(&w) = succ(v).get(*k) {
                *k += 1;
                if !std::mem::replace(&mut seen[w as usize], true) {
                    stack.push((w, 0));
                }
            } else {
                post[v as usize] = order.len() as u32;
                order.push(v);
                stack.pop();
            }
        }
        let mut idom = vec![u32::MAX; n + 1];
        idom[n] = s;
        let intersect = |idom: &[u32], mut a: u32, mut b: u32| {
            while a != b {
                while post[a as usize] < post[b as usize] {
                    a = idom[a as usize];
                }
                while post[b as usize] < post[a as usize] {
                    b = idom[b as usize];
                }
            }
            a
        };
        let mut changed = true;
        while changed {
            changed = false;
            for &v in order.iter().rev().skip(1) {
                let from_s = entries.contains(&v).then_some(s);
                let preds = g.predecessors(v).iter().copied().chain(from_s);
                let mut new = u32::MAX;
                for p in preds.filter(|&p| idom[p as usize] != u32::MAX) {
                    new = if new == u32::MAX {
                        p
                    } else {
                        intersect(&idom, p, new)
                    };
                }
                if idom[v as usize] != new {
                    idom[v as usize] = new;
                    changed = true;
                }
            }
        }
        idom.truncate(n);
        idom.iter()
            .map(|&d| if d == s { SUPER_ROOT } else { d })
            .collect()
    }

    #[test]
    fn a_medium_graph_agrees_with_a_reference_algorithm() {
        let (mut edges, roots) = synthetic(40_000);
        edges.extend([(5000, 5000), (39_000, 39_000)]);
        let g = CsrGraph::new(40_000, &edges);
        let expected = reference_idoms(&g, &roots);
        assert_eq!(dominator_tree(&g, &roots).idoms(), expected);
    }

    fn small_graph() -> impl Strategy<Value = (usize, Vec<(NodeIx, NodeIx)>, Vec<NodeIx>)> {
        (1usize..=12).prop_flat_map(|n| {
            let node = 0..n as NodeIx;
            let edges = proptest::collection::vec((node.clone(), node.clone()), 0..30);
            let roots = proptest::collection::vec(node, 0..4);
            (Just(n), edges, roots)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn idom_matches_brute_force((n, edges, roots) in small_graph()) {
            let t = tree(n, &edges, &roots);
            let brute = Brute::new(n, &edges, &roots);
            for v in 0..n as NodeIx {
                prop_assert_eq!(t.idoms()[v as usize], brute.idom(v), "node {}", v);
            }
            let mut order = vec![usize::MAX; n];
            for (k, &v) in t.preorder().iter().enumerate() {
                order[v as usize] = k;
            }
            for v in 0..n as NodeIx {
                if let Some(d) = t.idom(v) {
                    prop_assert!(order[d as usize] < order[v as usize]);
                }
            }
            let reached = brute.reach(&roots, None);
            prop_assert_eq!(t.reachable().len() as u32, reached.count_ones());
            prop_assert!(t.reachable().iter().all(|&v| reached & (1 << v) != 0));
        }
    }
}
