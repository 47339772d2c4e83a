//! The command line: clap derive, one variant per subcommand. Parsing only; `main.rs` runs.

use clap::{Args, Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;

/// Find out why a Python process keeps memory alive.
///
/// Capture a heap snapshot of a Python program, then ask it questions offline: what holds an
/// object, which cycles exist, which types grow.
#[derive(Debug, Parser)]
#[command(name = "refgraph", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// Every subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a Python program and write a heap snapshot when it ends (and on a signal).
    ///
    /// Example: refgraph capture -o app.rgsnap -- python3 app.py --port 8000
    Capture(CaptureArgs),
    /// Print the dumper's Python source: `refgraph dumper > refgraph_dump.py`, then call
    /// `refgraph_dump.dump("app.rgsnap", marks={"cache": cache})` from your program.
    Dumper,
    /// Header facts, counts, top types and the largest objects with what holds them.
    Summary(SummaryArgs),
    /// Capture the bundled example (a local list, a global list, a list cycle, a cache leak)
    /// and summarize it.
    Demo(DemoArgs),
}

/// `capture` options.
#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// Snapshot file to write when the program ends [default: SCRIPT.PID.rgsnap]; a name
    /// ending in .gz is gzip-compressed.
    #[arg(short, long, value_name = "SNAP")]
    pub output: Option<PathBuf>,
    /// Also dump on this signal (e.g. SIGUSR2) to numbered files: SNAP → NAME.1.rgsnap, …
    #[arg(long, value_name = "SIGNAL")]
    pub signal: Option<String>,
    /// Leave str/bytes contents out of the snapshot (secrets stay in the process).
    #[arg(long)]
    pub no_values: bool,
    /// Do not run the cycle collector before dumping (cyclic garbage is then found as
    /// unreachable objects instead of flagged by the collector).
    #[arg(long)]
    pub no_collect: bool,
    /// The program: python3 [options] app.py ARGS… or python3 -m module ARGS…
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

/// `summary` options.
#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// The snapshot file.
    pub snapshot: PathBuf,
    /// How many types and objects each list shows.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Print JSON (schema: docs/JSON.md).
    #[arg(long)]
    pub json: bool,
}

/// `demo` options.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Directory for the example program and its snapshot.
    #[arg(long, default_value = "refgraph-demo")]
    pub dir: PathBuf,
    /// The Python interpreter to run it with.
    #[arg(long, default_value = "python3")]
    pub python: OsString,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn capture_takes_the_program_after_double_dash() {
        let cli = Cli::try_parse_from(["refgraph", "capture", "-o", "x.rgsnap", "--", "python3", "app.py", "-v"]).unwrap();
        let Command::Capture(c) = cli.command else { panic!("not capture") };
        assert_eq!(c.command, ["python3", "app.py", "-v"]);
        assert_eq!(c.output, Some(PathBuf::from("x.rgsnap")));
    }
}
