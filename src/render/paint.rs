//! Colours for text on a terminal: ids, types, sizes, roots and warnings. On only when asked
//! (`--color always`) or when stdout is a terminal and `NO_COLOR` is not set (`--color auto`);
//! never in pipes, files or JSON. Applied after padding and after escaping snapshot text, so
//! columns stay aligned and the snapshot never chooses an escape sequence.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

/// `--color`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set.
    #[default]
    Auto,
    /// Always, even in a pipe.
    Always,
    /// Never.
    Never,
}

static STDOUT: AtomicBool = AtomicBool::new(false);
static STDERR: AtomicBool = AtomicBool::new(false);

/// Decide, once per command, whether stdout and stderr get colours.
pub fn configure(choice: ColorChoice) {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let on = |tty: bool| match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => tty && !no_color,
    };
    STDOUT.store(on(std::io::stdout().is_terminal()), Ordering::Relaxed);
    STDERR.store(on(std::io::stderr().is_terminal()), Ordering::Relaxed);
}

/// Whether stdout and stderr get colours now (to put back with [`restore`]).
pub fn current() -> (bool, bool) {
    (
        STDOUT.load(Ordering::Relaxed),
        STDERR.load(Ordering::Relaxed),
    )
}

/// Put back what [`current`] returned.
pub fn restore((stdout, stderr): (bool, bool)) {
    STDOUT.store(stdout, Ordering::Relaxed);
    STDERR.store(stderr, Ordering::Relaxed);
}

fn paint(on: bool, code: &str, s: &str) -> String {
    if on && !s.is_empty() {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

fn out(code: &str, s: &str) -> String {
    paint(STDOUT.load(Ordering::Relaxed), code, s)
}

/// An object's id (`0x7f…`): dim.
pub fn id(s: &str) -> String {
    out("2", s)
}

/// A type name: cyan.
pub fn type_name(s: &str) -> String {
    out("36", s)
}

/// A size or count of bytes: yellow.
pub fn size(s: &str) -> String {
    out("33", s)
}

/// A root or holder (`module __main__`, `__main__.a`): green.
pub fn root(s: &str) -> String {
    out("32", s)
}

/// A warning on stdout: bold red.
pub fn warning(s: &str) -> String {
    out("1;31", s)
}

/// A warning on stderr: bold red when stderr gets colours.
pub fn warning_stderr(s: &str) -> String {
    paint(STDERR.load(Ordering::Relaxed), "1;31", s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn painting_wraps_only_when_on() {
        assert_eq!(paint(true, "36", "dict"), "\x1b[36mdict\x1b[0m");
        assert_eq!(paint(false, "36", "dict"), "dict");
        assert_eq!(paint(true, "36", ""), "");
    }
}
