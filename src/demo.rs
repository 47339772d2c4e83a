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
    let me = invocation();
    let path = quoted(&snap_path);
    writeln!(out, "$ {me} summary {path}")?;
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
    writeln!(out, "\n$ {me} cycles {path} --limit 1")?;
    text::write_cycles(&mut out, &first_cycle)?;
    let pictures = write_pictures(&snap, &tree, &first_cycle, dir)?;
    writeln!(out, "\nPictures and report (open them in a browser):")?;
    for p in &pictures {
        writeln!(out, "  {}", p.display())?;
    }
    write_next_steps(&mut out, &me, &path)?;
    Ok(())
}

/// How the user runs this refgraph: `refgraph` when that name on PATH is this very binary,
/// else the binary's own path (after `cargo run`, refgraph is not on PATH yet).
pub fn invocation() -> String {
    let Ok(me) = std::env::current_exe() else {
        return "refgraph".into();
    };
    invocation_from(&me, std::env::var_os("PATH").as_deref())
}

/// [`invocation`] for the binary `me` and the search path `path`.
fn invocation_from(me: &Path, path: Option<&OsStr>) -> String {
    let on_path = path
        .into_iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("refgraph"))
        .find(|candidate| candidate.is_file());
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    match on_path {
        Some(found) if same(&found, me) => "refgraph".into(),
        _ => quoted(me),
    }
}

/// `path` as a shell word (quoted when it has spaces or quotes).
fn quoted(path: &Path) -> String {
    let text = path.to_string_lossy();
    shlex::try_quote(&text).map_or_else(|_| text.to_string(), |q| q.into_owned())
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
        trace_alloc: None,
        binary: false,
    };
    eprintln!(
        "$ {} capture -o {} -- python3 {}",
        invocation(),
        quoted(&snap_path),
        quoted(&script)
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
        "\n$ {} chain {} type:Session --limit 1",
        invocation(),
        quoted(path)
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

fn write_next_steps(w: &mut dyn Write, me: &str, s: &str) -> std::io::Result<()> {
    writeln!(w, "\nNext, try:")?;
    writeln!(
        w,
        "  {me} show {s} type:Session          # one object, both directions"
    )?;
    writeln!(
        w,
        "  {me} backrefs {s} type:Session --limit 1 -o session.svg"
    )?;
    writeln!(w, "  {me} types {s} --sort size")?;
    writeln!(
        w,
        "  {me} shell {s}                      # load once, ask many questions"
    )?;
    writeln!(w, "  {me} capture -o app.rgsnap -- python3 your_app.py")?;
    if me != "refgraph" {
        writeln!(
            w,
            "(`cargo install --path .` in the refgraph checkout puts `refgraph` on PATH)"
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binary_is_named_as_the_user_can_run_it() {
        let dir = tempfile::tempdir().unwrap();
        let me = dir.path().join("my bin").join("refgraph");
        std::fs::create_dir_all(me.parent().unwrap()).unwrap();
        std::fs::write(&me, "").unwrap();
        let other = dir.path().join("other");
        std::fs::create_dir_all(&other).unwrap();
        std::fs::write(other.join("refgraph"), "").unwrap();
        let path = |dirs: &[&Path]| std::env::join_paths(dirs).unwrap();
        let mine = me.parent().unwrap();
        assert_eq!(invocation_from(&me, Some(&path(&[mine]))), "refgraph");
        let spelled = format!("'{}'", me.display());
        assert_eq!(invocation_from(&me, Some(&path(&[&other, mine]))), spelled);
        assert_eq!(invocation_from(&me, Some(&path(&[&other]))), spelled);
        assert_eq!(invocation_from(&me, None), spelled);
    }
}
