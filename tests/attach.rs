//! `capture --pid`: real targets (sleeping, CPU-bound, an HTTP server under load, blocked in
//! input(), holding the GIL in C, stopped, in its own mount namespace, another user) on every
//! CPython here. After each attach the target keeps beating, exits with its own code, and holds
//! nothing of refgraph (modules, sys.path, __main__ names, threads, files in its /tmp).

use crate::util::{json, refgraph, script};
use refgraph::query::chain::ChainAnswer;
use refgraph::query::diff::Growth;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Every CPython refgraph attaches to that is installed here; the missing ones are printed.
fn pythons() -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    let home = std::env::var("HOME").unwrap_or_default();
    for v in ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13"] {
        let versions = Path::new(&home).join(".pyenv/versions");
        let hit = std::fs::read_dir(&versions).ok().and_then(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(&format!("{v}.")) && !n.contains('t'))
                .max()
        });
        match hit {
            Some(name) => found.push((name.clone(), versions.join(name).join("bin/python3"))),
            None => eprintln!(
                "ATTACH TESTS SKIP CPython {v}: not installed under {}",
                versions.display()
            ),
        }
    }
    if Path::new("/usr/bin/python3").exists() {
        found.push(("system".into(), PathBuf::from("/usr/bin/python3")));
    } else {
        eprintln!("ATTACH TESTS SKIP /usr/bin/python3: not installed");
    }
    found
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|v| v.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// A target process with its own directory (heartbeat, ready, stop, result files).
struct Target {
    child: std::cell::RefCell<Child>,
    dir: tempfile::TempDir,
    label: String,
}

impl Target {
    fn start(python: &Path, name: &str, args: &[&str], label: &str) -> Self {
        Self::start_with(Command::new(python), name, args, label, |_| {})
    }

    fn start_with(
        mut command: Command,
        name: &str,
        args: &[&str],
        label: &str,
        prepare: impl FnOnce(&Path),
    ) -> Self {
        // Not in /tmp: a target with a private /tmp must still see its directory and its
        // script — and the checkout itself may be under /tmp (CI clones there), so both go
        // to /var/tmp when it exists.
        let base = Path::new("/var/tmp");
        let base = if base.is_dir() {
            base.to_path_buf()
        } else {
            PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        };
        let dir = tempfile::tempdir_in(base).expect("temp dir");
        for file in [name, "attach_common.py"] {
            std::fs::copy(script(file), dir.path().join(file)).expect("copy the target");
        }
        prepare(dir.path());
        let child = command
            .arg(dir.path().join(name))
            .arg(dir.path())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the target starts");
        let t = Target {
            child: std::cell::RefCell::new(child),
            dir,
            label: format!("{label} {name}"),
        };
        t.wait_for(|| t.file("ready").is_some(), "ready");
        t
    }

    fn pid(&self) -> u32 {
        let ready = self.file("ready").expect("ready");
        let v: serde_json::Value = serde_json::from_str(&ready).expect("ready json");
        v["pid"].as_u64().expect("pid") as u32
    }

    fn file(&self, name: &str) -> Option<String> {
        std::fs::read_to_string(self.dir.path().join(name)).ok()
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }

