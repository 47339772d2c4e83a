//! Object ids → their rank in increasing id order, through a bitmap of the address space:
//! the by-id order and the id lookups of a load without sorting or hashing the ids.
//!
//! Ids are addresses of live objects, which the allocator packs densely: a 10M-object heap
//! spans ~1 GB, 16k "pages" of 4096 possible ids (64 KiB of addresses at 16-byte alignment).
//! One bit per possible id, with the rank of the first bit of each 64-bit word beside it, is
//! 768 bytes a page — ~12 MB at 10M objects, small enough to stay in the caches, where a
//! sort moves every id through memory four times and a hash table of 10M slots misses on
//! every probe. An id's rank is its word's rank plus a popcount; `by_id` is the ranks
//! inverted (one scatter), and a referenced id's node is `by_id[rank]`.
//!
//! Ids spread too thinly for pages to pay (a fuzzer's, a few objects per page)
//! get no bitmap ([`IdRanks::new`] returns `None`): the loader sorts and hashes them instead.

use super::graph::NodeIx;

/// Bits of an id key (the id without the low zero bits all ids share) that pick its place in
/// a page: 4096 keys a page.
const PAGE_BITS: u32 = 12;
/// 64-bit words of bits in a page.
const PAGE_WORDS: usize = 1 << (PAGE_BITS - 6);
/// Pages pay when they hold at least this many ids on average (about 12 bytes an id at the
/// limit, less than the hash table they replace).
const MIN_IDS_PER_PAGE: usize = 64;
/// An empty slot of the page table.
const EMPTY: u64 = 0;

pub(super) struct IdRanks {
    /// Ids are multiples of `1 << shift`; keys are `id >> shift`.
    shift: u32,
    /// Open addressing: page number + 1, or [`EMPTY`]…
    page_nos: Vec<u64>,
    /// …and the page's position in increasing page order.
    page_at: Vec<u32>,
    /// `64 - log2(page_nos.len())`.
    table_shift: u32,
    /// [`PAGE_WORDS`] words a page, in page order: bit `k` of word `w` is key
    /// `page * 4096 + 64 * w + k`.
    bits: Vec<u64>,
    /// The rank of each word's first key: how many ids are smaller.
    ranks: Vec<u32>,
}

/// The page a lookup found last: its number + 1 ([`EMPTY`]: none yet) and its first word.
#[derive(Default)]
pub(super) struct Near {
    no: u64,
    first_word: usize,
}

impl IdRanks {
    /// The bitmap of `ids`, `Ok(None)` when they are too sparse for one, or `Err` with the
    /// smallest id that occurs twice.
    pub(super) fn new(ids: &[u64]) -> Result<Option<IdRanks>, u64> {
        let common = ids.iter().fold(0u64, |acc, &id| acc | id);
        let shift = if common == 0 {
            0
        } else {
            common.trailing_zeros()
        };
        let max_pages = ids.len() / MIN_IDS_PER_PAGE + 1;
        let Some(mut ranks) = Self::with_pages(ids, shift, max_pages) else {
            return Ok(None);
        };
        let mut repeated: Option<u64> = None;
        let mut near = Near::default();
        for &id in ids {
            let key = id >> shift;
            let w = ranks.word_near(key, &mut near).unwrap_or(usize::MAX);
            let bit = 1u64 << (key & 63);
            // Every page was made above: `w` is in range.
            let Some(word) = ranks.bits.get_mut(w) else {
                continue;
            };
            if *word & bit != 0 {
                repeated = Some(repeated.map_or(id, |r| r.min(id)));
            }
            *word |= bit;
        }
        if let Some(id) = repeated {
            return Err(id);
        }
        let mut at = 0u32;
        for (rank, word) in ranks.ranks.iter_mut().zip(&ranks.bits) {
            *rank = at;
            at += word.count_ones();
        }
        Ok(Some(ranks))
    }

    /// The page table of `ids`' pages in page order, with zero bits; `None` past `max_pages`.
    fn with_pages(ids: &[u64], shift: u32, max_pages: usize) -> Option<IdRanks> {
        let bits = (2 * max_pages).next_power_of_two().max(16).trailing_zeros();
        let mut table = IdRanks {
            shift,
            page_nos: vec![EMPTY; 1 << bits],
            page_at: vec![0; 1 << bits],
            table_shift: 64 - bits,
            bits: Vec::new(),
            ranks: Vec::new(),
        };
        let mut pages: Vec<u64> = Vec::new();
        let mut last = EMPTY;
        for &id in ids {
            let no = ((id >> shift) >> PAGE_BITS) + 1;
            if no == last {
                continue;
            }
            last = no;
            let slot = table.slot(no);
            if table.page_nos[slot] == EMPTY {
                if pages.len() == max_pages {
                    return None;
                }
                table.page_nos[slot] = no;
                pages.push(no);
            }
        }
        pages.sort_unstable();
        for (at, &no) in pages.iter().enumerate() {
            let slot = table.slot(no);
            table.page_at[slot] = at as u32;
        }
        table.bits = vec![0; pages.len() * PAGE_WORDS];
        table.ranks = vec![0; pages.len() * PAGE_WORDS];
        Some(table)
    }

    /// The slot of page number `no` (+ 1): where it is, or the empty slot where it goes.
    fn slot(&self, no: u64) -> usize {
        let mask = self.page_nos.len() - 1;
        let mut slot = (no.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.table_shift) as usize;
        while self.page_nos[slot] != no && self.page_nos[slot] != EMPTY {
            slot = (slot + 1) & mask;
        }
        slot
    }

