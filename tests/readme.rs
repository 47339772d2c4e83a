//! The README, executed: every `$ refgraph …` example runs on the bundled example's snapshot
//! and must print what the README shows, and every command of its `sh` blocks must run, so a
//! stale README fails `cargo test`.
//!
//! Comparing with what the README shows, line by line:
//! - a line that is only `…` stands for any number of lines left out;
//! - addresses (`0x7f…`) and timings (`0.18 s`, `0.473 ms`) match any value;
//! - other numbers, sizes included (`7.2 MB`), match within 5% (unitless decimals such as
//!   percentages within 0.2 as well): the heap of the same program differs by a few objects
//!   between runs, machines and CPython patch releases, a stale example by more;
//! - runs of spaces count as one (column widths follow the widest value);
//! - the work dir's path reads `/home/me/app` (allocation sites name files by their whole path).

use crate::util::Workdir;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One `$ COMMAND` of a fenced block and the lines shown under it.
#[derive(Debug, Clone, PartialEq)]
struct Example {
    command: String,
    expected: Vec<String>,
}

/// A fenced block: its info string (`sh`, ``) and its lines.
#[derive(Debug, PartialEq)]
struct Block {
    lang: String,
    lines: Vec<String>,
}

fn fenced_blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for line in markdown.lines() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(lang)) => {
                open = Some(Block {
                    lang: lang.trim().to_string(),
                    lines: Vec::new(),
                })
            }
            (Some(_), Some(_)) => blocks.extend(open.take()),
            (Some(b), None) => b.lines.push(line.to_string()),
            (None, None) => {}
        }
    }
    blocks
}

/// The `$ ` examples of the blocks, each with the lines up to the next `$ ` or the block's
/// end (trailing blank lines dropped).
fn examples(blocks: &[Block]) -> Vec<Example> {
    let mut out: Vec<Example> = Vec::new();
    for b in blocks {
        let mut current: Option<Example> = None;
        for line in &b.lines {
            if let Some(command) = line.strip_prefix("$ ") {
                out.extend(current.take());
                current = Some(Example {
                    command: command.to_string(),
                    expected: Vec::new(),
                });
            } else if let Some(e) = &mut current {
                e.expected.push(line.to_string());
            }
        }
        out.extend(current);
    }
    for e in &mut out {
        while e.expected.last().is_some_and(|l| l.trim().is_empty()) {
            e.expected.pop();
        }
    }
    out
}

/// The command lines of the `sh` blocks, in order, but `cargo …` and `pip …` (the README's build and install steps,
/// which this very test runs under).
fn sh_commands(blocks: &[Block]) -> Vec<String> {
    blocks
        .iter()
        .filter(|b| b.lang == "sh")
        .flat_map(|b| &b.lines)
        .map(|l| l.trim())
        .filter(|l| {
            !l.is_empty()
                && !l.starts_with('#')
                && !l.starts_with("cargo ")
                && !l.starts_with("pip ")
                // attaching needs a running process of its own: tests/attach.rs runs it
                && !l.contains(" --pid ")
        })
        .map(str::to_string)
        .collect()
}

/// A piece of an output line, as compared.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Text(String),
    /// A number (sizes in bytes); `decimal` when written with a decimal point and no unit.
    Number {
        value: f64,
        decimal: bool,
    },
    /// A duration: any value matches.
    Time,
}

/// `7.2 MB` → 7.2e6 and the unit's length in bytes of text; `None` if no size unit follows.
fn size_unit(rest: &str) -> Option<(f64, usize)> {
    for (unit, factor) in [(" B", 1.0), (" kB", 1e3), (" MB", 1e6), (" GB", 1e9)] {
        if let Some(after) = rest.strip_prefix(unit) {
            if !after.starts_with(|c: char| c.is_alphanumeric()) {
                return Some((factor, unit.len()));
            }
        }
    }
    None
}

