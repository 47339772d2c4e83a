//! A mapped index file cut short underneath: one line and exit 2, never a crash.
//!
//! Re-opening a snapshot maps its index (`snapshot::column`). If another program truncates that
//! file in place while refgraph runs (`cp other.rgidx SNAP.rgidx` writes into the same inode;
//! refgraph itself only ever renames a new index into place), the next read of a page past the
//! new end makes the kernel send SIGBUS, which would kill the process with no word of why.
//! The handler installed here looks the faulting address up among the mapped files, writes
//! `refgraph: FILE: …` on stderr and exits with code 2. A SIGBUS anywhere else keeps its
//! default action.

use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};

/// Mapped files remembered at once. A slot is freed when its map is dropped; were more maps
/// than this alive at once (a `refgraph shell` holding many snapshots), the oldest slot is
/// reused and a fault in that map keeps the default action.
const SLOTS: usize = 64;

struct Slot {
    /// Taken by a live map (claimed before the other fields are written).
    taken: AtomicBool,
    start: AtomicUsize,
    len: AtomicUsize,
    message: AtomicPtr<u8>,
    message_len: AtomicUsize,
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Slot = Slot {
    taken: AtomicBool::new(false),
    start: AtomicUsize::new(0),
    len: AtomicUsize::new(0),
    message: AtomicPtr::new(std::ptr::null_mut()),
    message_len: AtomicUsize::new(0),
};
static SLOTS_IN_USE: [Slot; SLOTS] = [EMPTY; SLOTS];
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// The exit code after a mapped file was cut short (an error, as for any bad input).
const EXIT: i32 = 2;

/// Install the handler (once, from `main`).
#[cfg(unix)]
pub fn install() {
    // SAFETY: a zeroed `sigaction` is a valid empty one; the handler only reads atomics and
    // calls `write` and `_exit`, which are async-signal-safe.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigbus as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
    }
}

#[cfg(not(unix))]
pub fn install() {}

/// A registered map; dropping it (before the map is unmapped) frees its slot.
#[derive(Debug)]
pub(crate) struct Registration {
    slot: usize,
    start: usize,
}

/// Remember that `len` bytes at `start` are a map of `file`, for the message if it faults.
pub(crate) fn register(start: *const u8, len: usize, file: &std::path::Path) -> Registration {
    let text = format!(
        "refgraph: {}: the file was cut short while refgraph was reading it (was it overwritten \
         in place?); run the command again\n",
        crate::render::text::term_safe(&file.display().to_string())
    );
    // Leaked on purpose: the handler may read it at any time until the process ends; a few
    // hundred bytes per map.
    let message: &'static mut [u8] = Box::leak(text.into_bytes().into_boxed_slice());
    let free = SLOTS_IN_USE.iter().position(|slot| {
        slot.taken
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    });
    let index = free.unwrap_or_else(|| NEXT.fetch_add(1, Ordering::Relaxed) % SLOTS);
    let slot = &SLOTS_IN_USE[index];
    slot.taken.store(true, Ordering::SeqCst);
    slot.len.store(0, Ordering::SeqCst);
    slot.message_len.store(message.len(), Ordering::SeqCst);
    slot.message.store(message.as_mut_ptr(), Ordering::SeqCst);
    slot.start.store(start as usize, Ordering::SeqCst);
    slot.len.store(len, Ordering::SeqCst);
    Registration {
        slot: index,
        start: start as usize,
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let slot = &SLOTS_IN_USE[self.slot];
        // Only if the slot was not reused for a later map since.
        if slot.start.load(Ordering::SeqCst) == self.start {
            slot.len.store(0, Ordering::SeqCst);
            slot.start.store(0, Ordering::SeqCst);
            slot.taken.store(false, Ordering::SeqCst);
        }
    }
}

/// The message for a fault at `address`, if it lies in a registered map.
fn message_for(address: usize) -> Option<(*const u8, usize)> {
    SLOTS_IN_USE.iter().find_map(|slot| {
        let start = slot.start.load(Ordering::SeqCst);
        let len = slot.len.load(Ordering::SeqCst);
        let inside = address >= start && address - start < len;
        let message = slot.message.load(Ordering::SeqCst);
        (inside && !message.is_null()).then(|| {
            (
                message as *const u8,
                slot.message_len.load(Ordering::SeqCst),
            )
        })
    })
}

#[cfg(unix)]
extern "C" fn on_sigbus(_: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for a SA_SIGINFO handler; `si_addr` is the
    // faulting address for SIGBUS.
    let address = unsafe { (*info).si_addr() } as usize;
    match message_for(address) {
        // SAFETY: the message is a leaked, never-freed buffer of `len` bytes; `write` and
        // `_exit` are async-signal-safe.
        Some((message, len)) => unsafe {
            libc::write(2, message.cast(), len);
            libc::_exit(EXIT);
        },
        // Not ours: the default action (the fault happens again on return and ends the
        // process as it would have without this handler).
        // SAFETY: restoring the default disposition of SIGBUS.
        None => unsafe {
            libc::signal(libc::SIGBUS, libc::SIG_DFL);
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_is_found_in_the_registered_map_only() {
        let bytes = vec![0u8; 4096];
        let registration = register(bytes.as_ptr(), bytes.len(), std::path::Path::new("a.rgidx"));
        let start = bytes.as_ptr() as usize;
        let (message, len) = message_for(start + 100).expect("inside");
        // SAFETY: a registered message, leaked for the life of the process.
        let text = unsafe { std::slice::from_raw_parts(message, len) };
        let text = std::str::from_utf8(text).unwrap();
        assert!(
            text.starts_with("refgraph: a.rgidx: the file was cut short"),
            "{text}"
        );
        assert!(message_for(start + 4096).is_none());
        assert!(message_for(start.wrapping_sub(1)).is_none());
        drop(registration);
        assert!(message_for(start + 100).is_none(), "freed with its map");
    }

    #[test]
    fn a_slot_freed_by_a_dropped_map_is_taken_again_before_any_live_one() {
        let live: Vec<Vec<u8>> = (0..SLOTS / 2).map(|_| vec![0u8; 64]).collect();
        let _held: Vec<Registration> = live
            .iter()
            .map(|b| register(b.as_ptr(), b.len(), std::path::Path::new("live.rgidx")))
            .collect();
        // Many more maps than slots, each dropped before the next: none pushes a live one out.
        for _ in 0..4 * SLOTS {
            let passing = [0u8; 64];
            let _r = register(
                passing.as_ptr(),
                passing.len(),
                std::path::Path::new("x.rgidx"),
            );
        }
        for b in &live {
            assert!(message_for(b.as_ptr() as usize).is_some());
        }
    }
}
