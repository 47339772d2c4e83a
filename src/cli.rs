//! The command line: clap derive, one variant per subcommand. Parsing only; `main.rs` runs.

use crate::query::find::FindSort;
use crate::query::sites::GroupBy;
use crate::query::types::TypeSort;
use crate::render::image::{ImageFormat, Renderer};
use crate::render::paint::ColorChoice;
use crate::select::{SelectError, Selector};
use clap::{Args, Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;

/// Find out why a Python process keeps memory alive.
///
/// Capture a heap snapshot of a Python program, then ask it questions offline: what holds an
/// object, which cycles exist, which types grow.
#[derive(Debug, Parser)]
#[command(
    name = "refgraph",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
    /// Colours: auto (on a terminal, unless NO_COLOR is set), always or never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

/// Every subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a Python program and write a heap snapshot when it ends (and on a signal).
    ///
    /// The program starts as it would without refgraph: python3 app.py, python3 -m module,
    /// python3 -c CODE, ./script.py (its #! line), or a console script on PATH (gunicorn,
    /// uvicorn, flask, pytest, django-admin). Supports CPython 3.8 to 3.13.
    ///
    /// Example: refgraph capture -o app.rgsnap -- python3 app.py --port 8000
    ///
    /// Or snapshot a process that runs already (Linux x86-64): refgraph capture --pid 1234
    Capture(CaptureArgs),
    /// Print the dumper's Python source: `refgraph dumper > refgraph_dump.py`, then call
    /// `refgraph_dump.dump("app.rgsnap", marks={"cache": cache})` from your program.
    Dumper,
    /// Copy a snapshot into the other format: JSON lines → binary or binary → JSON lines
    /// (docs/FORMAT.md). Everything the file holds is kept; OUT ending in `.gz` is gzip-
    /// compressed. OUT is written whole or not at all and never replaces IN.
    ///
    /// Example: refgraph convert app.rgsnap app.rgbin   (and back: refgraph convert app.rgbin app.rgsnap)
    Convert(ConvertArgs),
    /// Header facts, counts, top types and the largest objects with what holds them.
    Summary(SummaryArgs),
    /// Who holds this object: the shortest reference chain from a root (a module or a thread
    /// frame), or why nothing rooted holds it.
    Chain(ChainArgs),
    /// What these objects reference, to --max-depth (objgraph's show_refs), as DOT, JSON,
    /// SVG or PNG.
    Refs(GraphArgs),
    /// What references these objects, to --max-depth, stopping at modules (objgraph's
    /// show_backrefs), as DOT, JSON, SVG or PNG.
    Backrefs(GraphArgs),
    /// Reference cycles (strongly connected components), those retaining the most first, with
    /// what holds each or whether it is garbage.
    #[command(after_help = CYCLES_AFTER_HELP)]
    Cycles(CyclesArgs),
    /// What keeps the most memory alive: the dominator tree from the top, with leak suspects
    /// (objects retaining ≥ 10% of the heap) and where inside them the bytes accumulate.
    Top(TopArgs),
    /// Count and total size per type (objgraph's show_most_common_types).
    Types(TypesArgs),
    /// The instances of a type with their labels and sizes (objgraph's by_type).
    Find(FindArgs),
    /// One object in detail: facts, flags, references both ways, what holds it.
    Show(ShowArgs),
    /// What grew between two snapshots of the same process (objgraph's show_growth); with
    /// three (A B C), the steady leak: what B added that C still has.
    Diff(DiffArgs),
    /// Objects nothing recorded refers to, and objects held from outside the recorded heap
    /// (refcount higher than the references found: C extensions, interpreter internals).
    Orphans(OrphansArgs),
    /// One self-contained HTML page (no network): header facts, a sortable type table, the
    /// largest objects and what holds them, the cycles with pictures, growth against
    /// --baseline, the orphans, and every linked object in detail.
    ///
    /// Example: refgraph report app.rgsnap --baseline app.1.rgsnap -o report.html
    Report(ReportArgs),
    /// Open a snapshot once, then answer one command per line of input (`types`, `find Item`,
    /// `chain 0x7f…`, `backrefs type:Session -o s.svg`, …: the commands above without the
    /// snapshot argument; `diff OLD` compares OLD with it). Each answer after the first costs
    /// milliseconds, as the snapshot and its dominator tree stay in memory.
    ///
    /// Example: refgraph shell app.rgsnap   (or: printf 'types\nfind Item\n' | refgraph shell app.rgsnap)
    Shell(ShellArgs),
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
    #[arg(long, value_name = "SIGNAL", value_parser = parse_signal)]
    pub signal: Option<String>,
    /// Leave str/bytes contents out of the snapshot (secrets stay in the process).
    #[arg(long)]
    pub no_values: bool,
    /// Do not run the cycle collector before dumping (cyclic garbage is then found as
    /// unreachable objects instead of flagged by the collector).
    #[arg(long)]
    pub no_collect: bool,
    /// Processes the program forks (a prefork server's workers) dump too, each to its own
    /// NAME.<pid>.rgsnap at exit and on --signal; refgraph waits for all of them. Without it
    /// only the program refgraph started dumps, and no snapshot is ever overwritten.
    #[arg(long)]
    pub follow_forks: bool,
    /// Record where each object was allocated (`show`'s `allocated at`, `--by site`): runs
    /// the program with tracemalloc on from its start (PYTHONTRACEMALLOC=FRAMES, which its
    /// child processes inherit), keeping FRAMES frames per allocation [default: 5: the
    /// allocating line and four callers, enough to get from a library helper back to the
    /// program's own line; each frame more slows every allocation]. Tracing slows the program
    /// and its dump several times over. Not with --pid: tracing must start before the
    /// allocations it records, and a running process's past allocations were never traced.
    #[arg(
        long,
        value_name = "FRAMES",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "5",
        value_parser = clap::value_parser!(u32).range(1..=1000),
        conflicts_with = "pid"
    )]
    pub trace_alloc: Option<u32>,
    /// The snapshot's format: JSON lines (the default) or binary (docs/FORMAT.md; smaller,
    /// loads faster; `refgraph convert` turns one into the other).
    #[arg(long, value_enum, default_value = "json")]
    pub format: SnapshotFormat,
    /// Snapshot this running CPython process instead of starting one (same user, or
    /// CAP_SYS_PTRACE; no gdb, nothing installed in it) [default -o: pid.PID.rgsnap].
    #[arg(long, value_name = "PID", conflicts_with_all = ["signal", "follow_forks", "command"])]
    pub pid: Option<i32>,
    /// With --pid: give up after this many seconds without a safe point or the GIL (the
    /// process is left as it was, and no snapshot is written later) [default: 30].
    #[arg(long, value_name = "SECONDS", requires = "pid", value_parser = parse_timeout)]
    pub timeout: Option<f64>,
    /// The program, as you would run it: python3 [options] app.py ARGS…, python3 -m module
    /// ARGS…, python3 -c CODE, ./script.py ARGS…, or a console script (gunicorn app:app).
    /// CPython 3.8 to 3.13.
    #[arg(last = true, required_unless_present = "pid", value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

