//! Graphviz DOT for `refs` / `backrefs`, in objgraph's look so its users feel at home: boxes
//! `type\nlabel`, ids `o<decimal address>`, white → grey shading by depth, green modules, blue
//! highlights, red start objects, dotted red "N more references" boxes. Added: every edge
//! labelled, dashed borders on nodes left unexpanded, a legend at the bottom, and colours as
//! `#rrggbb` (objgraph's HSV strings render black in non-Graphviz layout engines).
//!
//! Heap text is untrusted: everything from the snapshot goes through [`escape`].

use super::style::{
    edge_text, key, key_fill, more_fill, more_text, node_fill, node_lines, tooltip, wrap, KeyEntry,
};
use crate::query::subgraph::{MoreView, SubgraphDirection, SubgraphNodeView, SubgraphView};
use std::collections::HashMap;
use std::io::{self, Write};

#[cfg(test)]
use super::style::{depth_value, hsv_hex};
pub use super::style::{legend, shorten, visible, MAX_LABEL_CHARS};

/// How [`write_dot_with`] differs from the plain `.dot` output.
#[derive(Debug, Clone, Default)]
pub struct DotOptions {
    /// The caption instead of [`legend`] (chain and cycle pictures say what they show).
    pub legend: Option<String>,
    /// A font for every label (the image renderers draw with the embedded DejaVu Sans, so
    /// Graphviz must measure text with it too); Graphviz's default (Times) when `None`.
    pub fontname: Option<String>,
    /// Edge labels as `xlabel`s, placed after the layout instead of taking part in it: on a
    /// graph with hundreds of labelled edges, `label`s make `dot` take seconds.
    pub loose_edge_labels: bool,
}

/// Write `view` as a DOT digraph.
pub fn write_dot(w: &mut dyn Write, view: &SubgraphView) -> io::Result<()> {
    write_dot_with(w, view, &DotOptions::default())
}

/// Write `view` as a DOT digraph, as `opts` say.
pub fn write_dot_with(w: &mut dyn Write, view: &SubgraphView, opts: &DotOptions) -> io::Result<()> {
    write_defaults(w, view, opts)?;
    for node in &view.nodes {
        writeln!(
            w,
            "  {}[{}];",
            node_id(&node.id),
            node_attrs(node, view.max_depth)
        )?;
    }
    let depths: HashMap<&str, usize> = view
        .nodes
        .iter()
        .map(|n| (n.id.as_str(), n.depth))
        .collect();
    for more in &view.more {
        let depth = depths.get(more.of.as_str()).map_or(1, |d| d + 1);
        write_more(w, more, view.direction, depth, view.max_depth)?;
    }
    for e in &view.edges {
        write!(w, "  {} -> {}", node_id(&e.from), node_id(&e.to))?;
        let attrs = edge_attrs(e.label.as_deref());
        let attrs = if opts.loose_edge_labels {
            attrs.replace("[label=", "[xlabel=")
        } else {
            attrs
        };
        writeln!(w, "{attrs};")?;
    }
    writeln!(w, "}}")
}

fn write_defaults(w: &mut dyn Write, view: &SubgraphView, opts: &DotOptions) -> io::Result<()> {
    let font = opts
        .fontname
        .as_deref()
        .map(|f| format!(", fontname=\"{}\"", escape(f)))
        .unwrap_or_default();
    let caption = opts.legend.clone().unwrap_or_else(|| legend(view));
    writeln!(w, "digraph ObjectGraph {{")?;
    writeln!(w, "  node[shape=box, style=filled, fillcolor=white{font}];")?;
    writeln!(w, "  edge[fontsize=10{font}];")?;
    writeln!(
        w,
        "  graph[labelloc=b, fontsize=12{font}, label=<{}>];",
        caption_table(&caption, &key(view))
    )
}

/// Caption lines longer than this many characters are wrapped (about 330 points at 12
/// points): `dot` sizes the drawing to hold its caption, so a long caption must not set
/// the picture's width.
pub const CAPTION_CHARS: usize = 56;
/// Key entries per row.
const KEY_PER_ROW: usize = 3;

