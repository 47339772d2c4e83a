//! The attach itself on Linux x86-64: preflight, the directory, the injection (a parked thread,
//! else a breakpoint), waiting for the dump (or giving up and taking the ticket back), and the
//! snapshot moved to its place.

use super::files::TargetDir;
use super::preflight::{self, ThreadInfo};
use super::{bootstrap, inject, memory, ptrace, x86_64};
use super::{AttachError, AttachOptions, AttachOutcome};
use crate::capture::DUMPER_SOURCE;
use std::path::Path;
use std::time::{Duration, Instant};

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> AttachError {
    let what = what.into();
    move |error| AttachError::Io { what, error }
}

/// How often the waiting message repeats.
const SAY_EVERY: Duration = Duration::from_secs(3);

/// How long no parked thread is seen before breakpoints are tried.
const PARK_GRACE: Duration = Duration::from_millis(200);

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rfind(')')
                .and_then(|i| s[i + 1..].trim_start().chars().next())
        })
        .is_some_and(|state| state != 'Z' && state != 'X')
}

fn describe(threads: &[ThreadInfo]) -> String {
    threads
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// While the new thread waits for the GIL: who seems to hold it. A thread that is neither
/// waiting on a futex (as threads waiting for the GIL do) nor the new thread holds it, or runs
/// C code that released it.
fn gil_story(threads: &[ThreadInfo], new_tid: Option<i32>) -> String {
    let others: Vec<&ThreadInfo> = threads
        .iter()
        .filter(|t| Some(t.tid) != new_tid && t.syscall.map(|(nr, _)| nr) != Some(202))
        .collect();
    match others.as_slice() {
        [one] if one.state != 'R' => format!(
            "the dump thread waits for the GIL; {one}: it holds the GIL in C code, most likely"
        ),
        [one] => format!("the dump thread waits for the GIL; {one}"),
        _ => format!("the dump thread waits for the GIL; {}", describe(threads)),
    }
}

/// The snapshot file name in the target's directory: gzip when the output's name asks.
fn snapshot_name(output: &Path) -> &'static str {
    if output.extension().is_some_and(|e| e == "gz") {
        "snapshot.rgsnap.gz"
    } else {
        "snapshot.rgsnap"
    }
}

