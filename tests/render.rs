//! Pictures end to end: real programs captured, then `refs`/`backrefs`/`chain -o x.svg|png`
//! and `cycles --render DIR` with the builtin renderer and, when Graphviz is installed, with
//! `dot`; the files are parsed back and must name what they draw.

use crate::util::{refgraph, run, stdout, Workdir};
use refgraph::render::graphviz::find_dot;
use resvg::tiny_skia::Pixmap;
use resvg::usvg::roxmltree;
use std::path::Path;
use std::process::Output;

/// The renderers to try here: builtin always, dot when it is on PATH (without it,
/// `the_dot_halves_of_the_picture_tests_ran` is reported ignored).
fn renderers() -> Vec<&'static str> {
    if crate::util::tool("dot").is_some() && find_dot().is_some() {
        vec!["builtin", "dot"]
    } else {
        vec!["builtin"]
    }
}

/// Stands for the `--renderer dot` halves of the tests above: ignored, with the reason, when
/// Graphviz is missing, so that a run without it does not look complete.
#[test]
#[cfg_attr(
    not(has_dot),
    ignore = "Graphviz `dot` is not on PATH: the --renderer dot halves of the picture tests did not run"
)]
fn the_dot_halves_of_the_picture_tests_ran() {
    assert!(
        crate::util::tool("dot").is_some() && find_dot().is_some(),
        "`dot` was on PATH when the tests were built, and is gone"
    );
}

/// The text of a well-formed SVG file, all its `<text>` contents joined by newlines.
fn svg_texts(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc = roxmltree::Document::parse_with_options(
        &text,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{} is not well-formed XML: {e}", path.display()));
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let texts: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .collect();
    texts.join("\n")
}

/// A decodable PNG of a sensible size with more than background in it.
fn assert_png(path: &Path) {
    let p =
        Pixmap::load_png(path).unwrap_or_else(|e| panic!("{} is not a PNG: {e}", path.display()));
    assert!(
        p.width() > 50 && p.height() > 50,
        "{}×{}",
        p.width(),
        p.height()
    );
    let dark = p.pixels().iter().filter(|c| c.red() < 60).count();
    assert!(dark > 200, "{}: almost nothing drawn", path.display());
}

#[test]
fn refs_and_backrefs_draw_svg_and_png_with_labels() {
    let w = Workdir::new();
    let snap = w.capture("cache_dict.py", &[]);
    for renderer in renderers() {
        for (command, edge) in [("refs", ".__dict__"), ("backrefs", "['user:0']")] {
            let svg = w.arg(&format!("{command}-{renderer}.svg"));
            let png = w.arg(&format!("{command}-{renderer}.png"));
            for out in [&svg, &png] {
                let args = [
                    command,
                    &snap,
                    "type:Session",
                    "--limit",
                    "1",
                    "--renderer",
                    renderer,
                    "-o",
                    out,
                ];
                let res = run(&args);
                let stderr = String::from_utf8_lossy(&res.stderr);
                assert!(res.status.success(), "{args:?}: {stderr}");
                assert!(
                    stderr.contains(&format!("drawn with {renderer}")),
                    "{stderr}"
                );
            }
            let texts = svg_texts(Path::new(&svg));
            for want in ["Session", "dict", edge, &format!("{command} of Session")] {
                assert!(
                    texts.contains(want),
                    "{renderer} {command}: {want:?} not in\n{texts}"
                );
            }
            assert_png(Path::new(&png));
        }
    }
}

#[test]
fn chain_draws_the_chain_like_show_chain() {
    let w = Workdir::new();
    let snap = w.capture("cache_dict.py", &[]);
    for renderer in renderers() {
        let svg = w.arg(&format!("chain-{renderer}.svg"));
        let text = stdout(&[
            "chain",
            &snap,
            "type:Session",
            "--limit",
            "1",
            "-o",
            &svg,
            "--renderer",
            renderer,
        ]);
        assert!(
            text.contains("module appcache"),
            "the text answer is still printed: {text}"
        );
        let texts = svg_texts(Path::new(&svg));
        for want in [
            "module",
            "appcache",
            "['user:0']",
            "1 reference chain to Session",
        ] {
            assert!(texts.contains(want), "{renderer}: {want:?} not in\n{texts}");
        }
    }
    let png = w.arg("chain.png");
    stdout(&[
        "chain",
        &snap,
        "type:Session",
        "--limit",
        "2",
        "-o",
        &png,
        "--renderer",
        "builtin",
    ]);
    assert_png(Path::new(&png));
}

#[test]
fn cycles_render_one_picture_per_cycle() {
    let w = Workdir::new();
    let snap = w.capture("seed_cycle.py", &[]);
    for renderer in renderers() {
        let dir = w.path(&format!("cycles-{renderer}"));
        let dir_arg = dir.to_string_lossy().into_owned();
        let text = stdout(&[
            "cycles",
            &snap,
            "--limit",
            "1",
            "--render",
            &dir_arg,
            "--renderer",
            renderer,
        ]);
        assert!(text.contains("#1  2 objects"), "{text}");
        let names: Vec<String> = std::fs::read_dir(&dir)
            .expect("DIR made")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["cycle-1.svg"]);
        let texts = svg_texts(&dir.join("cycle-1.svg"));
        for want in [
            "list",
            "200001 items",
            "[200000]",
            "cycle #1: 2 objects",
            "garbage",
        ] {
            assert!(texts.contains(want), "{renderer}: {want:?} not in\n{texts}");
        }
    }
    let dir = w.arg("png");
    stdout(&[
        "cycles",
        &snap,
        "--limit",
        "1",
        "--render",
        &dir,
        "--render-format",
        "png",
        "--renderer",
        "builtin",
    ]);
    assert_png(&w.path("png/cycle-1.png"));
}

