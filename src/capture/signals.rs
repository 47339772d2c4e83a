//! Signals while `capture` runs a program. Ctrl-C belongs to the program (the terminal sends
//! it to both; refgraph ignores it and stays to report the snapshot the program writes on its
//! way out). SIGTERM and SIGHUP sent to refgraph alone — what `timeout`, `docker stop` and
//! systemd send — are passed on to the program, and refgraph waits for it as usual. A SIGKILLed
//! refgraph cannot pass anything on: the program is told by the kernel (`PR_SET_PDEATHSIG`).

use std::sync::atomic::{AtomicI32, Ordering};

/// The last SIGTERM/SIGHUP received and not yet passed on (0: none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// The signals passed on to the program.
const FORWARDED: [libc::c_int; 2] = [libc::SIGTERM, libc::SIGHUP];

extern "C" fn note_signal(signal: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    RECEIVED.store(signal, Ordering::SeqCst);
}

/// While alive: SIGINT ignored, SIGTERM/SIGHUP noted for [`Forwarding::take`]; the previous
/// dispositions (the interrupt handler's) come back on drop.
pub struct Forwarding {
    saved: Vec<(libc::c_int, libc::sigaction)>,
}

impl Forwarding {
    /// Install the dispositions. Call after the program was started: an ignored SIGINT would
    /// be inherited through exec.
    pub fn install() -> Self {
        RECEIVED.store(0, Ordering::SeqCst);
        let mut saved = Vec::new();
        let handlers = FORWARDED
            .iter()
            .map(|&s| (s, note_signal as *const () as libc::sighandler_t))
            .chain([(libc::SIGINT, libc::SIG_IGN)]);
        for (signal, handler) in handlers {
            // SAFETY: sigaction with zeroed structs filled in here; the handler only stores to
            // an atomic, which is async-signal-safe.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = handler;
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(signal, &action, &mut old) == 0 {
                    saved.push((signal, old));
                }
            }
        }
        Forwarding { saved }
    }

    /// The signal received since the last call, if any.
    pub fn take(&self) -> Option<i32> {
        match RECEIVED.swap(0, Ordering::SeqCst) {
            0 => None,
            s => Some(s),
        }
    }
}

impl Drop for Forwarding {
    fn drop(&mut self) {
        for (signal, old) in &self.saved {
            // SAFETY: restores a disposition saved by `install`.
            unsafe {
                libc::sigaction(*signal, old, std::ptr::null_mut());
            }
        }
    }
}

/// Send `signal` to process `pid`.
pub fn send(pid: u32, signal: i32) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: kill has no memory effects; a process already gone gives ESRCH, ignored.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// Have the kernel send SIGTERM to the calling process when its parent dies. For
/// `Command::pre_exec`: runs in the forked child, so it only makes async-signal-safe calls.
pub fn die_with_parent(parent: libc::pid_t) -> std::io::Result<()> {
    // SAFETY: prctl and getppid are async-signal-safe system calls without memory effects.
    unsafe {
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // The parent may have died before prctl: then nothing would ever tell us.
        if libc::getppid() != parent {
            libc::raise(libc::SIGTERM);
        }
    }
    Ok(())
}

/// Make this process the reaper of its orphaned descendants (for `--follow-forks`, whose
/// forked workers may outlive the program refgraph started).
pub fn become_subreaper() {
    // SAFETY: prctl with integer arguments only.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1);
    }
}

/// Reap one exited child without blocking: its pid and wait status.
pub fn reap_any() -> Reaped {
    let mut status = 0;
    // SAFETY: waitpid writes only into `status`.
    let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
    match pid {
        0 => Reaped::Running,
        p if p > 0 => Reaped::Exited(p as u32, status),
        _ => Reaped::NoChildren,
    }
}

/// What [`reap_any`] found.
pub enum Reaped {
    /// Children remain, none has exited.
    Running,
    /// This child exited with this wait status.
    Exited(u32, i32),
    /// No children are left.
    NoChildren,
}

/// The shell's convention for a wait status: the exit code, or 128 + the signal.
pub fn exit_code_of_wait_status(status: i32) -> i32 {
    if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        libc::WEXITSTATUS(status)
    }
}
