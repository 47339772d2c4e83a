//! `capture` runs a program however it starts (python3 script | -m | -c, a #! script, a console
//! script on PATH), the program sees what it would see without refgraph, and the process side
//! of a capture holds: signals passed on, no orphan, forked children never overwrite a snapshot,
//! a dump signal during a dump, programs that are not (supported) Python.

use crate::util::{json, refgraph, script, stdout, Workdir};
use refgraph::query::find::Found;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The python3 on PATH, as an absolute path (for #! lines).
fn python3() -> String {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 runs");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn write_executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Run `command` in `dir` plainly and under `refgraph capture`; both outputs.
fn plain_and_captured(dir: &Path, command: &[&str], path_env: &str) -> (Output, Output) {
    let plain = Command::new(command[0])
        .args(&command[1..])
        .current_dir(dir)
        .env("PATH", path_env)
        .env("NO_COLOR", "1")
        .env_remove("RUST_BACKTRACE")
        .env("PROBE_EXIT", "7")
        .output()
        .expect("the command runs");
    let captured = refgraph()
        .args(["capture", "-o", "probe.rgsnap", "--"])
        .args(command)
        .current_dir(dir)
        .env("PATH", path_env)
        .env("PROBE_EXIT", "7")
        .output()
        .expect("refgraph runs");
    (plain, captured)
}

#[test]
fn every_way_of_starting_python_sees_the_same_startup_and_keeps_its_exit_code() {
    let w = Workdir::new();
    let dir = w.path("");
    let probe = std::fs::read_to_string(script("probe_startup.py")).unwrap();
    let python = python3();
    std::fs::write(dir.join("probe_mod.py"), &probe).unwrap();
    write_executable(&dir.join("tool.py"), &format!("#!{python}\n{probe}"));
    write_executable(
        &dir.join("envtool"),
        &format!("#!/usr/bin/env python3\n{probe}"),
    );
    let bin = dir.join("bin");
    std::fs::create_dir(&bin).unwrap();
    write_executable(&bin.join("probe-console"), &format!("#!{python}\n{probe}"));
    let path_env = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let exec_probe = "exec(open('probe_mod.py').read())";
    let forms: [&[&str]; 6] = [
        &["python3", "probe_mod.py", "a", "--b"],
        &["python3", "-m", "probe_mod", "x"],
        &["python3", "-c", exec_probe, "arg1", "arg2"],
        &["./tool.py", "--flag"],
        &["./envtool", "y"],
        &["probe-console", "serve", "app:app"],
    ];
    for form in forms {
        let (plain, captured) = plain_and_captured(&dir, form, &path_env);
        let stderr = String::from_utf8_lossy(&captured.stderr);
        assert_eq!(plain.status.code(), Some(7), "{form:?}");
        assert_eq!(captured.status.code(), Some(7), "{form:?}: {stderr}");
        assert_eq!(
            String::from_utf8_lossy(&captured.stdout),
            String::from_utf8_lossy(&plain.stdout),
            "{form:?} sees the same argv, sys.path, __main__ and environment"
        );
        assert!(stderr.contains("wrote "), "{form:?}: {stderr}");
        let found: Found = json(&["find", dir.join("probe.rgsnap").to_str().unwrap(), "dict"]);
        assert!(found.total > 0, "{form:?}: a snapshot of the program");
    }
}

#[test]
fn dash_c_programs_are_captured_with_their_objects() {
    let w = Workdir::new();
    let snap = w.arg("c.rgsnap");
    let out = refgraph()
        .args(["capture", "-o", &snap, "--", "python3", "-c"])
        .arg("class Kept: pass\nKEEP = [Kept()]\nimport sys; sys.exit(5)")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    let chain = stdout(&["chain", &snap, "type:Kept"]);
    assert!(
        chain.contains("module __main__ → .__dict__['KEEP'] → list[0] → Kept"),
        "{chain}"
    );
}

#[test]
fn what_is_not_python_is_refused_with_the_reason() {
    let w = Workdir::new();
    let shell_script = w.path("run.sh");
    write_executable(&shell_script, "#!/bin/sh\necho hi\n");
    let cases: [(&[&str], &str); 3] = [
        (
            &["/bin/echo", "hi"],
            "capture runs a Python program; /bin/echo is not one",
        ),
        (
            &[shell_script.to_str().unwrap()],
            "its #! line runs /bin/sh",
        ),
        (&["no-such-program-anywhere"], "command not found"),
    ];
    for (command, says) in cases {
        let out = refgraph()
            .args(["capture", "-o", &w.arg("x.rgsnap"), "--"])
            .args(command)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command:?}: {stderr}");
        assert!(stderr.contains(says), "{command:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(out.stdout.is_empty(), "nothing ran: {out:?}");
    }
}

#[test]
fn old_pythons_are_told_which_versions_refgraph_supports() {
    let home = std::env::var("HOME").unwrap_or_default();
    let mut tried = 0;
    for version in ["2.7.18", "3.6.15", "3.7.16"] {
        let python = PathBuf::from(&home).join(format!(".pyenv/versions/{version}/bin/python"));
        if !python.exists() {
            eprintln!("SKIPPED: {} not found", python.display());
            continue;
        }
        tried += 1;
        let w = Workdir::new();
        std::fs::write(w.path("app.py"), "print('ran')\n").unwrap();
        let out = refgraph()
            .args(["capture", "-o", &w.arg("x.rgsnap"), "--"])
            .arg(&python)
            .arg(w.path("app.py"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!(
                "is Python {version}; refgraph supports CPython 3.8 to 3.13"
            )),
            "{stderr}"
        );
        assert!(out.stdout.is_empty(), "the program did not run");
    }
    if tried == 0 {
        eprintln!("SKIPPED LOUDLY: no Python older than 3.8 on this machine");
    }
    let help = stdout(&["capture", "--help"]);
    assert!(help.contains("CPython 3.8 to 3.13"), "{help}");
}

/// Start `refgraph capture … -- python3 SCRIPT ARGS` with piped output; the child and the
/// program's pid (from its first stdout line `ready`/`worker PID` the caller reads).
fn spawn_capture(options: &[&str], name: &str, args: &[&str]) -> std::process::Child {
    refgraph()
        .arg("capture")
        .args(options)
        .args(["--", "python3"])
        .arg(script(name))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("refgraph runs")
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn is_running(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

fn signal(pid: i32, sig: i32) {
    // SAFETY: signals a process this test started.
    unsafe { libc::kill(pid, sig) };
}

fn read_pid_of_capture(child: &mut std::process::Child) -> i32 {
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert_eq!(first, "ready\n");
    child.id() as i32
}

fn program_pid_of(refgraph_pid: i32) -> i32 {
    let children = format!("/proc/{refgraph_pid}/task/{refgraph_pid}/children");
    let text = std::fs::read_to_string(&children).unwrap_or_default();
    text.split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no child in {children}"))
}

#[test]
fn sigterm_and_sighup_to_refgraph_are_passed_on_to_the_program() {
    for (sig, name) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGHUP, "SIGHUP")] {
        let w = Workdir::new();
        let tmp = w.path("tmp");
        std::fs::create_dir(&tmp).unwrap();
        let mut child = refgraph()
            .env("TMPDIR", &tmp)
            .args(["capture", "-o", &w.arg("t.rgsnap"), "--", "python3"])
            .arg(script("slow_dump.py"))
            .arg(w.path("never"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let rp = read_pid_of_capture(&mut child);
        let program = program_pid_of(rp);
        signal(rp, sig);
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(128 + sig), "{name}: {stderr}");
        assert!(
            stderr.contains(&format!("passed {name} on to the program")),
            "{stderr}"
        );
        assert!(stderr.contains(&format!("({name} ended it)")), "{stderr}");
        assert!(!is_running(program), "the program is gone");
        let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
        assert!(left.is_empty(), "the temp dir was removed: {left:?}");
    }
}

#[test]
fn a_killed_refgraph_leaves_no_orphan() {
    let w = Workdir::new();
    let mut child = spawn_capture(
        &["-o", &w.arg("k.rgsnap")],
        "slow_dump.py",
        &[&w.arg("never")],
    );
    let rp = read_pid_of_capture(&mut child);
    let program = program_pid_of(rp);
    signal(rp, libc::SIGKILL);
    child.wait().unwrap();
    wait_for("the program to end with refgraph", || {
        !is_running(program)
            || std::fs::read_to_string(format!("/proc/{program}/stat"))
                .is_ok_and(|s| s.contains(") Z "))
    });
}

#[test]
fn a_dump_signal_during_a_dump_is_noted_not_nested() {
    let w = Workdir::new();
    let stop = w.arg("stop");
    let mut child = spawn_capture(
        &[
            "-o",
            &w.arg("s.rgsnap"),
            "--signal",
            "SIGUSR2",
            "--no-collect",
        ],
        "slow_dump.py",
        &[&stop],
    );
    let rp = read_pid_of_capture(&mut child);
    let program = program_pid_of(rp);
    signal(program, libc::SIGUSR2);
    std::thread::sleep(Duration::from_millis(150));
    signal(program, libc::SIGUSR2);
    wait_for("the first signal's snapshot", || {
        w.path("s.1.rgsnap").exists()
    });
    std::fs::write(&stop, "").unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("dump already in progress"), "{stderr}");
    assert!(!w.path("s.2.rgsnap").exists(), "no nested dump: {stderr}");
    let lists: Found = json(&["find", &w.arg("s.1.rgsnap"), "list", "--limit", "1"]);
    assert!(
        lists.total < 401_000,
        "the dumper's own work is not in the snapshot: {} lists",
        lists.total
    );
}

#[test]
fn a_forked_child_never_overwrites_the_programs_snapshot() {
    let w = Workdir::new();
    let snap = w.arg("p.rgsnap");
    let stop = w.arg("stop");
    std::fs::write(&stop, "").unwrap();
    let out = refgraph()
        .args(["capture", "-o", &snap, "--", "python3"])
        .arg(script("prefork.py"))
        .arg(&stop)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let master: Found = json(&["find", &snap, "Master"]);
    assert_eq!(master.total, 1, "the master's own snapshot");
    let files: Vec<_> = std::fs::read_dir(w.path(""))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".rgsnap"))
        .collect();
    assert_eq!(
        files,
        ["p.rgsnap"],
        "without --follow-forks only the program dumps"
    );
}

