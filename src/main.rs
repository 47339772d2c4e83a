//! The `refgraph` binary: parse arguments, run one subcommand, turn errors into one message
//! on stderr and an exit code (0 answer found, 1 nothing found, 2 error).

use clap::Parser;
use refgraph::cli::Cli;
use refgraph::commands::{self, Outcome};
use refgraph::render::text::term_safe;
use refgraph::select::SelectError;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(err) = refgraph::interrupt::install() {
        eprintln!("refgraph: warning: cannot handle Ctrl-C cleanly: {err}");
    }
    match commands::run(cli.command) {
        Ok(Outcome::Found) => ExitCode::SUCCESS,
        Ok(Outcome::NothingFound) => ExitCode::from(1),
        Ok(Outcome::Exit(code)) => ExitCode::from(code),
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("refgraph: {}", term_safe(&format!("{err:#}")));
            ExitCode::from(exit_code_of(&err))
        }
    }
}

/// 1 for "the selector matched nothing", 2 for every other error.
fn exit_code_of(err: &anyhow::Error) -> u8 {
    err.chain()
        .find_map(|e| e.downcast_ref::<SelectError>())
        .map_or(2, SelectError::exit_code)
}

/// `refgraph types snap | head` must end quietly.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