    /// The index in `bits` of the word holding `key`, if its page is known. `near` remembers
    /// the last page found: ids that follow each other in a column are often neighbours in
    /// memory.
    fn word_near(&self, key: u64, near: &mut Near) -> Option<usize> {
        let no = (key >> PAGE_BITS) + 1;
        if no != near.no {
            let slot = self.slot(no);
            if self.page_nos[slot] == EMPTY {
                return None;
            }
            *near = Near {
                no,
                first_word: self.page_at[slot] as usize * PAGE_WORDS,
            };
        }
        Some(near.first_word + ((key >> 6) as usize & (PAGE_WORDS - 1)))
    }

    /// How many ids are smaller than `id`, if `id` is one of them; `near` remembers the last
    /// page found, for the next call.
    pub(super) fn rank(&self, id: u64, near: &mut Near) -> Option<u32> {
        if id & ((1u64 << self.shift) - 1) != 0 {
            return None;
        }
        let key = id >> self.shift;
        let w = self.word_near(key, near)?;
        let word = self.bits[w];
        let below = word & ((1u64 << (key & 63)) - 1);
        (word >> (key & 63) & 1 == 1).then(|| self.ranks[w] + below.count_ones())
    }

    /// The node numbers of `ids` (the column this bitmap was made of) in increasing id
    /// order.
    pub(super) fn by_id(&self, ids: &[u64]) -> Vec<NodeIx> {
        let mut by_id: Vec<NodeIx> = vec![0; ids.len()];
        let mut near = Near::default();
        for (node, &id) in ids.iter().enumerate() {
            if let Some(slot) = self
                .rank(id, &mut near)
                .and_then(|r| by_id.get_mut(r as usize))
            {
                *slot = node as NodeIx;
            }
        }
        by_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The ranks by a comparison sort, or the smallest repeated id.
    fn reference(ids: &[u64]) -> Result<Vec<u64>, u64> {
        let mut sorted = ids.to_vec();
        sorted.sort_unstable();
        match sorted.windows(2).find(|w| w[0] == w[1]) {
            Some(w) => Err(w[0]),
            None => Ok(sorted),
        }
    }

    /// Addresses as a heap has them: clusters of aligned objects, a few far away.
    fn dense_ids() -> impl Strategy<Value = Vec<u64>> {
        (
            prop_oneof![Just(8u64), Just(16), Just(48)],
            proptest::collection::vec(0u64..20_000, 0..3000),
            proptest::collection::vec(any::<u64>(), 0..3),
        )
            .prop_map(|(align, offsets, far)| {
                offsets
                    .into_iter()
                    .map(|o| 0x7f3a_0000_0000 + align * o)
                    .chain(far.into_iter().map(|f| f & !15))
                    .collect()
            })
    }

    proptest! {
        /// Every id's rank is its place in sorted order, an id not among them has none, the
        /// by-id order is sorted, and a repeat is named as a sort finds it.
        #[test]
        fn ranks_agree_with_a_sort(ids in dense_ids(), probes in proptest::collection::vec(any::<u64>(), 0..50)) {
            let made = IdRanks::new(&ids);
            match reference(&ids) {
                // (too sparse for a bitmap: the loader's sort finds the repeat)
                Err(dup) => prop_assert!(matches!(made, Ok(None)) || made.err() == Some(dup)),
                Ok(sorted) => {
                    let Ok(Some(ranks)) = made else {
                        // too sparse: only when there are few ids a page
                        prop_assert!(made.is_ok());
                        return Ok(());
                    };
                    for (r, &id) in sorted.iter().enumerate() {
                        prop_assert_eq!(ranks.rank(id, &mut Near::default()), Some(r as u32));
                    }
                    for p in probes.iter().copied().chain(sorted.iter().map(|id| id + 8)) {
                        prop_assert_eq!(ranks.rank(p, &mut Near::default()), sorted.binary_search(&p).ok().map(|r| r as u32));
                    }
                    let by_id = ranks.by_id(&ids);
                    let order: Vec<u64> = by_id.iter().map(|&n| ids[n as usize]).collect();
                    prop_assert_eq!(order, sorted);
                }
            }
        }
    }

    #[test]
    fn sparse_ids_get_no_bitmap_and_dense_ones_do() {
        let sparse: Vec<u64> = (1..1000u64).map(|i| (i << 30) + 16).collect();
        assert!(matches!(IdRanks::new(&sparse), Ok(None)));
        let dense: Vec<u64> = (1..1000u64).map(|i| 0x5600_0000 + 16 * i).collect();
        let ranks = IdRanks::new(&dense).expect("distinct").expect("dense");
        assert_eq!(ranks.rank(0x5600_0000 + 16, &mut Near::default()), Some(0));
        assert_eq!(ranks.rank(0x5600_0000 + 17, &mut Near::default()), None);
        assert_eq!(ranks.rank(0x5600_0000, &mut Near::default()), None);
    }

    #[test]
    fn zero_ids_and_repeats() {
        assert!(matches!(IdRanks::new(&[]), Ok(Some(_))));
        let one = IdRanks::new(&[0]).expect("one id").expect("dense");
        assert_eq!(one.rank(0, &mut Near::default()), Some(0));
        assert_eq!(one.rank(1, &mut Near::default()), None);
        assert_eq!(IdRanks::new(&[0, 0]).err(), Some(0));
        assert_eq!(IdRanks::new(&[7, 3, 7, 3]).err(), Some(3));
    }
}
