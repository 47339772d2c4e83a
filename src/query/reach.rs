//! Reachability from the roots: what is alive because a module or a thread frame holds it.

use crate::snapshot::{NodeIx, Snapshot};
use fixedbitset::FixedBitSet;

/// The set of objects reachable from any root (modules and thread frames), roots included.
///
/// Iterative (an explicit stack): a million-long linked list must not overflow the call stack.
pub fn reachable_from_roots(snap: &Snapshot) -> FixedBitSet {
    let starts: Vec<NodeIx> = snap.roots().iter().map(|r| r.node).collect();
    reachable_from(snap, &starts)
}

/// The set of objects reachable from `starts` along references.
pub fn reachable_from(snap: &Snapshot, starts: &[NodeIx]) -> FixedBitSet {
    let mut seen = FixedBitSet::with_capacity(snap.node_count());
    let mut stack: Vec<NodeIx> = Vec::new();
    for &s in starts {
        if !seen.put(s as usize) {
            stack.push(s);
        }
    }
    while let Some(n) = stack.pop() {
        for &m in snap.referents(n) {
            if !seen.put(m as usize) {
                stack.push(m);
            }
        }
    }
    seen
}