#[test]
fn follow_forks_gives_every_worker_its_own_files_on_signal_and_at_exit() {
    let w = Workdir::new();
    let snap = w.arg("p.rgsnap");
    let stop = w.arg("stop");
    let mut child = spawn_capture(
        &["-o", &snap, "--follow-forks", "--signal", "SIGUSR2"],
        "prefork.py",
        &[&stop, "2"],
    );
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut workers = Vec::new();
    for _ in 0..2 {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let pid: i32 = line
            .trim()
            .strip_prefix("worker ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("a worker's pid line, not {line:?}"));
        workers.push(pid);
    }
    for &pid in &workers {
        signal(pid, libc::SIGUSR2);
    }
    for &pid in &workers {
        let file = w.path(&format!("p.{pid}.1.rgsnap"));
        wait_for("a worker's signal snapshot", || file.exists());
    }
    std::fs::write(&stop, "").unwrap();
    let result = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "{stderr}");
    assert!(stderr.contains("5 snapshots written"), "{stderr}");
    for &pid in &workers {
        for name in [format!("p.{pid}.1.rgsnap"), format!("p.{pid}.rgsnap")] {
            let path = w.arg(&name);
            assert!(stderr.contains(&path), "{name} listed: {stderr}");
            let worker: Found = json(&["find", &path, "Worker"]);
            assert_eq!(worker.total, 1, "{name} is the worker's own heap");
        }
    }
    let master: Found = json(&["find", &snap, "Master"]);
    assert_eq!(master.total, 1);
    let out = crate::util::run(&["find", &snap, "Worker"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the master's file is the master's"
    );
}
