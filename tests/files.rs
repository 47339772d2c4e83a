//! Files in and out: an output never replaces an input, a device, pipe or socket is written
//! in place, output errors name the user's path once; a pipe is read as a stream, a device
//! refused, nothing blocks on a FIFO; a file changed while it is read (a snapshot, or the
//! mapped index under an open shell) is said so; size sums never wrap.

use crate::util::{refgraph, Workdir};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// module m → list 2 → list 3 → list 2 (a cycle), and an int.
const TINY: &str = concat!(
    r#"{"kind":"header","format":"refgraph-snapshot","version":[1,0]}"#,
    "\n",
    r#"{"kind":"types","base":0,"names":[["builtins","module"],["builtins","list"],["builtins","int"]]}"#,
    "\n",
    r#"{"kind":"objects","id":[1,2,3,4],"type":[0,1,1,2],"size":[72,64,64,28],"refcount":[1,2,1,1],"flags":[2,6,6,0],"label":["m","2 items","1 item","7"],"nrefs":[1,2,1,0],"refs":[2,3,4,2],"edge_labels":[".x"]}"#,
    "\n",
    r#"{"kind":"root","root":"module","name":"m","id":1}"#,
    "\n",
    r#"{"kind":"end","objects":4,"edges":4}"#,
    "\n"
);

/// Write the tiny snapshot as `name` in `w`; returns its path as an argument.
fn tiny(w: &Workdir, name: &str) -> String {
    std::fs::write(w.path(name), TINY).unwrap();
    w.arg(name)
}

/// Run `args` in `dir`, killing it after `limit`: a hang is a failure, not a stuck test.
fn run_within(dir: &Path, args: &[&str], stdin: Option<&[u8]>, limit: Duration) -> Output {
    let mut child = refgraph()
        .current_dir(dir)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("refgraph starts");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
    }
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            child.kill().unwrap();
            panic!("refgraph {args:?} hung for {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn run_in(dir: &Path, args: &[&str]) -> Output {
    run_within(dir, args, None, Duration::from_secs(60))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Exit 2 and exactly this one line on stderr (after "refgraph: ").
fn assert_refused(out: &Output, line: &str) {
    assert_eq!(out.status.code(), Some(2), "stderr: {}", stderr(out));
    assert_eq!(stderr(out), format!("refgraph: {line}\n"));
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
}

/// A character device to write to: as root, a private one made in `w` (a regression that
/// renamed a file over the device would otherwise replace the host's `/dev/null`); as a
/// user, the system's (`/dev` is not writable then).
fn char_device(w: &Workdir, name: &str, minor: u32) -> String {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return format!("/dev/{name}");
    }
    let path = w.path(name);
    let status = Command::new("mknod")
        .args(["-m", "666"])
        .arg(&path)
        .args(["c", "1", &minor.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "mknod {name}");
    path.to_string_lossy().into_owned()
}

const REFUSED: &str = "the output is the snapshot being read; not overwritten";

#[test]
fn an_output_never_replaces_a_snapshot_being_read_whatever_names_it() {
    // (snapshot file, arguments, the output named in the message)
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "s.rgsnap",
            &["report", "s.rgsnap", "-o", "s.rgsnap"],
            "s.rgsnap",
        ),
        ("app.html", &["report", "app.html"], "app.html"),
        (
            "own.json",
            &["refs", "own.json", "0x2", "-o", "own.json"],
            "own.json",
        ),
        (
            "x.dot",
            &["backrefs", "x.dot", "0x3", "-o", "x.dot"],
            "x.dot",
        ),
        ("c.dot", &["chain", "c.dot", "0x3", "-o", "c.dot"], "c.dot"),
        (
            "s.rgsnap",
            &["report", "s.rgsnap", "-o", "hard.html"],
            "hard.html",
        ),
        (
            "s.rgsnap",
            &["report", "s.rgsnap", "-o", "link.html"],
            "link.html",
        ),
        (
            "s.rgsnap",
            &["refs", "s.rgsnap", "0x2", "-o", "hard.json"],
            "hard.json",
        ),
        (
            "s.rgsnap",
            &["cycles", "s.rgsnap", "--render", "pics"],
            "pics/cycle-1.svg",
        ),
    ];
    for &(snap, args, output) in cases {
        let w = Workdir::new();
        tiny(&w, snap);
        std::fs::hard_link(w.path(snap), w.path("hard.html")).unwrap();
        std::fs::hard_link(w.path(snap), w.path("hard.json")).unwrap();
        std::os::unix::fs::symlink(w.path(snap), w.path("link.html")).unwrap();
        std::fs::create_dir(w.path("pics")).unwrap();
        std::fs::hard_link(w.path(snap), w.path("pics/cycle-1.svg")).unwrap();
        let out = run_in(&w.path(""), args);
        assert_refused(&out, &format!("{output}: {REFUSED}"));
        assert_eq!(
            std::fs::read_to_string(w.path(snap)).unwrap(),
            TINY,
            "{args:?}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn a_baseline_is_never_replaced_either() {
    let w = Workdir::new();
    tiny(&w, "new.rgsnap");
    tiny(&w, "old.rgsnap");
    let args = [
        "report",
        "new.rgsnap",
        "--baseline",
        "old.rgsnap",
        "-o",
        "old.rgsnap",
    ];
    let out = run_in(&w.path(""), &args);
    assert_refused(&out, &format!("old.rgsnap: {REFUSED}"));
    assert_eq!(std::fs::read_to_string(w.path("old.rgsnap")).unwrap(), TINY);
}

#[test]
fn the_shell_never_replaces_its_snapshot() {
    let w = Workdir::new();
    tiny(&w, "s.rgsnap");
    let input = b"report -o s.rgsnap\nsummary\n";
    let out = run_within(
        &w.path(""),
        &["shell", "s.rgsnap"],
        Some(input),
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("s.rgsnap: {REFUSED}")),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(w.path("s.rgsnap")).unwrap(), TINY);
}

