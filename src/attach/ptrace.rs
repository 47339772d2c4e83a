//! The system calls the injector needs and Rust's std does not wrap: ptrace (seize, interrupt,
//! registers, continue, detach), waitpid on threads, and the SIGINT/SIGTERM handler that lets
//! an attach clean up before it exits. Thin wrappers: the decisions live in `inject.rs`.

use super::x86_64::{Regs, NT_XSTATE};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

/// How a traced thread stopped (or ended), as `waitpid` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// A signal is about to be delivered to it (signal-delivery-stop).
    Signal(i32),
    /// `PTRACE_EVENT_STOP`: our `PTRACE_INTERRUPT` or a new traced thread's first stop
    /// (signal SIGTRAP), or a group-stop (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU).
    EventStop(i32),
    /// Another ptrace event (`PTRACE_EVENT_CLONE`, `PTRACE_EVENT_EXIT`, …).
    Event(i32),
    /// It exited, or a signal killed it.
    Gone,
}

fn check(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn request(req: libc::c_uint, tid: i32, addr: usize, data: usize) -> io::Result<libc::c_long> {
    // SAFETY: every caller passes either integers (addr/data unused by the request, or a
    // signal number / option bits), or a pointer to a live buffer of the size the request
    // writes (GETREGS: a user_regs_struct; GETREGSET: an iovec describing a live buffer).
    check(unsafe { libc::ptrace(req, tid, addr, data) })
}

/// Attach to one thread without stopping it, with these `PTRACE_O_*` options.
pub fn seize(tid: i32, options: usize) -> io::Result<()> {
    request(libc::PTRACE_SEIZE, tid, 0, options).map(drop)
}

/// Ask a seized thread to stop (it reports [`Stop::EventStop`] with SIGTRAP).
pub fn interrupt(tid: i32) -> io::Result<()> {
    request(libc::PTRACE_INTERRUPT, tid, 0, 0).map(drop)
}

/// Resume a stopped thread, delivering `signal` (0: none).
pub fn cont(tid: i32, signal: i32) -> io::Result<()> {
    request(libc::PTRACE_CONT, tid, 0, signal as usize).map(drop)
}

/// Leave a group-stopped thread stopped but let it report the next event (`PTRACE_LISTEN`).
pub fn listen(tid: i32) -> io::Result<()> {
    request(libc::PTRACE_LISTEN, tid, 0, 0).map(drop)
}

/// Stop tracing a stopped thread, delivering `signal` (0: none) as it resumes.
pub fn detach(tid: i32, signal: i32) -> io::Result<()> {
    request(libc::PTRACE_DETACH, tid, 0, signal as usize).map(drop)
}

/// The general registers of a stopped thread.
pub fn get_regs(tid: i32) -> io::Result<Regs> {
    // SAFETY: user_regs_struct is plain integers; all-zero is valid, and GETREGS fills it.
    let mut regs: Regs = unsafe { std::mem::zeroed() };
    request(
        libc::PTRACE_GETREGS,
        tid,
        0,
        &mut regs as *mut Regs as usize,
    )?;
    Ok(regs)
}

/// Set the general registers of a stopped thread.
pub fn set_regs(tid: i32, regs: &Regs) -> io::Result<()> {
    request(libc::PTRACE_SETREGS, tid, 0, regs as *const Regs as usize).map(drop)
}

/// The full floating-point and vector state (XSAVE area) of a stopped thread.
pub fn get_fpu(tid: i32) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    request(
        libc::PTRACE_GETREGSET,
        tid,
        NT_XSTATE as usize,
        &mut iov as *mut libc::iovec as usize,
    )?;
    buf.truncate(iov.iov_len);
    Ok(buf)
}

/// Put back a state [`get_fpu`] returned.
pub fn set_fpu(tid: i32, state: &[u8]) -> io::Result<()> {
    let mut copy = state.to_vec();
    let mut iov = libc::iovec {
        iov_base: copy.as_mut_ptr().cast(),
        iov_len: copy.len(),
    };
    request(
        libc::PTRACE_SETREGSET,
        tid,
        NT_XSTATE as usize,
        &mut iov as *mut libc::iovec as usize,
    )
    .map(drop)
}

/// The signal number and code of the signal a thread stopped for (`si_code` SI_KERNEL = 0x80
/// for an `int3`).
pub fn siginfo(tid: i32) -> io::Result<(i32, i32)> {
    // SAFETY: siginfo_t is plain data; all-zero is valid, and GETSIGINFO fills it.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    request(
        libc::PTRACE_GETSIGINFO,
        tid,
        0,
        &mut info as *mut libc::siginfo_t as usize,
    )?;
    Ok((info.si_signo, info.si_code))
}

/// Wait for a traced thread (`tid`, or -1 for any) to stop or end. With `block` false,
/// `Ok(None)` when none has.
pub fn wait(tid: i32, block: bool) -> io::Result<Option<(i32, Stop)>> {
    let mut status: libc::c_int = 0;
    let flags = libc::__WALL | if block { 0 } else { libc::WNOHANG };
    loop {
        // SAFETY: `status` is a live c_int waitpid writes to.
        let got = unsafe { libc::waitpid(tid, &mut status, flags) };
        if got == -1 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if got == 0 {
            return Ok(None);
        }
        let stop = if libc::WIFSTOPPED(status) {
            let signal = libc::WSTOPSIG(status);
            match status >> 16 {
                0 => Stop::Signal(signal),
                libc::PTRACE_EVENT_STOP => Stop::EventStop(signal),
                event => Stop::Event(event),
            }
        } else {
            Stop::Gone
        };
        return Ok(Some((got, stop)));
    }
}

/// Set while an attach runs, by SIGINT/SIGTERM/SIGHUP.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn note_interrupt(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// SIGINT, SIGTERM and SIGHUP only set a flag while this lives (the attach polls it and
/// cleans up the target's files before it exits); the previous handlers come back on drop.
pub struct InterruptGuard {
    previous: Vec<(libc::c_int, libc::sigaction)>,
}

impl InterruptGuard {
    /// Install the flag handler.
    pub fn install() -> Self {
        let mut previous = Vec::new();
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: sigaction structs are plain data; the handler only stores to an atomic,
            // which is async-signal-safe; `old` is a live struct sigaction fills.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = note_interrupt as *const () as usize;
                libc::sigemptyset(&mut action.sa_mask);
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(signal, &action, &mut old) == 0 {
                    previous.push((signal, old));
                }
            }
        }
        InterruptGuard { previous }
    }

    /// Whether a signal asked refgraph to stop.
    pub fn interrupted(&self) -> bool {
        INTERRUPTED.load(Ordering::SeqCst)
    }
}

impl Drop for InterruptGuard {
    fn drop(&mut self) {
        for (signal, old) in &self.previous {
            // SAFETY: `old` is the action sigaction returned for this signal.
            unsafe {
                libc::sigaction(*signal, old, std::ptr::null_mut());
            }
        }
    }
}

/// Change a stopped thread's `PTRACE_O_*` options.
pub fn set_options(tid: i32, options: usize) -> io::Result<()> {
    request(libc::PTRACE_SETOPTIONS, tid, 0, options).map(drop)
}

/// The message of the last ptrace event (the new thread's or process's id for a clone or
/// fork event).
pub fn event_msg(tid: i32) -> io::Result<u64> {
    let mut msg: libc::c_ulong = 0;
    request(
        libc::PTRACE_GETEVENTMSG,
        tid,
        0,
        &mut msg as *mut libc::c_ulong as usize,
    )?;
    Ok(msg)
}
