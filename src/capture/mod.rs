//! `capture`: run a Python program with the embedded dumper loaded and collect the snapshots
//! it writes (at exit, and on a signal for long-running servers).
//!
//! The dumper is a static `.py` file (`python/refgraph/_dump.py`, the Python package's own
//! dumper: one source for both), written to a private temp directory and imported by a short
//! bootstrap; its settings travel in environment variables, which the
//! dumper removes before the program starts. It reports what it wrote in a status file, one
//! JSON line per snapshot, so the program's own stdout and stderr stay untouched.

pub mod launch;
mod signals;

pub use launch::{LaunchError, PythonCommand, SUPPORTED_PYTHONS};
use serde::Deserialize;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::Duration;

/// The dumper's source, embedded so the binary needs nothing beside it.
pub const DUMPER_SOURCE: &str = include_str!("../../python/refgraph/_dump.py");

/// The dumper's native accelerator (`native/rgnative.c`, built by build.rs), when this binary
/// has it: written next to the dumper as [`NATIVE_FILE`], which loads it on the CPythons it
/// was checked on and stays pure Python elsewhere.
#[cfg(has_native)]
pub const NATIVE_MODULE: Option<&[u8]> = Some(include_bytes!(concat!(
    env!("OUT_DIR"),
    "/_refgraph_native.so"
)));
/// Built without a C compiler: no accelerator, the dumper is pure Python.
#[cfg(not(has_native))]
pub const NATIVE_MODULE: Option<&[u8]> = None;

/// The accelerator's file name, next to the dumper (the dumper looks for exactly this name).
pub const NATIVE_FILE: &str = "_refgraph_native.so";

/// The module name the bootstrap imports the dumper as.
const DUMPER_MODULE: &str = "refgraph_dump";

/// Checks the version first (in syntax every Python parses, so that 2.7 and 3.6 say why they
/// cannot be captured, in the status file), then imports the dumper from the directory in
/// `sys.argv[1]` and hands it the rest of argv.
const BOOTSTRAP: &str = "import sys
if sys.version_info[:2] < (3, 8):
    import os; open(os.environ['REFGRAPH_STATUS'], 'a').write('{\"unsupported\": \"%d.%d.%d\"}\\n' % tuple(sys.version_info[:3])); sys.exit(2)
sys.path.insert(0,sys.argv[1]);import refgraph_dump as _m;del sys.path[0];_m._capture_main(sys.argv[2:])";

/// What to run and how to dump it.
#[derive(Debug, Clone)]
pub struct CaptureOptions {
    /// The command line, resolved by [`PythonCommand::parse`].
    pub command: PythonCommand,
    /// Snapshot path for the dump at exit.
    pub output: PathBuf,
    /// Also dump on this signal (`SIGUSR2`), to numbered files.
    pub signal: Option<String>,
    /// Keep str/bytes contents in labels.
    pub values: bool,
    /// Run the cycle collector first (reports cyclic garbage).
    pub collect: bool,
    /// Processes forked from the program dump too, each to `NAME.<pid>.rgsnap`.
    pub follow_forks: bool,
    /// Run the program with tracemalloc keeping this many frames (allocation sites).
    pub trace_alloc: Option<u32>,
    /// Write the binary format instead of JSON lines.
    pub binary: bool,
}

/// One line of the dumper's status file: a snapshot written (or that failed), or a note.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DumpStatus {
    /// The snapshot written (or that failed).
    pub path: Option<String>,
    /// Objects written.
    pub objects: Option<u64>,
    /// References written.
    pub edges: Option<u64>,
    /// How long the dump took.
    pub seconds: Option<f64>,
    /// `exit` or `signal`.
    pub trigger: Option<String>,
    /// Set when the dump failed.
    pub error: Option<String>,
    /// The process that wrote it (the program, or a process forked from it).
    pub pid: Option<u32>,
    /// Something to tell the user that is not a failure (a dump signal during a dump).
    pub note: Option<String>,
    /// Which dumper wrote it: `native` (with the accelerator) or `python`.
    pub dumper: Option<String>,
}

/// The dumper's first status line: it runs, in this process, on this Python.
#[derive(Debug, Clone, Deserialize)]
struct Started {
    started: bool,
    pid: u32,
}

/// The bootstrap's line for a Python older than refgraph supports.
#[derive(Debug, Clone, Deserialize)]
struct Unsupported {
    unsupported: String,
}