    fn wait_for(&self, mut ok: impl FnMut() -> bool, what: &str) {
        let until = Instant::now() + Duration::from_secs(30);
        while !ok() {
            if Instant::now() >= until {
                panic!("{}: no {what} in 30 s; {}", self.label, self.diagnose());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// For a failure message: has it exited, with what, and what did it print.
    fn diagnose(&self) -> String {
        let mut child = self.child.borrow_mut();
        let status = child.try_wait().ok().flatten();
        let mut stderr = String::new();
        if status.is_some() {
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut stderr);
            }
        }
        let heartbeat = self.file("heartbeat").unwrap_or_default();
        format!("exited: {status:?}; heartbeat {heartbeat:?}; stderr: {stderr}")
    }

    fn beats(&self) -> u64 {
        self.file("heartbeat")
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    /// The heartbeat goes on.
    fn assert_beating(&self) {
        let before = self.beats();
        self.wait_for(|| self.beats() > before + 2, "heartbeat after the attach");
    }

    /// `capture --pid` it.
    fn attach(&self, snap: &str, options: &[&str]) -> Output {
        let pid = self.pid().to_string();
        refgraph()
            .args(["capture", "--pid", &pid, "-o", snap])
            .args(options)
            .output()
            .expect("refgraph runs")
    }

    /// Attach, assert success and that refgraph's directory is gone from the target's /tmp;
    /// returns refgraph's stderr.
    fn attach_ok(&self, snap: &str, options: &[&str]) -> String {
        let out = self.attach(snap, options);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success(),
            "{}: attach failed: {stderr}",
            self.label
        );
        self.assert_no_files_left(&stderr);
        self.assert_untraced();
        assert!(Path::new(snap).is_file(), "{}: no snapshot", self.label);
        stderr
    }

    /// No thread of it is traced any more.
    fn assert_untraced(&self) {
        let pid = self.pid();
        for task in std::fs::read_dir(format!("/proc/{pid}/task"))
            .expect("tasks")
            .flatten()
        {
            let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
            let tracer = status
                .lines()
                .find_map(|l| l.strip_prefix("TracerPid:"))
                .map(str::trim);
            assert!(
                matches!(tracer, Some("0") | None),
                "{}: thread {:?} still traced",
                self.label,
                task.file_name()
            );
        }
    }

    fn assert_no_files_left(&self, stderr: &str) {
        let Some(at) = stderr.find("files in /tmp/refgraph-attach-") else {
            return; // refused before it made any
        };
        let inside = stderr[at + "files in ".len()..]
            .split_whitespace()
            .next()
            .expect("dir");
        let seen = PathBuf::from(format!("/proc/{}/root{inside}", self.pid()));
        assert!(
            !seen.exists(),
            "{}: {} left behind",
            self.label,
            seen.display()
        );
    }

    /// Ask it to stop, assert its own exit code and that nothing of refgraph stayed in it.
    fn finish(mut self, code: i32, same_threads: bool) -> serde_json::Value {
        std::fs::write(self.dir.path().join("stop"), b"").expect("stop file");
        let status = wait_child(self.child.get_mut(), Duration::from_secs(30), &self.label);
        let mut stderr = String::new();
        if let Some(mut e) = self.child.get_mut().stderr.take() {
            use std::io::Read;
            let _ = e.read_to_string(&mut stderr);
        }
        assert_eq!(
            status,
            Some(code),
            "{}: exit code; stderr: {stderr}",
            self.label
        );
        assert!(
            stderr.is_empty(),
            "{}: the target printed: {stderr}",
            self.label
        );
        let result: serde_json::Value =
            serde_json::from_str(&self.file("result").expect("result")).expect("result json");
        assert_eq!(
            result["rwx_pages"], 0,
            "{}: the start routine's page was freed",
            self.label
        );
        for key in ["modules", "path", "main"] {
            assert_eq!(result[key], serde_json::json!([]), "{}: {key}", self.label);
        }
        if same_threads {
            let ready: serde_json::Value =
                serde_json::from_str(&self.file("ready").expect("ready")).expect("json");
            assert_eq!(
                result["tasks"], ready["tasks"],
                "{}: the dump thread ended",
                self.label
            );
            assert_eq!(
                result["py_threads"], ready["py_threads"],
                "{}: threading knows no extra thread",
                self.label
            );
        }
        result
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let child = self.child.get_mut();
        let _ = child.kill();
        let _ = child.wait();
    }
}

fn wait_child(child: &mut Child, limit: Duration, label: &str) -> Option<i32> {
    let until = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code();
        }
        assert!(Instant::now() < until, "{label}: did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `chain` finds the marker objects through the global list `held`.
fn assert_marker_chain(snap: &str, label: &str) {
    let answers: Vec<ChainAnswer> = json(&["chain", snap, "type:AttachMarker"]);
    assert_eq!(answers.len(), 5, "{label}: five markers");
    let chain = &answers[0].chains[0];
    assert!(
        chain.path.starts_with("__main__.held"),
        "{label}: {} / {}",
        chain.path,
        chain.text
    );
}

/// One target script on every Python: attach, check the snapshot and the target.
fn each_python(name: &str, code: i32, same_threads: bool) {
    for (label, python) in pythons() {
        let t = Target::start(&python, name, &[], &label);
        let snap = t.path("x.rgsnap");
        let stderr = t.attach_ok(&snap, &["--timeout", "20"]);
        assert!(stderr.contains("stopped for"), "{stderr}");
        // the native accelerator is placed beside the dumper and loads from 3.10 on
        let old = label.starts_with("3.8.") || label.starts_with("3.9.");
        if refgraph::capture::NATIVE_MODULE.is_some() {
            let want = if old {
                "Python dumper"
            } else {
                "native dumper"
            };
            assert!(stderr.contains(want), "{label}: {stderr}");
        }
        assert_marker_chain(&snap, &t.label);
        t.assert_beating();
        t.finish(code, same_threads);
    }
}

#[test]
fn attach_to_a_sleeping_main_thread() {
    each_python("attach_sleep.py", 3, true);
}

/// asyncio on every CPython, five attaches in a row: on 3.12.0–3.12.4 the dumper must never
/// call gc.get_referents on the `_asyncio` module (gh-122695: objects of its free list freed
/// twice, the target's collector state corrupted within a few attaches).
#[test]
fn attach_to_an_asyncio_loop() {
    for (label, python) in pythons() {
        let t = Target::start(&python, "attach_asyncio.py", &[], &label);
        for round in 0..5 {
            let snap = t.path(&format!("x{round}.rgsnap"));
            t.attach_ok(&snap, &["--timeout", "20"]);
            assert_marker_chain(&snap, &t.label);
        }
        t.assert_beating();
        t.finish(3, true);
    }
}

#[test]
fn attach_to_a_cpu_bound_loop() {
    each_python("attach_cpu.py", 3, true);
}

#[test]
fn attach_to_a_threaded_http_server_under_load() {
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use std::sync::Arc;
    for (label, python) in pythons() {
        let t = Target::start(&python, "attach_server.py", &[], &label);
        let port: u16 = t.file("port").expect("port").trim().parse().expect("port");
        let stop = Arc::new(AtomicBool::new(false));
        let answers = Arc::new(AtomicU32::new(0));
        let client = {
            let (stop, answers) = (stop.clone(), answers.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    use std::io::Read;
                    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
                        continue;
                    };
                    let _ = s.write_all(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n");
                    let mut body = Vec::new();
                    if s.read_to_end(&mut body).is_ok() && body.starts_with(b"HTTP/1.0 200") {
                        answers.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        };
        t.wait_for(
            || answers.load(Ordering::SeqCst) > 0,
            "answers before the attach",
        );
        let snap = t.path("x.rgsnap");
        t.attach_ok(&snap, &["--timeout", "20"]);
        assert_marker_chain(&snap, &t.label);
        let after = answers.load(Ordering::SeqCst);
        t.wait_for(
            || answers.load(Ordering::SeqCst) > after,
            "answers after the attach",
        );
        t.assert_beating();
        stop.store(true, Ordering::SeqCst);
        client.join().expect("client");
        let result = t.finish(3, false);
        let ok = answers.load(Ordering::SeqCst);
        assert!(
            result["served"].as_u64().unwrap_or(0) >= u64::from(ok),
            "{label}"
        );
    }
}

#[test]
fn attach_to_a_process_blocked_in_input() {
    for (label, python) in pythons() {
        let mut t = Target::start(&python, "attach_input.py", &[], &label);
        std::thread::sleep(Duration::from_millis(100));
        let snap = t.path("x.rgsnap");
        let stderr = t.attach_ok(&snap, &["--timeout", "20"]);
        assert_marker_chain(&snap, &t.label);
        assert!(
            stderr.contains("at read")
                || stderr.contains("at clock_nanosleep")
                || stderr.contains("at select"),
            "{stderr}"
        );
        t.assert_beating();
        let mut stdin = t.child.get_mut().stdin.take().expect("stdin");
        stdin.write_all(b"go on\n").expect("a line");
        drop(stdin);
        let result = t.finish(3, true);
        assert_eq!(result["line"], "go on");
    }
}

/// The GIL held in C for 20 s: refused after --timeout 5, the target unharmed, and no late
/// snapshot once the C call returns (the started thread sees it was cancelled). All versions
/// at once, to keep the suite short.
#[test]
fn a_gil_held_in_c_is_refused_after_the_timeout_with_no_late_snapshot() {
    let runs: Vec<_> = pythons()
        .into_iter()
        .map(|(label, python)| {
            std::thread::spawn(move || {
                let t = Target::start(&python, "attach_gil.py", &["20"], &label);
                std::thread::sleep(Duration::from_millis(500));
                let snap = t.path("late.rgsnap");
                let started = Instant::now();
                let out = t.attach(&snap, &["--timeout", "5"]);
                let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
                assert_eq!(out.status.code(), Some(2), "{}: {stderr}", t.label);
                assert!(started.elapsed() >= Duration::from_secs(5), "{}", t.label);
                assert!(
                    t.file("c_call_returned").is_none(),
                    "{}: gave up while the GIL was still held",
                    t.label
                );
                assert!(stderr.contains("gave up after 5 s"), "{stderr}");
                assert!(stderr.contains("holds the GIL in C code"), "{stderr}");
                assert!(stderr.contains("will exit without dumping"), "{stderr}");
                t.assert_no_files_left(&stderr);
                t.wait_for(|| t.file("c_call_returned").is_some(), "end of the C call");
                t.assert_beating();
                std::thread::sleep(Duration::from_millis(500));
                assert!(!Path::new(&snap).exists(), "{}: a late snapshot", t.label);
                let leftovers: Vec<_> = std::fs::read_dir(t.dir.path())
                    .expect("dir")
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.contains("rgsnap"))
                    .collect();
                assert!(leftovers.is_empty(), "{leftovers:?}");
                t.finish(7, true);
            })
        })
        .collect();
    for run in runs {
        run.join().expect("a version's run passed");
    }
}

#[test]
fn a_stopped_process_is_refused_in_one_line() {
    let python = &pythons()[0].1;
    let t = Target::start(python, "attach_sleep.py", &[], "stopped");
    let pid = t.pid() as i32;
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    std::thread::sleep(Duration::from_millis(100));
    let snap = t.path("x.rgsnap");
    let out = t.attach(&snap, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("process {pid} is stopped (state T)")),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("kill -CONT {pid}")), "{stderr}");
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGCONT) };
    t.assert_beating();
    assert!(!Path::new(&snap).exists());
    t.finish(3, true);
}

