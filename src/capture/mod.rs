//! `capture`: run a Python program with the embedded dumper loaded and collect the snapshots
//! it writes (at exit, and on a signal for long-running servers).
//!
//! The dumper is a static `.py` file (`dumper.py`), written to a private temp directory and
//! imported by a one-line bootstrap; its settings travel in environment variables, which the
//! dumper removes before the program starts. It reports what it wrote in a status file, one
//! JSON line per snapshot, so the program's own stdout and stderr stay untouched.

use serde::Deserialize;
use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::Duration;

/// The dumper's source, embedded so the binary needs nothing beside it.
pub const DUMPER_SOURCE: &str = include_str!("dumper.py");

/// The module name the bootstrap imports the dumper as.
const DUMPER_MODULE: &str = "refgraph_dump";

/// Imports the dumper from the directory in `sys.argv[1]` and hands it the rest of argv.
const BOOTSTRAP: &str = "import sys;sys.path.insert(0,sys.argv[1]);import refgraph_dump as _m;\
del sys.path[0];_m._capture_main(sys.argv[2:])";

/// What to run and how to dump it.
#[derive(Debug, Clone)]
pub struct CaptureOptions {
    /// `python3 app.py ARGS…` or `python3 -m module ARGS…`.
    pub command: Vec<OsString>,
    /// Snapshot path for the dump at exit.
    pub output: PathBuf,
    /// Also dump on this signal (`SIGUSR2`), to numbered files.
    pub signal: Option<String>,
    /// Keep str/bytes contents in labels.
    pub values: bool,
    /// Run the cycle collector first (reports cyclic garbage).
    pub collect: bool,
}

/// One line of the dumper's status file.
#[derive(Debug, Clone, Deserialize)]
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
}

/// How a capture ended.
#[derive(Debug)]
pub struct CaptureOutcome {
    /// The program's exit code (128 + signal when a signal killed it), passed through.
    pub exit_code: i32,
    /// Every dump the program reported, in order.
    pub dumps: Vec<DumpStatus>,
}

/// A capture that could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// No command after `--`.
    #[error("nothing to run: give the program after --, e.g. refgraph capture -- python3 app.py")]
    NoCommand,
    /// The command line is not `python … script` or `python … -m module`.
    #[error("{0}")]
    Usage(String),
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

/// The parts of a Python command line: interpreter, its options, and the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonCommand {
    /// The interpreter.
    pub interpreter: OsString,
    /// Interpreter options before the target (`-X dev`, `-W error`, `-u`).
    pub options: Vec<OsString>,
    /// `script.py ARGS…` or `-m module ARGS…`.
    pub target: Vec<OsString>,
}

impl PythonCommand {
    /// Split `python3 [options] script.py ARGS…` / `python3 [options] -m module ARGS…`.
    pub fn parse(command: &[OsString]) -> Result<Self, CaptureError> {
        let (interpreter, rest) = command.split_first().ok_or(CaptureError::NoCommand)?;
        let mut options = Vec::new();
        let mut i = 0;
        while i < rest.len() {
            let arg = rest[i].to_string_lossy();
            match arg.as_ref() {
                "-m" => break,
                "-c" => return Err(CaptureError::Usage("capture runs a script or -m module; -c CODE is not supported (put the code in a file)".into())),
                "-" => return Err(CaptureError::Usage("capture cannot run a program from standard input; give a script file".into())),
                "-W" | "-X" | "--check-hash-based-pycs" => {
                    options.extend(rest[i..(i + 2).min(rest.len())].iter().cloned());
                    i += 2;
                }
                a if a.starts_with('-') => {
                    options.push(rest[i].clone());
                    i += 1;
                }
                _ => break,
            }
        }
        let target = rest[i.min(rest.len())..].to_vec();
        let is_module = target
            .first()
            .map(|t| t == OsStr::new("-m"))
            .unwrap_or(false);
        if target.is_empty() || (is_module && target.len() < 2) {
            return Err(CaptureError::Usage(
                "no script to run: give python3 app.py or python3 -m module after --".into(),
            ));
        }
        Ok(PythonCommand {
            interpreter: interpreter.clone(),
            options,
            target,
        })
    }

