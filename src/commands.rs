//! One function per subcommand: load the snapshot, ask the query, pick the renderer, write
//! the answer. Returns whether the query found something; `main` turns that into exit codes.

use crate::capture::{self, CaptureOptions, DumpStatus, PythonCommand};
use crate::cli::{
    CaptureArgs, ChainArgs, Command, CyclesArgs, DiffArgs, FindArgs, GraphArgs, OrphansArgs,
    ShowArgs, SummaryArgs, TypesArgs,
};
use crate::output::write_to;
use crate::query::chain::{answer_chain, ChainMode, ChainQuery};
use crate::query::cycles::{cycles, CyclesQuery};
use crate::query::subgraph::{subgraph, SubgraphDirection, SubgraphOptions};
use crate::query::{diff, find, orphans, show, summary, types};
use crate::render::json::write_json;
use crate::render::text;
use crate::select::{matching_types, resolve, resolve_all, SelectError};
use crate::snapshot::Snapshot;
use anyhow::Context;
use std::io::{self, Write};
use std::path::Path;

/// How a command ended, when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The answer was found and written (exit 0).
    Found,
    /// The query found nothing (exit 1).
    NothingFound,
    /// The child program's exit code, passed through (`capture`).
    Exit(u8),
}

/// Run one subcommand.
pub fn run(command: Command) -> anyhow::Result<Outcome> {
    match command {
        Command::Capture(a) => run_capture(a),
        Command::Dumper => {
            write_to(None, |w| w.write_all(capture::DUMPER_SOURCE.as_bytes()))?;
            Ok(Outcome::Found)
        }
        Command::Summary(a) => run_summary(a),
        Command::Chain(a) => run_chain(a),
        Command::Refs(a) => run_graph(a, SubgraphDirection::Refs),
        Command::Backrefs(a) => run_graph(a, SubgraphDirection::Backrefs),
        Command::Cycles(a) => run_cycles(a),
        Command::Types(a) => run_types(a),
        Command::Find(a) => run_find(a),
        Command::Show(a) => run_show(a),
        Command::Diff(a) => run_diff(a),
        Command::Orphans(a) => run_orphans(a),
        Command::Demo(a) => crate::demo::run(&a.dir, &a.python).map(|()| Outcome::Found),
    }
}

/// Load a snapshot, printing its load warnings on stderr.
pub fn load(path: &Path) -> anyhow::Result<Snapshot> {
    let snap = crate::load(path)?;
    for warning in &snap.load_report().warnings {
        eprintln!("refgraph: warning: {}: {}", path.display(), text::term_safe(warning));
    }
    Ok(snap)
}

/// Write `data` to stdout as JSON (`json`) or with the text renderer.
fn answer<T: serde::Serialize>(
    command: &str,
    json: bool,
    data: &T,
    render_text: impl FnOnce(&mut dyn Write, &T) -> io::Result<()>,
) -> anyhow::Result<()> {
    write_to(None, |w| if json { write_json(w, command, data) } else { render_text(w, data) })?;
    Ok(())
}

fn found_if(found: bool) -> Outcome {
    if found {
        Outcome::Found
    } else {
        Outcome::NothingFound
    }
}

fn run_summary(a: SummaryArgs) -> anyhow::Result<Outcome> {
    let snap = load(&a.snapshot)?;
    let s = summary::summarize(&snap, a.top);
    answer("summary", a.json, &s, text::write_summary)?;
    Ok(Outcome::Found)
}

/// Type indices named by `name`; a name no type has is "nothing found".
fn types_named(snap: &Snapshot, name: &str) -> Result<Vec<u32>, SelectError> {
    let types = matching_types(snap, name);
    if types.is_empty() {
        return Err(SelectError::NoInstances(name.to_string()));
    }
    Ok(types)
}

fn run_chain(a: ChainArgs) -> anyhow::Result<Outcome> {
    let snap = load(&a.snapshot)?;
    let targets = resolve_all(&snap, &a.objects, a.limit)?;
    let ignore = resolve_all(&snap, &a.ignore, usize::MAX)?;
    let to_types = a.to.as_deref().map(|t| types_named(&snap, t)).transpose()?;
    let q = ChainQuery { to_types, ignore, max_depth: a.max_depth.unwrap_or(usize::MAX) };
    let mode = match (a.forward, a.all) {
        (true, _) => ChainMode::Forward,
        (false, true) => ChainMode::Distinct(a.limit),
        (false, false) => ChainMode::Shortest,
    };
    let answers: Vec<_> = targets.iter().map(|&t| answer_chain(&snap, t, &q, mode)).collect();
    let any = answers.iter().any(|c| !c.chains.is_empty());
    answer("chain", a.json, &answers, |w, answers| {
        for (i, c) in answers.iter().enumerate() {
            if i > 0 {
                writeln!(w)?;
            }
            text::write_chains(w, c)?;
        }
        Ok(())
    })?;
    Ok(found_if(any))
}

/// Type indices for several names; an unknown name is "nothing found".
fn types_named_all(snap: &Snapshot, names: &[String]) -> Result<Option<Vec<u32>>, SelectError> {
    if names.is_empty() {
        return Ok(None);
    }
    let mut all = Vec::new();
    for n in names {
        all.extend(types_named(snap, n)?);
    }
    Ok(Some(all))
}

