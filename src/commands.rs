//! One function per subcommand: load the snapshot, ask the query, pick the renderer, write
//! the answer. Returns whether the query found something; `main` turns that into exit codes.

use crate::capture::{self, CaptureOptions, DumpStatus, PythonCommand};
use crate::cli::{
    CaptureArgs, ChainArgs, Command, CyclesArgs, DiffArgs, FindArgs, GraphArgs, OrphansArgs,
    ShowArgs, SummaryArgs, TypesArgs,
};
use crate::output::{check_not_an_input, check_writable, note_input, write_to, OutputError};
use crate::query::chain::ChainView;
use crate::query::chain::{answer_chain, ChainMode, ChainQuery};
use crate::query::cycles::{self, CyclesQuery};
use crate::query::sites::{self, GroupBy};
use crate::query::subgraph::{
    chain_view, cycle_view, subgraph, SubgraphDirection, SubgraphOptions, SubgraphView,
};
use crate::query::{diff, find, orphans, show, summary, types};
use crate::render::dot::{write_dot_with, DotOptions};
use crate::render::image::{render_image_with_legend, ImageFormat, Renderer, SLOW_PICTURE_OBJECTS};
use crate::render::json::write_json;
use crate::render::style;
use crate::render::svg;
use crate::render::text;
use crate::select::{matching_types, resolve, resolve_all, SelectError, Selector};
use crate::session::Session;
use crate::snapshot::{NodeIx, Snapshot};
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

/// Run one subcommand, with the snapshots `session` has open.
pub fn run(command: Command, session: &mut Session) -> anyhow::Result<Outcome> {
    let s = session;
    match command {
        Command::Capture(a) => run_capture(a),
        Command::Dumper => {
            write_to(None, |w| w.write_all(capture::DUMPER_SOURCE.as_bytes()))?;
            Ok(Outcome::Found)
        }
        Command::Convert(a) => run_convert(&a).map(|()| Outcome::Found),
        Command::Summary(a) => run_summary(a, s),
        Command::Chain(a) => run_chain(a, s),
        Command::Refs(a) => run_graph(a, SubgraphDirection::Refs, s),
        Command::Backrefs(a) => run_graph(a, SubgraphDirection::Backrefs, s),
        Command::Cycles(a) => run_cycles(a, s),
        Command::Top(a) => run_top(a, s),
        Command::Types(a) => run_types(a, s),
        Command::Find(a) => run_find(a, s),
        Command::Show(a) => run_show(a, s),
        Command::Diff(a) => run_diff(a, s),
        Command::Orphans(a) => run_orphans(a, s),
        Command::Report(a) => run_report(a, s),
        Command::Shell(a) => crate::shell::run(&a, s),
        Command::Demo(a) => crate::demo::run(&a.dir, &a.python).map(|()| Outcome::Found),
    }
}

/// Write `data` to stdout as JSON (`json`) or with the text renderer.
fn answer<T: serde::Serialize>(
    command: &str,
    json: bool,
    data: &T,
    render_text: impl FnOnce(&mut dyn Write, &T) -> io::Result<()>,
) -> anyhow::Result<()> {
    write_to(None, |w| {
        if json {
            write_json(w, command, data)
        } else {
            render_text(w, data)
        }
    })?;
    Ok(())
}

/// Refuse, before any work, an output that would replace a file this run reads (the
/// snapshot, the baseline, an index, the program's files), or that cannot be written (a
/// directory, a missing one): every write checks both again.
fn refuse_output(output: Option<&Path>) -> Result<(), OutputError> {
    output.map_or(Ok(()), |path| {
        check_not_an_input(path)?;
        check_writable(path)
    })
}

/// The dumper writes its snapshot to a temp file renamed over the path: over a device, a pipe
/// or a socket that would replace it (as root, the host's `/dev/null`), so such a path is
/// refused before the program starts.
fn refuse_special_snapshot_path(output: &Path) -> anyhow::Result<()> {
    let special = std::fs::metadata(output).is_ok_and(|m| !m.is_file() && !m.is_dir());
    if special {
        anyhow::bail!(
            "{}: not a regular file; capture writes its snapshot to a file (name one with -o)",
            output.display()
        );
    }
    Ok(())
}