#[test]
fn refusals_name_the_reason() {
    let out = refgraph()
        .args(["capture", "--pid", "999999999"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("no process 999999999"), "{stderr}");
    let mut sleeper = Command::new("sleep").arg("30").spawn().expect("sleep");
    // Until it has exec'd, the child is still a copy of this test (its name included).
    let exe = format!("/proc/{}/exe", sleeper.id());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !std::fs::read_link(&exe).is_ok_and(|p| p.ends_with("sleep"))
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let out = refgraph()
        .args(["capture", "--pid", &sleeper.id().to_string()])
        .output()
        .expect("runs");
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("(sleep) is not CPython"), "{stderr}");
    // Traced by another process: its pid is named.
    let python = &pythons()[0].1;
    let t = Target::start(python, "attach_sleep.py", &[], "traced");
    let tracer_code = format!(
        "import ctypes, time\nlibc = ctypes.CDLL(None, use_errno=True)\nassert libc.ptrace(0x4206, {}, 0, 0) == 0, ctypes.get_errno()\nprint('traced', flush=True)\ntime.sleep(30)\n",
        t.pid()
    );
    let mut tracer = Command::new(python)
        .args(["-c", &tracer_code])
        .stdout(Stdio::piped())
        .spawn()
        .expect("tracer");
    {
        use std::io::BufRead;
        let mut line = String::new();
        let mut out = std::io::BufReader::new(tracer.stdout.take().expect("stdout"));
        out.read_line(&mut line).expect("tracer says");
        assert_eq!(line.trim(), "traced");
    }
    let out = t.attach(&t.path("x.rgsnap"), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains(&format!("is traced by process {}", tracer.id())),
        "{stderr}"
    );
    let _ = tracer.kill();
    let _ = tracer.wait();
    t.assert_beating();
    t.finish(3, true);
}

