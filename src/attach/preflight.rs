//! Preflight, read-only: what the target process is (CPython, which version, free-threaded),
//! whether refgraph may attach (state, tracer, uid, CAP_SYS_PTRACE, Yama), where the functions
//! the injector calls are, and what each of its threads is doing. Reads /proc and the target's
//! own ELF files; changes nothing.

use super::elf;
use super::x86_64::syscall_kind;
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

/// Why refgraph will not attach.
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    /// No such process (or it exited).
    #[error("no process {0}: is the pid right? (ps -e | grep python)")]
    NoSuchProcess(i32),
    /// The process is refgraph itself.
    #[error("process {0} is refgraph itself")]
    Itself(i32),
    /// A zombie.
    #[error("process {0} has exited (zombie)")]
    Zombie(i32),
    /// State T/t.
    #[error("process {0} is stopped (state {1}): resume it with `kill -CONT {0}` and try again")]
    Stopped(i32, char),
    /// Already traced.
    #[error("process {pid} is traced by process {tracer} ({name}): detach that debugger or tracer first")]
    Traced {
        /// The target.
        pid: i32,
        /// Its tracer.
        tracer: i32,
        /// The tracer's name.
        name: String,
    },
    /// Another user, no capability.
    #[error("process {pid} runs as uid {target_uid} and refgraph as uid {our_uid} without CAP_SYS_PTRACE (ptrace needs all its uids and gids to be ours): run refgraph as uid {target_uid}, or with sudo")]
    OtherUser {
        /// The target.
        pid: i32,
        /// Its uid.
        target_uid: u32,
        /// Ours.
        our_uid: u32,
    },
    /// Yama forbids it.
    #[error("kernel.yama.ptrace_scope is {scope}: {why}")]
    Yama {
        /// The setting.
        scope: u32,
        /// What it forbids and the fix.
        why: &'static str,
    },
    /// Not CPython.
    #[error("process {pid} ({name}) is not CPython: neither a libpython nor its executable exports PyGILState_Ensure")]
    NotCpython {
        /// The target.
        pid: i32,
        /// Its name.
        name: String,
    },
    /// A version refgraph does not capture.
    #[error("process {pid} is Python {version}; refgraph attaches to CPython 3.8 and newer")]
    Unsupported {
        /// The target.
        pid: i32,
        /// Its version.
        version: String,
    },
    /// A function the injector calls was not found.
    #[error("process {pid}: {symbol} not found in {files}")]
    MissingSymbol {
        /// The target.
        pid: i32,
        /// The function.
        symbol: &'static str,
        /// Where it was looked for.
        files: String,
    },
    /// Reading /proc or an ELF file failed.
    #[error("process {pid}: reading {what}: {error}")]
    Read {
        /// The target.
        pid: i32,
        /// What.
        what: String,
        /// The error.
        error: std::io::Error,
    },
}

/// The functions the injector calls in the target, by name.
pub const PYTHON_FUNCTIONS: [&str; 3] = [
    "PyGILState_Ensure",
    "PyRun_SimpleString",
    "PyGILState_Release",
];
/// The C library's.
pub const LIBC_FUNCTIONS: [&str; 5] = [
    "mmap",
    "munmap",
    "pthread_create",
    "pthread_detach",
    "pthread_self",
];
/// Safe places for a breakpoint, for a target with no parked thread: the entries of the
/// interpreter's allocator and signal check, which every running Python thread reaches within
/// microseconds, holding no lock but the GIL (memray's attach uses the same kind of set).
pub const BREAKPOINT_FUNCTIONS: [&str; 14] = [
    "PyObject_Malloc",
    "PyObject_Calloc",
    "PyObject_Realloc",
    "PyObject_Free",
    "PyMem_Malloc",
    "PyMem_Free",
    "PyErr_CheckSignals",
    "PyObject_GC_Del",
    "PyLong_FromLong",
    "PyFloat_FromDouble",
    "PyTuple_New",
    "PyList_New",
    "PyDict_New",
    "PyUnicode_New",
];

/// What a thread is doing, from /proc/PID/task/TID/{stat,syscall}.
#[derive(Debug, Clone)]
pub struct ThreadInfo {
    /// Its id.
    pub tid: i32,
    /// Its name (comm).
    pub name: String,
    /// Kernel state letter (R, S, D, T, …).
    pub state: char,
    /// The system call it is blocked in, with its first argument; None when running or not
    /// in one.
    pub syscall: Option<(i64, u64)>,
    /// Whether its syscall is a safe point (see `x86_64::syscall_kind`).
    pub parked: bool,
    /// Whether this is the process's main thread.
    pub main: bool,
}

