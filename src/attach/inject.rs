//! Starting one new thread in the target with ptrace, only at a safe point, and putting
//! everything back: a thread parked in a blocking system call (stopped alone, the others keep
//! running), or, when none is parked, the first thread to reach the entry of an interpreter
//! function (a one-shot breakpoint; every thread is traced while it is armed, so that none
//! meets it untraced). In the stopped thread: a remote `mmap` of one RWX page, the start
//! routine, its block and the Python code written there, a remote `pthread_create`, then the
//! thread's registers (general and vector) restored exactly and ptrace detached.

use super::memory::Memory;
use super::preflight::{Target, ThreadInfo, BREAKPOINT_FUNCTIONS};
use super::ptrace::{self, Stop};
use super::x86_64::{self as arch, Regs, StartBlock};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// Why the injection failed.
#[derive(Debug, thiserror::Error)]
pub enum InjectError {
    /// A ptrace or memory operation failed.
    #[error("{what}: {error}")]
    Os {
        /// What was being done.
        what: String,
        /// The error.
        error: std::io::Error,
    },
    /// A remote call went wrong (its registers were restored; the target runs on).
    #[error("{0}")]
    Remote(String),
    /// The target exited during the attach.
    #[error("the process exited during the attach")]
    Gone,
}

fn os(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> InjectError {
    let what = what.into();
    move |error| InjectError::Os { what, error }
}

/// Where and how the thread was started.
#[derive(Debug, Clone)]
pub struct Injected {
    /// The thread that made the remote calls.
    pub tid: i32,
    /// `clock_nanosleep` (a parked thread) or `breakpoint at PyObject_Malloc`.
    pub safe_point: String,
    /// How long that thread was stopped (it could not run Python meanwhile).
    pub pause: Duration,
    /// The page holding the start routine (the new thread unmaps it when done).
    pub page: u64,
}

/// Offsets in the page: the start routine, its block, pthread_create's thread id, the code.
const BLOCK_AT: u64 = 0x100;
const TID_AT: u64 = 0x180;
const CODE_AT: u64 = 0x200;

const PROT_RWX: u64 = (libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC) as u64;
const MAP_PRIVATE_ANON: u64 = (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as u64;

fn page_len(code: &[u8]) -> u64 {
    (CODE_AT + code.len() as u64 + 1).div_ceil(4096) * 4096
}

/// A stopped thread, its registers as they were, and a signal that arrived meanwhile (given
/// back when it is detached).
struct Stopped<'a> {
    tid: i32,
    saved: Regs,
    fpu: Vec<u8>,
    mem: &'a Memory,
    pending_signal: i32,
}

impl Stopped<'_> {
    /// Call `function(args…)` in the thread and return its result.
    fn call(&mut self, name: &str, function: u64, args: &[u64]) -> Result<u64, InjectError> {
        let (regs, return_slot) = arch::call_regs(&self.saved, function, args);
        self.mem
            .write(return_slot, &0u64.to_le_bytes())
            .map_err(os("writing a return address"))?;
        ptrace::set_regs(self.tid, &regs).map_err(os("setting registers"))?;
        ptrace::cont(self.tid, 0).map_err(os("resuming for a remote call"))?;
        loop {
            match ptrace::wait(self.tid, true).map_err(os("waiting for a remote call"))? {
                Some((_, Stop::Signal(libc::SIGSEGV))) => {
                    let r = ptrace::get_regs(self.tid).map_err(os("reading registers"))?;
                    if arch::returned(&r) {
                        return Ok(arch::return_value(&r));
                    }
                    return Err(InjectError::Remote(format!(
                        "the remote call of {name} faulted at {:#x}",
                        arch::pc(&r)
                    )));
                }
                Some((_, Stop::Signal(signal))) => {
                    self.pending_signal = signal;
                    ptrace::cont(self.tid, 0).map_err(os("resuming"))?;
                }
                Some((_, Stop::EventStop(_) | Stop::Event(_))) => {
                    ptrace::cont(self.tid, 0).map_err(os("resuming"))?;
                }
                Some((_, Stop::Gone)) | None => return Err(InjectError::Gone),
            }
        }
    }

    /// The remote calls: a page, the routine and code in it, the new thread.
    fn start_thread(&mut self, target: &Target, code: &[u8]) -> Result<u64, InjectError> {
        let len = page_len(code);
        let page = self.call(
            "mmap",
            target.function("mmap"),
            &[0, len, PROT_RWX, MAP_PRIVATE_ANON, u64::MAX, 0],
        )?;
        if page == 0 || page > u64::MAX - 4096 {
            return Err(InjectError::Remote(format!(
                "mmap in the process failed (errno {})",
                page.wrapping_neg()
            )));
        }
        let block = StartBlock {
            ensure: target.function("PyGILState_Ensure"),
            run: target.function("PyRun_SimpleString"),
            release: target.function("PyGILState_Release"),
            detach: target.function("pthread_detach"),
            self_: target.function("pthread_self"),
            munmap: target.function("munmap"),
            code: page + CODE_AT,
            page,
            len,
        };
        let mut code0 = code.to_vec();
        code0.push(0);
        let written = self
            .mem
            .write(page, &arch::START_ROUTINE)
            .and_then(|()| self.mem.write(page + BLOCK_AT, &block.to_bytes()))
            .and_then(|()| self.mem.write(page + CODE_AT, &code0));
        let created = written
            .map_err(os("writing the start routine"))
            .and_then(|()| {
                self.call(
                    "pthread_create",
                    target.function("pthread_create"),
                    &[page + TID_AT, 0, page, page + BLOCK_AT],
                )
            });
        match created {
            Ok(0) => Ok(page),
            other => {
                let _ = self.call("munmap", target.function("munmap"), &[page, len]);
                match other {
                    Ok(rc) => Err(InjectError::Remote(format!(
                        "pthread_create in the process failed (error {})",
                        rc as i32
                    ))),
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// Put the registers back and let the thread go.
    fn restore_and_detach(&self) -> Result<(), InjectError> {
        let fpu = ptrace::set_fpu(self.tid, &self.fpu).map_err(os("restoring vector registers"));
        let regs = ptrace::set_regs(self.tid, &self.saved).map_err(os("restoring registers"));
        let detached = ptrace::detach(self.tid, self.pending_signal).map_err(os("detaching"));
        fpu.and(regs).and(detached)
    }
}

/// Stop one thread that preflight saw parked in a safe system call and start the new thread
/// from it. `Ok(None)`: it had moved on by the time it stopped (try again later).
pub fn inject_parked(
    target: &Target,
    thread: &ThreadInfo,
    code: &[u8],
    mem: &Memory,
) -> Result<Option<Injected>, InjectError> {
    let tid = thread.tid;
    let started = Instant::now();
    ptrace::seize(tid, 0).map_err(os(format!("attaching to thread {tid}")))?;
    let stopped = (|| -> Result<Option<Stopped>, InjectError> {
        ptrace::interrupt(tid).map_err(os("stopping the thread"))?;
        let mut pending_signal = 0;
        loop {
            match ptrace::wait(tid, true).map_err(os("waiting for the thread to stop"))? {
                Some((_, Stop::EventStop(libc::SIGTRAP))) => break,
                Some((_, Stop::Signal(signal))) => {
                    pending_signal = signal;
                    ptrace::cont(tid, 0).map_err(os("resuming"))?;
                }
                Some((_, Stop::EventStop(_))) => {
                    // a group stop (SIGSTOP/SIGTSTP) arrived: leave the process to it
                    let _ = ptrace::detach(tid, pending_signal);
                    return Ok(None);
                }
                Some((_, Stop::Event(_))) => ptrace::cont(tid, 0).map_err(os("resuming"))?,
                Some((_, Stop::Gone)) | None => return Err(InjectError::Gone),
            }
        }
        let saved = ptrace::get_regs(tid).map_err(os("reading registers"))?;
        let fpu = ptrace::get_fpu(tid).map_err(os("reading vector registers"))?;
        Ok(Some(Stopped {
            tid,
            saved,
            fpu,
            mem,
            pending_signal,
        }))
    })();
    let mut stopped = match stopped {
        Ok(Some(s)) => s,
        Ok(None) => return Ok(None),
        Err(e) => {
            let _ = ptrace::detach(tid, 0);
            return Err(e);
        }
    };
    let nr = arch::syscall_of(&stopped.saved);
    let safe = arch::syscall_kind(nr).filter(|k| k.safe);
    let Some(kind) = safe else {
        stopped.restore_and_detach()?;
        return Ok(None); // it left the system call before it stopped
    };
    let page = stopped.start_thread(target, code);
    let restored = stopped.restore_and_detach();
    let pause = started.elapsed();
    let page = page?;
    restored?;
    Ok(Some(Injected {
        tid,
        safe_point: kind.name.to_string(),
        pause,
        page,
    }))
}

/// The traced threads of a breakpoint attach, and what must be undone for each.
struct Armed<'a> {
    pid: i32,
    mem: &'a Memory,
    /// Breakpoint address → the byte it replaced.
    original: HashMap<u64, u8>,
    /// Whether the breakpoint bytes are in place.
    in_place: bool,
    /// Threads traced now.
    threads: HashSet<i32>,
    /// Processes forked while armed (they inherited the breakpoints): put the bytes back in
    /// them and let them go.
    forked: HashSet<i32>,
}

impl Armed<'_> {
    fn disarm(&mut self) {
        if self.in_place {
            for (addr, byte) in &self.original {
                let _ = self.mem.write(*addr, &[*byte]);
            }
            self.in_place = false;
        }
    }

    /// A SIGTRAP from one of our breakpoints: the thread's pc rewound onto the function.
    fn our_trap(&self, tid: i32) -> Option<Regs> {
        let (signo, code) = ptrace::siginfo(tid).ok()?;
        if signo != libc::SIGTRAP || code != libc::SI_KERNEL {
            return None;
        }
        let mut r = ptrace::get_regs(tid).ok()?;
        let at = arch::pc(&r).wrapping_sub(arch::BREAKPOINT_PC_OFFSET);
        self.original.contains_key(&at).then(|| {
            arch::set_pc(&mut r, at);
            r
        })
    }

    fn release_fork(&mut self, child: i32) {
        if let Ok(mem) = Memory::open(child) {
            for (addr, byte) in &self.original {
                let _ = mem.write(*addr, &[*byte]);
            }
        }
        let _ = ptrace::detach(child, 0);
        self.forked.remove(&child);
    }

    /// Handle one stop while waiting for the first trap. Returns the winner's tid and
    /// rewound registers when this stop is the first trap.
    fn handle(&mut self, tid: i32, stop: Stop, have_winner: bool) -> Option<(i32, Regs)> {
        if self.forked.contains(&tid) {
            if !matches!(stop, Stop::Gone) {
                self.release_fork(tid);
            }
            return None;
        }
        match stop {
            Stop::Signal(libc::SIGTRAP) => match self.our_trap(tid) {
                Some(regs) if !have_winner => {
                    self.disarm();
                    return Some((tid, regs));
                }
                Some(regs) => {
                    let _ = ptrace::set_regs(tid, &regs);
                    let _ = ptrace::cont(tid, 0);
                }
                None => {
                    let _ = ptrace::cont(tid, libc::SIGTRAP);
                }
            },
            Stop::Signal(signal) => {
                let _ = ptrace::cont(tid, signal);
            }
            Stop::EventStop(libc::SIGTRAP) => {
                self.threads.insert(tid); // a new thread's first stop
                let _ = ptrace::cont(tid, 0);
            }
            Stop::EventStop(_) => {
                let _ = ptrace::listen(tid); // group stop: stay stopped, as untraced
            }
            Stop::Event(event) => {
                if let Ok(new) = ptrace::event_msg(tid) {
                    if event == libc::PTRACE_EVENT_CLONE {
                        self.threads.insert(new as i32);
                    } else if event == libc::PTRACE_EVENT_FORK || event == libc::PTRACE_EVENT_VFORK
                    {
                        self.forked.insert(new as i32);
                    }
                }
                let _ = ptrace::cont(tid, 0);
            }
            Stop::Gone => {
                self.threads.remove(&tid);
            }
        }
        None
    }

    /// Stop and detach every traced thread but `keep`, putting back a pc that sits just past
    /// one of our breakpoints.
    fn release_all(&mut self, keep: Option<i32>) {
        self.disarm();
        let mut left: HashSet<i32> = self
            .threads
            .iter()
            .copied()
            .filter(|t| Some(*t) != keep)
            .collect();
        for tid in &left {
            let _ = ptrace::interrupt(*tid);
        }
        let give_up = Instant::now() + Duration::from_secs(5);
        while (!left.is_empty() || !self.forked.is_empty()) && Instant::now() < give_up {
            let Ok(Some((tid, stop))) = ptrace::wait(-1, false) else {
                std::thread::sleep(Duration::from_micros(200));
                continue;
            };
            if Some(tid) == keep {
                continue; // cannot happen: `keep` is stopped until its caller detaches it
            }
            if self.forked.contains(&tid) {
                self.release_fork(tid);
                continue;
            }
            match stop {
                Stop::Gone => {}
                Stop::Signal(libc::SIGTRAP) => match self.our_trap(tid) {
                    Some(regs) => {
                        let _ = ptrace::set_regs(tid, &regs);
                        let _ = ptrace::detach(tid, 0);
                    }
                    None => {
                        let _ = ptrace::detach(tid, libc::SIGTRAP);
                    }
                },
                Stop::Signal(signal) => {
                    let _ = ptrace::detach(tid, signal);
                }
                Stop::EventStop(_) => {
                    let _ = ptrace::detach(tid, 0);
                }
                Stop::Event(event) => {
                    if let Ok(new) = ptrace::event_msg(tid) {
                        if event == libc::PTRACE_EVENT_CLONE {
                            left.insert(new as i32);
                        } else if event == libc::PTRACE_EVENT_FORK
                            || event == libc::PTRACE_EVENT_VFORK
                        {
                            self.forked.insert(new as i32);
                        }
                    }
                    let _ = ptrace::detach(tid, 0);
                }
            }
            left.remove(&tid);
        }
        let _ = self.pid;
    }
}

/// When no thread is parked: trace every thread, put a one-shot breakpoint on the entries of
/// [`BREAKPOINT_FUNCTIONS`], and start the new thread from the first thread that reaches one
/// (it holds the GIL and no other lock there). `Ok(None)` when none did before `until` or
/// `stop_waiting` said so.
pub fn inject_at_breakpoint(
    target: &Target,
    code: &[u8],
    mem: &Memory,
    until: Instant,
    stop_waiting: &dyn Fn() -> bool,
) -> Result<Option<Injected>, InjectError> {
    let pid = target.pid;
    let mut armed = Armed {
        pid,
        mem,
        original: HashMap::new(),
        in_place: false,
        threads: HashSet::new(),
        forked: HashSet::new(),
    };
    let options =
        (libc::PTRACE_O_TRACECLONE | libc::PTRACE_O_TRACEFORK | libc::PTRACE_O_TRACEVFORK) as usize;
    // Seize every thread, again until a pass finds none new (threads start meanwhile; those
    // started by a seized thread are traced by PTRACE_O_TRACECLONE).
    loop {
        let mut new = 0;
        let tasks =
            std::fs::read_dir(format!("/proc/{pid}/task")).map_err(os("listing threads"))?;
        for tid in tasks
            .flatten()
            .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()))
        {
            if armed.threads.contains(&tid) {
                continue;
            }
            match ptrace::seize(tid, options) {
                Ok(()) => {
                    armed.threads.insert(tid);
                    new += 1;
                }
                Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
                Err(e) => {
                    armed.release_all(None);
                    return Err(os(format!("attaching to thread {tid}"))(e));
                }
            }
        }
        if new == 0 {
            break;
        }
    }
    for name in BREAKPOINT_FUNCTIONS {
        let addr = target.function(name);
        if addr == 0 {
            continue;
        }
        let mut byte = [0u8];
        if mem.read(addr, &mut byte).is_ok() {
            armed.original.insert(addr, byte[0]);
        }
    }
    armed.in_place = true;
    for addr in armed.original.keys() {
        if let Err(e) = mem.write(*addr, &[arch::BREAKPOINT]) {
            armed.release_all(None);
            return Err(os("writing a breakpoint")(e));
        }
    }
    let mut winner = None;
    while winner.is_none() && Instant::now() < until && !stop_waiting() {
        match ptrace::wait(-1, false) {
            Ok(Some((tid, stop))) => winner = armed.handle(tid, stop, false),
            Ok(None) => std::thread::sleep(Duration::from_micros(500)),
            Err(e) if e.raw_os_error() == Some(libc::ECHILD) => break,
            Err(e) => {
                armed.release_all(None);
                return Err(os("waiting for a breakpoint")(e));
            }
        }
    }
    armed.disarm();
    let Some((tid, regs)) = winner else {
        armed.release_all(None);
        return Ok(None);
    };
    let started = Instant::now();
    // The thread stays stopped at its trap while the others are let go.
    armed.release_all(Some(tid));
    let at = arch::pc(&regs);
    let function = BREAKPOINT_FUNCTIONS
        .iter()
        .find(|f| target.function(f) == at)
        .copied()
        .unwrap_or("?");
    let _ = ptrace::set_options(tid, 0); // pthread_create's clone must not be traced
    let fpu = ptrace::get_fpu(tid).map_err(os("reading vector registers"));
    let fpu = match fpu {
        Ok(f) => f,
        Err(e) => {
            let _ = ptrace::set_regs(tid, &regs);
            let _ = ptrace::detach(tid, 0);
            return Err(e);
        }
    };
    let mut stopped = Stopped {
        tid,
        saved: regs,
        fpu,
        mem,
        pending_signal: 0,
    };
    let page = stopped.start_thread(target, code);
    let restored = stopped.restore_and_detach();
    let pause = started.elapsed();
    let page = page?;
    restored?;
    Ok(Some(Injected {
        tid,
        safe_point: format!("the entry of {function}"),
        pause,
        page,
    }))
}