/// `summary` options.
#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// The snapshot file.
    pub snapshot: PathBuf,
    /// How many types and objects each list shows.
    #[arg(long, visible_alias = "limit", default_value_t = 10)]
    pub top: usize,
    /// Print JSON (schema: docs/JSON.md).
    #[arg(long)]
    pub json: bool,
}

/// Signals a program can be asked to dump on (not KILL/STOP, which cannot be caught; not INT,
/// which is the program's own Ctrl-C).
const DUMP_SIGNALS: [&str; 6] = ["USR1", "USR2", "HUP", "QUIT", "TERM", "ALRM"];

/// `SIGUSR2` or `USR2` → `SIGUSR2`.
fn parse_signal(s: &str) -> Result<String, String> {
    let name = s.strip_prefix("SIG").unwrap_or(s).to_ascii_uppercase();
    if DUMP_SIGNALS.contains(&name.as_str()) {
        Ok(format!("SIG{name}"))
    } else {
        Err(format!(
            "not a signal to dump on; use one of SIG{}",
            DUMP_SIGNALS.join(", SIG")
        ))
    }
}

/// A type name, given as `Session`, `app.models.Session` or, as selectors spell it,
/// `type:Session`.
fn parse_type_name(s: &str) -> Result<String, String> {
    let name = s.strip_prefix("type:").unwrap_or(s);
    if name.is_empty() {
        return Err("empty type name".into());
    }
    Ok(name.to_string())
}

