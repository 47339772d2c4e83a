//! Graphviz DOT for `refs` / `backrefs`, in objgraph's look so its users feel at home: boxes
//! `type\nlabel`, ids `o<decimal address>`, white → grey shading by depth, green modules, blue
//! highlights, red start objects, dotted red "N more references" boxes. Added: every edge
//! labelled, dashed borders on nodes left unexpanded, a legend at the bottom, and colours as
//! `#rrggbb` (objgraph's HSV strings render black in non-Graphviz layout engines).
//!
//! Heap text is untrusted: everything from the snapshot goes through [`escape`].

use crate::query::subgraph::{MoreView, SubgraphDirection, SubgraphNodeView, SubgraphView};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};

/// Longest object or edge label drawn, in characters; longer ones are cut with `…`
/// (objgraph cuts its reprs at 40).
pub const MAX_LABEL_CHARS: usize = 40;

/// Write `view` as a DOT digraph.
pub fn write_dot(w: &mut dyn Write, view: &SubgraphView) -> io::Result<()> {
    writeln!(w, "digraph ObjectGraph {{")?;
    writeln!(w, "  node[shape=box, style=filled, fillcolor=white];")?;
    writeln!(w, "  edge[fontsize=10];")?;
    writeln!(
        w,
        "  graph[labelloc=b, fontsize=12, label=\"{}\"];",
        escape(&legend(view))
    )?;
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
        writeln!(w, "{};", edge_attrs(e.label.as_deref()))?;
    }
    writeln!(w, "}}")
}

