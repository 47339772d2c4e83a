//! The x86-64 half of the injector: how a remote call is set up in the registers, the
//! breakpoint instruction, and the hand-assembled thread start routine. Everything specific to
//! the architecture is here, so aarch64 needs only its own copy of this module.

/// The registers as `PTRACE_GETREGS` returns them.
pub type Regs = libc::user_regs_struct;

/// `PTRACE_GETREGSET` note type of the full extended FPU/SSE/AVX state (`NT_X86_XSTATE`).
pub const NT_XSTATE: libc::c_int = 0x202;

/// The breakpoint instruction (`int3`) and its length.
pub const BREAKPOINT: u8 = 0xcc;

/// The thread start routine, `void *start(struct block *b)`:
///
/// ```text
/// push rbx; mov rbx, rdi                 ; rbx = the block (callee-saved); stack now 16-aligned
/// call [rbx+SELF]; mov rdi, rax; call [rbx+DETACH]   ; pthread_detach(pthread_self())
/// call [rbx+ENSURE]                      ; eax = PyGILState_Ensure()
/// push rax; sub rsp, 8                   ; keep it, keep the stack 16-aligned
/// mov rdi, [rbx+CODE]; call [rbx+RUN]    ; PyRun_SimpleString(code)
/// add rsp, 8; pop rdi; call [rbx+RELEASE]; PyGILState_Release(state)
/// mov rdi, [rbx+PAGE]; mov rsi, [rbx+LEN]; mov rax, [rbx+MUNMAP]
/// pop rbx; jmp rax                       ; tail call munmap(page, len): the page that holds
///                                        ; this code is gone when munmap returns (to
///                                        ; start_thread, with 0 = the thread's result)
/// ```
pub const START_ROUTINE: [u8; 50] = [
    0x53, 0x48, 0x89, 0xfb, 0xff, 0x53, 0x20, 0x48, 0x89, 0xc7, 0xff, 0x53, 0x18, 0xff, 0x13, 0x50,
    0x48, 0x83, 0xec, 0x08, 0x48, 0x8b, 0x7b, 0x30, 0xff, 0x53, 0x08, 0x48, 0x83, 0xc4, 0x08, 0x5f,
    0xff, 0x53, 0x10, 0x48, 0x8b, 0x7b, 0x38, 0x48, 0x8b, 0x73, 0x40, 0x48, 0x8b, 0x43, 0x28, 0x5b,
    0xff, 0xe0,
];

/// The block the start routine reads, in the order of its offsets (8 bytes each): ENSURE 0x00,
/// RUN 0x08, RELEASE 0x10, DETACH 0x18, SELF 0x20, MUNMAP 0x28, CODE 0x30, PAGE 0x38, LEN 0x40.
#[derive(Debug, Clone, Copy)]
pub struct StartBlock {
    /// `PyGILState_Ensure`.
    pub ensure: u64,
    /// `PyRun_SimpleString`.
    pub run: u64,
    /// `PyGILState_Release`.
    pub release: u64,
    /// `pthread_detach`.
    pub detach: u64,
    /// `pthread_self`.
    pub self_: u64,
    /// `munmap`.
    pub munmap: u64,
    /// The NUL-terminated Python source to run.
    pub code: u64,
    /// The page holding all of this.
    pub page: u64,
    /// Its length.
    pub len: u64,
}

impl StartBlock {
    /// The block's bytes.
    pub fn to_bytes(self) -> Vec<u8> {
        [
            self.ensure,
            self.run,
            self.release,
            self.detach,
            self.self_,
            self.munmap,
            self.code,
            self.page,
            self.len,
        ]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect()
    }
}

/// Bytes left below the interrupted stack pointer before a remote call's frame: the 128-byte
/// red zone the interrupted function may use, and some slack.
const RED_ZONE: u64 = 256;

/// Registers for calling `function(args…)` in a stopped thread whose registers are `saved`:
/// arguments in rdi, rsi, rdx, rcx, r8, r9; rax = 0 (no vector registers for a variadic
/// callee); orig_rax = -1 so that the kernel does not restart the interrupted system call
/// when the thread resumes into the call; the stack below the red zone, 16-byte aligned, with
/// a return address of 0 pushed (the return faults, and the tracer sees SIGSEGV at pc 0).
/// Returns the registers and the address where the 0 return address must be written.
pub fn call_regs(saved: &Regs, function: u64, args: &[u64]) -> (Regs, u64) {
    let mut r = *saved;
    let slots = [
        &mut r.rdi, &mut r.rsi, &mut r.rdx, &mut r.rcx, &mut r.r8, &mut r.r9,
    ];
    for (slot, value) in slots.into_iter().zip(args.iter()) {
        *slot = *value;
    }
    r.rax = 0;
    r.orig_rax = u64::MAX;
    r.rip = function;
    let aligned = (saved.rsp - RED_ZONE) & !0xf;
    r.rsp = aligned - 8; // as after a `call`: rsp + 8 is 16-aligned at the callee's entry
    (r, r.rsp)
}

/// A remote call's result.
pub fn return_value(r: &Regs) -> u64 {
    r.rax
}