/// A positive number of seconds, at most a day.
fn parse_timeout(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(t) if t > 0.0 && t <= 86_400.0 => Ok(t),
        _ => Err("a number of seconds, more than 0 and at most 86400".into()),
    }
}

fn parse_selector(s: &str) -> Result<Selector, SelectError> {
    s.parse()
}

/// `chain` options.
#[derive(Debug, Args)]
pub struct ChainArgs {
    /// The snapshot file.
    pub snapshot: PathBuf,
    /// The object(s): 0x7f… or a decimal id, mark:NAME, type:NAME.
    #[arg(required = true, value_parser = parse_selector, value_name = "OBJ")]
    pub objects: Vec<Selector>,
    /// Stop at an object of this type instead of at a root (with --forward: search forward
    /// from OBJ to the nearest object of this type, objgraph's find_ref_chain).
    #[arg(long, value_name = "TYPE", value_parser = parse_type_name)]
    pub to: Option<String>,
    /// Up to --limit chains, each through a different direct holder, shortest first.
    #[arg(long)]
    pub all: bool,
    /// How many chains with --all, and how many objects a type: selector picks.
    #[arg(long, visible_alias = "top", default_value_t = 10)]
    pub limit: usize,
    /// Never pass through this object (repeatable): "ignore this retainer" and search again.
    #[arg(long, value_parser = parse_selector, value_name = "OBJ")]
    pub ignore: Vec<Selector>,
    /// Search along references from OBJ (needs --to). Like `cycles`, it does not pass through
    /// classes, modules or module dicts (`__class__` → class → method → `__globals__` …)
    /// unless --all-edges.
    #[arg(long, requires = "to")]
    pub forward: bool,
    /// With --forward: follow every reference, through classes and modules too.
    #[arg(long, requires = "forward")]
    pub all_edges: bool,
    /// Longest chain searched, in references [default: no limit].
    #[arg(long)]
    pub max_depth: Option<usize>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Also draw the chains (objgraph's show_chain) to FILE: .dot, .json, .svg or .png.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[arg(long, value_enum, value_name = "RENDERER", help = renderer_help())]
    pub renderer: Option<Renderer>,
}

/// `refs` and `backrefs` options.
#[derive(Debug, Args)]
pub struct GraphArgs {
    /// The snapshot file.
    pub snapshot: PathBuf,
    /// The start object(s): 0x7f… or a decimal id, mark:NAME, type:NAME.
    #[arg(required = true, value_parser = parse_selector, value_name = "OBJ")]
    pub objects: Vec<Selector>,
    /// Objects this many references away are drawn but not expanded (marked dashed).
    #[arg(long, default_value_t = 3)]
    pub max_depth: usize,
    /// References drawn per object; the rest become one "N more references" box.
    #[arg(long, default_value_t = 10)]
    pub too_many: usize,
    /// Stop expanding once this many objects are drawn.
    #[arg(long, default_value_t = 300)]
    pub max_nodes: usize,
    /// Keep only neighbours of this type (repeatable; never applied to the start objects).
    #[arg(long, value_name = "TYPE", value_parser = parse_type_name)]
    pub filter: Vec<String>,
    /// Never draw or pass through this object (repeatable).
    #[arg(long, value_parser = parse_selector, value_name = "OBJ")]
    pub ignore: Vec<Selector>,
    /// Draw objects of this type in blue (repeatable).
    #[arg(long, value_name = "TYPE", value_parser = parse_type_name)]
    pub highlight: Vec<String>,
    /// How many start objects a type: selector picks.
    #[arg(long, visible_alias = "top", default_value_t = 10)]
    pub limit: usize,
    /// Write to FILE; the format comes from the extension: .dot, .json, .svg or .png
    /// [default: DOT on stdout].
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print JSON on stdout instead of DOT.
    #[arg(long)]
    pub json: bool,
    #[arg(long, value_enum, value_name = "RENDERER", help = renderer_help())]
    pub renderer: Option<Renderer>,
}

/// `--renderer`'s help, naming the renderer this machine uses by default.
fn renderer_help() -> String {
    let here = match Renderer::detect() {
        Renderer::Dot => "dot, found on PATH",
        Renderer::Builtin => "builtin, no Graphviz `dot` on PATH",
    };
    format!(
        "Who lays out .svg/.png pictures: dot (Graphviz, the best layout) or builtin (pure \
         Rust, nothing to install) [default: dot when it is on PATH, else builtin; here: {here}]"
    )
}

/// The rules of `cycles`, quoted in its help.
const CYCLES_AFTER_HELP: &str = concat!(
    "By default these references are left out, so that classes, modules and namespaces, which \
     everything points at, do not glue the heap into one giant component (--all-edges keeps them):\n",
    "  classes: references to classes (instance → class, super() cells, enum members): never members\n",
    "  modules: references to modules and module __dict__s (sys.modules, imports, __globals__, f_globals)\n",
    "  namespaces: .__globals__/.__builtins__ of functions, .f_globals/.f_builtins of frames (exec() too)"
);

/// `cycles` options.
#[derive(Debug, Args)]
pub struct CyclesArgs {
    /// The snapshot file.
    pub snapshot: PathBuf,
    /// Keep every reference, including those the rules below leave out.
    #[arg(long)]
    pub all_edges: bool,
    /// Only cycles whose total shallow size is at least this many bytes.
    #[arg(long, default_value_t = 0)]
    pub min_size: u64,
    /// How many cycles to show.
    #[arg(long, visible_alias = "top", default_value_t = 20)]
    pub limit: usize,
    /// Only cycles that contain an object of this type (repeatable).
    #[arg(long = "type", value_name = "TYPE", value_parser = parse_type_name)]
    pub type_names: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Also draw each cycle shown into DIR (created if missing): cycle-1.svg, cycle-2.svg, …
    #[arg(long, value_name = "DIR")]
    pub render: Option<PathBuf>,
    /// The pictures' format with --render.
    #[arg(long, value_enum, default_value_t = ImageFormat::Svg, requires = "render")]
    pub render_format: ImageFormat,
    #[arg(long, value_enum, value_name = "RENDERER", help = renderer_help())]
    pub renderer: Option<Renderer>,
}

/// `top` options.
#[derive(Debug, Args)]
pub struct TopArgs {
    /// The snapshot file.
    pub snapshot: PathBuf,
    /// How many top-level objects to list.
    #[arg(long, visible_alias = "top", default_value_t = 20)]
    pub limit: usize,
    /// An object retaining at least this percentage of the heap is a leak suspect.
    #[arg(long, default_value_t = 10.0)]
    pub suspect_percent: f64,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `types` options.
#[derive(Debug, Args)]
pub struct TypesArgs {
    /// The snapshot file.
    pub snapshot: PathBuf,
    /// Order by instance count or by total shallow size.
    #[arg(long, value_enum, default_value_t = TypeSort::Count)]
    pub sort: TypeSort,
    /// How many types (0: all).
    #[arg(long, visible_alias = "top", default_value_t = 10)]
    pub limit: usize,
    /// Qualified names (app.models.Session) instead of short ones (Session).
    #[arg(long = "longnames", alias = "long-names")]
    pub long_names: bool,
    /// Short names (the default; same-named classes of different modules add up).
    #[arg(
        long = "shortnames",
        alias = "short-names",
        conflicts_with = "long_names"
    )]
    pub short_names: bool,
    /// Add a retained-size column (what the instances keep alive; computes the dominator
    /// tree). Implied by --sort retained.
    #[arg(long)]
    pub retained: bool,
    /// `site`: count objects by the line that allocated them instead of by type (a snapshot
    /// taken with `capture --trace-alloc` or tracemalloc on).
    #[arg(long, value_enum, default_value_t = GroupBy::Type)]
    pub by: GroupBy,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `find` options.
#[derive(Debug, Args)]
pub struct FindArgs {
    /// The snapshot file.
    pub snapshot: PathBuf,
    /// Short (Session) or qualified (app.models.Session) type name.
    #[arg(value_name = "TYPE", value_parser = parse_type_name)]
    pub type_name: String,
    /// Order of the objects.
    #[arg(long, value_enum, default_value_t = FindSort::Order)]
    pub sort: FindSort,
    /// How many objects.
    #[arg(long, visible_alias = "top", default_value_t = 20)]
    pub limit: usize,
    /// `site`: count the instances by the line that allocated them instead of listing them
    /// (a snapshot taken with `capture --trace-alloc` or tracemalloc on).
    #[arg(long, value_enum, default_value_t = GroupBy::Type)]
    pub by: GroupBy,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `show` options.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The snapshot file.
    pub snapshot: PathBuf,
    /// The object: 0x7f… or a decimal id, mark:NAME, type:NAME (the first instance).
    #[arg(value_parser = parse_selector, value_name = "OBJ")]
    pub object: Selector,
    /// How many references each way.
    #[arg(long, visible_alias = "top", default_value_t = 20)]
    pub limit: usize,
    /// Print the whole allocation traceback under `allocated at`, not just its line.
    #[arg(long)]
    pub stack: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `convert` options.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The snapshot to read (either format, plain or .gz).
    pub input: PathBuf,
    /// The file to write (`-`: standard output).
    pub output: PathBuf,
    /// The format to write; by default the other one than IN's.
    #[arg(long, value_enum)]
    pub to: Option<SnapshotFormat>,
}

/// A snapshot file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SnapshotFormat {
    /// JSON lines.
    Json,
    /// Binary blocks.
    Binary,
}