/// `refgraph convert IN OUT`: the snapshot in the other format (or `--to`'s), written through a
/// temp file renamed into place, so that a failure leaves no partial OUT.
fn run_convert(a: &crate::cli::ConvertArgs) -> anyhow::Result<()> {
    use crate::snapshot::binary::write::{convert_file, ConvertError, Format};
    crate::session::note_snapshot_inputs(&a.input, "the snapshot being converted");
    refuse_output(Some(&a.output))?;
    let to = a.to.map(|f| match f {
        crate::cli::SnapshotFormat::Json => Format::Json,
        crate::cli::SnapshotFormat::Binary => Format::Binary,
    });
    let gzip = a.output.extension().is_some_and(|e| e == "gz");
    let mut input_error = None;
    let mut warnings = Vec::new();
    let written = write_to(Some(&a.output), |out| {
        match convert_file(&a.input, to, gzip, out) {
            Ok((_, w)) => {
                warnings = w;
                Ok(())
            }
            Err(ConvertError::Output(e)) => Err(e),
            Err(ConvertError::Input(m)) => {
                input_error = Some(m);
                Err(io::Error::other("the input is not a snapshot"))
            }
        }
    });
    if let Some(m) = input_error {
        anyhow::bail!("{}: {m}", a.input.display());
    }
    written?;
    for w in warnings {
        eprintln!("refgraph: warning: {}: {w}", a.input.display());
    }
    Ok(())
}

/// The error says "the selector matched nothing" (exit 1), not that something failed.
pub fn is_nothing_found(err: &anyhow::Error) -> bool {
    err.chain()
        .find_map(|e| e.downcast_ref::<SelectError>())
        .is_some_and(|e| e.exit_code() == 1)
}

/// Stdout was closed (`refgraph types snap | head`): end quietly.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        let io = e.downcast_ref::<std::io::Error>();
        let output = e.downcast_ref::<OutputError>();
        io.is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || output.is_some_and(OutputError::is_broken_pipe)
    })
}

fn found_if(found: bool) -> Outcome {
    if found {
        Outcome::Found
    } else {
        Outcome::NothingFound
    }
}