/// The thread is at the fault a remote call's return to address 0 produces.
pub fn returned(r: &Regs) -> bool {
    r.rip == 0
}

/// The program counter.
pub fn pc(r: &Regs) -> u64 {
    r.rip
}

/// Set the program counter (back onto a breakpoint's address after the trap).
pub fn set_pc(r: &mut Regs, pc: u64) {
    r.rip = pc;
}

/// How far past a breakpoint's address the trap leaves the program counter.
pub const BREAKPOINT_PC_OFFSET: u64 = 1;

/// What a thread blocked in this system call is doing, for the messages, and whether it is a
/// safe point: a blocking call made with no allocator or interpreter lock held (Python
/// releases the GIL around each of them). `needs_stream_fd`: safe only when its first
/// argument is a socket, pipe or terminal (a read that waits for input, not disk I/O).
pub struct SyscallKind {
    /// The call's name.
    pub name: &'static str,
    /// Whether a thread parked in it can host the remote calls.
    pub safe: bool,
    /// Whether its first argument must be a socket, pipe or terminal to be safe.
    pub needs_stream_fd: bool,
    /// Whether Linux restarts it after a ptrace stop. The others (epoll_wait, epoll_pwait,
    /// rt_sigtimedwait: signal(7)) return EINTR, which Python retries (PEP 475) but a C
    /// library might not: threads parked in them are chosen last.
    pub restarts: bool,
}

/// The x86-64 system call numbers the injector knows.
pub fn syscall_kind(nr: i64) -> Option<SyscallKind> {
    let (name, safe, needs_stream_fd) = match nr {
        0 => ("read", true, true),
        7 => ("poll", true, false),
        23 => ("select", true, false),
        34 => ("pause", true, false),
        35 => ("nanosleep", true, false),
        43 => ("accept", true, true),
        45 => ("recvfrom", true, true),
        47 => ("recvmsg", true, true),
        61 => ("wait4", true, false),
        128 => ("rt_sigtimedwait", true, false),
        230 => ("clock_nanosleep", true, false),
        232 => ("epoll_wait", true, false),
        270 => ("pselect6", true, false),
        271 => ("ppoll", true, false),
        281 => ("epoll_pwait", true, false),
        288 => ("accept4", true, true),
        441 => ("epoll_pwait2", true, false),
        202 => ("futex (a lock, or waiting for the GIL)", false, false),
        219 => ("restart_syscall (a restarted sleep or wait)", false, false),
        1 => ("write", false, false),
        3 => ("close", false, false),
        17 => ("pread64", false, false),
        42 => ("connect", false, false),
        44 => ("sendto", false, false),
        74 => ("fsync", false, false),
        _ => return None,
    };
    Some(SyscallKind {
        name,
        safe,
        needs_stream_fd,
        restarts: !matches!(nr, 128 | 232 | 281 | 441),
    })
}

/// The system call a stopped thread was in, from its registers: `orig_rax` (-1 when it was
/// not in one).
pub fn syscall_of(r: &Regs) -> i64 {
    r.orig_rax as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zero_regs() -> Regs {
        // SAFETY: user_regs_struct is plain integers; all-zero is a valid value.
        unsafe { std::mem::zeroed() }
    }

    #[test]
    fn a_call_frame_is_aligned_below_the_red_zone_and_never_restarts_a_syscall() {
        let mut saved = zero_regs();
        saved.rsp = 0x7fff_0000_1237;
        saved.orig_rax = 230; // clock_nanosleep
        let (r, ret_slot) = call_regs(&saved, 0x1000, &[1, 2, 3, 4, 5, 6]);
        assert_eq!((r.rsp + 8) % 16, 0);
        assert!(r.rsp + 128 <= saved.rsp);
        assert_eq!(ret_slot, r.rsp);
        assert_eq!(r.orig_rax, u64::MAX);
        assert_eq!((r.rdi, r.rsi, r.rdx, r.rcx, r.r8, r.r9), (1, 2, 3, 4, 5, 6));
        assert_eq!(r.rip, 0x1000);
    }

    #[test]
    fn the_block_matches_the_start_routine_offsets() {
        let b = StartBlock {
            ensure: 1,
            run: 2,
            release: 3,
            detach: 4,
            self_: 5,
            munmap: 6,
            code: 7,
            page: 8,
            len: 9,
        };
        let bytes = b.to_bytes();
        let at = |off: usize| bytes[off];
        // the displacements the routine uses: ensure [rbx], run +8, release +0x10, detach
        // +0x18, self +0x20, munmap +0x28, code +0x30, page +0x38, len +0x40
        assert_eq!(
            [
                at(0),
                at(8),
                at(0x10),
                at(0x18),
                at(0x20),
                at(0x28),
                at(0x30),
                at(0x38),
                at(0x40)
            ],
            [1, 2, 3, 4, 5, 6, 7, 8, 9]
        );
        assert_eq!(START_ROUTINE[13..15], [0xff, 0x13]); // call [rbx]
        assert_eq!(START_ROUTINE[START_ROUTINE.len() - 2..], [0xff, 0xe0]); // jmp rax
    }
}
