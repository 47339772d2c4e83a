//! `capture --pid PID`: snapshot a running CPython process without restarting it, without gdb,
//! with nothing installed in it. Preflight reads /proc only; the injector stops one thread at a
//! safe point just long enough to start a new thread, which takes the GIL the normal way and
//! runs the embedded dumper; the snapshot comes back through the target's /tmp, and nothing of
//! refgraph stays in the target.
//!
//! Modules: `run` (the sequence), `preflight` (read-only checks), [`elf`] (exported symbols),
//! `inject` (the ptrace steps), `ptrace` and `x86_64` (system calls and the architecture, the
//! only `unsafe`), [`memory`] (/proc/PID/mem), [`files`] (the directory in the target's /tmp),
//! [`bootstrap`] (the Python the new thread runs). Linux on x86-64 only for now: another
//! architecture needs its own `x86_64.rs` (registers, start routine, system call numbers).

pub mod bootstrap;
pub mod elf;
pub mod files;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub mod inject;
pub mod memory;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub mod preflight;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub mod ptrace;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod run;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub mod x86_64;

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub use run::capture_pid;
use std::path::PathBuf;
use std::time::Duration;

/// What to attach to and how to dump.
#[derive(Debug, Clone)]
pub struct AttachOptions {
    /// The target process.
    pub pid: i32,
    /// Where the snapshot goes (gzip when it ends in .gz).
    pub output: PathBuf,
    /// Keep str/bytes contents.
    pub values: bool,
    /// Run the cycle collector first.
    pub collect: bool,
    /// Write the binary format instead of JSON lines.
    pub binary: bool,
    /// How long to wait for a safe point and for the GIL.
    pub timeout: Duration,
}

/// A snapshot taken.
#[derive(Debug, Clone)]
pub struct AttachOutcome {
    /// The file written.
    pub output: PathBuf,
    /// Objects in it.
    pub objects: u64,
    /// References in it.
    pub edges: u64,
    /// How long the dump ran in the target.
    pub dump_seconds: f64,
    /// Which dumper ran: `native` (with the accelerator) or `python`; None from an older one.
    pub dumper: Option<String>,
    /// Where the new thread was started from.
    pub safe_point: String,
    /// The thread stopped for it.
    pub tid: i32,
    /// How long that thread was stopped.
    pub pause: Duration,
    /// From the start of the attach to the snapshot in place.
    pub total: Duration,
    /// The target's version (`3.11`).
    pub version: String,
}

/// Why there is no snapshot.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    /// Not Linux on x86-64 (the injector's first architecture).
    #[error("attaching to a running process is implemented for Linux on x86-64 only (this is {0}); start the program under `refgraph capture -- …` instead")]
    Platform(String),
    /// Preflight refused.
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    #[error(transparent)]
    Preflight(#[from] preflight::PreflightError),
    /// The injection failed (the target runs on unchanged).
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    #[error("process {pid}: {error}")]
    Inject {
        /// The target.
        pid: i32,
        /// What failed.
        error: inject::InjectError,
    },
    /// No safe point, or no GIL, in time.
    #[error("process {pid}: gave up after {seconds} s: {why}")]
    Timeout {
        /// The target.
        pid: i32,
        /// The timeout.
        seconds: f64,
        /// What it waited for, and what each thread was doing.
        why: String,
    },
    /// The dumper reported a failure.
    #[error("process {pid}: the dump failed: {message}")]
    Dump {
        /// The target.
        pid: i32,
        /// Its message.
        message: String,
    },
    /// The target ended during the attach.
    #[error("process {0} exited during the attach")]
    Gone(i32),
    /// Ctrl-C or SIGTERM.
    #[error("interrupted; the process runs on and nothing of refgraph is left in it")]
    Interrupted,
    /// A file operation failed.
    #[error("{what}: {error}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        error: std::io::Error,
    },
    /// The snapshot could not be written where the user asked.
    #[error(transparent)]
    Output(#[from] crate::output::OutputError),
}

/// Elsewhere: say where attaching works.
#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
pub fn capture_pid(
    _opts: &AttachOptions,
    _say: impl FnMut(&str),
) -> Result<AttachOutcome, AttachError> {
    Err(AttachError::Platform(format!(
        "{} on {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )))
}
