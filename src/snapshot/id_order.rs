//! The by-id order of a snapshot's nodes, by an LSD radix sort of the id column.
//!
//! Ids are addresses: a comparison sort of node numbers by `ids[n]` misses the cache on every
//! comparison (16 % of a 10M-object load). A radix sort moves (id, node) pairs through
//! buckets in sequential passes instead, and only over the bits that differ between ids: the
//! low 3–4 bits of an aligned address are always zero and the high ones mostly the same, so
//! 10M ids take 4 passes of 11 bits.

use super::graph::NodeIx;

/// Bits per radix digit: 2048 buckets, whose write heads stay in the cache.
const DIGIT_BITS: u32 = 11;
const BUCKETS: usize = 1 << DIGIT_BITS;
/// Below this many ids a comparison sort is as fast and allocates less.
const SMALL: usize = 256;

/// The node numbers of `ids` in increasing id order, or the smallest id that occurs twice.
pub(super) fn by_id(ids: &[u64]) -> Result<Vec<NodeIx>, u64> {
    let (keys, nodes) = if ids.len() < SMALL {
        let mut pairs: Vec<(u64, NodeIx)> = ids.iter().zip(0..).map(|(&id, n)| (id, n)).collect();
        pairs.sort_unstable();
        pairs.into_iter().unzip()
    } else {
        radix_sort(ids)
    };
    match keys.windows(2).find(|w| w[0] == w[1]) {
        Some(w) => Err(w[0]),
        None => Ok(nodes),
    }
}

/// `(ids sorted, their node numbers)`. Stable, so equal ids keep their node order.
fn radix_sort(ids: &[u64]) -> (Vec<u64>, Vec<NodeIx>) {
    let first = ids.first().copied().unwrap_or(0);
    let differ = ids.iter().fold(0u64, |acc, &id| acc | (id ^ first));
    if differ == 0 {
        return (ids.to_vec(), (0..ids.len() as NodeIx).collect());
    }
    let low = differ.trailing_zeros();
    let high = 64 - differ.leading_zeros();
    let shifts: Vec<u32> = (low..high).step_by(DIGIT_BITS as usize).collect();
    // Every digit's histogram in one read of the ids.
    let mut counts = vec![[0usize; BUCKETS]; shifts.len()];
    for &id in ids {
        for (count, &shift) in counts.iter_mut().zip(&shifts) {
            count[digit(id, shift)] += 1;
        }
    }
    let mut keys = ids.to_vec();
    let mut nodes: Vec<NodeIx> = (0..ids.len() as NodeIx).collect();
    let mut keys_out = vec![0u64; ids.len()];
    let mut nodes_out: Vec<NodeIx> = vec![0; ids.len()];
    for (count, &shift) in counts.iter().zip(&shifts) {
        // A digit all ids share moves nothing.
        if count.contains(&ids.len()) {
            continue;
        }
        let mut heads = [0usize; BUCKETS];
        let mut at = 0;
        for (head, &c) in heads.iter_mut().zip(count.iter()) {
            *head = at;
            at += c;
        }
        for (&key, &node) in keys.iter().zip(&nodes) {
            let head = &mut heads[digit(key, shift)];
            keys_out[*head] = key;
            nodes_out[*head] = node;
            *head += 1;
        }
        std::mem::swap(&mut keys, &mut keys_out);
        std::mem::swap(&mut nodes, &mut nodes_out);
    }
    (keys, nodes)
}

fn digit(id: u64, shift: u32) -> usize {
    ((id >> shift) as usize) & (BUCKETS - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What a comparison sort says: the order, or the smallest repeated id.
    fn reference(ids: &[u64]) -> Result<Vec<NodeIx>, u64> {
        let mut order: Vec<NodeIx> = (0..ids.len() as NodeIx).collect();
        order.sort_by_key(|&n| (ids[n as usize], n));
        let dup = order
            .windows(2)
            .find(|w| ids[w[0] as usize] == ids[w[1] as usize])
            .map(|w| ids[w[0] as usize]);
        match dup {
            Some(id) => Err(id),
            None => Ok(order),
        }
    }

    fn id() -> impl Strategy<Value = u64> {
        prop_oneof![
            0u64..64,
            any::<u64>(),
            (0u64..100_000).prop_map(|a| 0x7f00_0000_0000 + 16 * a),
            (0u64..1000).prop_map(|a| 0x5600_0000_0000 + 8 * a),
        ]
    }

    proptest! {
        /// Radix and comparison sort agree on every mix of addresses, small numbers and
        /// arbitrary words, above and below the small-input cut-off; a repeat is named.
        #[test]
        fn agrees_with_a_comparison_sort(ids in proptest::collection::vec(id(), 0..2000)) {
            prop_assert_eq!(by_id(&ids), reference(&ids));
        }

        /// Ids that differ only in high bits or only in low bits.
        #[test]
        fn agrees_when_few_bits_differ(base in any::<u64>(), shift in 0u32..60, n in 257usize..1500) {
            let ids: Vec<u64> = (0..n as u64).map(|i| base ^ (((i * 7919) % 1024) << shift)).collect();
            prop_assert_eq!(by_id(&ids), reference(&ids));
        }
    }

    #[test]
    fn sorts_many_equal_and_one_repeat() {
        let mut ids: Vec<u64> = (0..5000u64).rev().map(|i| 0x7f00_0000 + 16 * i).collect();
        let order = by_id(&ids).expect("distinct");
        assert!(order
            .windows(2)
            .all(|w| ids[w[0] as usize] < ids[w[1] as usize]));
        ids.push(0x7f00_0000 + 16 * 4321);
        assert_eq!(by_id(&ids), Err(0x7f00_0000 + 16 * 4321));
        assert_eq!(by_id(&vec![7; 1000]), Err(7));
    }
}
