//! What a new user sees: the demo's next steps run as printed, the largest-object lists show
//! other suspects than one leak's parts, and `top` and `summary` say the same thing.

use crate::util::{refgraph, stdout, Workdir};

#[test]
fn the_demo_prints_next_commands_that_run_as_printed() {
    let w = Workdir::new();
    // The binary's directory is not on PATH, as after `cargo run`.
    let path = std::env::var_os("PATH").unwrap_or_default();
    let out = refgraph()
        .args(["demo", "--dir", &w.arg("demo dir")])
        .env("PATH", &path)
        .output()
        .expect("demo runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let next: Vec<&str> = text
        .split("Next, try:\n")
        .nth(1)
        .expect("next steps")
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .collect();
    assert!(next.len() >= 4, "{text}");
    let show = next
        .iter()
        .find(|l| l.contains(" show "))
        .expect("a show line");
    let bin = env!("CARGO_BIN_EXE_refgraph");
    assert!(
        show.starts_with(bin) || show.starts_with(&format!("'{bin}'")),
        "the binary's own path: {show}"
    );
    let run = std::process::Command::new("sh")
        .args(["-c", show])
        .env("PATH", &path)
        .env("NO_COLOR", "1")
        .output()
        .expect("sh runs");
    assert!(
        run.status.success(),
        "{show}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(String::from_utf8_lossy(&run.stdout).contains("held by"));
}

#[test]
fn rows_kept_alive_by_a_row_above_are_counted_in_it_not_listed() {
    let w = Workdir::new();
    let snap = w.capture("nested_leak.py", &[]);
    // Listed one by one, the leak's 10 inner lists and 20 ValueErrors (each retaining more
    // than `other`) would fill the 10 rows.
    let text = stdout(&["summary", &snap, "--limit", "10"]);
    let rows: Vec<&str> = text
        .split("what holds them\n")
        .nth(1)
        .expect("the largest objects")
        .lines()
        .collect();
    assert_eq!(rows.len(), 10, "{text}");
    assert!(rows[0].contains("← __main__.leak"), "{text}");
    assert!(
        rows[0].contains("10 list")
            && rows[0].contains("20 ValueError")
            && rows[0].ends_with("inside it)"),
        "{text}"
    );
    assert!(
        rows.iter().any(|r| r.contains("← __main__.other")),
        "the other suspect shows: {text}"
    );
    let json: refgraph::query::summary::Summary =
        crate::util::json(&["summary", &snap, "--top", "10"]);
    let inside = &json.largest[0].inside;
    assert_eq!(
        inside
            .iter()
            .find(|t| t.type_name == "ValueError")
            .map(|t| t.count),
        Some(20)
    );

    let html = w.arg("r.html");
    stdout(&["report", &snap, "--limit", "10", "-o", &html]);
    let page = std::fs::read_to_string(&html).expect("the report");
    assert!(
        page.contains("By retained size"),
        "the heading says the order"
    );
    assert!(!page.contains("By shallow size"));
    assert!(
        page.contains("20 ValueError"),
        "collapsed rows counted in the report"
    );
    assert!(
        page.contains(r#"<th class="num" data-sort="num" aria-sort="descending">Retained</th>"#),
        "the sorted column is the retained one"
    );
}

#[test]
fn top_and_summary_name_the_holder_of_every_suspect_alike() {
    let w = Workdir::new();
    let snap = w.capture("seed_cycle.py", &[]);
    let top = stdout(&["top", &snap]);
    let summary = stdout(&["summary", &snap]);
    for block in top.split("\nSuspect #").skip(1) {
        let second = block.lines().nth(1).unwrap_or_default();
        assert!(second.starts_with("  held by   "), "{top}");
    }
    let garbage = "nothing: cyclic garbage (the cycle collector flagged it)";
    assert!(top.contains(&format!("held by   {garbage}")), "{top}");
    assert!(summary.contains(&format!("← {garbage}")), "{summary}");
    assert!(
        top.contains("(its children in the dominator tree)"),
        "{top}"
    );
    assert!(!top.contains("garbage or held from C"), "{top}");
}

#[test]
fn one_instance_and_type_selectors_everywhere() {
    let w = Workdir::new();
    let snap = w.capture("nested_leak.py", &[]);
    let found = stdout(&["find", &snap, "type:bytearray", "--top", "5"]);
    assert!(found.starts_with("1 instance of bytearray,"), "{found}");
    let both = stdout(&["types", &snap, "--top", "2"]);
    assert_eq!(both, stdout(&["types", &snap, "--limit", "2"]));
}

/// A tmux server of its own (its socket in the test's directory), killed when dropped.
struct Tmux {
    socket: std::path::PathBuf,
}

impl Tmux {
    fn command(&self) -> std::process::Command {
        let mut c = std::process::Command::new("tmux");
        c.arg("-S").arg(&self.socket).env("TERM", "xterm-256color");
        c
    }

    /// Start `shell_command` in a new 120×40 window.
    fn start(socket: std::path::PathBuf, shell_command: &str) -> Tmux {
        let t = Tmux { socket };
        let ok = t
            .command()
            .args(["new-session", "-d", "-x", "120", "-y", "40", shell_command])
            .status()
            .expect("tmux runs");
        assert!(ok.success(), "tmux new-session");
        t
    }

    fn keys(&self, keys: &[&str]) {
        let ok = self
            .command()
            .arg("send-keys")
            .args(keys)
            .status()
            .expect("tmux send-keys");
        assert!(ok.success());
        std::thread::sleep(std::time::Duration::from_millis(300));
    }

    fn screen(&self) -> String {
        let out = self
            .command()
            .args(["capture-pane", "-p", "-S", "-200"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The screen once `text` shows on it `times` times (20 s at most).
    fn wait_for(&self, text: &str, times: usize) -> String {
        for _ in 0..200 {
            let screen = self.screen();
            if screen.matches(text).count() >= times {
                return screen;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("`{text}` never showed:\n{}", self.screen());
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.command().arg("kill-server").status();
    }
}

#[test]
#[cfg_attr(
    not(has_tmux),
    ignore = "`tmux` is not on PATH: the shell was not tried in a terminal"
)]
fn the_shell_in_a_terminal_completes_clears_remembers_and_leaves() {
    crate::util::tool("tmux").expect("`tmux` was on PATH when the tests were built, and is gone");
    let w = Workdir::new();
    let snap = w.capture("nested_leak.py", &[]);
    let home = w.path("home");
    std::fs::create_dir_all(&home).expect("home");
    let shell = format!(
        "env -u XDG_STATE_HOME HOME='{}' NO_COLOR=1 '{}' shell '{snap}'; echo SHELL-EXITED; sleep 60",
        home.display(),
        env!("CARGO_BIN_EXE_refgraph"),
    );
    let first = Tmux::start(w.path("tmux-1"), &shell);
    first.wait_for("`help` lists the commands", 1);
    first.keys(&["fi", "Tab"]);
    first.keys(&[" bytea", "Tab"]);
    first.keys(&[" --li", "Tab"]);
    first.keys(&[" 1", "Enter"]);
    let screen = first.wait_for("1 instance of bytearray", 1);
    assert!(
        screen.contains("refgraph> find bytearray --limit 1"),
        "{screen}"
    );
    first.keys(&["show type:Value", "C-c"]);
    first.keys(&["chian", "Enter"]);
    let screen = first.wait_for("did you mean `chain`?", 1);
    assert!(
        !screen.contains("held by"),
        "Ctrl-C dropped the line: {screen}"
    );
    first.keys(&["C-d"]);
    let screen = first.wait_for("SHELL-EXITED", 1);
    let before: Vec<&str> = screen
        .lines()
        .take_while(|l| !l.contains("SHELL-EXITED"))
        .collect();
    assert_eq!(
        before.last().map(|l| l.trim_end()),
        Some("refgraph>"),
        "Ctrl-D ends the prompt's line: {screen}"
    );
    drop(first);

    let second = Tmux::start(w.path("tmux-2"), &shell);
    second.wait_for("`help` lists the commands", 1);
    second.keys(&["Up", "Up", "Enter"]);
    second.wait_for("1 instance of bytearray", 1);
    let history = std::fs::read_to_string(home.join(".local/state/refgraph/history"))
        .expect("the history file");
    assert!(history.contains("find bytearray --limit 1"), "{history}");
    assert!(!history.contains("show type:Value"), "{history}");
}

#[test]
fn a_piped_line_that_is_not_utf8_is_named_and_the_shell_goes_on() {
    use std::io::Write;
    let w = Workdir::new();
    let snap = w.capture("nested_leak.py", &[]);
    let mut child = refgraph()
        .args(["shell", &snap])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the shell starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"types --limit 1\nfind \xff\xfe\ntypes --limit 1\n")
        .expect("input");
    let out = child.wait_with_output().expect("the shell ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("refgraph: <stdin>:2: not UTF-8"),
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(2), "a failed line fails the script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches("count").count(), 2, "both answers: {stdout}");
}

#[test]
fn diff_ranks_program_types_first_and_warns_across_processes() {
    let w = Workdir::new();
    let dir = w.dumper_dir();
    let (old, new) = (w.arg("old.rgsnap"), w.arg("new.rgsnap"));
    w.python("grow.py", &[&dir, &old, &new]);
    let text = stdout(&["diff", &old, &new, "--limit", "3"]);
    let first = text.lines().nth(2).unwrap_or_default();
    assert!(
        first.starts_with("Leaked "),
        "the program's type first: {text}"
    );
    assert!(first.contains("+1,000"), "thousands separators: {text}");
    assert!(text.contains("new objs"), "{text}");

    let a = w.capture("nested_leak.py", &[]);
    let b = w.arg("b.rgsnap");
    let out = w.capture_output("nested_leak.py", &b, &[], &[]);
    assert!(out.status.success());
    let out = crate::util::run(&["diff", &a, &b, "--new", "ValueError"]);
    let (text, err) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(err.contains("come from different processes (pid "), "{err}");
    assert!(
        !text.contains("new objs") && !text.contains("Only in NEW"),
        "{text}"
    );
    let growth: refgraph::query::diff::Growth = crate::util::json(&["diff", &a, &b]);
    assert!(growth.different_processes.is_some());
    assert!(growth.types.iter().all(|t| t.new_objects == 0));
}

#[test]
fn chains_that_read_the_same_say_what_tells_them_apart_and_truncation_is_said() {
    let w = Workdir::new();
    let snap = w.capture("twin_chains.py", &[]);
    let text = stdout(&["chain", &snap, "type:Item", "--all", "--limit", "4"]);
    let through_set: Vec<&str> = text.lines().filter(|l| l.contains("set")).collect();
    assert_eq!(through_set.len(), 3, "{text}");
    let mut vias: Vec<&str> = through_set
        .iter()
        .map(|l| l.split("(via ").nth(1).expect("a via note"))
        .collect();
    vias.dedup();
    assert_eq!(vias.len(), 3, "each names its own tuple: {text}");
    assert!(
        text.contains("… 2 more chains through other holders not shown"),
        "{text}"
    );
    let answers: Vec<refgraph::query::chain::ChainAnswer> =
        crate::util::json(&["chain", &snap, "type:Item", "--all", "--limit", "4"]);
    assert_eq!(answers[0].more_holders, 2);

    let many = stdout(&["chain", &snap, "type:tuple", "--limit", "2"]);
    assert!(many.contains(" more objects not shown (--limit "), "{many}");
}

#[test]
fn forward_chains_do_not_wander_through_classes_unless_asked() {
    let w = Workdir::new();
    let snap = w.capture("twin_chains.py", &[]);
    let forward = |extra: &[&str]| {
        let mut args = vec!["chain", &snap, "type:Item", "--forward", "--to", "function"];
        args.extend_from_slice(extra);
        let answers: Vec<refgraph::query::chain::ChainAnswer> = crate::util::json(&args);
        let chain = answers[0].chains[0].clone();
        chain.steps.last().expect("a step").object.label.clone()
    };
    assert_eq!(
        forward(&[]).as_deref(),
        Some("handler"),
        "through its own data"
    );
    assert_eq!(
        forward(&["--all-edges"]).as_deref(),
        Some("Item.method"),
        "through its class when asked"
    );
}

/// The output with ANSI colour sequences taken out.
fn without_colours(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('\x1b') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let end = after.find('m').map_or(after.len(), |e| e + 1);
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

#[test]
fn colours_only_when_asked_or_on_a_terminal_and_columns_stay_aligned() {
    let w = Workdir::new();
    let snap = w.capture("nested_leak.py", &[]);
    for command in [
        &["summary", &snap][..],
        &["top", &snap],
        &["types", &snap, "--retained"],
        &["find", &snap, "ValueError"],
        &["show", &snap, "type:ValueError"],
        &["chain", &snap, "type:ValueError", "--all"],
        &["cycles", &snap, "--limit", "3"],
    ] {
        let plain = stdout(command);
        assert!(!plain.contains('\x1b'), "no colours in a pipe: {command:?}");
        let never = stdout(&[command, &["--color", "never"]].concat());
        assert_eq!(never, plain);
        let out = refgraph()
            .args(command)
            .args(["--color", "always"])
            .env_remove("NO_COLOR")
            .output()
            .expect("runs");
        let coloured = String::from_utf8_lossy(&out.stdout);
        assert!(coloured.contains("\x1b[36m"), "types in cyan: {command:?}");
        assert_eq!(without_colours(&coloured), plain, "{command:?}");
    }
}

#[test]
#[cfg_attr(
    not(has_tmux),
    ignore = "`tmux` is not on PATH: colours on a terminal were not checked"
)]
fn colours_on_a_terminal_unless_no_color() {
    crate::util::tool("tmux").expect("`tmux` was on PATH when the tests were built, and is gone");
    let w = Workdir::new();
    let snap = w.capture("nested_leak.py", &[]);
    let bin = env!("CARGO_BIN_EXE_refgraph");
    for (env, coloured) in [("env -u NO_COLOR", true), ("env NO_COLOR=1", false)] {
        let t = Tmux::start(
            w.path(&format!("tmux-{coloured}")),
            &format!("{env} '{bin}' types '{snap}' --limit 2; echo DONE; sleep 60"),
        );
        t.wait_for("DONE", 1);
        let out = t
            .command()
            .args(["capture-pane", "-p", "-e"])
            .output()
            .expect("capture-pane");
        let screen = String::from_utf8_lossy(&out.stdout);
        assert_eq!(screen.contains("\x1b["), coloured, "{env}: {screen:?}");
    }
}

#[test]
fn cycles_text_names_functions_as_the_picture_does() {
    let w = Workdir::new();
    let snap = w.capture("function_cycle.py", &[]);
    let text = stdout(&["cycles", &snap, "--type", "function", "--limit", "100"]);
    let edge = text
        .lines()
        .find(|l| l.contains("─['self']→"))
        .unwrap_or_else(|| panic!("the cycle's closing reference: {text}"));
    assert!(
        edge.trim_end().ends_with(")") && edge.contains("→ function on_message (0x"),
        "{edge}"
    );
}