#[test]
fn two_attaches_to_one_process_show_growth() {
    let python = &pythons()[0].1;
    let t = Target::start(python, "attach_grow.py", &[], "grow");
    let (a, b) = (t.path("a.rgsnap"), t.path("b.rgsnap.gz"));
    t.attach_ok(&a, &[]);
    std::thread::sleep(Duration::from_millis(600));
    t.attach_ok(&b, &["--no-values"]);
    let gz = std::fs::read(&b).expect("b");
    assert_eq!(gz[..2], [0x1f, 0x8b], "gzip by name");
    let growth: Growth = json(&["diff", &a, &b]);
    let grew = growth
        .types
        .iter()
        .find(|g| g.type_name == "Growing")
        .expect("Growing grew");
    assert!(grew.new_count >= grew.old_count + 500, "{grew:?}");
    t.assert_beating();
    t.finish(3, true);
}

/// A target in its own mount namespace with a private /tmp (as in a container): the files go
/// to its /tmp through /proc/PID/root, the snapshot comes back. Needs root.
#[test]
fn attach_across_a_mount_namespace_with_a_private_tmp() {
    if !is_root() {
        eprintln!("ATTACH TESTS SKIP private /tmp: needs root (unshare -m)");
        return;
    }
    for (label, python) in pythons() {
        let mut c = Command::new("unshare");
        c.args(["-m", "--propagation", "private", "sh", "-c"])
            .arg("mount -t tmpfs none /tmp && exec \"$0\" \"$@\"")
            .arg(&python);
        let t = Target::start_with(c, "attach_sleep.py", &[], &label, |_| {});
        let pid = t.pid();
        let own_tmp = PathBuf::from(format!("/proc/{pid}/root/tmp"));
        assert_eq!(
            std::fs::read_dir(&own_tmp).expect("its tmp").count(),
            0,
            "a fresh tmpfs"
        );
        let snap = t.path("x.rgsnap");
        t.attach_ok(&snap, &[]);
        assert_marker_chain(&snap, &t.label);
        assert_eq!(
            std::fs::read_dir(&own_tmp).expect("its tmp").count(),
            0,
            "{label}: its /tmp holds nothing of ours"
        );
        t.assert_beating();
        t.finish(3, true);
    }
}