/// How a capture ended.
#[derive(Debug)]
pub struct CaptureOutcome {
    /// The program's exit code (128 + signal when a signal killed it), passed through.
    pub exit_code: i32,
    /// Every dump the program (and, with `follow_forks`, its forked processes) reported.
    pub dumps: Vec<DumpStatus>,
    /// The pid of the program when the dumper started in it (None: it never started).
    pub started_pid: Option<u32>,
    /// The Python version, when the bootstrap found it too old to capture.
    pub unsupported: Option<String>,
    /// The signals refgraph received and passed on to the program.
    pub forwarded: Vec<i32>,
}

/// A capture that could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The command line does not start a Python program.
    #[error(transparent)]
    Launch(#[from] LaunchError),
    /// The interpreter does not exist.
    #[error("{0} not found: is Python installed? Name the interpreter after --, e.g. -- /usr/bin/python3 app.py")]
    InterpreterNotFound(String),
    /// Anything else the OS refused.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

fn io_error(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> CaptureError {
    let what = what.into();
    move |source| CaptureError::Io { what, source }
}

/// The default snapshot name for a program: `app.<pid>.rgsnap` in the current directory.
pub fn default_output(command: &PythonCommand) -> PathBuf {
    PathBuf::from(format!(
        "{}.{}.rgsnap",
        command.program_name(),
        std::process::id()
    ))
}

/// Run the program under the dumper. `on_dump` is called as each snapshot is reported (while
/// the program still runs, for signal dumps); `on_start` with the child's pid.
pub fn capture(
    opts: &CaptureOptions,
    on_start: impl FnOnce(u32),
    mut on_dump: impl FnMut(&DumpStatus),
) -> Result<CaptureOutcome, CaptureError> {
    let command = &opts.command;
    let workdir = tempfile::Builder::new()
        .prefix("refgraph-capture-")
        .tempdir()
        .map_err(io_error("creating a temp directory"))?;
    let dumper_path = workdir.path().join(format!("{DUMPER_MODULE}.py"));
    std::fs::write(&dumper_path, DUMPER_SOURCE).map_err(io_error("writing the dumper"))?;
    if let Some(native) = NATIVE_MODULE {
        std::fs::write(workdir.path().join(NATIVE_FILE), native)
            .map_err(io_error("writing the dumper's native module"))?;
    }
    let status_path = workdir.path().join("status.jsonl");
    std::fs::write(&status_path, b"").map_err(io_error("creating the status file"))?;
    let output = absolute(&opts.output)?;
    if opts.follow_forks {
        signals::become_subreaper();
    }
    let mut child = Command::new(&command.interpreter);
    child
        .args(&command.options)
        .arg("-c")
        .arg(BOOTSTRAP)
        .arg(workdir.path())
        .args(&command.target)
        .env("REFGRAPH_OUTPUT", &output)
        .env("REFGRAPH_SIGNAL", opts.signal.as_deref().unwrap_or(""))
        .env("REFGRAPH_VALUES", if opts.values { "1" } else { "0" })
        .env("REFGRAPH_COLLECT", if opts.collect { "1" } else { "0" })
        .env("REFGRAPH_STATUS", &status_path)
        .env(
            "REFGRAPH_FORMAT",
            if opts.binary { "binary" } else { "json" },
        )
        .env(
            "REFGRAPH_FOLLOW_FORKS",
            if opts.follow_forks { "1" } else { "0" },
        );
    if let Some(frames) = opts.trace_alloc {
        child.env("PYTHONTRACEMALLOC", frames.to_string());
    }
    // SAFETY: `die_with_parent` only makes async-signal-safe system calls (prctl, getppid,
    // raise), as a pre_exec hook must.
    let parent = unsafe { libc::getpid() };
    unsafe {
        child.pre_exec(move || signals::die_with_parent(parent));
    }
    let child = child.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            CaptureError::InterpreterNotFound(command.interpreter.to_string_lossy().into_owned())
        }
        _ => CaptureError::Io {
            what: format!("starting {}", command.interpreter.to_string_lossy()),
            source: e,
        },
    })?;
    on_start(child.id());
    let forwarding = signals::Forwarding::install();
    let mut watch = Watch {
        tail: StatusTail::new(&status_path),
        outcome: CaptureOutcome {
            exit_code: 0,
            dumps: Vec::new(),
            started_pid: None,
            unsupported: None,
            forwarded: Vec::new(),
        },
        child_pid: child.id(),
    };
    let exit_code = if opts.follow_forks {
        watch.wait_for_the_tree(&forwarding, &mut on_dump)?
    } else {
        watch.wait_for_the_program(child, &forwarding, &mut on_dump)?
    };
    watch.poll(&mut on_dump);
    watch.outcome.exit_code = exit_code;
    Ok(watch.outcome)
}

