//! `refgraph shell SNAP`: open a snapshot once, then answer one command per line of input,
//! as objgraph answers in the live process — the snapshot, its index and its dominator tree
//! stay in memory, so every question after the first costs milliseconds.
//!
//! A line is split as a POSIX shell would (quotes, backslashes; no variables or globs) and
//! parsed by the same `clap` definitions as the command line, with the snapshot's path put in
//! as the first argument (`diff OLD` gets it as the new snapshot). A failed command prints its
//! one-line error and the shell goes on.

mod input;
mod json;
mod words;

use crate::cli::{Cli, Command, ShellArgs};
use crate::commands::{self, Outcome};
use crate::render::paint;
use crate::render::text::term_safe;
use crate::session::Session;
use clap::Parser;
use input::{Input, Read};
use std::ffi::OsString;
use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::time::Instant;
use words::SNAPSHOT_COMMANDS;

/// What one line asks for.
#[derive(Debug, PartialEq)]
enum Line {
    /// Nothing (blank or a `#` comment).
    Nothing,
    /// `quit`, `exit`.
    Quit,
    /// `help`, or `help COMMAND`.
    Help(Option<String>),
    /// A refgraph command line, the program name and the snapshot put in.
    Command(Vec<OsString>),
}

/// Split and classify one line of input.
fn parse_line(line: &str, snapshot: &Path) -> Result<Line, String> {
    let words = shlex::split(line).ok_or("unbalanced quotes or a trailing backslash")?;
    let Some(first) = words.first() else {
        return Ok(Line::Nothing);
    };
    let rest = || words[1..].iter().map(OsString::from);
    let program = OsString::from("refgraph");
    let asks_help = words[1..].iter().any(|w| w == "--help" || w == "-h");
    Ok(match first.as_str() {
        c if c.starts_with('#') => Line::Nothing,
        "quit" | "exit" => Line::Quit,
        "help" | "?" => Line::Help(words.get(1).cloned()),
        c if asks_help && words::command_help(c).is_some() => Line::Help(Some(c.to_string())),
        "diff" => Line::Command(
            [program, first.into()]
                .into_iter()
                .chain(rest())
                .chain([snapshot.as_os_str().to_owned()])
                .collect(),
        ),
        c if SNAPSHOT_COMMANDS.contains(&c) => Line::Command(
            [program, first.into(), snapshot.as_os_str().to_owned()]
                .into_iter()
                .chain(rest())
                .collect(),
        ),
        "capture" | "dumper" | "demo" | "shell" => {
            return Err(format!(
                "`{first}` does not work inside the shell; run it as `refgraph {first}`"
            ))
        }
        other => {
            return Err(match words::did_you_mean(other) {
                Some(near) => format!("unknown command `{other}`; did you mean `{near}`?"),
                None => format!("unknown command `{other}` (`help` lists them)"),
            })
        }
    })
}

/// The list `help` prints.
fn help_text() -> String {
    format!(
        "commands (the snapshot is implied): {}, diff OLD (or diff A B: the steady leak A → B → this one)\n\
         `help COMMAND` or `COMMAND --help` for its options; Tab completes commands, options, \
         types and marks; `quit` or Ctrl-D to leave",
        SNAPSHOT_COMMANDS.join(", ")
    )
}

/// Read commands from stdin until it ends or says `quit`. Exits 2 when a command of
/// non-interactive input failed (so that a script notices), 0 otherwise.
pub fn run(args: &ShellArgs, session: &mut Session) -> anyhow::Result<Outcome> {
    if args.json {
        return json::run(args, session);
    }
    let start = Instant::now();
    let snap = session.snapshot(&args.snapshot)?;
    // Counted now, with the opening, rather than by the first `types` or `find`.
    snap.type_totals();
    let interactive = io::stdin().is_terminal();
    if interactive || args.timings {
        eprintln!(
            "refgraph: {} open: {}, {} ({:.2} s){}",
            args.snapshot.display(),
            crate::render::text::plural(snap.node_count() as u64, "object"),
            crate::render::text::plural(snap.edge_count() as u64, "reference"),
            start.elapsed().as_secs_f64(),
            if interactive {
                "; `help` lists the commands"
            } else {
                ""
            }
        );
    }
    let mut input = if interactive {
        Input::terminal(words::Completions::of(&snap))?
    } else {
        Input::piped()
    };
    drop(snap);
    let mut failed = false;
    loop {
        let line = match input.read()? {
            Read::Line(line) => line,
            Read::Bad(why) => {
                eprintln!("refgraph: {}", term_safe(&why));
                failed = true;
                continue;
            }
            Read::Cleared => continue,
            // On Ctrl-D the line editor has already ended the prompt's line.
            Read::End => break,
        };
        match answer_line(&line, args, session) {
            Step::Go(ok) => failed |= !ok,
            Step::Quit => break,
        }
    }
    Ok(if failed && !interactive {
        Outcome::Exit(2)
    } else {
        Outcome::Found
    })
}