/// A target running as another user (nobody): refgraph as root writes files it owns.
#[test]
fn attach_to_a_process_of_another_user() {
    if !is_root() {
        eprintln!("ATTACH TESTS SKIP another user: needs root");
        return;
    }
    let python = Path::new("/usr/bin/python3");
    if !python.exists() {
        eprintln!("ATTACH TESTS SKIP another user: no /usr/bin/python3");
        return;
    }
    let mut c = Command::new("setpriv");
    c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        .arg(python);
    let t = Target::start_with(c, "attach_sleep.py", &[], "nobody", |dir| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    });
    let snap = t.path("x.rgsnap");
    t.attach_ok(&snap, &[]);
    assert_marker_chain(&snap, &t.label);
    t.assert_beating();
    t.finish(3, true);
}

/// Ctrl-C while the new thread waits for the GIL: exit 130, the directory removed at once,
/// and the thread exits without dumping when the C call returns.
#[test]
fn ctrl_c_while_waiting_cleans_up_and_leaves_no_late_snapshot() {
    let python = &pythons()[0].1;
    let t = Target::start(python, "attach_gil.py", &["4"], "ctrl-c");
    std::thread::sleep(Duration::from_millis(300));
    let snap = t.path("x.rgsnap");
    let mut child = refgraph()
        .args(["capture", "--pid", &t.pid().to_string(), "-o", &snap])
        .stderr(Stdio::piped())
        .spawn()
        .expect("refgraph runs");
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = wait_child(&mut child, Duration::from_secs(10), "refgraph");
    let mut stderr = String::new();
    {
        use std::io::Read;
        child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut stderr)
            .expect("read");
    }
    assert_eq!(status, Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    t.assert_no_files_left(&stderr);
    t.wait_for(|| t.file("c_call_returned").is_some(), "end of the C call");
    t.assert_beating();
    std::thread::sleep(Duration::from_millis(300));
    assert!(!Path::new(&snap).exists(), "a late snapshot");
    t.finish(7, true);
}