    /// A name for default output files: the script's stem or the module name.
    pub fn program_name(&self) -> String {
        if self.target[0] == OsStr::new("-m") {
            let module = self.target[1].to_string_lossy();
            return module.rsplit('.').next().unwrap_or("program").to_string();
        }
        let path = Path::new(&self.target[0]);
        path.file_stem()
            .map_or("program".into(), |s| s.to_string_lossy().into_owned())
    }
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
    let command = PythonCommand::parse(&opts.command)?;
    let workdir = tempfile::Builder::new()
        .prefix("refgraph-capture-")
        .tempdir()
        .map_err(io_error("creating a temp directory"))?;
    let dumper_path = workdir.path().join(format!("{DUMPER_MODULE}.py"));
    std::fs::write(&dumper_path, DUMPER_SOURCE).map_err(io_error("writing the dumper"))?;
    let status_path = workdir.path().join("status.jsonl");
    std::fs::write(&status_path, b"").map_err(io_error("creating the status file"))?;
    let output = absolute(&opts.output)?;
    let mut child = Command::new(&command.interpreter)
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
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => CaptureError::InterpreterNotFound(
                command.interpreter.to_string_lossy().into_owned(),
            ),
            _ => CaptureError::Io {
                what: format!("starting {}", command.interpreter.to_string_lossy()),
                source: e,
            },
        })?;
    on_start(child.id());
    let _ignore = IgnoreInterrupts::new();
    let mut tail = StatusTail::new(&status_path);
    let mut dumps = Vec::new();
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .map_err(io_error("waiting for the program"))?
        {
            break status;
        }
        tail.poll(|s| {
            on_dump(&s);
            dumps.push(s);
        });
        std::thread::sleep(Duration::from_millis(50));
    };
    tail.poll(|s| {
        on_dump(&s);
        dumps.push(s);
    });
    Ok(CaptureOutcome {
        exit_code: exit_code(status),
        dumps,
    })
}

fn absolute(path: &Path) -> Result<PathBuf, CaptureError> {
    std::path::absolute(path).map_err(io_error(format!("resolving {}", path.display())))
}

/// The shell's convention: the exit code, or 128 + the signal that killed the process.
fn exit_code(status: ExitStatus) -> i32 {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return 128 + sig;
        }
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

    fn poll(&mut self, mut each: impl FnMut(DumpStatus)) {
        let Some(reader) = self.reader.as_mut() else {
            return;
        };
        loop {
            match reader.read_line(&mut self.pending) {
                Ok(0) | Err(_) => return,
                Ok(_) if !self.pending.ends_with('\n') => return,
                Ok(_) => {
                    let line = std::mem::take(&mut self.pending);
                    let status = serde_json::from_str(&line).unwrap_or_else(|e| DumpStatus {
                        path: None,
                        objects: None,
                        edges: None,
                        seconds: None,
                        trigger: None,
                        error: Some(format!("unreadable status from the dumper: {e}")),
                    });
                    each(status);
                }
            }
        }
    }
}

/// While the program runs, Ctrl-C is the program's to handle: refgraph ignores SIGINT so it is
/// still there to report the snapshot the program writes on its way out.
struct IgnoreInterrupts {
    #[cfg(unix)]
    previous: libc::sighandler_t,
}

impl IgnoreInterrupts {
    fn new() -> Self {
        #[cfg(unix)]
        {
            // SAFETY: installing SIG_IGN has no handler code to be async-signal-safe about.
            let previous = unsafe { libc::signal(libc::SIGINT, libc::SIG_IGN) };
            IgnoreInterrupts { previous }
        }
        #[cfg(not(unix))]
        IgnoreInterrupts {}
    }
}

impl Drop for IgnoreInterrupts {
    fn drop(&mut self) {
        #[cfg(unix)]
        // SAFETY: restores the disposition saved in `new`.
        unsafe {
            libc::signal(libc::SIGINT, self.previous);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<OsString> {
        s.split_whitespace().map(OsString::from).collect()
    }

    #[test]
    fn splits_interpreter_options_from_the_script() {
        let c = PythonCommand::parse(&args("python3 -X dev -u app.py --port 80")).unwrap();
        assert_eq!(c.options, args("-X dev -u"));
        assert_eq!(c.target, args("app.py --port 80"));
        assert_eq!(c.program_name(), "app");
    }

    #[test]
    fn understands_dash_m() {
        let c = PythonCommand::parse(&args("python3 -m http.server 8000")).unwrap();
        assert_eq!(c.target, args("-m http.server 8000"));
        assert_eq!(c.program_name(), "server");
    }

    #[test]
    fn refuses_what_it_cannot_run() {
        assert!(PythonCommand::parse(&args("python3")).is_err());
        assert!(PythonCommand::parse(&args("python3 -c pass")).is_err());
        assert!(PythonCommand::parse(&args("python3 -m")).is_err());
        assert!(PythonCommand::parse(&[]).is_err());
    }
}