#[test]
fn capture_never_replaces_a_file_the_program_is_run_with() {
    let w = Workdir::new();
    let program = "print('hello')\n";
    std::fs::write(w.path("app.py"), program).unwrap();
    std::fs::hard_link(w.path("app.py"), w.path("linked.rgsnap")).unwrap();
    for output in ["app.py", "linked.rgsnap"] {
        let args = ["capture", "-o", output, "--", "python3", "app.py"];
        let out = run_in(&w.path(""), &args);
        assert_refused(
            &out,
            &format!("{output}: the output is a file named on the program's command line; not overwritten"),
        );
        assert_eq!(std::fs::read_to_string(w.path("app.py")).unwrap(), program);
    }
}

#[test]
fn capture_refuses_an_output_it_cannot_write_before_the_program_runs() {
    let w = Workdir::new();
    std::fs::write(w.path("app.py"), "print('the program ran')\n").unwrap();
    std::fs::create_dir(w.path("sub")).unwrap();
    let cases = [
        ("nodir/x.rgsnap", "no directory nodir/"),
        (".", "is a directory"),
        ("sub", "is a directory"),
        ("sub/", "is a directory"),
        ("new/", "names a directory, not a file"),
        ("app.py/x.rgsnap", "app.py/ is not a directory"),
    ];
    for (output, problem) in cases {
        for pid in [None, Some("1")] {
            let mut args = vec!["capture", "-o", output];
            match pid {
                Some(pid) => args.extend(["--pid", pid]),
                None => args.extend(["--", "python3", "app.py"]),
            }
            let out = run_in(&w.path(""), &args);
            assert_refused(&out, &format!("{output}: cannot write: {problem}"));
            assert!(out.stdout.is_empty(), "the program ran: {args:?}");
        }
    }
    assert_eq!(std::fs::read_dir(w.path("sub")).unwrap().count(), 0);
}

