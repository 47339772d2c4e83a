//! Where the shell's lines come from: a line editor on a terminal (rustyline: history kept
//! across sessions, Tab completion, Ctrl-C clears the line, Ctrl-D leaves), or plain lines
//! from a pipe or file, where a line that is not UTF-8 is named and skipped.

use super::words::Completions;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::FileHistory;
use rustyline::validate::Validator;
use rustyline::{Config, Context, Editor, Helper};
use std::ffi::OsString;
use std::io::{self, BufRead};
use std::path::PathBuf;

/// What reading a line gave.
#[derive(Debug, PartialEq)]
pub enum Read {
    /// A line (without its end).
    Line(String),
    /// A line that could not be used; the message says which and why.
    Bad(String),
    /// Ctrl-C on the terminal: the line was dropped.
    Cleared,
    /// End of input (Ctrl-D on the terminal).
    End,
}

/// The shell's input.
pub enum Input {
    /// A person at a terminal.
    Terminal(Box<Editor<ShellHelper, FileHistory>>, Option<PathBuf>),
    /// A script: lines counted for messages.
    Piped(io::StdinLock<'static>, u64),
}

/// Tab completion for the line editor (no hints, highlighting or validation).
pub struct ShellHelper(pub Completions);

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (start, words) = self.0.complete(line, pos);
        let pairs = words
            .into_iter()
            .map(|w| Pair {
                display: w.clone(),
                replacement: w,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}
impl Highlighter for ShellHelper {}
impl Validator for ShellHelper {}
impl Helper for ShellHelper {}

/// Where the history is kept: `$XDG_STATE_HOME/refgraph/history`, else
/// `~/.local/state/refgraph/history`.
pub fn history_path() -> Option<PathBuf> {
    history_path_from(std::env::var_os("XDG_STATE_HOME"), std::env::var_os("HOME"))
}

fn history_path_from(xdg_state: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    let state = xdg_state
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .or_else(|| home.map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(state.join("refgraph").join("history"))
}

impl Input {
    /// A line editor with the history loaded and completion from `words`.
    pub fn terminal(words: Completions) -> anyhow::Result<Self> {
        let config = Config::builder()
            .auto_add_history(true)
            .max_history_size(10_000)?
            .completion_type(rustyline::CompletionType::List)
            .behavior(rustyline::Behavior::PreferTerm)
            .build();
        let mut editor = Editor::with_config(config)?;
        editor.set_helper(Some(ShellHelper(words)));
        let history = history_path().filter(|p| {
            p.parent()
                .is_some_and(|dir| std::fs::create_dir_all(dir).is_ok())
        });
        if let Some(path) = &history {
            // A missing history file is the first session, not an error.
            let _ = editor.load_history(path);
        }
        Ok(Input::Terminal(Box::new(editor), history))
    }

    /// Lines from standard input.
    pub fn piped() -> Self {
        Input::Piped(io::stdin().lock(), 0)
    }

    /// The next line.
    pub fn read(&mut self) -> io::Result<Read> {
        match self {
            Input::Terminal(editor, history) => Ok(match editor.readline("refgraph> ") {
                Ok(line) => {
                    if let Some(path) = history {
                        let _ = editor.append_history(path);
                    }
                    Read::Line(line)
                }
                Err(ReadlineError::Interrupted) => Read::Cleared,
                Err(ReadlineError::Eof) => Read::End,
                Err(ReadlineError::Io(e)) => return Err(e),
                Err(e) => return Err(io::Error::other(e)),
            }),
            Input::Piped(stdin, number) => read_piped(stdin, number),
        }
    }
}

/// One line of `input`, counting lines in `number`.
fn read_piped(input: &mut impl BufRead, number: &mut u64) -> io::Result<Read> {
    let mut bytes = Vec::new();
    if input.read_until(b'\n', &mut bytes)? == 0 {
        return Ok(Read::End);
    }
    *number += 1;
    while bytes.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
        bytes.pop();
    }
    Ok(match String::from_utf8(bytes) {
        Ok(line) => Read::Line(line),
        Err(_) => Read::Bad(format!("<stdin>:{number}: not UTF-8")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_that_is_not_utf8_is_named_and_the_next_one_read() {
        let mut input: &[u8] = b"types\n\xff\xfe bad\nfind x\r\n";
        let mut n = 0;
        let mut read = || read_piped(&mut input, &mut n).unwrap();
        assert_eq!(read(), Read::Line("types".into()));
        assert_eq!(read(), Read::Bad("<stdin>:2: not UTF-8".into()));
        assert_eq!(read(), Read::Line("find x".into()));
        assert_eq!(read(), Read::End);
    }

    #[test]
    fn history_lives_under_the_state_directory() {
        let path = |x: Option<&str>, h: Option<&str>| {
            history_path_from(x.map(OsString::from), h.map(OsString::from))
        };
        assert_eq!(
            path(None, Some("/home/u")),
            Some(PathBuf::from("/home/u/.local/state/refgraph/history"))
        );
        assert_eq!(
            path(Some("/s"), Some("/home/u")),
            Some(PathBuf::from("/s/refgraph/history"))
        );
        assert_eq!(
            path(Some(""), Some("/h")),
            Some(PathBuf::from("/h/.local/state/refgraph/history"))
        );
        assert_eq!(path(None, None), None);
    }
}