/// Follows a running capture: the program's status lines and the signals to pass on.
struct Watch {
    tail: StatusTail,
    outcome: CaptureOutcome,
    child_pid: u32,
}

impl Watch {
    /// Wait for the program refgraph started; processes it forked are not waited for.
    fn wait_for_the_program(
        &mut self,
        mut child: std::process::Child,
        forwarding: &signals::Forwarding,
        on_dump: &mut impl FnMut(&DumpStatus),
    ) -> Result<i32, CaptureError> {
        loop {
            if let Some(status) = child
                .try_wait()
                .map_err(io_error("waiting for the program"))?
            {
                return Ok(exit_code(status));
            }
            self.tick(forwarding, on_dump);
        }
    }

    /// Wait for the program and every process forked from it (refgraph is their reaper).
    fn wait_for_the_tree(
        &mut self,
        forwarding: &signals::Forwarding,
        on_dump: &mut impl FnMut(&DumpStatus),
    ) -> Result<i32, CaptureError> {
        let mut program_exit = None;
        loop {
            match signals::reap_any() {
                signals::Reaped::Exited(pid, status) => {
                    if pid == self.child_pid {
                        program_exit = Some(signals::exit_code_of_wait_status(status));
                    }
                    continue;
                }
                signals::Reaped::NoChildren => return Ok(program_exit.unwrap_or(1)),
                signals::Reaped::Running => self.tick(forwarding, on_dump),
            }
        }
    }

    /// Pass on a signal received, read new status lines, sleep a little.
    fn tick(&mut self, forwarding: &signals::Forwarding, on_dump: &mut impl FnMut(&DumpStatus)) {
        if let Some(signal) = forwarding.take() {
            signals::send(self.child_pid, signal);
            self.outcome.forwarded.push(signal);
        }
        self.poll(on_dump);
        std::thread::sleep(Duration::from_millis(50));
    }

    fn poll(&mut self, on_dump: &mut impl FnMut(&DumpStatus)) {
        let outcome = &mut self.outcome;
        self.tail.poll(|line| {
            if let Ok(s) = serde_json::from_str::<Started>(&line) {
                if s.started {
                    outcome.started_pid.get_or_insert(s.pid);
                }
                return;
            }
            if let Ok(u) = serde_json::from_str::<Unsupported>(&line) {
                outcome.unsupported = Some(u.unsupported);
                return;
            }
            let status = serde_json::from_str(&line).unwrap_or_else(|e| DumpStatus {
                error: Some(format!("unreadable status from the dumper: {e}")),
                ..DumpStatus::default()
            });
            on_dump(&status);
            outcome.dumps.push(status);
        });
    }
}

fn absolute(path: &Path) -> Result<PathBuf, CaptureError> {
    std::path::absolute(path).map_err(io_error(format!("resolving {}", path.display())))
}

/// The shell's convention: the exit code, or 128 + the signal that killed the process.
fn exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    if let Some(sig) = status.signal() {
        return 128 + sig;
    }
    status.code().unwrap_or(1)
}

/// Reads status lines as the dumper appends them.
struct StatusTail {
    reader: Option<BufReader<std::fs::File>>,
    pending: String,
}

impl StatusTail {
    fn new(path: &Path) -> Self {
        StatusTail {
            reader: std::fs::File::open(path).ok().map(BufReader::new),
            pending: String::new(),
        }
    }

    fn poll(&mut self, mut each: impl FnMut(String)) {
        let Some(reader) = self.reader.as_mut() else {
            return;
        };
        loop {
            match reader.read_line(&mut self.pending) {
                Ok(0) | Err(_) => return,
                Ok(_) if !self.pending.ends_with('\n') => return,
                Ok(_) => each(std::mem::take(&mut self.pending)),
            }
        }
    }
}