/// `s` made safe inside a DOT double-quoted string, shown exactly as it is: `"` and `\` are
/// escaped, so nothing can close the string or start a Graphviz escape (`\n`, `\l`, `\N`);
/// `&` becomes `&amp;` because Graphviz decodes HTML entities in labels; a newline, tab,
/// other control character or bidi override is drawn as visible text (`\n`, `\x00`,
/// `\u{202e}`), never as a line break.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '&' => out.push_str("&amp;"),
            // A doubled backslash renders as one: `\\n` shows as the two characters `\n`.
            '\n' => out.push_str("\\\\n"),
            '\r' => out.push_str("\\\\r"),
            '\t' => out.push_str("\\\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\\\x{:02x}", c as u32);
            }
            c if is_bidi_control(c) => {
                let _ = write!(out, "\\\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Characters that reorder the text around them (the "Trojan source" ones).
fn is_bidi_control(c: char) -> bool {
    ('\u{202a}'..='\u{202e}').contains(&c) || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// `s` cut to [`MAX_LABEL_CHARS`] characters, `…` marking the cut.
pub fn shorten(s: &str) -> String {
    if s.chars().count() <= MAX_LABEL_CHARS {
        return s.to_string();
    }
    let mut cut: String = s.chars().take(MAX_LABEL_CHARS - 1).collect();
    cut.push('…');
    cut
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

/// `type\nlabel`, and `… not expanded` on a truncated node. The `\n` between the lines is
/// ours; any newline in heap text was escaped to visible text.
fn node_label(n: &SubgraphNodeView) -> String {
    let mut label = escape(&shorten(&n.type_name));
    if let Some(text) = &n.label {
        label.push_str("\\n");
        label.push_str(&escape(&shorten(text)));
    }
    if n.truncated {
        label.push_str("\\n… not expanded");
    }
    label
}

/// Hover text in SVG output: what the box has no room for.
fn tooltip(n: &SubgraphNodeView) -> String {
    format!(
        "{} {}, {} bytes, depth {}",
        n.type_long, n.id, n.size, n.depth
    )
}

/// A fill colour and whether it needs white text.
struct Fill {
    hex: String,
    dark: bool,
}

/// objgraph's colours: grey from white (depth 0) to `v = 0.3` (max depth), modules green
/// (hue 0.3) and highlights blue (hue 0.6) at the same depth; white text when `v < 0.5`.
fn node_fill(n: &SubgraphNodeView, max_depth: usize) -> Fill {
    let v = depth_value(n.depth, max_depth);
    let (h, s, v) = if n.highlight {
        (0.6, 0.6, 0.5 + v * 0.5)
    } else if n.module {
        (0.3, 1.0, v)
    } else {
        (0.0, 0.0, v)
    };
    Fill {
        hex: hsv_hex(h, s, v),
        dark: v < 0.5,
    }
}

/// objgraph's gradient: 1 at depth 0, 0.3 at `max_depth`.
fn depth_value(depth: usize, max_depth: usize) -> f64 {
    if max_depth == 0 {
        return 1.0;
    }
    let ratio = (depth as f64 / max_depth as f64).min(1.0);
    1.0 - 0.7 * ratio
}

/// `#rrggbb` for a colour in HSV, each component in `0..=1`.
fn hsv_hex(h: f64, s: f64, v: f64) -> String {
    let sector = (h * 6.0).floor();
    let f = h * 6.0 - sector;
    let (p, q, t) = (v * (1.0 - s), v * (1.0 - s * f), v * (1.0 - s * (1.0 - f)));
    let (r, g, b) = match (sector as i64).rem_euclid(6) {
        0 => (v, t, p),
        1 => (q, v, p),
        2 => (p, v, t),
        3 => (p, q, v),
        4 => (t, p, v),
        _ => (v, p, q),
    };
    let byte = |x: f64| (x * 255.0).round().clamp(0.0, 255.0) as u8;
    format!("#{:02x}{:02x}{:02x}", byte(r), byte(g), byte(b))
}

/// A dotted red box for the neighbours `too_many` left out, reached by a dotted red edge
/// (pointing at the node in backrefs, as objgraph draws it). objgraph fills it solid red with
/// 6-point white text; a light fill keeps it readable.
fn write_more(
    w: &mut dyn Write,
    more: &MoreView,
    dir: SubgraphDirection,
    depth: usize,
    max_depth: usize,
) -> io::Result<()> {
    let of = node_id(&more.of);
    let box_id = format!("too_many_{of}");
    let what = match dir {
        SubgraphDirection::Refs => "reference",
        SubgraphDirection::Backrefs => "backreference",
    };
    let plural = if more.count == 1 { "" } else { "s" };
    let fill = hsv_hex(0.0, 0.15, depth_value(depth, max_depth).max(0.9));
    writeln!(
        w,
        "  {box_id}[label=\"{} more {what}{plural}\", shape=box, style=\"filled,dotted\", \
         color=red, fontcolor=red, fillcolor=\"{fill}\", height=0.25, fontsize=10];",
        more.count
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
        Some(l) => format!(" [label=\"{}\"]", escape(&shorten(l))),
    }
}

/// The caption: what was drawn and what the marks mean, e.g.
/// `refs of list 0x7f… — depth ≤ 3, 12 objects; 2 not expanded (dashed), 1 fan-out cut (red)`.
pub fn legend(view: &SubgraphView) -> String {
    let mut text = format!(
        "{} of {} — depth ≤ {}, {}",
        view.direction.name(),
        starts_text(view),
        view.max_depth,
        count(view.nodes.len(), "object", "objects"),
    );
    let notes = legend_notes(view);
    if !notes.is_empty() {
        text.push_str("; ");
        text.push_str(&notes.join(", "));
    }
    text
}

fn legend_notes(view: &SubgraphView) -> Vec<String> {
    let mut notes = Vec::new();
    let truncated = view.nodes.iter().filter(|n| n.truncated).count();
    if truncated > 0 {
        notes.push(format!("{truncated} not expanded (dashed)"));
    }
    if !view.more.is_empty() {
        notes.push(format!(
            "{} cut (red)",
            count(view.more.len(), "fan-out", "fan-outs")
        ));
    }
    let stopped = |n: &&SubgraphNodeView| n.module && !n.start;
    if view.direction == SubgraphDirection::Backrefs && view.nodes.iter().any(|n| stopped(&n)) {
        notes.push("modules (green) not expanded".into());
    }
    if view.cap_reached {
        notes.push(format!("stopped at {} objects", view.max_nodes));
    }
    notes
}

/// `list 0x7f…` for up to three start objects, `5 objects` beyond.
fn starts_text(view: &SubgraphView) -> String {
    let starts: Vec<&SubgraphNodeView> = view.nodes.iter().filter(|n| n.start).collect();
    if starts.is_empty() || starts.len() > 3 {
        return count(starts.len(), "object", "objects");
    }
    let names: Vec<String> = starts
        .iter()
        .map(|n| format!("{} {}", shorten(&n.type_name), n.id))
        .collect();
    names.join(", ")
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