/// Outputs get the mode a shell's `>` gives (0666 less the umask), and never more than the
/// snapshot they are made from: a report of a private snapshot is private.
#[test]
fn outputs_follow_the_umask_and_are_no_more_readable_than_their_input() {
    use std::os::unix::fs::PermissionsExt;
    let w = Workdir::new();
    tiny(&w, "s.rgsnap");
    let bin = env!("CARGO_BIN_EXE_refgraph");
    let mode_of = |name: &str| {
        std::fs::metadata(w.path(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    let cases = [
        (0o644, "022", 0o644),
        (0o644, "077", 0o600),
        (0o600, "022", 0o600),
        (0o640, "002", 0o660 & 0o640 | 0o600),
    ];
    for (input_mode, umask, expected) in cases {
        std::fs::set_permissions(
            w.path("s.rgsnap"),
            std::fs::Permissions::from_mode(input_mode),
        )
        .unwrap();
        for out in ["c.rgbin", "r.html", "g.dot"] {
            let _ = std::fs::remove_file(w.path(out));
        }
        let script = format!(
            "umask {umask} && '{bin}' convert s.rgsnap c.rgbin && '{bin}' report s.rgsnap -o r.html && '{bin}' refs s.rgsnap 0x2 -o g.dot"
        );
        let out = Command::new("bash")
            .current_dir(w.path(""))
            .args(["-c", &script])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        for out in ["c.rgbin", "r.html", "g.dot"] {
            assert_eq!(
                mode_of(out),
                expected,
                "{out}: input {input_mode:o}, umask {umask}"
            );
        }
    }
}

/// `dump()` in the program writes a device or a FIFO in place (as root, renaming over
/// `/dev/null` would replace the host's), and replaces a symlink's target, keeping the link.
#[test]
fn dump_writes_devices_and_fifos_in_place_and_keeps_symlinks() {
    let w = Workdir::new();
    // As a user, a link to the system's /dev/null: followed, and written in place too.
    let null = char_device(&w, "null", 3);
    let kind = if null == w.arg("null") { 'c' } else { 'l' };
    if kind == 'l' {
        std::os::unix::fs::symlink(&null, w.path("null")).unwrap();
    }
    mkfifo(&w.path("fifo"));
    std::fs::write(w.path("real.rgsnap"), "old").unwrap();
    std::os::unix::fs::symlink("real.rgsnap", w.path("link.rgsnap")).unwrap();
    let out = w.python("dump_special_paths.py", &[&w.dumper_dir(), &w.arg("")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("null {kind}\nfifo p\nlink.rgsnap l\nthrough the fifo True\ntarget True\n")
    );
    let kind = std::fs::metadata(&null).unwrap().file_type();
    assert!(std::os::unix::fs::FileTypeExt::is_char_device(&kind));
}

#[test]
fn capture_never_renames_a_snapshot_over_a_device_or_pipe() {
    let w = Workdir::new();
    std::fs::write(w.path("app.py"), "x = 1\n").unwrap();
    let null = char_device(&w, "null", 3);
    mkfifo(&w.path("fifo.rgsnap"));
    use std::os::unix::fs::FileTypeExt;
    for output in [null.as_str(), "fifo.rgsnap"] {
        let args = ["capture", "-o", output, "--", "python3", "app.py"];
        let out = run_within(&w.path(""), &args, None, Duration::from_secs(60));
        assert_refused(
            &out,
            &format!("{output}: not a regular file; capture writes its snapshot to a file (name one with -o)"),
        );
        let kind = std::fs::metadata(w.path("").join(output))
            .unwrap()
            .file_type();
        assert!(
            kind.is_char_device() || kind.is_fifo(),
            "{output} was replaced"
        );
    }
}

#[test]
fn devices_pipes_sockets_and_stdout_are_written_in_place() {
    let w = Workdir::new();
    tiny(&w, "s.rgsnap");
    let dir = w.path("");
    let null = char_device(&w, "null", 3);
    let full = char_device(&w, "full", 7);
    // /dev/fd/1 rather than /dev/stdout: the same to refgraph, but a regression could not
    // replace the host's /dev/stdout symlink.
    for (output, to_stdout) in [(null.as_str(), false), ("/dev/fd/1", true), ("-", true)] {
        let out = run_in(&dir, &["report", "s.rgsnap", "-o", output]);
        assert_eq!(out.status.code(), Some(0), "{output}: {}", stderr(&out));
        let html = String::from_utf8_lossy(&out.stdout);
        assert_eq!(html.contains("</html>"), to_stdout, "{output}");
    }
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata(&null)
        .unwrap()
        .file_type()
        .is_char_device());
    assert_refused(
        &run_in(&dir, &["report", "s.rgsnap", "-o", &full]),
        &format!("{full}: cannot write: no space left on device"),
    );
    assert!(std::fs::metadata(&full)
        .unwrap()
        .file_type()
        .is_char_device());

    // A FIFO with a reader gets the page; the FIFO stays a FIFO.
    let fifo = w.path("page.html");
    mkfifo(&fifo);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    std::thread::sleep(Duration::from_millis(100));
    let out = run_in(&dir, &["report", "s.rgsnap", "-o", "page.html"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(reader.join().unwrap().contains("</html>"));
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    // With no reader: refused at once, never a hang.
    let out = run_within(
        &dir,
        &["report", "s.rgsnap", "-o", "page.html"],
        None,
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).starts_with("refgraph: page.html: cannot write: a pipe with no reader"));

    // A Unix socket: connected to and written.
    let socket = w.path("page.sock");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        text
    });
    let out = run_in(&dir, &["report", "s.rgsnap", "-o", "page.sock"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(server.join().unwrap().contains("</html>"));
    assert!(std::fs::metadata(&socket).unwrap().file_type().is_socket());
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn output_errors_name_the_users_path_once_and_no_temp_file() {
    let w = Workdir::new();
    tiny(&w, "s.rgsnap");
    let dir = w.path("");
    let cases: &[(&[&str], &str)] = &[
        (
            &["report", "s.rgsnap", "-o", "nonexistent/x.html"],
            "nonexistent/x.html: cannot write: no directory nonexistent/",
        ),
        (
            &["refs", "s.rgsnap", "0x2", "-o", "nonexistent/deeper/x.dot"],
            "nonexistent/deeper/x.dot: cannot write: no directory nonexistent/deeper/",
        ),
        (
            &["report", "s.rgsnap", "-o", "s.rgsnap/x.html"],
            "s.rgsnap/x.html: cannot write: s.rgsnap/ is not a directory",
        ),
        (
            &["convert", "s.rgsnap", "."],
            ".: cannot write: is a directory",
        ),
        (
            &["convert", "s.rgsnap", "sub/"],
            "sub/: cannot write: is a directory",
        ),
        (
            &["report", "s.rgsnap", "-o", "nodir/"],
            "nodir/: cannot write: names a directory, not a file",
        ),
        (
            &["refs", "s.rgsnap", "0x2", "-o", ".."],
            "..: cannot write: is a directory",
        ),
    ];
    std::fs::create_dir(w.path("sub")).unwrap();
    for (args, line) in cases {
        assert_refused(&run_in(&dir, args), line);
    }
}

#[test]
fn devices_are_refused_and_pipes_read_as_streams() {
    let w = Workdir::new();
    tiny(&w, "s.rgsnap");
    let dir = w.path("");
    let limit = Duration::from_secs(20);
    for device in ["/dev/zero", "/dev/null", "/dev/urandom"] {
        let out = run_within(&dir, &["summary", device], None, limit);
        assert_refused(
            &out,
            &format!("{device}: not a regular file (a pipe or device); save the snapshot to a file first"),
        );
    }
    // /dev/stdin from a pipe, and <(…).
    let out = run_within(
        &dir,
        &["summary", "/dev/stdin"],
        Some(TINY.as_bytes()),
        limit,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Objects   4"));
    let bin = env!("CARGO_BIN_EXE_refgraph");
    let out = Command::new("bash")
        .current_dir(&dir)
        .args(["-c", &format!("'{bin}' summary <(cat s.rgsnap)")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let gz = Command::new("bash")
        .current_dir(&dir)
        .args(["-c", &format!("'{bin}' summary <(gzip -c s.rgsnap)")])
        .output()
        .unwrap();
    assert_eq!(gz.status.code(), Some(0), "{}", stderr(&gz));
    assert_eq!(out.stdout, gz.stdout);

    // A report of a pipe must be named: nothing is created beside /dev/stdin.
    let out = run_within(
        &dir,
        &["report", "/dev/stdin"],
        Some(TINY.as_bytes()),
        limit,
    );
    assert_refused(
        &out,
        "/dev/stdin: the snapshot is read from a pipe; name the page with -o FILE (or -o - for stdout)",
    );
    assert!(!Path::new("/dev/stdin.html").exists());
    let out = run_within(
        &dir,
        &["report", "/dev/stdin", "-o", "-"],
        Some(TINY.as_bytes()),
        limit,
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("</html>"));

    // A FIFO with a writer streams; with none it reads as empty, never a hang.
    let fifo = w.path("f.rgsnap");
    mkfifo(&fifo);
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(fifo, TINY).unwrap())
    };
    let out = run_within(&dir, &["summary", "f.rgsnap"], None, limit);
    writer.join().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run_within(&dir, &["summary", "f.rgsnap"], None, limit);
    assert_refused(
        &out,
        "f.rgsnap: empty pipe, not a snapshot (nothing came through it in 2 s)",
    );
}

#[test]
fn a_fifo_or_device_planted_as_the_index_is_ignored() {
    let w = Workdir::new();
    tiny(&w, "s.rgsnap");
    mkfifo(&w.path("s.rgsnap.rgidx"));
    let out = run_within(
        &w.path(""),
        &["summary", "s.rgsnap"],
        None,
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    use std::os::unix::fs::FileTypeExt;
    let kind = std::fs::metadata(w.path("s.rgsnap.rgidx"))
        .unwrap()
        .file_type();
    assert!(kind.is_fifo(), "the planted FIFO was replaced");
    std::fs::remove_file(w.path("s.rgsnap.rgidx")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", w.path("s.rgsnap.rgidx")).unwrap();
    let out = run_within(
        &w.path(""),
        &["summary", "s.rgsnap"],
        None,
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// A snapshot of `n` objects in chunks, as the dumper writes it.
fn big_snapshot(n: u64, size: u64) -> String {
    let mut text = String::from(concat!(
        r#"{"kind":"header","format":"refgraph-snapshot","version":[1,0]}"#,
        "\n",
        r#"{"kind":"types","base":0,"names":[["builtins","module"],["builtins","bytes"]]}"#,
        "\n"
    ));
    let ids: Vec<u64> = (1..=n).collect();
    for chunk in ids.chunks(8192) {
        let list =
            |f: &dyn Fn(u64) -> String| chunk.iter().map(|&i| f(i)).collect::<Vec<_>>().join(",");
        text += &format!(
            r#"{{"kind":"objects","id":[{}],"type":[{}],"size":[{}],"refcount":[{}],"flags":[{}],"label":[{}],"nrefs":[{}],"refs":[{}],"edge_labels":[{}]}}"#,
            list(&|i| i.to_string()),
            list(&|i| u64::from(i != 1).to_string()),
            list(&|_| size.to_string()),
            list(&|_| "1".into()),
            list(&|_| "0".into()),
            list(&|_| "null".into()),
            list(&|i| u64::from(i == 1 && n > 1).to_string()),
            if chunk[0] == 1 && n > 1 { "2" } else { "" },
            if chunk[0] == 1 && n > 1 { "null" } else { "" },
        );
        text.push('\n');
    }
    text += r#"{"kind":"root","root":"module","name":"m","id":1}"#;
    text += &format!("\n{{\"kind\":\"end\",\"objects\":{n}}}\n");
    text
}

#[test]
fn size_sums_past_u64_never_wrap_or_panic() {
    let w = Workdir::new();
    // 65,537 objects of 2^48 bytes: 2^64 and more in all.
    let text = big_snapshot(65_537, 1 << 48);
    std::fs::write(w.path("huge.rgsnap"), &text).unwrap();
    std::fs::write(w.path("old.rgsnap"), TINY).unwrap();
    let dir = w.path("");
    let runs: &[&[&str]] = &[
        &["summary", "huge.rgsnap", "--json"],
        &["types", "huge.rgsnap", "--retained"],
        &["top", "huge.rgsnap"],
        &["cycles", "huge.rgsnap"],
        &["find", "huge.rgsnap", "bytes"],
        &["diff", "old.rgsnap", "huge.rgsnap"],
        &["orphans", "huge.rgsnap"],
        &["report", "huge.rgsnap", "-o", "r.html"],
    ];
    for args in runs {
        let out = run_in(&dir, args);
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains("panicked"), "{args:?}");
    }
    let out = run_in(&dir, &["summary", "huge.rgsnap", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["data"]["total_size"], serde_json::json!(u64::MAX));
}

#[test]
fn a_snapshot_rewritten_while_it_is_read_is_said_so_never_a_signal() {
    let w = Workdir::new();
    let path = w.path("big.rgsnap");
    let text = big_snapshot(400_000, 32);
    std::fs::write(&path, &text).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let churn = {
        let (path, stop, text) = (path.clone(), stop.clone(), text.clone());
        std::thread::spawn(move || {
            let mut cut = text.len() / 2;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // In place, as `cp new old` does: truncate, then write back.
                let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
                f.set_len(cut as u64).unwrap();
                std::thread::sleep(Duration::from_millis(3));
                f.write_all(&text.as_bytes()[cut..]).ok();
                cut = (cut * 7 + 13) % text.len();
            }
        })
    };
    let mut changed = 0;
    for _ in 0..8 {
        let out = refgraph()
            .env("REFGRAPH_NO_INDEX", "1")
            .args(["types", path.to_str().unwrap()])
            .output()
            .unwrap();
        let code = out.status.code();
        assert!(code.is_some(), "killed by a signal: {:?}", out.status);
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{err}");
        if err.contains("the file changed while it was read") {
            changed += 1;
            assert_eq!(code, Some(2));
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    churn.join().unwrap();
    assert!(changed > 0, "no run noticed the rewrite");
}

#[test]
fn an_index_cut_short_under_an_open_shell_is_said_so_never_a_signal() {
    let w = Workdir::new();
    let path = w.path("big.rgsnap");
    std::fs::write(&path, big_snapshot(150_000, 32)).unwrap();
    let index = w.path("big.rgsnap.rgidx");
    let first = run_in(&w.path(""), &["types", "big.rgsnap"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert!(index.is_file(), "the first load wrote no index");
    let mut shell = refgraph()
        .current_dir(w.path(""))
        .args(["shell", "big.rgsnap"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = shell.stdin.take().unwrap();
    stdin.write_all(b"summary\n").unwrap();
    let mut stdout = std::io::BufReader::new(shell.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    assert!(!line.is_empty(), "the shell answered nothing");
    // In place, as `cp other.rgidx big.rgsnap.rgidx` does: the shell's map loses its pages.
    let cut = std::fs::OpenOptions::new()
        .write(true)
        .open(&index)
        .unwrap();
    cut.set_len(4096).unwrap();
    stdin.write_all(b"cycles\ntypes\n").ok();
    drop(stdin);
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).ok();
    let out = shell.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "killed by a signal? {:?}",
        out.status
    );
    assert!(
        stderr(&out)
            .contains("big.rgsnap.rgidx: the file was cut short while refgraph was reading it"),
        "{}",
        stderr(&out)
    );
}