/// What to do after a line.
enum Step {
    /// Read the next line; `false` when this one failed.
    Go(bool),
    /// Leave the shell.
    Quit,
}

/// Answer one line of input.
fn answer_line(line: &str, args: &ShellArgs, session: &mut Session) -> Step {
    let parsed = match parse_line(line, &args.snapshot) {
        Ok(parsed) => parsed,
        Err(why) => {
            eprintln!("refgraph: {}", term_safe(&why));
            return Step::Go(false);
        }
    };
    let argv = match parsed {
        Line::Nothing => return Step::Go(true),
        Line::Quit => return Step::Quit,
        Line::Help(command) => {
            let text = command.as_deref().and_then(words::command_help);
            let mut out = io::stdout().lock();
            // A closed stdout (`… | head`) ends the shell quietly, as it does for answers.
            return match writeln!(out, "{}", text.unwrap_or_else(help_text)) {
                Ok(()) => Step::Go(true),
                Err(_) => Step::Quit,
            };
        }
        Line::Command(argv) => argv,
    };
    let command = match Cli::try_parse_from(argv) {
        Ok(cli) => (cli.command, cli.color),
        Err(e) => {
            let is_help = !e.use_stderr();
            let _ = e.print();
            return Step::Go(is_help);
        }
    };
    let (command, color) = command;
    if matches!(command, Command::Shell(_)) {
        return Step::Go(true);
    }
    // `--color` on a line holds for that line; the shell's own choice stays.
    let colors = paint::current();
    if color != paint::ColorChoice::Auto {
        paint::configure(color);
    }
    let asked = Instant::now();
    let result = commands::run(command, session);
    paint::restore(colors);
    if args.timings {
        eprintln!(
            "refgraph: answered in {:.3} ms",
            asked.elapsed().as_secs_f64() * 1000.0
        );
    }
    match result {
        Ok(_) => Step::Go(true),
        Err(e) if commands::is_broken_pipe(&e) => Step::Quit,
        Err(e) => {
            eprintln!("refgraph: {}", term_safe(&format!("{e:#}")));
            Step::Go(crate::commands::is_nothing_found(&e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &Line) -> Vec<String> {
        match line {
            Line::Command(argv) => argv
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
            other => panic!("not a command: {other:?}"),
        }
    }

    #[test]
    fn the_snapshot_goes_first_and_quotes_are_honoured() {
        let snap = Path::new("/tmp/my heap.rgsnap");
        let line = parse_line("backrefs 'type:My Class' -o \"out file.svg\"\n", snap).unwrap();
        assert_eq!(
            words(&line),
            [
                "refgraph",
                "backrefs",
                "/tmp/my heap.rgsnap",
                "type:My Class",
                "-o",
                "out file.svg"
            ]
        );
        assert_eq!(
            words(&parse_line("diff old.rgsnap --limit 3", snap).unwrap()),
            [
                "refgraph",
                "diff",
                "old.rgsnap",
                "--limit",
                "3",
                "/tmp/my heap.rgsnap"
            ]
        );
    }

    #[test]
    fn blank_comments_quit_help_and_bad_lines() {
        let snap = Path::new("s");
        assert_eq!(parse_line("   \n", snap), Ok(Line::Nothing));
        assert_eq!(parse_line("# a comment", snap), Ok(Line::Nothing));
        assert_eq!(parse_line("quit", snap), Ok(Line::Quit));
        assert_eq!(
            parse_line("help top", snap),
            Ok(Line::Help(Some("top".into())))
        );
        assert!(parse_line("types 'unbalanced", snap).is_err());
        assert!(parse_line("frobnicate", snap)
            .unwrap_err()
            .contains("unknown command"));
        assert_eq!(
            parse_line("chian 0x10", snap).unwrap_err(),
            "unknown command `chian`; did you mean `chain`?"
        );
        assert_eq!(
            parse_line("chain 0x10 --help", snap),
            Ok(Line::Help(Some("chain".into())))
        );
        assert!(parse_line("capture -- python3 x.py", snap)
            .unwrap_err()
            .contains("inside the shell"));
    }

    #[test]
    fn every_listed_command_parses() {
        let snap = Path::new("s.rgsnap");
        for c in SNAPSHOT_COMMANDS {
            let args = if matches!(c, "chain" | "refs" | "backrefs" | "show") {
                " 0x10"
            } else if c == "find" {
                " Item"
            } else {
                ""
            };
            let Line::Command(argv) = parse_line(&format!("{c}{args}"), snap).unwrap() else {
                panic!("{c}");
            };
            assert!(Cli::try_parse_from(argv).is_ok(), "{c}");
        }
    }
}