/// Without root or CAP_SYS_PTRACE, another user's process is refused, naming both uids.
#[test]
fn another_users_process_is_refused_without_the_capability() {
    if !is_root() {
        eprintln!("ATTACH TESTS SKIP uid refusal: needs root to run refgraph as nobody");
        return;
    }
    let python = &pythons()[0].1;
    let t = Target::start(python, "attach_sleep.py", &[], "uid");
    // An output nobody may write: the refusal is about the process, not the file.
    let open = tempfile::tempdir().expect("temp dir");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(open.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let output = open.path().join("x.rgsnap");
    let out = Command::new("setpriv")
        .args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(env!("CARGO_BIN_EXE_refgraph"))
        .args(["capture", "--pid", &t.pid().to_string(), "-o"])
        .arg(&output)
        .output()
        .expect("setpriv runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("runs as uid 0 and refgraph as uid 65534 without CAP_SYS_PTRACE"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(open.path()).expect("dir").count(), 0);
    t.assert_beating();
    t.finish(3, true);
}

/// Every thread waits on a lock (a futex: it may be malloc's or the GIL's): no safe point, so
/// refgraph gives up after --timeout saying what each thread does, and the target is unharmed.
#[test]
fn a_process_whose_threads_all_wait_on_locks_is_left_alone() {
    let python = &pythons()[0].1;
    let t = Target::start(python, "attach_lock.py", &["4"], "lock");
    let out = t.attach(&t.path("x.rgsnap"), &["--timeout", "1.5"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("gave up after 1.5 s: no thread reached a safe point"),
        "{stderr}"
    );
    assert!(stderr.contains("waits in futex"), "{stderr}");
    t.assert_no_files_left(&stderr);
    t.finish(3, true);
}

/// A CPU-bound process that forks all the time: the breakpoints are armed while children are
/// forked, and no child may meet one (they would die of SIGTRAP).
#[test]
fn children_forked_while_breakpoints_are_armed_live_on() {
    for (label, python) in pythons().into_iter().take(2) {
        let t = Target::start(&python, "attach_fork.py", &[], &label);
        for round in 0..4 {
            let snap = t.path(&format!("x{round}.rgsnap"));
            let stderr = t.attach_ok(&snap, &["--timeout", "20"]);
            assert!(stderr.contains("at the entry of"), "{stderr}");
        }
        t.assert_beating();
        let result = t.finish(3, false);
        assert!(result["forks"].as_u64().unwrap_or(0) > 3, "{result}");
        assert_eq!(result["bad_children"], serde_json::json!([]), "{label}");
    }
}

/// The program patched os and time functions before the attach (freezegun, mock.patch,
/// pyfakefs): the dump calls the real ones, none of the program's replacements (3.8: os only).
#[test]
fn a_dump_by_attach_calls_none_of_the_programs_patches() {
    for (label, python) in pythons() {
        let t = Target::start(&python, "attach_patched.py", &[], &label);
        std::thread::sleep(Duration::from_millis(200));
        let snap = t.path("x.rgsnap");
        t.attach_ok(&snap, &[]);
        t.assert_beating();
        let result = t.finish(3, true);
        assert_eq!(result["patched_calls"], serde_json::json!([]), "{label}");
    }
}

/// The everyday case: an unprivileged user attaches to their own process (no root, no
/// capability; ptrace's same-uid rule).
#[test]
fn an_unprivileged_user_attaches_to_their_own_process() {
    if !is_root() {
        eprintln!("ATTACH TESTS SKIP unprivileged: needs root to switch both processes to nobody");
        return;
    }
    let python = Path::new("/usr/bin/python3");
    if !python.exists() {
        eprintln!("ATTACH TESTS SKIP unprivileged: no /usr/bin/python3");
        return;
    }
    let as_nobody = |program: &Path| {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(program);
        c
    };
    let t = Target::start_with(
        as_nobody(python),
        "attach_sleep.py",
        &[],
        "nobody-self",
        |dir| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        },
    );
    let snap = t.path("x.rgsnap");
    let out = as_nobody(Path::new(env!("CARGO_BIN_EXE_refgraph")))
        .args(["capture", "--pid", &t.pid().to_string(), "-o", &snap])
        .output()
        .expect("refgraph runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    t.assert_no_files_left(&stderr);
    t.assert_untraced();
    assert_marker_chain(&snap, "nobody-self");
    t.assert_beating();
    t.finish(3, true);
}

/// The target dies while refgraph waits: refgraph says so, and its directory does not stay in
/// the (shared) /tmp although /proc/PID/root is gone.
#[test]
fn a_target_that_dies_during_the_attach_leaves_nothing_behind() {
    let python = &pythons()[0].1;
    let t = Target::start(python, "attach_gil.py", &["20"], "dies");
    std::thread::sleep(Duration::from_millis(300));
    let child = refgraph()
        .args([
            "capture",
            "--pid",
            &t.pid().to_string(),
            "-o",
            &t.path("x.rgsnap"),
        ])
        .stderr(Stdio::piped())
        .spawn()
        .expect("refgraph runs");
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: killing our own child.
    unsafe { libc::kill(t.pid() as i32, libc::SIGKILL) };
    let out = child.wait_with_output().expect("refgraph ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("exited during the attach"), "{stderr}");
    let at = stderr.find("files in /tmp/").expect("dir named") + "files in ".len();
    let dir = stderr[at..].split_whitespace().next().expect("dir");
    assert!(!Path::new(dir).exists(), "{dir} left in /tmp");
}