impl fmt::Display for ThreadInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let main = if self.main { ", main" } else { "" };
        write!(f, "thread {} ({}{main}) ", self.tid, self.name)?;
        match (self.state, self.syscall) {
            ('R', _) => write!(
                f,
                "is running (Python or C code; holds the GIL unless in C that released it)"
            ),
            (_, Some((nr, _))) => match syscall_kind(nr) {
                Some(k) if k.needs_stream_fd && !self.parked => write!(
                    f,
                    "waits in {} on a file that is not a socket, pipe or terminal",
                    k.name
                ),
                Some(k) => write!(f, "waits in {}", k.name),
                None => write!(f, "is in system call {nr}"),
            },
            (state, None) => write!(f, "is in state {state}"),
        }
    }
}

/// One ELF file mapped in the target, with its load bias.
#[derive(Debug, Clone)]
pub struct Image {
    /// Its path as the target sees it.
    pub path: String,
    /// Where its address 0 is in the target.
    pub bias: u64,
}

/// Everything the injector needs to know about the target.
#[derive(Debug, Clone)]
pub struct Target {
    /// Its pid.
    pub pid: i32,
    /// Its name (comm).
    pub name: String,
    /// Its effective uid and gid (the owner of the files refgraph puts in its /tmp).
    pub uid: u32,
    /// Its gid.
    pub gid: u32,
    /// `3.11`.
    pub version: (u32, u32),
    /// A free-threaded build (`3.13t`).
    pub free_threaded: bool,
    /// The file holding the interpreter (libpython, or the executable).
    pub python: Image,
    /// Absolute addresses of [`PYTHON_FUNCTIONS`], [`LIBC_FUNCTIONS`] and those of
    /// [`BREAKPOINT_FUNCTIONS`] that exist.
    pub functions: HashMap<&'static str, u64>,
    /// Its threads.
    pub threads: Vec<ThreadInfo>,
}

impl Target {
    /// The absolute address of a function preflight resolved.
    pub fn function(&self, name: &str) -> u64 {
        self.functions.get(name).copied().unwrap_or(0)
    }

    /// `Python 3.13t`.
    pub fn version_text(&self) -> String {
        let t = if self.free_threaded { "t" } else { "" };
        format!("{}.{}{t}", self.version.0, self.version.1)
    }
}

fn proc_path(pid: i32, rest: &str) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/{rest}"))
}

fn read_text(pid: i32, rest: &str) -> Result<String, PreflightError> {
    std::fs::read_to_string(proc_path(pid, rest)).map_err(|error| {
        if error.kind() == std::io::ErrorKind::NotFound && rest == "status" {
            PreflightError::NoSuchProcess(pid)
        } else {
            PreflightError::Read {
                pid,
                what: format!("/proc/{pid}/{rest}"),
                error,
            }
        }
    })
}

/// `Name:\tpython3` → the value of a /proc status field.
fn status_field<'a>(status: &'a str, key: &str) -> Option<&'a str> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .map(str::trim)
}

/// The fields after `(comm)` in a stat line (state is the first).
fn stat_after_comm(stat: &str) -> Option<&str> {
    stat.rfind(')').map(|i| stat[i + 1..].trim_start())
}

const CAP_SYS_PTRACE: u32 = 19;

fn we_have_cap_sys_ptrace() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| status_field(&s, "CapEff").and_then(|v| u64::from_str_radix(v, 16).ok()))
        .is_some_and(|caps| caps & (1 << CAP_SYS_PTRACE) != 0)
}

/// Our real uid and gid (what ptrace compares).
fn our_ids() -> (u32, u32) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let real = |key| {
        status_field(&status, key)
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(u32::MAX)
    };
    (real("Uid"), real("Gid"))
}

/// ptrace's own rule without CAP_SYS_PTRACE: the target's real, effective and saved uids are
/// all our uid, and its gids all our gid.
fn same_ids(uids: &[u32], gids: &[u32], ours: (u32, u32)) -> bool {
    uids.iter().take(3).all(|&u| u == ours.0) && gids.iter().take(3).all(|&g| g == ours.1)
}