/// `diff` options.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier snapshot.
    pub old: PathBuf,
    /// The later snapshot of the same process.
    pub new: PathBuf,
    /// A third, latest snapshot: then `diff A B C` shows the steady leak — the objects new in B
    /// that C still has (B ∩ C ∖ A: a burst B made and C freed is not a leak), by type with
    /// the chain that holds them, and the types that grew at every step.
    pub latest: Option<PathBuf>,
    /// How many types (0: all that changed). Those that grew come first: the program's and its
    /// libraries' types before builtins, each by bytes grown.
    #[arg(long, visible_alias = "top", default_value_t = 20)]
    pub limit: usize,
    /// Also list the instances of TYPE present only in NEW (objgraph's get_new_ids).
    #[arg(long = "new", value_name = "TYPE", value_parser = parse_type_name)]
    pub new_type: Option<String>,
    /// Qualified type names.
    #[arg(long = "longnames", alias = "long-names")]
    pub long_names: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `orphans` options.
#[derive(Debug, Args)]
pub struct OrphansArgs {
    /// The snapshot file.
    pub snapshot: PathBuf,
    /// Consider untracked objects too (ints, strs…); by default only gc-tracked objects, as
    /// objgraph's get_leaking_objects.
    #[arg(long)]
    pub all: bool,
    /// How many types and examples per group.
    #[arg(long, visible_alias = "top", default_value_t = 10)]
    pub limit: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `report` options.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The snapshot file.
    pub snapshot: PathBuf,
    /// An earlier snapshot of the same process: the report adds what grew since.
    #[arg(long, value_name = "OLD")]
    pub baseline: Option<PathBuf>,
    /// The HTML file to write, `-` for stdout [default: the snapshot's name with .html].
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// How many of the largest objects to list.
    #[arg(long, visible_alias = "limit", default_value_t = 25)]
    pub top: usize,
    /// How many cycles to describe and draw.
    #[arg(long, default_value_t = 20)]
    pub cycles: usize,
    /// Leave the retained-size columns out of the type and largest-object tables.
    #[arg(long)]
    pub no_retained: bool,
}

/// `shell` options.
#[derive(Debug, Args)]
pub struct ShellArgs {
    /// The snapshot file.
    pub snapshot: PathBuf,
    /// After each answer, print on stderr how long it took.
    #[arg(long)]
    pub timings: bool,
    /// Speak the machine protocol instead: one JSON request per line in, one JSON reply per
    /// line out (docs/JSON.md, "shell --json"); what the Python package talks to.
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
        let cli = Cli::try_parse_from([
            "refgraph", "capture", "-o", "x.rgsnap", "--", "python3", "app.py", "-v",
        ])
        .unwrap();
        let Command::Capture(c) = cli.command else {
            panic!("not capture")
        };
        assert_eq!(c.command, ["python3", "app.py", "-v"]);
        assert_eq!(c.output, Some(PathBuf::from("x.rgsnap")));
    }
}
