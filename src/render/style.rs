//! objgraph's look, shared by the DOT writer and the builtin SVG writer: what each box says,
//! its colours, the "N more references" boxes and the caption. Text comes back plain (but
//! with control characters made visible); each writer quotes it for its own syntax.

use super::text::human_size;
use crate::query::cycles::CycleInfo;
use crate::query::subgraph::{MoreView, SubgraphDirection, SubgraphNodeView, SubgraphView};
use std::fmt::Write as _;

/// Longest object or edge label drawn, in characters; longer ones are cut with `…`
/// (objgraph cuts its reprs at 40).
pub const MAX_LABEL_CHARS: usize = 40;

/// Heap text as it should be seen: a newline, tab or other control character, a bidi
/// override, a line or paragraph separator or an XML non-character is shown as an escape
/// (`\n`, `\x00`, `\u{202e}`), never acted on, so a label cannot break lines, reorder text or
/// make XML invalid.
pub fn visible(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if acts_on_text(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// A character that acts on the text around it, or that a reader cannot see, so that heap
/// text must show it as an escape wherever it is written: a control character, a bidi
/// control (the "Trojan source" ones), a line or paragraph separator (U+2028/2029: a line
/// break to some terminals and editors, the end of a JavaScript string to old parsers) or an
/// XML non-character.
pub fn acts_on_text(c: char) -> bool {
    c.is_control() || is_bidi_control(c) || is_line_separator(c) || is_noncharacter(c)
}

/// Characters that reorder the text around them (the "Trojan source" ones).
fn is_bidi_control(c: char) -> bool {
    ('\u{202a}'..='\u{202e}').contains(&c) || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR.
fn is_line_separator(c: char) -> bool {
    c == '\u{2028}' || c == '\u{2029}'
}

/// The two characters XML 1.0 forbids outside the control range.
fn is_noncharacter(c: char) -> bool {
    c == '\u{fffe}' || c == '\u{ffff}'
}

/// `s` cut to [`MAX_LABEL_CHARS`] characters, `…` marking the cut.
pub fn shorten(s: &str) -> String {
    shorten_to(s, MAX_LABEL_CHARS)
}

/// The lines of an object's box, plain: `type`, its label, and `… not expanded` on a
/// truncated node.
pub fn node_lines(n: &SubgraphNodeView) -> Vec<String> {
    let mut lines = vec![visible(&shorten(&n.type_name))];
    if let Some(text) = &n.label {
        lines.push(visible(&shorten(text)));
    }
    if n.truncated {
        lines.push("… not expanded".into());
    }
    lines
}

/// An edge's label as drawn: cut to [`MAX_LABEL_CHARS`], controls made visible.
pub fn edge_text(label: &str) -> String {
    visible(&shorten(label))
}

/// Hover text: what the box has no room for.
pub fn tooltip(n: &SubgraphNodeView) -> String {
    visible(&format!(
        "{} {}, {} bytes, depth {}",
        n.type_long, n.id, n.size, n.depth
    ))
}

/// A fill colour and whether it needs white text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fill {
    /// `#rrggbb`.
    pub hex: String,
    /// Dark enough that black text would not read.
    pub dark: bool,
}

/// objgraph's colours: grey from white (depth 0) to `v = 0.3` (max depth), modules green
/// (hue 0.3) and highlights blue (hue 0.6) at the same depth; white text when `v < 0.5`.
pub fn node_fill(n: &SubgraphNodeView, max_depth: usize) -> Fill {
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
pub fn depth_value(depth: usize, max_depth: usize) -> f64 {
    if max_depth == 0 {
        return 1.0;
    }
    let ratio = (depth as f64 / max_depth as f64).min(1.0);
    1.0 - 0.7 * ratio
}

/// `#rrggbb` for a colour in HSV, each component in `0..=1`.
pub fn hsv_hex(h: f64, s: f64, v: f64) -> String {
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

/// `3 more references` / `1 more backreference`.
pub fn more_text(more: &MoreView, dir: SubgraphDirection) -> String {
    let what = match dir {
        SubgraphDirection::Refs => "reference",
        SubgraphDirection::Backrefs => "backreference",
    };
    let plural = if more.count == 1 { "" } else { "s" };
    format!("{} more {what}{plural}", more.count)
}

/// A light red for the "more" box (objgraph fills it solid red with 6-point white text;
/// a light fill keeps it readable).
pub fn more_fill(depth: usize, max_depth: usize) -> String {
    hsv_hex(0.0, 0.15, depth_value(depth, max_depth).max(0.9))
}

/// The caption: what was drawn and what the marks mean, e.g.
/// `refs of list 0x7f… (3 items) — depth ≤ 3, 12 objects; 2 not expanded (dashed), 1 fan-out cut (red)`.
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
    visible(&text)
}

/// The caption of a `chain -o` picture (objgraph's `show_chain`): `2 reference chains to
/// list 0x7f… (4 items) — 5 objects`, or `… chain from …` for forward chains.
pub fn chain_legend(view: &SubgraphView, chains: usize) -> String {
    let several = view.nodes.iter().filter(|n| n.start).count() > 1;
    let (way, red) = match (view.direction, several) {
        (SubgraphDirection::Backrefs, false) => ("to", "the object held"),
        (SubgraphDirection::Backrefs, true) => ("to", "the objects held"),
        (SubgraphDirection::Refs, false) => ("from", "the start"),
        (SubgraphDirection::Refs, true) => ("from", "the starts"),
    };
    visible(&format!(
        "{} {way} {} — {}; red: {red}, green: modules",
        count(chains, "reference chain", "reference chains"),
        starts_text(view),
        count(view.nodes.len(), "object", "objects"),
    ))
}

/// The caption of a `cycles --render` picture: `cycle #1: 2 objects, 17.7 kB — garbage: no
/// root reaches it`, with what holds it and how many members are drawn.
pub fn cycle_legend(number: usize, c: &CycleInfo, view: &SubgraphView) -> String {
    // Number 0: the picture stands next to its own heading (the report), no number needed.
    let title = if number == 0 {
        "cycle".to_string()
    } else {
        format!("cycle #{number}")
    };
    let mut text = format!(
        "{title}: {}, {} — ",
        count(c.members as usize, "object", "objects"),
        human_size(c.size)
    );
    match &c.held_by {
        None if c.collector_flagged => {
            text.push_str("garbage: no root reaches it, the cycle collector flagged it")
        }
        None => text.push_str("garbage: no root reaches it"),
        Some(chain) => {
            let _ = write!(text, "alive, held by {}", shorten_to(&chain.text, 100));
        }
    }
    if (view.nodes.len() as u64) < c.members {
        let _ = write!(
            text,
            "; {} of {} members drawn",
            view.nodes.len(),
            c.members
        );
    }
    if c.held_by.is_some() {
        text.push_str("; red: where the chain enters");
    }
    visible(&text)
}

/// One entry of a picture's key: a sample of a mark and what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyEntry {
    /// Red text, thick border: the object(s) the picture starts from.
    Start,
    /// Grey fill, darker with depth.
    Depth,
    /// Green fill: a module.
    Module,
    /// Blue fill: a `--highlight` type.
    Highlight,
    /// Dashed border: an object whose references are not drawn.
    NotExpanded,
    /// Red dotted box: references not drawn.
    More,
}

impl KeyEntry {
    /// What the mark means, as the key says it.
    pub fn text(self) -> &'static str {
        match self {
            KeyEntry::Start => "start",
            KeyEntry::Depth => "darker: farther from the start",
            KeyEntry::Module => "module",
            KeyEntry::Highlight => "highlighted type",
            KeyEntry::NotExpanded => "not expanded",
            KeyEntry::More => "more, not drawn",
        }
    }
}

/// The key of `view`: an entry for each kind of mark the picture has, so a plain picture
/// gets a short key.
pub fn key(view: &SubgraphView) -> Vec<KeyEntry> {
    let any = |f: fn(&SubgraphNodeView) -> bool| view.nodes.iter().any(f);
    let deep = view.max_depth > 0 && view.nodes.iter().any(|n| n.depth > 0);
    [
        (KeyEntry::Start, any(|n| n.start)),
        (KeyEntry::Depth, deep),
        (KeyEntry::Module, any(|n| n.module && !n.highlight)),
        (KeyEntry::Highlight, any(|n| n.highlight)),
        (KeyEntry::NotExpanded, any(|n| n.truncated)),
        (KeyEntry::More, !view.more.is_empty()),
    ]
    .into_iter()
    .filter_map(|(e, shown)| shown.then_some(e))
    .collect()
}

/// A sample fill of a key entry's box (the grey one at two thirds of the depth gradient).
pub fn key_fill(e: KeyEntry) -> String {
    match e {
        KeyEntry::Depth => hsv_hex(0.0, 0.0, depth_value(2, 3)),
        KeyEntry::Module => hsv_hex(0.3, 1.0, 0.9),
        KeyEntry::Highlight => hsv_hex(0.6, 0.6, 0.95),
        KeyEntry::More => more_fill(1, 3),
        KeyEntry::Start | KeyEntry::NotExpanded => "#ffffff".to_string(),
    }
}

/// `text` broken into lines at spaces, each as long as `fits` allows (a word longer than a
/// line gets a line of its own).
pub fn wrap(text: &str, fits: impl Fn(&str) -> bool) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if line.is_empty() {
            line.push_str(word);
            continue;
        }
        let longer = format!("{line} {word}");
        if fits(&longer) {
            line = longer;
        } else {
            lines.push(std::mem::replace(&mut line, word.to_string()));
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// `s` cut to `max` characters with `…`.
fn shorten_to(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut cut: String = s.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
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
    let highlighted = view.nodes.iter().filter(|n| n.highlight).count();
    if highlighted > 0 {
        notes.push(format!("{highlighted} highlighted (blue)"));
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

/// `list 0x7f… (3 items)` for up to three start objects, `5 objects` beyond.
fn starts_text(view: &SubgraphView) -> String {
    let starts: Vec<&SubgraphNodeView> = view.nodes.iter().filter(|n| n.start).collect();
    if starts.is_empty() || starts.len() > 3 {
        return count(starts.len(), "object", "objects");
    }
    let names: Vec<String> = starts.iter().map(|n| start_name(n)).collect();
    names.join(", ")
}

/// `list 0x7f… (3 items)`: a start object as the caption names it.
pub fn start_name(n: &SubgraphNodeView) -> String {
    let name = format!("{} {}", shorten(&n.type_name), n.id);
    match &n.label {
        Some(label) => format!("{name} ({})", shorten(label)),
        None => name,
    }
}

/// `1 object`, `2 objects`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_shows_controls_bidi_and_nonchars_as_escapes() {
        assert_eq!(visible("a\nb\r\t"), r"a\nb\r\t");
        assert_eq!(visible("nul\0del\x7f\u{85}"), r"nul\x00del\x7f\x85");
        assert_eq!(visible("x\u{202e}y\u{2066}"), r"x\u{202e}y\u{2066}");
        assert_eq!(visible("\u{fffe}\u{ffff}"), r"\u{fffe}\u{ffff}");
        assert_eq!(
            visible("line\u{2028}para\u{2029}"),
            r"line\u{2028}para\u{2029}"
        );
        assert_eq!(visible("snake 🐍 <&>\"'"), "snake 🐍 <&>\"'");
    }

    #[test]
    fn wrap_breaks_at_spaces_within_the_width() {
        let fits = |s: &str| s.chars().count() <= 10;
        assert_eq!(wrap("one two three four", fits), ["one two", "three four"]);
        assert_eq!(
            wrap("averyveryverylongword x", fits),
            ["averyveryverylongword", "x"]
        );
        assert_eq!(wrap("", fits), [""]);
        let caption = "cycle #1: 3 objects, 3.2 MB — alive, held by module __main__";
        for line in wrap(caption, fits) {
            assert!(line.chars().count() <= 10 || !line.contains(' '), "{line}");
        }
    }

    #[test]
    fn the_legend_is_one_visible_line() {
        use crate::query::subgraph::{subgraph, tests::seed, SubgraphOptions};
        let s = seed();
        let start = s.node_by_id(crate::ObjectId(10)).expect("the seed has 0xa");
        let dir = SubgraphDirection::Refs;
        let mut view = subgraph(&s, &[start], dir, &SubgraphOptions::default()).view();
        view.nodes[0].label = Some("two\nlines".into());
        let text = legend(&view);
        assert!(
            !text.contains('\n') && text.contains(r"two\nlines"),
            "{text}"
        );
    }
}
