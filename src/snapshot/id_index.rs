//! Object ids → node numbers while loading: an open-addressing table of node numbers alone (4
//! bytes a slot, 40–80 % full), probed by comparing against the id column itself — a quarter
//! of the memory of a `HashMap<u64, u32>` on a 10M-object heap.
//!
//! A lookup is two cache misses (its slot, then the id of the node there) on tables of 64 MB
//! and 80 MB. Looked up one by one, each waits for the one before; [`IdIndex::get_all`] looks
//! up references a batch at a time, stage by stage (all slots of the batch, then all their
//! ids), so that the misses of a batch are in flight together.

use super::graph::NodeIx;

/// An empty slot; also "no such id" in [`IdIndex::get_all`]'s output.
pub(super) const NO_NODE: NodeIx = NodeIx::MAX;

/// References looked up together: enough misses in flight to cover memory latency, few
/// enough to stay in registers and the CPU's load queue.
const BATCH: usize = 16;

pub(super) struct IdIndex {
    slots: Vec<NodeIx>,
    /// `64 - log2(slots.len())`: a slot is the top bits of the id's multiplicative hash.
    shift: u32,
}

impl IdIndex {
    /// The index of `ids`, which are distinct (the loader checks that on the sorted column;
    /// of repeated ids, one is found).
    pub(super) fn new(ids: &[u64]) -> IdIndex {
        // At least one slot stays empty, so that a probe for a missing id ends.
        let wanted = (ids.len() + ids.len() / 4 + 1).max(2);
        let bits = wanted.next_power_of_two().trailing_zeros();
        let mut index = IdIndex {
            slots: vec![NO_NODE; 1 << bits],
            shift: 64 - bits,
        };
        let mask = index.slots.len() - 1;
        for (k, batch) in ids.chunks(BATCH).enumerate() {
            // Touch the batch's slots first, so that their misses overlap; the inserts below
            // then find them in the cache.
            let touched = batch
                .iter()
                .fold(0, |acc, &id| acc ^ index.slots[index.slot_of(id)]);
            std::hint::black_box(touched);
            for (i, &id) in batch.iter().enumerate() {
                let mut slot = index.slot_of(id);
                while index.slots[slot] != NO_NODE {
                    slot = (slot + 1) & mask;
                }
                index.slots[slot] = (k * BATCH + i) as NodeIx;
            }
        }
        index
    }

    fn slot_of(&self, id: u64) -> usize {
        // Fibonacci hashing: ids are addresses, multiples of 16 in clusters; the product's top
        // bits spread them.
        (id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    /// The node of `id` (`ids` is the column the index was built from).
    pub(super) fn get(&self, ids: &[u64], id: u64) -> Option<NodeIx> {
        let mask = self.slots.len() - 1;
        let mut slot = self.slot_of(id);
        for _ in 0..self.slots.len() {
            match self.slots[slot] {
                NO_NODE => return None,
                n if ids[n as usize] == id => return Some(n),
                _ => slot = (slot + 1) & mask,
            }
        }
        None
    }

    /// The node of each of `refs` into `out` ([`NO_NODE`] for an id no object has), a batch
    /// at a time: the home slots of the batch, then the ids of the nodes in them; only a
    /// reference whose home slot holds another id probes further.
    pub(super) fn get_all(&self, ids: &[u64], refs: &[u64], out: &mut [NodeIx]) {
        for (refs, out) in refs.chunks(BATCH).zip(out.chunks_mut(BATCH)) {
            let mut home = [NO_NODE; BATCH];
            for (h, &r) in home.iter_mut().zip(refs) {
                *h = self.slots[self.slot_of(r)];
            }
            let mut found = [0u64; BATCH];
            for (f, &h) in found.iter_mut().zip(&home) {
                if h != NO_NODE {
                    *f = ids[h as usize];
                }
            }
            for (i, (o, &r)) in out.iter_mut().zip(refs).enumerate() {
                *o = match home[i] {
                    NO_NODE => NO_NODE,
                    h if found[i] == r => h,
                    _ => self.get(ids, r).unwrap_or(NO_NODE),
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rustc_hash::FxHashMap;

    fn id() -> impl Strategy<Value = u64> {
        prop_oneof![
            0u64..64,
            any::<u64>(),
            (0u64..1000).prop_map(|a| 0x7f00_0000_0000 + 16 * a)
        ]
    }

    proptest! {
        /// The id index finds every id at its position and nothing else, one by one and in
        /// batches (of every length, so that a last short batch is covered).
        #[test]
        fn id_index_agrees_with_a_hash_map(
            ids in proptest::collection::hash_set(id(), 0..300),
            probes in proptest::collection::vec(id(), 0..60),
        ) {
            let ids: Vec<u64> = ids.into_iter().collect();
            let map: FxHashMap<u64, NodeIx> =
                ids.iter().enumerate().map(|(n, &id)| (id, n as NodeIx)).collect();
            let index = IdIndex::new(&ids);
            for (n, &id) in ids.iter().enumerate() {
                prop_assert_eq!(index.get(&ids, id), Some(n as NodeIx));
            }
            let refs: Vec<u64> = probes.iter().chain(&ids).copied().collect();
            let mut out = vec![0; refs.len()];
            index.get_all(&ids, &refs, &mut out);
            for (&r, &o) in refs.iter().zip(&out) {
                prop_assert_eq!(o, map.get(&r).copied().unwrap_or(NO_NODE));
                prop_assert_eq!(index.get(&ids, r), map.get(&r).copied());
            }
        }
    }

    #[test]
    fn id_index_of_few_ids_answers_a_missing_id() {
        for n in 0..40u64 {
            let ids: Vec<u64> = (0..n).map(|i| 0x7f00 + 16 * i).collect();
            let index = IdIndex::new(&ids);
            assert!(index.slots.contains(&NO_NODE), "{n} ids leave a slot empty");
            assert_eq!(index.get(&ids, 1), None);
            assert_eq!(index.get(&ids, 0x7f00 + 16 * n), None);
            let mut out = [0; 2];
            index.get_all(&ids, &[1, 0x7f00 + 16 * n], &mut out);
            assert_eq!(out, [NO_NODE; 2]);
        }
    }
}
