//! The `refgraph` binary: parse arguments, run one subcommand, turn errors into one message
//! on stderr and an exit code (0 answer found, 1 nothing found, 2 error).

use clap::Parser;
use refgraph::cli::Cli;
use refgraph::commands::{self, Outcome};
use refgraph::render::text::term_safe;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    refgraph::render::paint::configure(cli.color);
    if let Err(err) = refgraph::interrupt::install() {
        eprintln!("refgraph: warning: cannot handle Ctrl-C cleanly: {err}");
    }
    refgraph::mapfault::install();
    let mut session = refgraph::session::Session::new();
    match commands::run(cli.command, &mut session) {
        Ok(Outcome::Found) => ExitCode::SUCCESS,
        Ok(Outcome::NothingFound) => ExitCode::from(1),
        Ok(Outcome::Exit(code)) => ExitCode::from(code),
        Err(err) if commands::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("refgraph: {}", term_safe(&format!("{err:#}")));
            ExitCode::from(exit_code_of(&err))
        }
    }
}

/// 1 for "the selector matched nothing", 2 for every other error.
fn exit_code_of(err: &anyhow::Error) -> u8 {
    if commands::is_nothing_found(err) {
        1
    } else {
        2
    }
}