/// The length of a duration unit (` s`, ` ms`) at the start of `rest`.
fn time_unit(rest: &str) -> Option<usize> {
    for unit in [" ms", " s"] {
        if let Some(after) = rest.strip_prefix(unit) {
            if !after.starts_with(|c: char| c.is_alphanumeric()) {
                return Some(unit.len());
            }
        }
    }
    None
}

/// The length of the number (`1,000`, `7.25`) at the start of `s`.
fn number_len(s: &str) -> usize {
    let b = s.as_bytes();
    let mut i = 0;
    let mut seen_point = false;
    while i < b.len() {
        let digit_at = |j: usize| b.get(j).is_some_and(u8::is_ascii_digit);
        let thousands_comma = b[i] == b',' && (1..=3).all(|k| digit_at(i + k)) && !digit_at(i + 4);
        if b[i].is_ascii_digit() || thousands_comma {
            i += 1;
        } else if b[i] == b'.' && !seen_point && digit_at(i + 1) {
            seen_point = true;
            i += 1;
        } else {
            break;
        }
    }
    i
}

fn tokens(line: &str) -> Vec<Token> {
    let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = Vec::new();
    let mut text = String::new();
    let mut rest = line.as_str();
    let mut previous: Option<char> = None;
    while let Some(c) = rest.chars().next() {
        let word_goes_on = previous.is_some_and(|p| p.is_alphanumeric() || p == '_');
        let hex = rest
            .strip_prefix("0x")
            .map(|h| h.len() - h.trim_start_matches(|c: char| c.is_ascii_hexdigit()).len());
        if let (false, Some(n @ 1..)) = (word_goes_on, hex) {
            text.push_str("0x…");
            rest = &rest[2 + n..];
            previous = Some('x');
            continue;
        }
        if c.is_ascii_digit() && !word_goes_on {
            let n = number_len(rest);
            let literal = rest[..n].replace(',', "");
            let value: f64 = literal.parse().unwrap_or(f64::NAN);
            out.push(Token::Text(std::mem::take(&mut text)));
            let after = &rest[n..];
            let (token, unit) = if let Some(u) = time_unit(after) {
                (Token::Time, u)
            } else if let Some((factor, u)) = size_unit(after) {
                let value = value * factor;
                (
                    Token::Number {
                        value,
                        decimal: false,
                    },
                    u,
                )
            } else {
                let decimal = literal.contains('.');
                (Token::Number { value, decimal }, 0)
            };
            out.push(token);
            rest = &after[unit..];
            previous = Some('0');
            continue;
        }
        text.push(c);
        previous = Some(c);
        rest = &rest[c.len_utf8()..];
    }
    out.push(Token::Text(text));
    out
}

fn numbers_agree(a: f64, b: f64, decimal: bool) -> bool {
    let close = (a - b).abs() <= 0.05 * a.abs().max(b.abs());
    close || (decimal && (a - b).abs() <= 0.2 + 1e-9)
}

/// Whether an output line says what the README's line says.
fn line_matches(expected: &str, actual: &str) -> bool {
    let (e, a) = (tokens(expected), tokens(actual));
    e.len() == a.len()
        && e.iter().zip(&a).all(|pair| match pair {
            (Token::Text(x), Token::Text(y)) => x == y,
            (Token::Time, Token::Time) => true,
            (
                Token::Number { value: x, decimal },
                Token::Number {
                    value: y,
                    decimal: other,
                },
            ) => numbers_agree(*x, *y, *decimal || *other),
            _ => false,
        })
}

