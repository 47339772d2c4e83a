//! Running Graphviz `dot` on a DOT text: found on `PATH`, fed on stdin, killed after a
//! timeout, its errors turned into refgraph's own messages.
//!
//! Not graphviz-rust's `exec_dot`: it writes the graph to a temp file, waits for `dot` with no
//! time limit (a 1000-node labelled graph takes 10–23 s), and reports a missing `dot` as a
//! bare "No such file or directory" and a syntax error with the temp file's path. Spawning
//! `dot` ourselves is as short and fixes all three.

use super::image::RenderError;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Longest `dot` may run. Graphs are capped (`--max-nodes`) and lose their edge labels when
/// large, so a normal run takes well under a second; this stops a pathological one.
pub const DOT_TIMEOUT: Duration = Duration::from_secs(30);

/// The `dot` program on `PATH`, if there is one.
pub fn find_dot() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| DOT_NAMES.iter().map(move |name| dir.join(name)))
        .find(|p| is_executable(p))
}

#[cfg(windows)]
const DOT_NAMES: [&str; 2] = ["dot.exe", "dot"];
#[cfg(not(windows))]
const DOT_NAMES: [&str; 1] = ["dot"];

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(p: &Path) -> bool {
    p.is_file()
}

/// Run `dot -T<format>` on `dot_text` and return its output.
pub fn run_dot(dot_text: &str, format: &str, timeout: Duration) -> Result<Vec<u8>, RenderError> {
    let mut child = Command::new("dot")
        .arg(format!("-T{format}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(spawn_error)?;
    let writer = feed(&mut child, dot_text.to_string());
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let status = wait_for(&mut child, timeout)?;
    // A write error is only a symptom (dot exited early); its status and stderr say why.
    let _ = writer.join();
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    check(status, stdout, &stderr)
}

fn spawn_error(e: io::Error) -> RenderError {
    if e.kind() == io::ErrorKind::NotFound {
        RenderError::DotNotFound
    } else {
        RenderError::DotIo(e)
    }
}

/// Write the graph on `dot`'s stdin from a thread, so a full stdout pipe cannot deadlock us.
fn feed(child: &mut Child, text: String) -> JoinHandle<io::Result<()>> {
    let stdin = child.stdin.take();
    thread::spawn(move || match stdin {
        Some(mut pipe) => pipe.write_all(text.as_bytes()),
        None => Ok(()),
    })
}

/// A pipe's whole content, read from a thread.
fn drain<R: PipeRead>(pipe: Option<R>) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut buf);
        }
        buf
    })
}

/// The child pipes [`drain`] reads.
trait PipeRead: Read + Send + 'static {}
impl PipeRead for ChildStdout {}
impl PipeRead for ChildStderr {}

/// Wait for `child`, killing it after `timeout`.
fn wait_for(child: &mut Child, timeout: Duration) -> Result<ExitStatus, RenderError> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(RenderError::DotIo)? {
            return Ok(status);
        }
        if start.elapsed() >= timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(RenderError::DotTimeout {
                seconds: timeout.as_secs(),
            });
        }
        thread::sleep(Duration::from_millis(5));
    }
}

fn check(status: ExitStatus, stdout: Vec<u8>, stderr: &[u8]) -> Result<Vec<u8>, RenderError> {
    if status.success() && !stdout.is_empty() {
        return Ok(stdout);
    }
    let message = String::from_utf8_lossy(stderr);
    Err(RenderError::DotFailed {
        status: status.code(),
        stderr: crate::render::text::term_safe(message.trim()).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_errors_carry_its_message_and_a_missing_dot_is_named() {
        if find_dot().is_none() {
            eprintln!("skipped: Graphviz `dot` is not on PATH");
            return;
        }
        let svg = run_dot("digraph { a -> b }", "svg", DOT_TIMEOUT).expect("dot draws");
        assert!(String::from_utf8_lossy(&svg).contains("<svg"));
        let err = run_dot("digraph { a -> }", "svg", DOT_TIMEOUT).expect_err("syntax error");
        assert!(err.to_string().contains("syntax error"), "{err}");
        assert_eq!(
            spawn_error(io::Error::from(io::ErrorKind::NotFound)).to_string(),
            RenderError::DotNotFound.to_string()
        );
    }
}