/// The caption, wrapped, and the key below it (a sample box of each mark and what it
/// means), as a Graphviz HTML-like label.
fn caption_table(caption: &str, entries: &[KeyEntry]) -> String {
    let lines: Vec<String> = wrap(&visible(caption), |l| l.chars().count() <= CAPTION_CHARS)
        .iter()
        .map(|l| html_escape(l))
        .collect();
    let mut t =
        String::from(r#"<table border="0" cellborder="0" cellspacing="0" cellpadding="1">"#);
    t.push_str(&format!("<tr><td>{}</td></tr>", lines.join("<br/>")));
    for row in entries.chunks(KEY_PER_ROW) {
        t.push_str(r#"<tr><td><table border="0" cellborder="0" cellspacing="3"><tr>"#);
        for (i, &e) in row.iter().enumerate() {
            if i > 0 {
                t.push_str(r#"<td width="10"></td>"#);
            }
            let (color, border, style) = match e {
                KeyEntry::Start => ("red", 2, ""),
                KeyEntry::NotExpanded => ("black", 1, r#" style="dashed""#),
                KeyEntry::More => ("red", 1, r#" style="dotted""#),
                _ => ("black", 1, ""),
            };
            t.push_str(&format!(
                r#"<td fixedsize="true" width="18" height="10" bgcolor="{}" color="{color}" border="{border}"{style}></td><td><font point-size="10">{}</font></td>"#,
                key_fill(e),
                html_escape(e.text())
            ));
        }
        t.push_str("</tr></table></td></tr>");
    }
    t.push_str("</table>");
    t
}

/// `s` as text of a Graphviz HTML-like label: shown exactly ([`visible`]), with `&`, `<`,
/// `>` and quotes as entities.
pub fn html_escape(s: &str) -> String {
    let shown = visible(s);
    let mut out = String::with_capacity(shown.len() + 8);
    for c in shown.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `s` made safe inside a DOT double-quoted string, shown exactly as it is: `"` and `\` are
/// escaped, so nothing can close the string or start a Graphviz escape (`\n`, `\l`, `\N`);
/// `&` becomes `&amp;` because Graphviz decodes HTML entities in labels; a newline, tab,
/// other control character or bidi override is drawn as visible text (`\n`, `\x00`,
/// `\u{202e}`), never as a line break (see [`visible`]).
pub fn escape(s: &str) -> String {
    let shown = visible(s);
    let mut out = String::with_capacity(shown.len() + 8);
    for c in shown.chars() {
        match c {
            '"' => out.push_str("\\\""),
            // A doubled backslash renders as one: `\\n` shows as the two characters `\n`.
            '\\' => out.push_str("\\\\"),
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
    out
}

/// `o<decimal address>` like objgraph, from an id `0x…`; any other id text is kept with
/// everything but ASCII letters, digits and `_` replaced, so it is always a valid DOT id.
pub fn node_id(id: &str) -> String {
    let hex = id.strip_prefix("0x").unwrap_or(id);
    match u64::from_str_radix(hex, 16) {
        Ok(n) => format!("o{n}"),
        Err(_) => {
            let safe: String = id
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            format!("o_{safe}")
        }
    }
}

fn node_attrs(n: &SubgraphNodeView, max_depth: usize) -> String {
    let fill = node_fill(n, max_depth);
    let mut attrs = vec![
        format!("label=\"{}\"", node_label(n)),
        format!("fillcolor=\"{}\"", fill.hex),
    ];
    if fill.dark {
        attrs.push("fontcolor=white".into());
    } else if n.start {
        attrs.push("fontcolor=red".into());
    }
    if n.start {
        attrs.push("penwidth=2".into());
    }
    if n.truncated {
        attrs.push("style=\"filled,dashed\"".into());
    }
    attrs.push(format!("tooltip=\"{}\"", escape(&tooltip(n))));
    attrs.join(", ")
}

/// The box's lines joined by `\n`. The `\n` between the lines is ours; any newline in heap
/// text was made visible text.
fn node_label(n: &SubgraphNodeView) -> String {
    let lines: Vec<String> = node_lines(n).iter().map(|l| escape(l)).collect();
    lines.join("\\n")
}

/// A dotted red box for the neighbours `too_many` left out, reached by a dotted red edge
/// (pointing at the node in backrefs, as objgraph draws it).
fn write_more(
    w: &mut dyn Write,
    more: &MoreView,
    dir: SubgraphDirection,
    depth: usize,
    max_depth: usize,
) -> io::Result<()> {
    let of = node_id(&more.of);
    let box_id = format!("too_many_{of}");
    let fill = more_fill(depth, max_depth);
    writeln!(
        w,
        "  {box_id}[label=\"{}\", shape=box, style=\"filled,dotted\", \
         color=red, fontcolor=red, fillcolor=\"{fill}\", height=0.25, fontsize=10];",
        more_text(more, dir)
    )?;
    let (from, to) = match dir {
        SubgraphDirection::Refs => (&of, &box_id),
        SubgraphDirection::Backrefs => (&box_id, &of),
    };
    writeln!(
        w,
        "  {from} -> {to} [color=red, style=dotted, len=0.25, weight=10];"
    )
}

/// `[label="…"]`, with objgraph's heavy weight on `.__dict__` so an instance and its dict
/// stay together.
fn edge_attrs(label: Option<&str>) -> String {
    match label {
        None => String::new(),
        Some(l) if l == ".__dict__" => format!(" [label=\"{}\", weight=10]", escape(l)),
        Some(l) => format!(" [label=\"{}\"]", escape(&edge_text(l))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::subgraph::tests::{hostile_text_heap, seed};
    use crate::query::subgraph::{subgraph, SubgraphOptions};
    use crate::snapshot::{ObjectId, Snapshot};
    use std::process::{Command, Stdio};

    #[test]
    fn escape_keeps_heap_text_inside_the_string_and_visible() {
        assert_eq!(escape(r#"say "hi""#), r#"say \"hi\""#);
        assert_eq!(escape(r"C:\temp"), r"C:\\temp");
        assert_eq!(
            escape("ends with \\"),
            "ends with \\\\",
            "a trailing backslash cannot eat the quote"
        );
        assert_eq!(
            escape("two\nlines"),
            r"two\\nlines",
            "shown as \\n, not a line break"
        );
        assert_eq!(escape("\r\t"), r"\\r\\t");
        assert_eq!(escape("nul\0bell\x07del\x7f"), r"nul\\x00bell\\x07del\\x7f");
        assert_eq!(
            escape("<script>alert(1)</script>"),
            "<script>alert(1)</script>"
        );
        assert_eq!(escape("&lt; & \\N"), r"&amp;lt; &amp; \\N");
        assert_eq!(escape("snake 🐍 é \u{fffd}"), "snake 🐍 é \u{fffd}");
        assert_eq!(escape("a\u{202e}b"), r"a\\u{202e}b");
    }

    #[test]
    fn long_labels_are_cut_on_a_character_boundary() {
        let long = "é".repeat(50);
        let cut = shorten(&long);
        assert_eq!(cut.chars().count(), MAX_LABEL_CHARS);
        assert!(cut.ends_with("é…"));
        assert_eq!(shorten("short"), "short");
    }

    #[test]
    fn node_ids_are_objgraphs_decimal_addresses() {
        assert_eq!(node_id("0x7f00aa"), "o8323242");
        assert_eq!(node_id("weird id\""), "o_weird_id_");
    }

    #[test]
    fn colours_are_objgraphs_hsv_as_hex() {
        assert_eq!(hsv_hex(0.0, 0.0, 1.0), "#ffffff");
        assert_eq!(hsv_hex(0.0, 0.0, 0.3), "#4d4d4d");
        assert_eq!(hsv_hex(0.3, 1.0, 1.0), "#33ff00", "module green");
        assert_eq!(hsv_hex(0.6, 0.6, 1.0), "#66a3ff", "highlight blue");
        assert!((depth_value(3, 3) - 0.3).abs() < 1e-9);
        assert_eq!(depth_value(0, 0), 1.0);
    }

    fn dot_text(
        snap: &Snapshot,
        start: u64,
        dir: SubgraphDirection,
        opts: &SubgraphOptions,
    ) -> String {
        let n = snap.node_by_id(ObjectId(start)).expect("start in heap");
        let view = subgraph(snap, &[n], dir, opts).view();
        let mut out = Vec::new();
        write_dot(&mut out, &view).expect("writes to a Vec");
        String::from_utf8(out).expect("DOT is UTF-8")
    }

    #[test]
    fn the_seed_backrefs_look_like_objgraphs_with_labels_and_a_legend() {
        let text = dot_text(
            &seed(),
            10,
            SubgraphDirection::Backrefs,
            &SubgraphOptions::default(),
        );
        let expected = [
            "digraph ObjectGraph {",
            "  node[shape=box, style=filled, fillcolor=white];",
            "  edge[fontsize=10];",
            concat!(
                r#"  graph[labelloc=b, fontsize=12, label=<<table border="0" cellborder="0" cellspacing="0" cellpadding="1">"#,
                r#"<tr><td>backrefs of list 0xa (4 items) — depth ≤ 3, 4 objects;<br/>modules (green) not expanded</td></tr>"#,
                r#"<tr><td><table border="0" cellborder="0" cellspacing="3"><tr>"#,
                r##"<td fixedsize="true" width="18" height="10" bgcolor="#ffffff" color="red" border="2"></td><td><font point-size="10">start</font></td>"##,
                r#"<td width="10"></td>"#,
                r##"<td fixedsize="true" width="18" height="10" bgcolor="#888888" color="black" border="1"></td><td><font point-size="10">darker: farther from the start</font></td>"##,
                r#"<td width="10"></td>"#,
                r##"<td fixedsize="true" width="18" height="10" bgcolor="#2ee600" color="black" border="1"></td><td><font point-size="10">module</font></td>"##,
                r#"</tr></table></td></tr></table>>];"#
            ),
            "  o10[label=\"list\\n4 items\", fillcolor=\"#ffffff\", fontcolor=red, penwidth=2, tooltip=\"list 0xa, 48 bytes, depth 0\"];",
            "  o2[label=\"dict\\n2 items\", fillcolor=\"#c4c4c4\", tooltip=\"dict 0x2, 48 bytes, depth 1\"];",
            "  o11[label=\"list\\n4 items\", fillcolor=\"#c4c4c4\", tooltip=\"list 0xb, 48 bytes, depth 1\"];",
            "  o1[label=\"module\\n__main__\", fillcolor=\"#1b8800\", tooltip=\"module 0x1, 24 bytes, depth 2\"];",
            "  o2 -> o10 [label=\"['a']\"];",
            "  o11 -> o10 [label=\"[3]\"];",
            "  o1 -> o2 [label=\".__dict__\", weight=10];",
            "  o2 -> o11 [label=\"['b']\"];",
            "  o10 -> o11 [label=\"[3]\"];",
            "}",
        ];
        assert_eq!(text.lines().collect::<Vec<_>>(), expected);
    }

    #[test]
    fn cut_fan_outs_and_truncated_nodes_are_marked() {
        let s = seed();
        let opts = SubgraphOptions {
            max_depth: 1,
            too_many: 2,
            ..SubgraphOptions::default()
        };
        let text = dot_text(&s, 10, SubgraphDirection::Refs, &opts);
        assert!(text.contains("too_many_o10[label=\"2 more references\", shape=box, style=\"filled,dotted\", color=red"));
        assert!(
            text.contains("  o10 -> too_many_o10 [color=red, style=dotted, len=0.25, weight=10];")
        );
        let back = dot_text(
            &s,
            10,
            SubgraphDirection::Backrefs,
            &SubgraphOptions {
                too_many: 1,
                ..opts
            },
        );
        assert!(back.contains("  too_many_o10 -> o10 [color=red"), "{back}");
        assert!(back.contains("1 more backreference\""));
        assert!(back.contains("o2[label=\"dict\\n2 items\\n… not expanded\""));
        assert!(back.contains("style=\"filled,dashed\""));
        assert!(
            back.replace("<br/>", " ")
                .contains("1 not expanded (dashed), 1 fan-out cut (red)"),
            "{back}"
        );
        for key in [
            "not expanded</font>",
            "more, not drawn</font>",
            r#"style="dashed""#,
        ] {
            assert!(back.contains(key), "the key has no {key}: {back}");
        }
    }

    /// Issue 12.12: the caption is wrapped (Graphviz sizes the drawing to hold it) and
    /// heap text in it stays text inside the HTML-like label.
    #[test]
    fn the_caption_is_wrapped_and_escaped_in_the_html_label() {
        let v = subgraph(
            &seed(),
            &[seed().node_by_id(ObjectId(10)).expect("0xa")],
            SubgraphDirection::Refs,
            &SubgraphOptions::default(),
        )
        .view();
        let caption = format!("{} <b>&\"'</b> {}", "word ".repeat(30), "x".repeat(80));
        let opts = DotOptions {
            legend: Some(caption),
            ..DotOptions::default()
        };
        let mut out = Vec::new();
        write_dot_with(&mut out, &v, &opts).expect("writes");
        let text = String::from_utf8(out).expect("UTF-8");
        let label = text
            .lines()
            .find(|l| l.contains("graph[labelloc=b"))
            .expect("the caption line");
        let first = label.split("<tr><td>").nth(1).expect("a caption cell");
        let lines: Vec<&str> = first
            .split("</td>")
            .next()
            .unwrap_or("")
            .split("<br/>")
            .collect();
        assert!(lines.len() > 2, "{label}");
        for l in &lines[..lines.len() - 1] {
            assert!(l.chars().count() <= CAPTION_CHARS + 30, "{l}");
        }
        assert!(
            label.contains("&lt;b&gt;&amp;&quot;&#39;&lt;/b&gt;"),
            "{label}"
        );
        assert!(!label.contains("<b>"));
    }

    /// Labels that have broken DOT writers: quotes, backslashes, a trailing backslash,
    /// newlines, NUL, markup, entities, emoji, a bidi override.
    const EVIL: [&str; 8] = [
        "'say \"hi\"'",
        "C:\\dir\\",
        "two\nlines\r\tand\0nul",
        "<script>alert(1)</script>",
        "&lt;b&gt; &amp;",
        "🐍 snake ok",
        "x\u{202e}y",
        "\\N \\G \\L \\l",
    ];

    fn evil_heap() -> Snapshot {
        hostile_text_heap("app.Weird\"Type\\", "\"quoted\\", &EVIL)
    }

    fn run_dot(format: &str, input: &str) -> Option<String> {
        let child = Command::new("dot")
            .arg(format!("-T{format}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let Ok(mut child) = child else {
            eprintln!("skipped: Graphviz `dot` is not on PATH");
            return None;
        };
        let mut stdin = child.stdin.take().expect("piped stdin");
        stdin
            .write_all(input.as_bytes())
            .expect("dot reads its input");
        drop(stdin);
        let out = child.wait_with_output().expect("dot runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.is_empty(),
            "dot rejected the graph: {stderr}\n{input}"
        );
        Some(String::from_utf8(out.stdout).expect("dot writes UTF-8"))
    }

    /// The text lines Graphviz draws in each node and edge label, from its JSON output.
    fn drawn_texts(json: &str) -> Vec<Vec<String>> {
        let v: serde_json::Value = serde_json::from_str(json).expect("dot -Tjson is JSON");
        let ops = |o: &serde_json::Value, key: &str| -> Vec<String> {
            let texts = o[key].as_array().into_iter().flatten();
            texts
                .filter_map(|op| op["text"].as_str().map(str::to_string))
                .collect()
        };
        let objects = v["objects"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|o| ops(o, "_ldraw_"));
        let edges = v["edges"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| ops(e, "_ldraw_"));
        objects.chain(edges).collect()
    }

    /// What a reader should see for heap text: every character as typed, controls escaped.
    fn visible(s: &str) -> String {
        let escaped = escape(&shorten(s));
        escaped
            .replace("&amp;", "&")
            .replace("\\\\", "\\")
            .replace("\\\"", "\"")
    }

    #[test]
    fn graphviz_accepts_hostile_labels_and_draws_them_verbatim() {
        let text = dot_text(
            &evil_heap(),
            1,
            SubgraphDirection::Refs,
            &SubgraphOptions::default(),
        );
        let Some(json) = run_dot("json", &text) else {
            return;
        };
        let drawn = drawn_texts(&json);
        assert!(
            drawn.contains(&vec!["Weird\"Type\\".to_string(), "\"quoted\\".to_string()]),
            "{drawn:?}"
        );
        for label in EVIL {
            let want = vec!["str".to_string(), visible(label)];
            assert!(
                drawn.contains(&want),
                "node {label:?} drawn as none of {drawn:?}"
            );
            assert!(
                drawn.contains(&vec![visible(label)]),
                "edge {label:?} drawn as none of {drawn:?}"
            );
        }
        assert!(drawn
            .iter()
            .flatten()
            .any(|t| t == "two\\nlines\\r\\tand\\x00nul"));
        let svg = run_dot("svg", &text).unwrap_or_default();
        assert!(svg.contains("&lt;script&gt;") && !svg.contains("<script>"));
    }
}
