//! Ctrl-C and SIGTERM: remove the temp file being written, say so on stderr, exit 130.
//!
//! Outputs are written to a temp file and renamed into place (`output.rs`), so an interrupted
//! run can never leave a partial answer under the final name; this module also makes sure the
//! temp file itself does not stay behind, which dropping it cannot do when a signal ends the
//! process.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Temp files being written right now.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The exit code of a run ended by a signal (the shell's 128 + SIGINT).
pub const INTERRUPTED_EXIT: i32 = 130;

/// Install the handler (once, from `main`). The handler runs on its own thread.
pub fn install() -> Result<(), ctrlc::Error> {
    ctrlc::set_handler(|| {
        for path in pending().drain(..) {
            let _ = std::fs::remove_file(path);
        }
        eprintln!("refgraph: interrupted; no output was written");
        std::process::exit(INTERRUPTED_EXIT);
    })
}

fn pending() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    // A panic while holding the lock cannot leave the list inconsistent: use it anyway.
    PENDING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Registers a temp file for removal on interrupt while it lives.
#[derive(Debug)]
pub struct TempGuard {
    path: PathBuf,
}

impl TempGuard {
    /// Remove `path` if the run is interrupted before this guard is dropped.
    pub fn new(path: &Path) -> Self {
        pending().push(path.to_path_buf());
        TempGuard {
            path: path.to_path_buf(),
        }
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        pending().retain(|p| p != &self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guard_is_pending_only_while_it_lives() {
        let path = Path::new("/tmp/refgraph-interrupt-test.tmp");
        {
            let _guard = TempGuard::new(path);
            assert!(pending().iter().any(|p| p == path));
        }
        assert!(!pending().iter().any(|p| p == path));
    }
}