/// Whether `actual` is `expected` with `…` lines standing for any lines left out.
fn output_matches(expected: &[String], actual: &[String]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if first.trim() == "…" => {
            (0..=actual.len()).any(|skip| output_matches(rest, &actual[skip..]))
        }
        Some((first, rest)) => actual
            .split_first()
            .is_some_and(|(a, more)| line_matches(first, a) && output_matches(rest, more)),
    }
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `sh -c COMMAND` in `dir`, with the binary under test first on PATH as `refgraph`;
/// (exit code, stdout and stderr as one stream, in the order written).
fn sh(dir: &Path, command: &str) -> (Option<i32>, Vec<String>) {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_refgraph"));
    let bin_dir = bin.parent().expect("the binary is in a directory");
    // The README's console scripts (`gunicorn`) are stand-ins in the work dir's bin/.
    let path = std::env::join_paths([bin_dir.to_path_buf(), dir.join("bin")].into_iter().chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .expect("PATH joins");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("exec 2>&1\n{command}"))
        .current_dir(dir)
        .env("PATH", path)
        .env("NO_COLOR", "1")
        // `import refgraph` as `pip install .` provides it
        .env("PYTHONPATH", repo().join("python"))
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("sh runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    (out.status.code(), lines)
}

/// `app.py`, `server.py`, `mypackage.server`, `./manage.py` and `gunicorn`: the README's
/// stand-ins for the reader's programs, started the ways the README shows.
const STAND_IN: &str = "import sys\ncache = {n: str(n) for n in range(100)}\nprint(sys.argv[1:])\n\
                        def main():\n    return cache\n";

/// A stand-in started through its `#!` line (`./manage.py`, a console script).
const SHEBANG_STAND_IN: &str = "#!/usr/bin/env python3\nimport sys\nprint(sys.argv[1:])\n";

/// The directory the README's commands run in: the bundled example captured as the README
/// says, `examples/` and `tests/scripts/` as in the repository, and the stand-ins.
fn readme_workdir() -> Workdir {
    let w = Workdir::new();
    let example = std::fs::read(repo().join("examples/leaky_app.py")).expect("the example");
    for (name, source) in [
        ("examples/leaky_app.py", example),
        (
            "examples/from_objgraph.py",
            std::fs::read(repo().join("examples/from_objgraph.py")).expect("from_objgraph.py"),
        ),
        ("app.py", STAND_IN.as_bytes().to_vec()),
        ("server.py", STAND_IN.as_bytes().to_vec()),
        ("mypackage/__init__.py", Vec::new()),
        ("mypackage/server.py", STAND_IN.as_bytes().to_vec()),
        ("manage.py", SHEBANG_STAND_IN.as_bytes().to_vec()),
        ("bin/gunicorn", SHEBANG_STAND_IN.as_bytes().to_vec()),
        (
            "tests/scripts/grow.py",
            std::fs::read(repo().join("tests/scripts/grow.py")).expect("grow.py"),
        ),
        (
            "tests/scripts/steady.py",
            std::fs::read(repo().join("tests/scripts/steady.py")).expect("steady.py"),
        ),
    ] {
        let path = w.path(name);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        let executable = source.starts_with(b"#!");
        std::fs::write(&path, source).expect("write");
        if executable {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::Permissions::from_mode(0o755);
            std::fs::set_permissions(&path, mode).expect("chmod");
        }
    }
    let capture = "refgraph capture -o leaky.rgsnap -- python3 examples/leaky_app.py";
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    assert!(
        readme.contains(&format!("`{capture}`")),
        "the README says how leaky.rgsnap is made"
    );
    let (code, out) = sh(w.path("").as_path(), capture);
    assert_eq!(code, Some(0), "{capture}: {out:?}");
    w
}

#[test]
fn every_readme_example_runs_and_prints_what_the_readme_shows() {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let blocks = fenced_blocks(&readme);
    let w = readme_workdir();
    let dir = w.path("");
    let mut failures = Vec::new();
    let commands = sh_commands(&blocks);
    assert!(commands.len() >= 5, "the README's sh blocks: {commands:?}");
    for command in &commands {
        let (code, out) = sh(&dir, command);
        if code != Some(0) {
            failures.push(format!("{command}\nexit {code:?}\n{}", out.join("\n")));
        }
    }
    let examples = examples(&blocks);
    assert!(examples.len() >= 8, "the README's examples: {examples:?}");
    for e in &examples {
        assert!(e.command.starts_with("refgraph ") || e.command.contains("| refgraph "));
        let (code, out) = sh(&dir, &e.command);
        let out = as_in_readme(&dir, out);
        if code != Some(0) || !output_matches(&e.expected, &out) {
            failures.push(format!(
                "$ {}\nexit {code:?}; the README shows:\n{}\nit printed:\n{}",
                e.command,
                e.expected.join("\n"),
                out.join("\n")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} README example(s) are stale:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// The README's examples run in `/home/me/app`: the work dir's path (as given, and resolved)
/// in an output is written so (allocation sites name the program's file by its whole path).
fn as_in_readme(dir: &Path, out: Vec<String>) -> Vec<String> {
    let given = dir.to_string_lossy().trim_end_matches('/').to_string();
    let resolved = dir
        .canonicalize()
        .map(|d| d.to_string_lossy().into_owned())
        .unwrap_or_else(|_| given.clone());
    out.into_iter()
        .map(|l| {
            l.replace(&resolved, "/home/me/app")
                .replace(&given, "/home/me/app")
        })
        .collect()
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_string).collect()
}

#[test]
fn readme_blocks_and_examples_are_found() {
    let md = "text\n```sh\ncargo test\nrefgraph types x  # note\n```\n\n```\n$ refgraph a\none\n\n\
              two\n\n$ refgraph b\n```\n";
    let blocks = fenced_blocks(md);
    assert_eq!(blocks.len(), 2);
    assert_eq!(sh_commands(&blocks), ["refgraph types x  # note"]);
    assert_eq!(
        examples(&blocks),
        [
            Example {
                command: "refgraph a".into(),
                expected: lines("one\n\ntwo"),
            },
            Example {
                command: "refgraph b".into(),
                expected: vec![],
            }
        ]
    );
}

#[test]
fn what_varies_between_runs_matches_and_what_is_stale_does_not() {
    let shown = "  7.2 MB /  801.0 kB  list 100,001 items (0x7fa5f3adda80)  ← __main__.a";
    let same = "   7.3 MB / 801.0 kB  list 100,001 items (0x7f00deadbeef)  ← __main__.a";
    assert!(line_matches(shown, same));
    assert!(!line_matches(shown, &same.replace("7.3 MB", "9.0 MB")));
    assert!(!line_matches(
        shown,
        &same.replace("__main__.a", "__main__.b")
    ));
    assert!(!line_matches(shown, &same.replace("100,001", "150,001")));
    assert!(!line_matches("rc    1  Session", "rc    2  Session"));
    assert!(line_matches("open (0.18 s)", "open (12.5 s)"));
    assert!(line_matches("answered in 0.473 ms", "answered in 3.1 ms"));
    assert!(!line_matches(
        "answered in 0.473 ms",
        "answered in 0.473 MB"
    ));
    assert!(line_matches("46.6% of the heap", "46.5% of the heap"));
    assert!(!line_matches("dict['user:0']", "dict['user:1']"));
    assert!(line_matches("dict 19 items", "dict 19 items"));
    assert!(!line_matches("dict 19 items", "dict 12 items"));
}

#[test]
fn an_ellipsis_line_stands_for_lines_left_out() {
    let expected = lines("a\n…\nd\ne\n…");
    assert!(output_matches(&expected, &lines("a\nb\nc\nd\ne\nf")));
    assert!(output_matches(&expected, &lines("a\nd\ne")));
    assert!(!output_matches(&expected, &lines("a\nb\ne\nd")));
    assert!(!output_matches(&lines("a\n…\nd"), &lines("a\nd\nx")));
    assert!(!output_matches(&lines("a"), &lines("a\nb")));
    assert!(!output_matches(&lines("a\nb"), &lines("a")));
}
