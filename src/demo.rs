//! `demo`: capture the bundled example program and show the first answers, so a newcomer
//! sees refgraph work with one command. Everything printed is computed from the snapshot.

use crate::capture::{self, CaptureOptions};
use crate::query::chain::{answer_chain, ChainMode, ChainQuery};
use crate::query::cycles::{cycles, Cycles, CyclesQuery};
use crate::query::report::{build_report, ReportOptions};
use crate::query::retained::Retained;
use crate::query::subgraph::{subgraph, SubgraphDirection, SubgraphOptions};
use crate::query::summary::summarize;
use crate::render::html::write_html;
use crate::render::image::{render_image, ImageFormat, Renderer};
use crate::render::text;
use crate::select::{resolve, Selector};
use crate::snapshot::{NodeIx, RootKind};
use anyhow::{bail, Context};
use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The example program (`examples/leaky_app.py`), embedded.
pub const EXAMPLE_SOURCE: &str = include_str!("../examples/leaky_app.py");

/// Write the example into `dir`, capture it with `python`, print what refgraph finds.
pub fn run(dir: &Path, python: &OsStr) -> anyhow::Result<()> {
    let snap_path = capture_example(dir, python)?;
    let snap = crate::load(&snap_path)?;
    let tree = Retained::compute(&snap);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "$ refgraph summary {}", snap_path.display())?;
    text::write_summary(&mut out, &summarize(&snap, 8, &tree))?;
    write_session_holder(&mut out, &snap, &snap_path)?;
    let first_cycle = cycles(
        &snap,
        &CyclesQuery {
            limit: 1,
            ..Default::default()
        },
        Some(&tree),
    );
    writeln!(out, "\n$ refgraph cycles {} --limit 1", snap_path.display())?;
    text::write_cycles(&mut out, &first_cycle)?;
    let pictures = write_pictures(&snap, &tree, &first_cycle, dir)?;
    writeln!(out, "\nPictures and report (open them in a browser):")?;
    for p in &pictures {
        writeln!(out, "  {}", p.display())?;
    }
    write_next_steps(&mut out, &snap_path)?;
    Ok(())
}

/// The global `name` of module `module`: module → `.__dict__` → `['name']`.
fn module_global(snap: &crate::Snapshot, module: &str, name: &str) -> Option<NodeIx> {
    let root = snap
        .roots()
        .iter()
        .find(|r| matches!(&r.kind, RootKind::Module { name: m } if m == module))?;
    let dict = snap
        .labelled_referents(root.node)
        .find(|(_, l)| l.to_string() == ".__dict__")?
        .0;
    let key = format!("['{name}']");
    snap.labelled_referents(dict)
        .find(|(_, l)| l.to_string() == key)
        .map(|(n, _)| n)
}

/// The seed article's two pictures of the global list `a` (objgraph's `show_refs([a])` and
/// `show_backrefs([a])`), the first cycle, and the HTML report.
fn write_pictures(
    snap: &crate::Snapshot,
    tree: &Retained,
    found: &Cycles,
    dir: &Path,
) -> anyhow::Result<Vec<PathBuf>> {
    let a = module_global(snap, "__main__", "a")
        .context("the example's global `a` is not in the snapshot")?;
    let renderer = Renderer::detect();
    let mut written = Vec::new();
    for (dir_kind, file) in [
        (SubgraphDirection::Refs, "refs.svg"),
        (SubgraphDirection::Backrefs, "backrefs.svg"),
    ] {
        let view = subgraph(snap, &[a], dir_kind, &SubgraphOptions::default()).view();
        let svg = render_image(&view, ImageFormat::Svg, renderer)?;
        written.push(write_file(&dir.join(file), &svg)?);
    }
    if let Some(first) = found.cycles.first() {
        let svg = crate::commands::draw_cycle(snap, 1, first, ImageFormat::Svg, renderer)?;
        written.push(write_file(&dir.join("cycle-1.svg"), &svg)?);
    }
    let picture =
        |c: &crate::query::cycles::CycleInfo| crate::commands::cycle_svg(snap, c, renderer);
    let report = build_report(snap, tree, None, &ReportOptions::default(), &picture);
    let html = dir.join("report.html");
    crate::output::write_atomically(&html, |w| write_html(w, &report))?;
    written.push(html);
    Ok(written)
}

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<PathBuf> {
    crate::output::write_atomically(path, |w| w.write_all(bytes))?;
    Ok(path.to_path_buf())
}

fn capture_example(dir: &Path, python: &OsStr) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let script = dir.join("leaky_app.py");
    std::fs::write(&script, EXAMPLE_SOURCE)
        .with_context(|| format!("writing {}", script.display()))?;
    let snap_path = dir.join("leaky_app.rgsnap");
    let opts = CaptureOptions {
        command: capture::PythonCommand {
            interpreter: python.to_owned(),
            options: Vec::new(),
            target: vec![script.clone().into_os_string()],
        },
        output: snap_path.clone(),
        signal: None,
        values: true,
        collect: true,
        follow_forks: false,
    };
    eprintln!(
        "$ refgraph capture -o {} -- python3 {}",
        snap_path.display(),
        script.display()
    );
    let outcome = capture::capture(&opts, |_| {}, |_| {})?;
    if let Some(err) = outcome.dumps.iter().find_map(|d| d.error.as_ref()) {
        bail!("the example's snapshot could not be written: {err}");
    }
    if outcome.exit_code != 0 || !snap_path.exists() {
        bail!(
            "the example program failed (exit code {})",
            outcome.exit_code
        );
    }
    Ok(snap_path)
}

fn write_session_holder(
    w: &mut dyn Write,
    snap: &crate::Snapshot,
    path: &Path,
) -> anyhow::Result<()> {
    writeln!(
        w,
        "\n$ refgraph chain {} type:Session --limit 1",
        path.display()
    )?;
    let sessions = resolve(snap, &Selector::Type("Session".into()), 1)?;
    let q = ChainQuery {
        max_depth: usize::MAX,
        ..Default::default()
    };
    let answer = answer_chain(snap, sessions[0], &q, ChainMode::Shortest);
    text::write_chains(w, &answer)?;
    Ok(())
}

fn write_next_steps(w: &mut dyn Write, snap: &Path) -> std::io::Result<()> {
    let s = snap.display();
    writeln!(w, "\nNext, try:")?;
    writeln!(
        w,
        "  refgraph show {s} type:Session          # one object, both directions"
    )?;
    writeln!(
        w,
        "  refgraph backrefs {s} type:Session --limit 1 -o session.svg"
    )?;
    writeln!(w, "  refgraph types {s} --sort size")?;
    writeln!(
        w,
        "  refgraph shell {s}                      # load once, ask many questions"
    )?;
    writeln!(w, "  refgraph capture -o app.rgsnap -- python3 your_app.py")?;
    Ok(())
}
