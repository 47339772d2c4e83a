//! The `refgraph` binary: parse arguments, run one subcommand, turn errors into one message
//! on stderr and an exit code (0 answer found, 1 nothing found, 2 error).

use anyhow::Context;
use clap::Parser;
use refgraph::capture::{self, CaptureOptions, DumpStatus, PythonCommand};
use refgraph::cli::{CaptureArgs, Cli, Command, SummaryArgs};
use refgraph::output::write_to;
use refgraph::query::summary::summarize;
use refgraph::render::{json::write_json, text};
use refgraph::select::SelectError;
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("refgraph: {}", text::term_safe(&format!("{err:#}")));
            ExitCode::from(exit_code_of(&err))
        }
    }
}

fn exit_code_of(err: &anyhow::Error) -> u8 {
    err.chain()
        .find_map(|e| e.downcast_ref::<SelectError>())
        .map_or(2, SelectError::exit_code)
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Capture(args) => run_capture(args),
        Command::Dumper => {
            write_to(None, |w| w.write_all(capture::DUMPER_SOURCE.as_bytes()))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Summary(args) => run_summary(args),
        Command::Demo(args) => refgraph::demo::run(&args.dir, &args.python).map(|()| ExitCode::SUCCESS),
    }
}

fn load(path: &Path) -> anyhow::Result<refgraph::Snapshot> {
    let snap = refgraph::load(path)?;
    for warning in &snap.load_report().warnings {
        eprintln!("refgraph: warning: {}: {}", path.display(), text::term_safe(warning));
    }
    Ok(snap)
}

fn run_summary(args: SummaryArgs) -> anyhow::Result<ExitCode> {
    let snap = load(&args.snapshot)?;
    let summary = summarize(&snap, args.top);
    write_to(None, |w| {
        if args.json {
            write_json(w, "summary", &summary)
        } else {
            text::write_summary(w, &summary)
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

fn run_capture(args: CaptureArgs) -> anyhow::Result<ExitCode> {
    let command = PythonCommand::parse(&args.command)?;
    let output = args.output.clone().unwrap_or_else(|| capture::default_output(&command));
    let opts = CaptureOptions {
        command: args.command,
        output,
        signal: args.signal.clone(),
        values: !args.no_values,
        collect: !args.no_collect,
    };
    let signal = args.signal.clone();
    let outcome = capture::capture(
        &opts,
        |pid| {
            if let Some(sig) = &signal {
                eprintln!("refgraph: running pid {pid}; `kill -{} {pid}` writes a snapshot", sig.trim_start_matches("SIG"));
            }
        },
        report_dump,
    )
    .context("capture")?;
    if !outcome.dumps.iter().any(|d| d.trigger.as_deref() == Some("exit")) {
        eprintln!("refgraph: the program ended without writing its exit snapshot {} (killed, or os._exit?)", opts.output.display());
    }
    Ok(ExitCode::from(outcome.exit_code.clamp(0, 255) as u8))
}

fn report_dump(d: &DumpStatus) {
    let path = d.path.as_deref().unwrap_or("?");
    match &d.error {
        Some(e) => eprintln!("refgraph: could not write {path}: {}", text::term_safe(e)),
        None => eprintln!(
            "refgraph: wrote {path} ({} objects, {} references, {:.2} s) — try: refgraph summary {path}",
            text::thousands(d.objects.unwrap_or(0)),
            text::thousands(d.edges.unwrap_or(0)),
            d.seconds.unwrap_or(0.0),
        ),
    }
}