#[test]
fn a_failed_render_keeps_the_old_file_and_leaves_no_temp() {
    let w = Workdir::new();
    let snap = w.capture("self_list.py", &[]);
    let out = w.path("pictures/x.png");
    std::fs::create_dir(w.path("pictures")).expect("mkdir");
    std::fs::write(&out, "old").expect("write");
    let empty = w.path("empty-path");
    std::fs::create_dir(&empty).expect("mkdir");
    let res = refgraph()
        .env("PATH", &empty)
        .args([
            "refs",
            &snap,
            "type:list",
            "--limit",
            "1",
            "--renderer",
            "dot",
            "-o",
        ])
        .arg(&out)
        .output()
        .expect("runs");
    assert_eq!(res.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(
        stderr.contains("Graphviz `dot` not found on PATH")
            && stderr.contains("--renderer builtin"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&out).expect("kept"), "old");
    assert_eq!(
        std::fs::read_dir(w.path("pictures")).expect("dir").count(),
        1,
        "no temp file left"
    );
    // Without `dot` on PATH the default is the builtin renderer.
    let res = refgraph()
        .env("PATH", &empty)
        .args(["refs", &snap, "type:list", "--limit", "1", "-o"])
        .arg(&out)
        .output()
        .expect("runs");
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    assert!(String::from_utf8_lossy(&res.stderr).contains("drawn with builtin"));
    assert_png(&out);
}

#[test]
fn unknown_picture_formats_fail_before_the_search() {
    let w = Workdir::new();
    let snap = w.capture("self_list.py", &[]);
    let out = w.arg("x.xyz");
    let res = run(&["chain", &snap, "type:list", "-o", &out]);
    assert_eq!(res.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(
        stderr.contains(
            "unknown output format '.xyz' (use .dot, .json, .svg or .png; with Graphviz also .pdf, .ps, .eps, .gif, .jpg, .bmp, .tiff, .webp)"
        ),
        "{stderr}"
    );
    assert!(res.stdout.is_empty(), "nothing searched or printed");
}

/// `a = []; a.extend([a] * n)` and the like (issue 11.12): `cycles` lists each pair of
/// members once with `×N`, and every picture of such objects (cycle, refs, backrefs) draws
/// one arrow per pair, whatever N is.
#[test]
fn parallel_references_are_listed_and_drawn_once_per_pair() {
    let w = Workdir::new();
    let snap = w.capture("parallel_refs.py", &["200000"]);
    let listing = stdout(&["cycles", &snap, "--type", "Hoard"]);
    assert!(
        listing.lines().count() < 20,
        "{} lines:\n{}",
        listing.lines().count(),
        &listing[..listing.len().min(2000)]
    );
    assert!(listing.contains("… ×200,000"), "{listing}");
    for renderer in renderers() {
        let dir = w.path(&format!("cycles-{renderer}"));
        let dir_arg = dir.display().to_string();
        let args = [
            "cycles",
            &snap,
            "--type",
            "Hoard",
            "--limit",
            "1",
            "--render",
            &dir_arg,
            "--renderer",
            renderer,
        ];
        let res = run(&args);
        assert!(
            res.status.success(),
            "{}",
            String::from_utf8_lossy(&res.stderr)
        );
        let picture = dir.join("cycle-1.svg");
        let texts = svg_texts(&picture);
        assert!(texts.contains("×200,000"), "{renderer}: {texts}");
        // the item's __dict__ is an object of its own where the dumper made it (pure Python on
        // 3.11+, and before 3.11 always): 4 arrows; the native dumper on 3.11+ makes none: 3
        let drawn = arrows(&picture);
        assert!(
            drawn == 4 || drawn == 3,
            "{renderer}: {drawn} arrows: hoard→hoard, hoard→item, item→its dict, dict→hoard \
             (or item→hoard)"
        );
        for command in ["refs", "backrefs"] {
            let out = w.arg(&format!("{command}-{renderer}.svg"));
            let args = [
                command,
                &snap,
                "type:Hoard",
                "--renderer",
                renderer,
                "-o",
                &out,
            ];
            let res = run(&args);
            assert!(
                res.status.success(),
                "{}",
                String::from_utf8_lossy(&res.stderr)
            );
            let texts = svg_texts(Path::new(&out));
            assert!(texts.contains("×200,000"), "{command} {renderer}: {texts}");
        }
    }
}

/// How many arrowheads an SVG draws: a `<polygon>` per edge in both renderers' output,
/// less the legend's samples and Graphviz's background polygon.
fn arrows(path: &Path) -> usize {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc = roxmltree::Document::parse_with_options(
        &text,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .expect("well-formed SVG");
    doc.descendants()
        .filter(|n| {
            n.has_tag_name("g")
                && n.attribute("class") == Some("edge")
                && n.children().any(|c| c.has_tag_name("polygon"))
        })
        .count()
}

/// Graphviz's own formats (issue 12.13, objgraph users write `filename='x.pdf'`): written by
/// `dot` when it is on PATH, for `-o` and `cycles --render-format`; without `dot`, or with
/// `--renderer builtin`, a one-line error that names the formats, exit 2, no file.
#[test]
fn graphviz_formats_are_drawn_by_dot_or_refused_naming_the_formats() {
    let w = Workdir::new();
    let snap = w.capture("self_list.py", &[]);
    let without_dot = |args: &[&str]| -> Output {
        refgraph()
            .env("PATH", w.path("no-such-dir"))
            .args(args)
            .output()
            .expect("refgraph runs")
    };
    let refused = |res: &Output, file: &str| {
        let stderr = String::from_utf8_lossy(&res.stderr);
        assert_eq!(res.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(&format!("{file}: ")), "{stderr}");
        assert!(stderr.contains(".pdf, .ps, .eps, .gif, .jpg"), "{stderr}");
        assert!(!Path::new(file).exists(), "{file} written");
    };
    for ext in ["pdf", "eps", "gif", "JPG", "tiff"] {
        let out = w.arg(&format!("x.{ext}"));
        refused(
            &without_dot(&["refs", &snap, "type:list", "-o", &out]),
            &out,
        );
        let res = run(&[
            "refs",
            &snap,
            "type:list",
            "--renderer",
            "builtin",
            "-o",
            &out,
        ]);
        refused(&res, &out);
    }
    let dir = w.arg("cycles-pdf");
    let res = without_dot(&["cycles", &snap, "--render", &dir, "--render-format", "pdf"]);
    refused(&res, &dir);
    if find_dot().is_none() {
        eprintln!("skipped drawing .pdf: Graphviz `dot` is not on PATH");
        return;
    }
    for (ext, magic) in [("pdf", &b"%PDF"[..]), ("eps", b"%!PS"), ("gif", b"GIF8")] {
        let out = w.arg(&format!("y.{ext}"));
        let res = run(&["refs", &snap, "type:list", "-o", &out]);
        assert!(
            res.status.success(),
            "{}",
            String::from_utf8_lossy(&res.stderr)
        );
        let bytes = std::fs::read(&out).expect("the picture was written");
        assert!(
            bytes.starts_with(magic),
            "{out}: {:?}",
            &bytes[..8.min(bytes.len())]
        );
    }
    let res = run(&["cycles", &snap, "--render", &dir, "--render-format", "pdf"]);
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let pdf = std::fs::read(Path::new(&dir).join("cycle-1.pdf")).expect("cycle-1.pdf");
    assert!(pdf.starts_with(b"%PDF"));
}

/// A 30,000-object chain and a 5,000-object star (issue 11.13): the builtin renderer draws
/// both (it used to abort with a stack overflow on the chain, and take minutes on the star),
/// every object a box.
#[test]
fn the_builtin_renderer_draws_a_long_chain_and_a_wide_star() {
    let w = Workdir::new();
    let snap = w.capture("long_and_wide.py", &[]);
    let chain = w.arg("chain.svg");
    let star = w.arg("star.svg");
    for (args, out) in [
        (
            vec![
                "refs",
                &snap,
                "type:Head",
                "--max-depth",
                "40000",
                "--max-nodes",
                "40000",
            ],
            (&chain, 30_000),
        ),
        (
            vec![
                "refs",
                &snap,
                "type:Star",
                "--max-depth",
                "1",
                "--too-many",
                "5000",
                "--max-nodes",
                "6000",
            ],
            (&star, 5_001),
        ),
    ] {
        let (out, objects) = out;
        let mut args = args.clone();
        args.extend(["--renderer", "builtin", "-o", out]);
        let res = run(&args);
        let stderr = String::from_utf8_lossy(&res.stderr);
        assert!(res.status.success(), "{args:?}: {stderr}");
        let drawn: usize = stderr
            .split("wrote ")
            .nth(1)
            .and_then(|s| s.split(" (").nth(1))
            .and_then(|s| s.split(' ').next())
            .and_then(|n| n.replace(',', "").parse().ok())
            .unwrap_or(0);
        let text = std::fs::read_to_string(out).expect("written");
        let boxes = text.matches("<g><title>").count();
        // The chain or star, and the classes and whatever they reach.
        assert!(drawn >= objects, "{out}: {stderr}");
        assert!(boxes >= drawn, "{out}: {boxes} boxes for {drawn} objects");
    }
}