/// What Yama's `ptrace_scope` forbids, and the fix; None when it allows the attach.
fn yama_refusal(
    scope: u32,
    capable: bool,
    ancestor: impl FnOnce() -> bool,
) -> Option<&'static str> {
    match scope {
        1 if !capable && !ancestor() => Some(
            "only a parent process may attach without CAP_SYS_PTRACE: run refgraph with sudo, or `sudo sysctl kernel.yama.ptrace_scope=0`",
        ),
        2 if !capable => Some("only CAP_SYS_PTRACE may attach: run refgraph with sudo"),
        3 => Some("attaching is disabled until reboot"),
        _ => None,
    }
}

/// Is `ancestor` an ancestor of `pid` (Yama scope 1 allows those)?
fn is_ancestor(ancestor: i32, mut pid: i32) -> bool {
    for _ in 0..64 {
        let Ok(status) = std::fs::read_to_string(proc_path(pid, "status")) else {
            return false;
        };
        let Some(parent) = status_field(&status, "PPid").and_then(|v| v.parse::<i32>().ok()) else {
            return false;
        };
        if parent == ancestor {
            return true;
        }
        if parent <= 1 {
            return false;
        }
        pid = parent;
    }
    false
}

/// The permission checks: state, tracer, uid and capability, Yama.
fn check_permission(pid: i32, status: &str) -> Result<(u32, u32), PreflightError> {
    let state = status_field(status, "State")
        .and_then(|s| s.chars().next())
        .unwrap_or('?');
    match state {
        'Z' | 'X' => return Err(PreflightError::Zombie(pid)),
        'T' | 't' => return Err(PreflightError::Stopped(pid, state)),
        _ => {}
    }
    let tracer: i32 = status_field(status, "TracerPid")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if tracer != 0 {
        let name = std::fs::read_to_string(proc_path(tracer, "comm"))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "?".into());
        return Err(PreflightError::Traced { pid, tracer, name });
    }
    let ids = |key| -> Vec<u32> {
        status_field(status, key)
            .map(|v| {
                v.split_whitespace()
                    .filter_map(|x| x.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    let uids = ids("Uid");
    let gids = ids("Gid");
    let target_uid = uids.get(1).copied().unwrap_or(u32::MAX);
    let target_gid = gids.get(1).copied().unwrap_or(u32::MAX);
    let capable = we_have_cap_sys_ptrace();
    let ours = our_ids();
    if !capable && !same_ids(&uids, &gids, ours) {
        return Err(PreflightError::OtherUser {
            pid,
            target_uid,
            our_uid: ours.0,
        });
    }
    if let Ok(scope) = std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope") {
        let scope: u32 = scope.trim().parse().unwrap_or(0);
        let ancestor = || is_ancestor(std::process::id() as i32, pid);
        if let Some(why) = yama_refusal(scope, capable, ancestor) {
            return Err(PreflightError::Yama { scope, why });
        }
    }
    Ok((target_uid, target_gid))
}

/// One line of /proc/PID/maps: start, file offset, path.
fn parse_maps(maps: &str) -> Vec<(u64, u64, String)> {
    maps.lines()
        .filter_map(|line| {
            let mut rest = line;
            let mut fields = Vec::with_capacity(5);
            for _ in 0..5 {
                rest = rest.trim_start();
                let end = rest.find(' ').unwrap_or(rest.len());
                fields.push(&rest[..end]);
                rest = &rest[end..];
            }
            let path = rest.trim();
            if !path.starts_with('/') {
                return None;
            }
            let start = u64::from_str_radix(fields[0].split('-').next()?, 16).ok()?;
            let offset = u64::from_str_radix(fields[2], 16).ok()?;
            Some((start, offset, path.to_string()))
        })
        .collect()
}

/// `libpython3.13t.so.1.0` → (3, 13, free-threaded); `python3.11` → (3, 11, false).
pub fn version_from_file_name(name: &str) -> Option<(u32, u32, bool)> {
    let at = name.find("python")? + "python".len();
    let rest = &name[at..];
    let (major, rest) = rest.split_once('.')?;
    let major: u32 = major.parse().ok()?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let minor: u32 = digits.parse().ok()?;
    let free = rest[digits.len()..].starts_with('t');
    Some((major, minor, free))
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Read the symbols in `wanted` from every mapped file `pick` accepts; the first file that
/// defines a symbol provides it. Returns the images that provided something.
fn resolve(
    pid: i32,
    maps: &[(u64, u64, String)],
    pick: impl Fn(&str) -> bool,
    wanted: &[&'static str],
    out: &mut HashMap<&'static str, u64>,
) -> Result<Vec<Image>, PreflightError> {
    let mut images = Vec::new();
    let mut seen = Vec::new();
    for (start, offset, path) in maps {
        if *offset != 0 || seen.contains(path) || !pick(file_name(path)) {
            continue;
        }
        seen.push(path.clone());
        let host = proc_path(pid, &format!("root{path}"));
        let data = std::fs::read(&host).map_err(|error| PreflightError::Read {
            pid,
            what: host.display().to_string(),
            error,
        })?;
        let Ok(found) = elf::symbols(&data, wanted) else {
            continue;
        };
        let bias = start.wrapping_sub(found.first_load_vaddr);
        let mut provided = false;
        for name in wanted {
            if let Some(value) = found.symbols.get(*name) {
                if !out.contains_key(name) {
                    out.insert(name, bias.wrapping_add(*value));
                    provided = true;
                }
            }
        }
        if provided {
            images.push(Image {
                path: path.clone(),
                bias,
            });
        }
    }
    Ok(images)
}

/// The target's threads and what each is doing.
pub fn threads(pid: i32) -> Result<Vec<ThreadInfo>, PreflightError> {
    let dir = proc_path(pid, "task");
    let entries = std::fs::read_dir(&dir).map_err(|error| PreflightError::Read {
        pid,
        what: dir.display().to_string(),
        error,
    })?;
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let Some(tid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let task = |f: &str| std::fs::read_to_string(proc_path(pid, &format!("task/{tid}/{f}")));
        let Ok(stat) = task("stat") else {
            continue; // the thread ended meanwhile
        };
        let state = stat_after_comm(&stat)
            .and_then(|s| s.chars().next())
            .unwrap_or('?');
        let name = task("comm")
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        let syscall = task("syscall").ok().and_then(|s| {
            let mut fields = s.split_whitespace();
            let nr: i64 = fields.next()?.parse().ok()?;
            let arg0 = fields
                .next()
                .and_then(|a| u64::from_str_radix(a.trim_start_matches("0x"), 16).ok())?;
            (nr >= 0).then_some((nr, arg0))
        });
        let parked = state != 'R'
            && syscall.is_some_and(|(nr, arg0)| match syscall_kind(nr) {
                Some(k) if k.safe => !k.needs_stream_fd || is_stream_fd(pid, arg0),
                _ => false,
            });
        out.push(ThreadInfo {
            tid,
            name,
            state,
            syscall,
            parked,
            main: tid == pid,
        });
    }
    out.sort_by_key(|t| (!t.main, t.tid));
    Ok(out)
}

/// A socket, a pipe or a terminal: a read there waits for input, holding nothing.
fn is_stream_fd(pid: i32, fd: u64) -> bool {
    std::fs::read_link(proc_path(pid, &format!("fd/{fd}")))
        .map(|link| {
            let link = link.to_string_lossy();
            link.starts_with("socket:")
                || link.starts_with("pipe:")
                || link.starts_with("/dev/pts/")
                || link.starts_with("/dev/tty")
        })
        .unwrap_or(false)
}

/// Check everything read-only, and find what the injector needs.
pub fn preflight(pid: i32) -> Result<Target, PreflightError> {
    if pid == std::process::id() as i32 {
        return Err(PreflightError::Itself(pid));
    }
    if pid <= 0 {
        return Err(PreflightError::NoSuchProcess(pid));
    }
    let status = read_text(pid, "status")?;
    let name = status_field(&status, "Name").unwrap_or("?").to_string();
    let (uid, gid) = check_permission(pid, &status)?;
    let maps = parse_maps(&read_text(pid, "maps")?);
    let mut functions = HashMap::new();
    let is_python = |n: &str| n.starts_with("libpython") || n.starts_with("python");
    let python_images = resolve(pid, &maps, is_python, &PYTHON_FUNCTIONS, &mut functions)?;
    let Some(python) = python_images
        .into_iter()
        .find(|_| functions.contains_key("PyGILState_Ensure"))
    else {
        return Err(PreflightError::NotCpython { pid, name });
    };
    let mut version = version_from_file_name(file_name(&python.path));
    if version.is_none() {
        let mut v = HashMap::new();
        resolve(
            pid,
            &maps,
            |n| n == file_name(&python.path),
            &["Py_Version"],
            &mut v,
        )?;
        if let Some(addr) = v.get("Py_Version") {
            version = super::memory::read_u64(pid, *addr)
                .ok()
                .map(|hex| ((hex >> 24) as u32 & 0xff, (hex >> 16) as u32 & 0xff, false));
        }
    }
    let Some((major, minor, free_threaded)) = version else {
        return Err(PreflightError::Unsupported {
            pid,
            version: "of an unknown version".into(),
        });
    };
    if (major, minor) < (3, 8) {
        return Err(PreflightError::Unsupported {
            pid,
            version: format!("{major}.{minor}"),
        });
    }
    resolve(
        pid,
        &maps,
        |n| n == file_name(&python.path),
        &BREAKPOINT_FUNCTIONS,
        &mut functions,
    )?;
    let is_libc =
        |n: &str| n.starts_with("libc.so") || n.starts_with("libc-") || n.starts_with("libpthread");
    resolve(pid, &maps, is_libc, &LIBC_FUNCTIONS, &mut functions)?;
    for symbol in PYTHON_FUNCTIONS.iter().chain(LIBC_FUNCTIONS.iter()) {
        if !functions.contains_key(symbol) {
            return Err(PreflightError::MissingSymbol {
                pid,
                symbol,
                files: if PYTHON_FUNCTIONS.contains(symbol) {
                    python.path.clone()
                } else {
                    "the C library".into()
                },
            });
        }
    }
    Ok(Target {
        pid,
        name,
        uid,
        gid,
        version: (major, minor),
        free_threaded,
        python,
        functions,
        threads: threads(pid)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yama_scopes() {
        assert_eq!(yama_refusal(0, false, || false), None);
        assert_eq!(yama_refusal(1, false, || true), None, "a parent may");
        assert!(yama_refusal(1, false, || false).is_some_and(|w| w.contains("ptrace_scope=0")));
        assert_eq!(yama_refusal(1, true, || false), None, "CAP_SYS_PTRACE may");
        assert!(yama_refusal(2, false, || true).is_some_and(|w| w.contains("sudo")));
        assert_eq!(yama_refusal(2, true, || false), None);
        assert!(yama_refusal(3, true, || true).is_some(), "no one may");
    }

    #[test]
    fn ptrace_wants_every_uid_and_gid_ours() {
        assert!(same_ids(
            &[1000, 1000, 1000, 1000],
            &[100, 100, 100, 100],
            (1000, 100)
        ));
        assert!(
            !same_ids(&[1000, 0, 1000, 1000], &[100, 100, 100, 100], (1000, 100)),
            "setuid"
        );
        assert!(
            !same_ids(&[1000, 1000, 1000, 1000], &[100, 50, 100, 100], (1000, 100)),
            "setgid"
        );
        assert!(!same_ids(&[0, 0, 0, 0], &[0, 0, 0, 0], (65534, 65534)));
    }

    #[test]
    fn versions_from_file_names() {
        assert_eq!(
            version_from_file_name("libpython3.8.so.1.0"),
            Some((3, 8, false))
        );
        assert_eq!(
            version_from_file_name("libpython3.13t.so.1.0"),
            Some((3, 13, true))
        );
        assert_eq!(version_from_file_name("python3.11"), Some((3, 11, false)));
        assert_eq!(version_from_file_name("python3"), None);
        assert_eq!(
            version_from_file_name("libpython2.7.so"),
            Some((2, 7, false))
        );
    }

    #[test]
    fn maps_lines_with_spaces_in_paths() {
        let maps = "7f00-7f10 r-xp 00001000 08:01 12 /usr/lib/lib c.so\n\
                    7f20-7f30 rw-p 00000000 00:00 0 \n\
                    7f40-7f50 r--p 00000000 08:01 13 /usr/bin/python3.11\n\
                    7f60-7f70 rw-p 00000000 00:00 0 [heap]\n";
        let parsed = parse_maps(maps);
        assert_eq!(
            parsed,
            vec![
                (0x7f00, 0x1000, "/usr/lib/lib c.so".to_string()),
                (0x7f40, 0, "/usr/bin/python3.11".to_string())
            ]
        );
    }

    #[test]
    fn refgraph_refuses_itself_and_a_missing_pid() {
        assert!(matches!(
            preflight(std::process::id() as i32),
            Err(PreflightError::Itself(_))
        ));
        assert!(matches!(
            preflight(0),
            Err(PreflightError::NoSuchProcess(0))
        ));
    }

    #[test]
    fn a_process_without_python_is_not_cpython() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep runs");
        let got = preflight(child.id() as i32);
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            matches!(got, Err(PreflightError::NotCpython { .. })),
            "{got:?}"
        );
    }
}
