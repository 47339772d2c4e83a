//! Transparent huge pages for the dominator tree's columns: random access over hundreds of MB
//! misses the TLB on every step with 4 KiB pages; measured, it shortened the dominator DFS.
//! (The index reader no longer asks: right after a cold load, huge pages made the first
//! re-open two to three times slower; see `snapshot::index`.)

/// Ask the kernel to back `bytes` bytes at `addr` with huge pages (advice only).
#[cfg(target_os = "linux")]
pub(crate) fn advise_huge_pages(addr: usize, bytes: usize) {
    const HUGE: usize = 2 << 20;
    let start = addr.next_multiple_of(HUGE);
    let end = (addr + bytes) / HUGE * HUGE;
    if end > start {
        // SAFETY: the range lies inside an allocation this process owns, and MADV_HUGEPAGE is
        // advice about page size only: it never changes the contents.
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
    }
}

/// Elsewhere there is nothing to advise.
#[cfg(not(target_os = "linux"))]
pub(crate) fn advise_huge_pages(_addr: usize, _bytes: usize) {}