/// The file formats `-o` understands, from the extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GraphFormat {
    Dot,
    Json,
}

fn graph_format(path: Option<&Path>, json: bool) -> anyhow::Result<GraphFormat> {
    let Some(path) = path.filter(|p| *p != Path::new("-")) else {
        return Ok(if json { GraphFormat::Json } else { GraphFormat::Dot });
    };
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "dot" | "gv" => Ok(GraphFormat::Dot),
        "json" => Ok(GraphFormat::Json),
        "svg" | "png" | "html" => anyhow::bail!("{}: .{ext} output is not supported yet (use .dot or .json)", path.display()),
        _ => anyhow::bail!("{}: unknown output format '.{ext}' (use .dot or .json)", path.display()),
    }
}

fn run_graph(a: GraphArgs, dir: SubgraphDirection) -> anyhow::Result<Outcome> {
    let format = graph_format(a.output.as_deref(), a.json)?;
    let snap = load(&a.snapshot)?;
    let starts = resolve_all(&snap, &a.objects, a.limit)?;
    let opts = SubgraphOptions {
        max_depth: a.max_depth,
        too_many: a.too_many,
        max_nodes: a.max_nodes,
        filter: types_named_all(&snap, &a.filter)?,
        ignore: resolve_all(&snap, &a.ignore, usize::MAX)?,
        highlight: types_named_all(&snap, &a.highlight)?,
    };
    let view = subgraph(&snap, &starts, dir, &opts).view();
    write_to(a.output.as_deref(), |w| match format {
        GraphFormat::Dot => crate::render::dot::write_dot(w, &view),
        GraphFormat::Json => write_json(w, dir.name(), &view),
    })?;
    if let Some(path) = &a.output {
        eprintln!("refgraph: wrote {} ({} objects)", path.display(), view.nodes.len());
    }
    Ok(Outcome::Found)
}

fn run_cycles(a: CyclesArgs) -> anyhow::Result<Outcome> {
    let snap = load(&a.snapshot)?;
    let q = CyclesQuery {
        all_edges: a.all_edges,
        min_size: a.min_size,
        limit: a.limit,
        type_filter: types_named_all(&snap, &a.type_names)?,
    };
    let found = cycles(&snap, &q);
    answer("cycles", a.json, &found, text::write_cycles)?;
    Ok(found_if(!found.cycles.is_empty()))
}

fn run_types(a: TypesArgs) -> anyhow::Result<Outcome> {
    let snap = load(&a.snapshot)?;
    let mut stats = types::type_stats(&snap, snap.nodes(), a.long_names, a.sort);
    if a.limit > 0 {
        stats.truncate(a.limit);
    }
    answer("types", a.json, &stats, |w, s| text::write_types(w, s))?;
    Ok(found_if(!stats.is_empty()))
}

fn run_find(a: FindArgs) -> anyhow::Result<Outcome> {
    let snap = load(&a.snapshot)?;
    types_named(&snap, &a.type_name)?;
    let found = find::find(&snap, &a.type_name, a.sort, a.limit);
    answer("find", a.json, &found, text::write_found)?;
    Ok(found_if(found.total > 0))
}

fn run_show(a: ShowArgs) -> anyhow::Result<Outcome> {
    let snap = load(&a.snapshot)?;
    let node = resolve(&snap, &a.object, 1)?[0];
    let shown = show::show(&snap, node, a.limit);
    answer("show", a.json, &shown, text::write_shown)?;
    Ok(Outcome::Found)
}

fn run_diff(a: DiffArgs) -> anyhow::Result<Outcome> {
    let old = load(&a.old)?;
    let new = load(&a.new)?;
    let mut growth = diff::diff(&old, &new, a.long_names, a.new_type.as_deref(), a.limit.max(1));
    if a.limit > 0 {
        growth.types.truncate(a.limit);
    }
    answer("diff", a.json, &growth, text::write_growth)?;
    Ok(found_if(!growth.types.is_empty()))
}

fn run_orphans(a: OrphansArgs) -> anyhow::Result<Outcome> {
    let snap = load(&a.snapshot)?;
    let o = orphans::orphans(&snap, !a.all, a.limit);
    answer("orphans", a.json, &o, text::write_orphans)?;
    Ok(found_if(o.unreferenced.count + o.held_from_outside.count > 0))
}

fn run_capture(a: CaptureArgs) -> anyhow::Result<Outcome> {
    let command = PythonCommand::parse(&a.command)?;
    let output = a.output.clone().unwrap_or_else(|| capture::default_output(&command));
    let opts = CaptureOptions {
        command: a.command,
        output,
        signal: a.signal.clone(),
        values: !a.no_values,
        collect: !a.no_collect,
    };
    let signal = a.signal;
    let announce = |pid: u32| {
        if let Some(sig) = &signal {
            let name = sig.trim_start_matches("SIG");
            eprintln!("refgraph: running pid {pid}; `kill -{name} {pid}` writes a snapshot");
        }
    };
    let outcome = capture::capture(&opts, announce, report_dump).context("capture")?;
    if !outcome.dumps.iter().any(|d| d.trigger.as_deref() == Some("exit")) {
        eprintln!(
            "refgraph: the program ended without writing its exit snapshot {} (killed, or os._exit?)",
            opts.output.display()
        );
    }
    Ok(Outcome::Exit(outcome.exit_code.clamp(0, 255) as u8))
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