fn run_summary(a: SummaryArgs, s: &mut Session) -> anyhow::Result<Outcome> {
    let snap = s.snapshot(&a.snapshot)?;
    let tree = s.retained(&snap);
    let summary = summary::summarize(&snap, a.top, &tree);
    answer("summary", a.json, &summary, text::write_summary)?;
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

fn run_chain(a: ChainArgs, s: &mut Session) -> anyhow::Result<Outcome> {
    // A bad picture name fails before the search, not after it.
    let picture = match a.output.as_deref() {
        Some(path) => Some((path, file_format(path)?)),
        None => None,
    };
    let snap = s.snapshot(&a.snapshot)?;
    refuse_output(a.output.as_deref())?;
    let targets = resolve_all(&snap, &a.objects, a.limit)?;
    let ignore = resolve_all(&snap, &a.ignore, usize::MAX)?;
    let to_types = a.to.as_deref().map(|t| types_named(&snap, t)).transpose()?;
    let q = ChainQuery {
        to_types,
        ignore,
        max_depth: a.max_depth.unwrap_or(usize::MAX),
        infrastructure: (a.forward && !a.all_edges).then(|| cycles::infrastructure(&snap)),
    };
    let objects_left_out = selected_beyond(&snap, &a.objects, targets.len());
    let mode = match (a.forward, a.all) {
        (true, _) => ChainMode::Forward,
        (false, true) => ChainMode::Distinct(a.limit),
        (false, false) => ChainMode::Shortest,
    };
    let answers: Vec<_> = targets
        .iter()
        .map(|&t| answer_chain(&snap, t, &q, mode))
        .collect();
    let any = answers.iter().any(|c| !c.chains.is_empty());
    answer("chain", a.json, &answers, |w, answers| {
        for (i, c) in answers.iter().enumerate() {
            if i > 0 {
                writeln!(w)?;
            }
            text::write_chains(w, c)?;
        }
        if objects_left_out > 0 {
            writeln!(
                w,
                "\n… {} not shown (--limit {} shows them all)",
                text::plural(objects_left_out, "more object"),
                targets.len() as u64 + objects_left_out
            )?;
        }
        Ok(())
    })?;
    if let Some((path, format)) = picture {
        let chains: Vec<&ChainView> = answers.iter().flat_map(|c| &c.chains).collect();
        let dir = if a.forward {
            SubgraphDirection::Refs
        } else {
            SubgraphDirection::Backrefs
        };
        draw_chains(&snap, &chains, dir, path, format, a.renderer)?;
    }
    Ok(found_if(any))
}

/// How many objects the `type:` selectors among `selectors` match beyond the `shown` ones.
fn selected_beyond(snap: &Snapshot, selectors: &[Selector], shown: usize) -> u64 {
    let totals = snap.type_totals();
    let matched: u64 = selectors
        .iter()
        .map(|sel| match sel {
            Selector::Type(name) => matching_types(snap, name)
                .iter()
                .map(|&t| totals[t as usize].0)
                .sum(),
            _ => 1,
        })
        .sum();
    matched.saturating_sub(shown as u64)
}

/// `chain -o`: the chains as one picture (objgraph's show_chain).
fn draw_chains(
    snap: &Snapshot,
    chains: &[&ChainView],
    dir: SubgraphDirection,
    path: &Path,
    format: GraphFormat,
    renderer: Option<Renderer>,
) -> anyhow::Result<()> {
    if chains.is_empty() {
        eprintln!("refgraph: no chain to draw; {} not written", path.display());
        return Ok(());
    }
    let nodes: Vec<Vec<NodeIx>> = chains.iter().map(|c| chain_nodes(snap, c)).collect();
    let view = chain_view(snap, &nodes, dir).view();
    let legend = style::chain_legend(&view, chains.len());
    write_graph(Some(path), format, "chain", &view, &legend, renderer)
}

/// The objects of a chain, by their ids.
fn chain_nodes(snap: &Snapshot, chain: &ChainView) -> Vec<NodeIx> {
    chain
        .steps
        .iter()
        .filter_map(|s| node_of(snap, &s.object.id))
        .collect()
}

/// The object an answer names by its id (`0x…`).
fn node_of(snap: &Snapshot, id: &str) -> Option<NodeIx> {
    match id.parse::<Selector>() {
        Ok(Selector::Id(oid)) => snap.node_by_id(oid),
        _ => None,
    }
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
    Image(ImageFormat),
}

fn graph_format(path: Option<&Path>, json: bool) -> anyhow::Result<GraphFormat> {
    let Some(path) = path.filter(|p| *p != Path::new("-")) else {
        return Ok(if json {
            GraphFormat::Json
        } else {
            GraphFormat::Dot
        });
    };
    file_format(path)
}

/// The format of an output file, from its extension (a directory is refused as one first).
fn file_format(path: &Path) -> anyhow::Result<GraphFormat> {
    check_writable(path)?;
    if let Some(image) = ImageFormat::from_path(path) {
        if let Some(e) = image.missing_dot() {
            anyhow::bail!("{}: {e}", path.display());
        }
        return Ok(GraphFormat::Image(image));
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "dot" | "gv" => Ok(GraphFormat::Dot),
        "json" => Ok(GraphFormat::Json),
        "html" => anyhow::bail!(
            "{}: .html output is not supported here (use .dot, .json, .svg or .png)",
            path.display()
        ),
        _ => anyhow::bail!(
            "{}: unknown output format '.{ext}' (use .dot, .json, .svg or .png; with Graphviz also {})",
            path.display(),
            crate::render::image::GRAPHVIZ_ONLY
        ),
    }
}

/// Write a picture's graph as DOT, JSON (`command` names the envelope), SVG or PNG. A
/// picture is rendered completely before its file is (atomically) written.
fn write_graph(
    path: Option<&Path>,
    format: GraphFormat,
    command: &str,
    view: &SubgraphView,
    legend: &str,
    renderer: Option<Renderer>,
) -> anyhow::Result<()> {
    let mut drawn_with = None;
    match format {
        GraphFormat::Dot => {
            let opts = DotOptions {
                legend: Some(legend.to_string()),
                ..DotOptions::default()
            };
            write_to(path, |w| write_dot_with(w, view, &opts))?;
        }
        GraphFormat::Json => write_to(path, |w| write_json(w, command, view))?,
        GraphFormat::Image(image) => {
            let renderer = renderer.unwrap_or_else(Renderer::detect);
            let objects = view.nodes.len();
            if renderer == Renderer::Dot && objects > SLOW_PICTURE_OBJECTS {
                eprintln!("refgraph: drawing {objects} objects with Graphviz takes a while (1,000 take about 10 s)");
            } else if renderer == Renderer::Builtin && objects > svg::DAGRE_MAX_BOXES {
                eprintln!("refgraph: {objects} objects: the builtin renderer uses its plainer layout above {}", svg::DAGRE_MAX_BOXES);
            }
            let bytes = render_image_with_legend(view, legend, image, renderer).map_err(|e| {
                anyhow::anyhow!("{}: {e}", path.unwrap_or(Path::new("-")).display())
            })?;
            write_to(path, |w| w.write_all(&bytes))?;
            drawn_with = Some(renderer.name());
        }
    }
    if let Some(path) = path.filter(|p| *p != Path::new("-")) {
        let how = drawn_with
            .map(|r| format!(", drawn with {r}"))
            .unwrap_or_default();
        eprintln!(
            "refgraph: wrote {} ({}{how})",
            path.display(),
            text::plural(view.nodes.len() as u64, "object")
        );
    }
    Ok(())
}

fn run_graph(a: GraphArgs, dir: SubgraphDirection, s: &mut Session) -> anyhow::Result<Outcome> {
    let format = graph_format(a.output.as_deref(), a.json)?;
    let snap = s.snapshot(&a.snapshot)?;
    refuse_output(a.output.as_deref())?;
    let starts = resolve_all(&snap, &a.objects, a.limit)?;
    let opts = SubgraphOptions {
        max_depth: a.max_depth,
        too_many: a.too_many,
        max_nodes: a.max_nodes,
        filter: types_named_all(&snap, &a.filter)?,
        ignore: resolve_all(&snap, &a.ignore, usize::MAX)?,
        highlight: types_named_all(&snap, &a.highlight)?,
        modules_stop_at_start: false,
    };
    let view = subgraph(&snap, &starts, dir, &opts).view();
    let legend = style::legend(&view);
    write_graph(
        a.output.as_deref(),
        format,
        dir.name(),
        &view,
        &legend,
        a.renderer,
    )?;
    Ok(Outcome::Found)
}

fn run_cycles(a: CyclesArgs, s: &mut Session) -> anyhow::Result<Outcome> {
    if let (Some(dir), Some(e)) = (&a.render, a.render_format.missing_dot()) {
        anyhow::bail!("{}: {e}", dir.display());
    }
    let snap = s.snapshot(&a.snapshot)?;
    let q = CyclesQuery {
        all_edges: a.all_edges,
        min_size: a.min_size,
        limit: a.limit,
        type_filter: types_named_all(&snap, &a.type_names)?,
    };
    let (tree, components) = s.retained_with(&snap, || cycles::components(&snap, &q));
    let found = cycles::ranked(&snap, &q, components, &tree);
    let pictures = a
        .render
        .as_deref()
        .map(|dir| cycle_paths(dir, found.cycles.len(), a.render_format))
        .unwrap_or_default();
    // The directory may not exist yet (it is made below): only inputs are refused now.
    pictures.iter().try_for_each(|p| check_not_an_input(p))?;
    answer("cycles", a.json, &found, text::write_cycles)?;
    if let Some(dir) = &a.render {
        draw_cycles(
            &snap,
            &found.cycles,
            dir,
            &pictures,
            a.render_format,
            a.renderer,
        )?;
    }
    Ok(found_if(!found.cycles.is_empty()))
}

/// Most members drawn in a cycle's picture.
const CYCLE_MAX_NODES: usize = 300;

/// The picture of cycle number `number` (as listed): its members and the references
/// between them.
pub(crate) fn draw_cycle(
    snap: &Snapshot,
    number: usize,
    cycle: &crate::query::cycles::CycleInfo,
    format: ImageFormat,
    renderer: Renderer,
) -> anyhow::Result<Vec<u8>> {
    let members: Vec<NodeIx> = cycle
        .examples
        .iter()
        .filter_map(|o| node_of(snap, &o.id))
        .collect();
    let view = cycle_view(snap, &members, CYCLE_MAX_NODES).view();
    let legend = style::cycle_legend(number, cycle, &view);
    Ok(render_image_with_legend(&view, &legend, format, renderer)?)
}

/// `cycle-1.svg`, … in `dir`: the pictures of `count` cycles, numbered as listed.
fn cycle_paths(dir: &Path, count: usize, format: ImageFormat) -> Vec<std::path::PathBuf> {
    (1..=count)
        .map(|i| dir.join(format!("cycle-{i}.{}", format.extension())))
        .collect()
}

/// `cycles --render DIR`: one picture per cycle shown, to `paths` (see [`cycle_paths`]).
fn draw_cycles(
    snap: &Snapshot,
    found: &[crate::query::cycles::CycleInfo],
    dir: &Path,
    paths: &[std::path::PathBuf],
    format: ImageFormat,
    renderer: Option<Renderer>,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create the directory", dir.display()))?;
    let renderer = renderer.unwrap_or_else(Renderer::detect);
    for ((i, c), path) in found.iter().enumerate().zip(paths) {
        let bytes = draw_cycle(snap, i + 1, c, format, renderer)?;
        crate::output::write_atomically(path, |w| w.write_all(&bytes))?;
    }
    eprintln!(
        "refgraph: drew {} into {} (cycle-N.{}, drawn with {})",
        text::plural(found.len() as u64, "cycle"),
        dir.display(),
        format.extension(),
        renderer.name()
    );
    Ok(())
}

fn run_top(a: crate::cli::TopArgs, s: &mut Session) -> anyhow::Result<Outcome> {
    use crate::query::retained::{top, TopQuery};
    let snap = s.snapshot(&a.snapshot)?;
    let retained = s.retained(&snap);
    let q = TopQuery {
        limit: a.limit,
        suspect_fraction: a.suspect_percent / 100.0,
        ..TopQuery::default()
    };
    let answer_data = top(&snap, &retained, &q);
    let more = (retained.top_level().len() - answer_data.top.len()) as u64;
    answer("top", a.json, &answer_data, |w, t| {
        text::write_top(w, t)?;
        text::write_left_out(w, more, "more object", "--limit")
    })?;
    Ok(found_if(!answer_data.top.is_empty()))
}

fn run_types(a: TypesArgs, s: &mut Session) -> anyhow::Result<Outcome> {
    let snap = s.snapshot(&a.snapshot)?;
    if a.by == GroupBy::Site {
        return run_types_by_site(&a, &snap);
    }
    let by_type = (a.sort == types::TypeSort::Retained || a.retained)
        .then(|| s.retained(&snap).by_type(&snap));
    let mut stats = types::type_stats_retained(
        &snap,
        snap.type_totals(),
        a.long_names,
        a.sort,
        by_type.as_deref(),
    );
    let all = stats.len();
    if a.limit > 0 {
        stats.truncate(a.limit);
    }
    let more = (all - stats.len()) as u64;
    answer("types", a.json, &stats, |w, s| {
        text::write_types(w, s)?;
        text::write_left_out(w, more, "more type", "--limit 0 shows them all")
    })?;
    Ok(found_if(!stats.is_empty()))
}

fn run_types_by_site(a: &TypesArgs, snap: &Snapshot) -> anyhow::Result<Outcome> {
    sites::require_sites(snap)?;
    let mut stats = sites::site_stats(snap, snap.nodes());
    let all = stats.len();
    if a.limit > 0 {
        stats.truncate(a.limit);
    }
    let more = (all - stats.len()) as u64;
    answer("types", a.json, &stats, |w, s| {
        crate::render::sites::write_site_stats(w, "all objects", s)?;
        text::write_left_out(w, more, "more site", "--limit 0 shows them all")
    })?;
    Ok(found_if(!stats.is_empty()))
}

fn run_find(a: FindArgs, s: &mut Session) -> anyhow::Result<Outcome> {
    let snap = s.snapshot(&a.snapshot)?;
    let wanted = types_named(&snap, &a.type_name)?;
    if a.by == GroupBy::Site {
        sites::require_sites(&snap)?;
        let nodes = snap
            .nodes()
            .filter(|&n| wanted.contains(&snap.type_index(n)));
        let stats = sites::site_stats(&snap, nodes);
        answer("find", a.json, &stats, |w, s| {
            crate::render::sites::write_site_stats(w, &a.type_name, s)
        })?;
        return Ok(found_if(!stats.is_empty()));
    }
    let found = find::find(&snap, &a.type_name, a.sort, a.limit);
    answer("find", a.json, &found, text::write_found)?;
    Ok(found_if(found.total > 0))
}

fn run_show(a: ShowArgs, s: &mut Session) -> anyhow::Result<Outcome> {
    let snap = s.snapshot(&a.snapshot)?;
    let node = resolve(&snap, &a.object, 1)?[0];
    let mut shown = show::show(&snap, node, a.limit, &s.retained(&snap));
    shown.stack = a.stack;
    answer("show", a.json, &shown, text::write_shown)?;
    Ok(Outcome::Found)
}

fn run_diff(a: DiffArgs, s: &mut Session) -> anyhow::Result<Outcome> {
    if let Some(latest) = &a.latest {
        return run_steady_leak(&a, latest, s);
    }
    let old = s.snapshot(&a.old)?;
    let new = s.snapshot(&a.new)?;
    let mut growth = diff::diff(
        &old,
        &new,
        a.long_names,
        a.new_type.as_deref(),
        a.limit.max(1),
    );
    let all = growth.types.len();
    if a.limit > 0 {
        growth.types.truncate(a.limit);
    }
    let more = (all - growth.types.len()) as u64;
    if let Some(why) = &growth.different_processes {
        eprintln!(
            "refgraph: {} {} and {} come from different processes ({}): counts and sizes \
             are compared, objects are not matched by id (no `new objs`{})",
            crate::render::paint::warning_stderr("warning:"),
            a.old.display(),
            a.new.display(),
            text::term_safe(why),
            if a.new_type.is_some() {
                ", no --new list"
            } else {
                ""
            }
        );
    }
    answer("diff", a.json, &growth, |w, g| {
        text::write_growth(w, g)?;
        text::write_left_out(w, more, "more type", "--limit 0 shows them all")
    })?;
    Ok(found_if(!growth.types.is_empty()))
}

/// `diff A B C`: the steady leak. Snapshots of different processes share no identities: then
/// only the types that grew at every step are shown, with a warning.
fn run_steady_leak(a: &DiffArgs, latest: &Path, s: &mut Session) -> anyhow::Result<Outcome> {
    let first = s.snapshot(&a.old)?;
    let middle = s.snapshot(&a.new)?;
    let last = s.snapshot(latest)?;
    let mut leak = crate::query::steady::steady_leak(&first, &middle, &last, a.limit);
    let apart = diff::different_processes(&first, &middle)
        .or_else(|| diff::different_processes(&middle, &last));
    if let Some(why) = &apart {
        eprintln!(
            "refgraph: warning: these snapshots come from different processes ({}): objects \
             cannot be matched, only counts are compared",
            text::term_safe(why)
        );
        leak.types.clear();
        leak.more_types = 0;
    }
    answer("diff", a.json, &leak, text::write_steady_leak)?;
    Ok(found_if(
        !leak.types.is_empty() || !leak.grew_every_step.is_empty(),
    ))
}

fn run_orphans(a: OrphansArgs, s: &mut Session) -> anyhow::Result<Outcome> {
    let snap = s.snapshot(&a.snapshot)?;
    let o = orphans::orphans(&snap, !a.all, a.limit);
    answer("orphans", a.json, &o, text::write_orphans)?;
    Ok(found_if(
        o.unreferenced.count + o.held_from_outside.count > 0,
    ))
}

fn run_report(a: crate::cli::ReportArgs, s: &mut Session) -> anyhow::Result<Outcome> {
    use crate::query::report::{build_report, ReportOptions};
    use crate::render::html::write_html;
    let snap = s.snapshot(&a.snapshot)?;
    let baseline = a.baseline.as_deref().map(|b| s.snapshot(b)).transpose()?;
    let output = match a.output {
        Some(output) => output,
        None => report_path(&a.snapshot)?,
    };
    refuse_output(Some(&output))?;
    let opts = ReportOptions {
        largest: a.top,
        cycles: a.cycles,
        retained: !a.no_retained,
        ..Default::default()
    };
    let renderer = Renderer::detect();
    let picture = |c: &crate::query::cycles::CycleInfo| cycle_svg(&snap, c, renderer);
    let tree = s.retained(&snap);
    let report = build_report(&snap, &tree, baseline.as_deref(), &opts, &picture);
    write_to(Some(&output), |w| write_html(w, &report))?;
    if output != Path::new("-") {
        eprintln!(
            "refgraph: wrote {} ({}, {}, {} in detail) — open it in a browser",
            output.display(),
            text::plural(report.types_total, "type"),
            text::plural(report.cycles.total_found, "cycle"),
            text::plural(report.details.len() as u64, "object")
        );
    }
    Ok(Outcome::Found)
}

/// The picture of one cycle in the report. The SVG renderer plugs in here; until it does,
/// the page shows "picture unavailable" in each cycle's frame.
/// A cycle's SVG for the report; `None` (the page says "picture unavailable") if drawing fails.
pub(crate) fn cycle_svg(
    snap: &Snapshot,
    cycle: &crate::query::cycles::CycleInfo,
    renderer: Renderer,
) -> Option<String> {
    let bytes = draw_cycle(snap, 0, cycle, ImageFormat::Svg, renderer).ok()?;
    String::from_utf8(bytes).ok()
}

/// `app.rgsnap` → `app.html`, `app.rgsnap.gz` → `app.html`, next to the snapshot. A snapshot
/// read from a pipe (`/dev/stdin`, `<(…)`) has no place beside it: the page must be named.
fn report_path(snapshot: &Path) -> anyhow::Result<std::path::PathBuf> {
    if std::fs::metadata(snapshot).is_ok_and(|m| !m.is_file()) {
        anyhow::bail!(
            "{}: the snapshot is read from a pipe; name the page with -o FILE (or -o - for stdout)",
            snapshot.display()
        );
    }
    let mut path = snapshot.to_path_buf();
    if path.extension().is_some_and(|e| e == "gz") {
        path.set_extension("");
    }
    path.set_extension("html");
    Ok(path)
}

fn run_capture(a: CaptureArgs) -> anyhow::Result<Outcome> {
    if let Some(pid) = a.pid {
        return run_capture_pid(pid, a);
    }
    if a.timeout.is_some() {
        anyhow::bail!("capture: --timeout applies to --pid only");
    }
    let command = PythonCommand::parse(&a.command)?;
    let output = a
        .output
        .clone()
        .unwrap_or_else(|| capture::default_output(&command));
    for arg in &a.command {
        note_input(Path::new(arg), "a file named on the program's command line");
    }
    for script in command.input_files() {
        note_input(&script, "the program's script");
    }
    refuse_output(Some(&output))?;
    refuse_special_snapshot_path(&output)?;
    let opts = CaptureOptions {
        command,
        output,
        signal: a.signal.clone(),
        values: !a.no_values,
        collect: !a.no_collect,
        follow_forks: a.follow_forks,
        trace_alloc: a.trace_alloc,
        binary: a.format == crate::cli::SnapshotFormat::Binary,
    };
    let signal = a.signal;
    let announce = |pid: u32| {
        if let Some(sig) = &signal {
            let name = sig.trim_start_matches("SIG");
            eprintln!("refgraph: running pid {pid}; `kill -{name} {pid}` writes a snapshot");
        }
    };
    let outcome = capture::capture(&opts, announce, report_dump).context("capture")?;
    explain_capture_end(&opts, &outcome)?;
    Ok(Outcome::Exit(outcome.exit_code.clamp(0, 255) as u8))
}

/// `capture --pid PID`: attach, dump, print what was written and the next command.
fn run_capture_pid(pid: i32, a: CaptureArgs) -> anyhow::Result<Outcome> {
    let output = a
        .output
        .unwrap_or_else(|| std::path::PathBuf::from(format!("pid.{pid}.rgsnap")));
    refuse_output(Some(&output))?;
    refuse_special_snapshot_path(&output)?;
    let opts = crate::attach::AttachOptions {
        pid,
        output,
        values: !a.no_values,
        collect: !a.no_collect,
        binary: a.format == crate::cli::SnapshotFormat::Binary,
        timeout: std::time::Duration::from_secs_f64(a.timeout.unwrap_or(30.0)),
    };
    let done = match crate::attach::capture_pid(&opts, |line| {
        eprintln!("refgraph: {}", text::term_safe(line))
    }) {
        Ok(done) => done,
        Err(e @ crate::attach::AttachError::Interrupted) => {
            eprintln!("refgraph: capture --pid: {e}");
            return Ok(Outcome::Exit(crate::interrupt::INTERRUPTED_EXIT as u8));
        }
        Err(e) => return Err(e).context("capture --pid"),
    };
    let path = done.output.display().to_string();
    eprintln!(
        "refgraph: wrote {path} ({} objects, {} references; dump {:.2} s{}, thread {} stopped {:.1} ms, {:.2} s in all) — try: refgraph summary {path}",
        text::thousands(done.objects),
        text::thousands(done.edges),
        done.dump_seconds,
        dumper_note(done.dumper.as_deref()),
        done.tid,
        done.pause.as_secs_f64() * 1e3,
        done.total.as_secs_f64(),
    );
    Ok(Outcome::Found)
}

/// After the program ended: why there is no snapshot, when there is none, and every file the
/// forked processes wrote.
fn explain_capture_end(
    opts: &CaptureOptions,
    outcome: &capture::CaptureOutcome,
) -> anyhow::Result<()> {
    let interpreter = opts.command.interpreter.to_string_lossy();
    if let Some(version) = &outcome.unsupported {
        anyhow::bail!(
            "capture: {} is Python {}; refgraph supports {}",
            text::term_safe(&interpreter),
            text::term_safe(version),
            capture::SUPPORTED_PYTHONS
        );
    }
    let Some(pid) = outcome.started_pid else {
        anyhow::bail!(
            "capture runs a Python program; {} did not start the dumper (exit code {})",
            text::term_safe(&interpreter),
            outcome.exit_code
        );
    };
    for signal in &outcome.forwarded {
        eprintln!(
            "refgraph: passed {} on to the program (pid {pid})",
            signal_name(*signal)
        );
    }
    let written: Vec<&str> = outcome
        .dumps
        .iter()
        .filter(|d| d.error.is_none() && d.note.is_none())
        .filter_map(|d| d.path.as_deref())
        .collect();
    if opts.follow_forks && written.len() > 1 {
        eprintln!("refgraph: {} snapshots written:", written.len());
        for path in &written {
            eprintln!("  {}", text::term_safe(path));
        }
    }
    let exit_dump = outcome
        .dumps
        .iter()
        .any(|d| d.trigger.as_deref() == Some("exit") && d.pid.is_none_or(|p| p == pid));
    if !exit_dump {
        let why = match outcome.exit_code {
            code if code > 128 => format!("{} ended it", signal_name(code - 128)),
            _ => "killed, or os._exit?".into(),
        };
        eprintln!(
            "refgraph: the program ended without writing its exit snapshot {} ({why})",
            opts.output.display()
        );
    }
    Ok(())
}

/// `SIGTERM` for 15: the names people know.
fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGTERM => "SIGTERM",
        libc::SIGABRT => "SIGABRT",
        _ => return format!("signal {signal}"),
    };
    name.into()
}

/// ", native dumper" or ", Python dumper": which dumper wrote a snapshot (nothing if unknown).
fn dumper_note(dumper: Option<&str>) -> &'static str {
    match dumper {
        Some("native") => ", native dumper",
        Some("python") => ", Python dumper",
        _ => "",
    }
}

fn report_dump(d: &DumpStatus) {
    let path = d.path.as_deref().unwrap_or("?");
    if let Some(note) = &d.note {
        eprintln!("refgraph: {}", text::term_safe(note));
        return;
    }
    match &d.error {
        Some(e) => eprintln!("refgraph: could not write {path}: {}", text::term_safe(e)),
        None => eprintln!(
            "refgraph: wrote {path} ({} objects, {} references, {:.2} s{}) — try: {} summary {}",
            text::thousands(d.objects.unwrap_or(0)),
            text::thousands(d.edges.unwrap_or(0)),
            d.seconds.unwrap_or(0.0),
            dumper_note(d.dumper.as_deref()),
            crate::demo::invocation(),
            shlex::try_quote(path).unwrap_or(std::borrow::Cow::Borrowed(path)),
        ),
    }
}