/// Attach, dump, bring the snapshot back. `say` gets progress lines (waiting, what each
/// thread does).
pub fn capture_pid(
    opts: &AttachOptions,
    mut say: impl FnMut(&str),
) -> Result<AttachOutcome, AttachError> {
    let started = Instant::now();
    let guard = ptrace::InterruptGuard::install();
    let pid = opts.pid;
    let target = preflight::preflight(pid)?;
    say(&format!(
        "attaching to process {pid} ({}, Python {}, {} thread{})",
        target.name,
        target.version_text(),
        target.threads.len(),
        if target.threads.len() == 1 { "" } else { "s" }
    ));
    let mut dir = TargetDir::create(pid, target.uid, target.gid)
        .map_err(io(format!("creating a directory in /proc/{pid}/root/tmp")))?;
    say(&format!(
        "files in {} (its /tmp), removed at the end",
        dir.inside
    ));
    let module = format!(
        "_refgraph_attach_{}",
        dir.inside.rsplit('-').next().unwrap_or("dump")
    );
    let snap = snapshot_name(&opts.output);
    for (name, data) in [
        (format!("{module}.py"), DUMPER_SOURCE.as_bytes()),
        (bootstrap::STATUS.to_string(), &b""[..]),
        (bootstrap::TICKET.to_string(), &b""[..]),
    ]
    .into_iter()
    .chain(crate::capture::NATIVE_MODULE.map(|so| (crate::capture::NATIVE_FILE.to_string(), so)))
    {
        dir.write_new(&name, data, target.uid, target.gid)
            .map_err(io(format!(
                "writing {}/{name} in process {pid}'s /tmp",
                dir.inside
            )))?;
    }
    let code = bootstrap::code(
        &dir.inside,
        &module,
        snap,
        opts.values,
        opts.collect,
        opts.binary,
    );
    let deadline = started + opts.timeout;
    let mem = memory::Memory::open(pid).map_err(io(format!("opening /proc/{pid}/mem")))?;
    let tids_before: Vec<i32> = preflight::threads(pid)?.iter().map(|t| t.tid).collect();

    // 1. Start the thread at a safe point.
    let mut said = Instant::now() - SAY_EVERY;
    let mut unparked_since: Option<Instant> = None;
    let injected = loop {
        if guard.interrupted() {
            return Err(AttachError::Interrupted);
        }
        if !alive(pid) {
            return Err(AttachError::Gone(pid));
        }
        let threads = preflight::threads(pid)?;
        if Instant::now() >= deadline {
            return Err(AttachError::Timeout {
                pid,
                seconds: opts.timeout.as_secs_f64(),
                why: format!(
                    "no thread reached a safe point (a blocking system call, or an allocation): {}",
                    describe(&threads)
                ),
            });
        }
        let restarts = |t: &&ThreadInfo| {
            t.syscall
                .and_then(|(nr, _)| x86_64::syscall_kind(nr))
                .is_some_and(|k| k.restarts)
        };
        let parked = threads
            .iter()
            .filter(|t| t.parked)
            .max_by_key(|t| (restarts(t), t.main));
        if let Some(parked) = parked {
            let got = inject::inject_parked(&target, parked, code.as_bytes(), &mem)
                .map_err(|error| AttachError::Inject { pid, error })?;
            if let Some(got) = got {
                break got;
            }
            continue;
        }
        let since = *unparked_since.get_or_insert_with(Instant::now);
        if said.elapsed() >= SAY_EVERY {
            say(&format!("waiting for a safe point: {}", describe(&threads)));
            said = Instant::now();
        }
        if since.elapsed() >= PARK_GRACE {
            let until = deadline.min(Instant::now() + Duration::from_secs(1));
            let got = inject::inject_at_breakpoint(&target, code.as_bytes(), &mem, until, &|| {
                guard.interrupted()
            })
            .map_err(|error| AttachError::Inject { pid, error })?;
            if let Some(got) = got {
                break got;
            }
            unparked_since = None;
        } else {
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    say(&format!(
        "started a dump thread from thread {} at {} (it was stopped for {:.1} ms)",
        injected.tid,
        injected.safe_point,
        injected.pause.as_secs_f64() * 1e3
    ));

    // 2. Wait for the dump.
    let mut dump_started = false;
    let mut said = Instant::now();
    let result = loop {
        let status = dir
            .read_text(bootstrap::STATUS)
            .map_err(io(format!("reading {}/status", dir.inside)))?;
        let mut done = None;
        for line in status.lines() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            if v.get("started").is_some() {
                dump_started = true;
            }
            if let Some(message) = v.get("error") {
                done = Some(Err(message.as_str().unwrap_or("?").to_string()));
            }
            if let Some(objects) = v.get("objects").and_then(|o| o.as_u64()) {
                let edges = v.get("edges").and_then(|o| o.as_u64()).unwrap_or(0);
                let seconds = v.get("seconds").and_then(|o| o.as_f64()).unwrap_or(0.0);
                let dumper = v.get("dumper").and_then(|o| o.as_str()).map(str::to_string);
                done = Some(Ok((objects, edges, seconds, dumper)));
            }
        }
        if let Some(done) = done {
            break done;
        }
        let give_up = guard.interrupted() || Instant::now() >= deadline;
        if give_up && !dump_started {
            // Take the ticket back: a thread that gets the GIL later finds none and exits.
            match dir.rename(bootstrap::TICKET, bootstrap::CANCELLED) {
                Ok(()) => {
                    if guard.interrupted() {
                        return Err(AttachError::Interrupted);
                    }
                    let threads = preflight::threads(pid)?;
                    let new_tid = threads
                        .iter()
                        .map(|t| t.tid)
                        .find(|t| !tids_before.contains(t));
                    return Err(AttachError::Timeout {
                        pid,
                        seconds: opts.timeout.as_secs_f64(),
                        why: format!(
                            "{}; the dump thread will exit without dumping when it gets the GIL",
                            gil_story(&threads, new_tid)
                        ),
                    });
                }
                Err(_) => dump_started = true, // it took the ticket just now
            }
        }
        if guard.interrupted() {
            return Err(AttachError::Interrupted);
        }
        if !alive(pid) {
            return Err(AttachError::Gone(pid));
        }
        if said.elapsed() >= SAY_EVERY {
            if dump_started {
                say("the dump is running");
            } else if let Ok(threads) = preflight::threads(pid) {
                let new_tid = threads
                    .iter()
                    .map(|t| t.tid)
                    .find(|t| !tids_before.contains(t));
                say(&gil_story(&threads, new_tid));
            }
            said = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let (objects, edges, dump_seconds, dumper) =
        result.map_err(|message| AttachError::Dump { pid, message })?;

    // 3. Bring the snapshot back, atomically.
    let Some(mut snapshot) = dir
        .open_regular(snap)
        .map_err(io(format!("opening {}/{snap}", dir.inside)))?
    else {
        return Err(AttachError::Dump {
            pid,
            message: "it reported success but wrote no file".into(),
        });
    };
    crate::output::write_atomically(&opts.output, |w| std::io::copy(&mut snapshot, w).map(drop))?;
    dir.remove();
    Ok(AttachOutcome {
        output: opts.output.clone(),
        objects,
        edges,
        dump_seconds,
        dumper,
        safe_point: injected.safe_point,
        tid: injected.tid,
        pause: injected.pause,
        total: started.elapsed(),
        version: target.version_text(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread(tid: i32, state: char, syscall: Option<i64>, main: bool) -> ThreadInfo {
        ThreadInfo {
            tid,
            name: "python3".into(),
            state,
            syscall: syscall.map(|nr| (nr, 0)),
            parked: false,
            main,
        }
    }

    #[test]
    fn the_thread_not_waiting_for_a_lock_is_named_as_the_gil_holder() {
        const FUTEX: i64 = 202;
        const CLOCK_NANOSLEEP: i64 = 230;
        let threads = [
            thread(10, 'S', Some(CLOCK_NANOSLEEP), true),
            thread(11, 'S', Some(FUTEX), false),
            thread(12, 'S', Some(FUTEX), false),
        ];
        let story = gil_story(&threads, Some(12));
        assert!(
            story.contains("thread 10 (python3, main) waits in clock_nanosleep")
                && story.contains("holds the GIL in C code"),
            "{story}"
        );
        let running = [
            thread(10, 'R', None, true),
            thread(12, 'S', Some(FUTEX), false),
        ];
        assert!(gil_story(&running, Some(12)).contains("thread 10 (python3, main) is running"));
    }

    #[test]
    fn gzip_by_the_output_name() {
        assert_eq!(
            snapshot_name(Path::new("a.rgsnap.gz")),
            "snapshot.rgsnap.gz"
        );
        assert_eq!(snapshot_name(Path::new("a.rgsnap")), "snapshot.rgsnap");
    }
}
