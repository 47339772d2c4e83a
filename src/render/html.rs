//! The HTML report: one self-contained page (inline CSS and JS, no network, no fonts to
//! fetch) rendered from `templates/report.html` with minijinja.
//!
//! Everything from the snapshot — labels, type names, dict keys, module names, argv — goes
//! through minijinja's HTML auto-escaping. The cycle pictures are the one piece of markup
//! inlined as is, after [`svg_guard`] has checked them. A Content-Security-Policy with a
//! per-page nonce lets only the page's own script run and forbids every network request, so
//! an escaping mistake would still not run a snapshot's `<script>`.

mod svg_guard;

pub use svg_guard::Refused;

use crate::query::report::Report;
use crate::render::style::acts_on_text;
use crate::render::text::{human_size, plural, term_safe, thousands};
use minijinja::value::Serde;
use minijinja::{context, Environment, Value};
use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Write};

const PAGE: &str = include_str!("../../templates/report.html");
const STYLE: &str = include_str!("../../templates/report.css");
const SCRIPT: &str = include_str!("../../templates/report.js");

/// Longest object label shown, in characters (the full label is in the tooltip).
const LABEL_CHARS: usize = 80;

/// Write `report` as a self-contained HTML page.
pub fn write_html(w: &mut dyn Write, report: &Report) -> io::Result<()> {
    let page = render_html(report).map_err(|e| io::Error::other(format!("HTML report: {e:#}")))?;
    w.write_all(page.as_bytes())
}

/// `report` as a self-contained HTML page.
pub fn render_html(report: &Report) -> Result<String, minijinja::Error> {
    let env = environment()?;
    let ctx = context! {
        r => Value::from(Serde(report)),
        pictures => pictures(report),
        linked => linked_ids(report),
        has_retained => report.types.iter().any(|t| t.retained.is_some()),
        nonce => nonce(),
    };
    env.get_template("report.html")?.render(ctx)
}

/// The templates and the filters they use. Names ending in `.html` are auto-escaped; the
/// style sheet and script are the page's own text and are not.
fn environment() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    env.add_template("report.html", PAGE)?;
    env.add_template("report.css", STYLE)?;
    env.add_template("report.js", SCRIPT)?;
    env.add_filter("size", human_size);
    env.add_filter("signed_size", signed_size);
    env.add_filter("num", thousands);
    env.add_filter("signed", signed);
    env.add_filter("pct", percent);
    env.add_filter("label", short_label);
    env.add_filter("plural", plural);
    env.add_filter("file_name", file_name);
    env.set_formatter(|out, state, value| match value.as_str() {
        Some(text) if !value.is_safe() && text.chars().any(acts_on_text) => {
            minijinja::escape_formatter(out, state, &Value::from(html_visible(text)))
        }
        _ => minijinja::escape_formatter(out, state, value),
    });
    Ok(env)
}

/// Every text a template writes, before it is HTML-escaped: a control character, bidi
/// override or line separator of a type name, label, file name or header field is shown as
/// `\u{1b}`, as on the terminal ([`term_safe`]), whichever section writes it.
fn html_visible(text: &str) -> String {
    term_safe(text).into_owned()
}

/// One picture per cycle: `svg` (checked markup, inlined as is) or `why` it is missing.
fn pictures(report: &Report) -> Vec<Value> {
    let entries = report.cycles.entries.iter().enumerate();
    entries
        .map(|(i, e)| picture(i + 1, e.svg.as_deref()))
        .collect()
}

/// The picture of cycle `number`; its ids get the prefix `cNUMBER-`.
fn picture(number: usize, svg: Option<&str>) -> Value {
    let Some(svg) = svg else {
        return context! { why => "picture unavailable" };
    };
    match svg_guard::guard(svg, &format!("c{number}-")) {
        Ok(checked) => context! { svg => Value::from_safe_string(checked) },
        Err(refused) => context! { why => format!("picture withheld: {refused}") },
    }
}

/// The ids that have a detail section: only those become links.
fn linked_ids(report: &Report) -> BTreeMap<String, bool> {
    report
        .details
        .iter()
        .map(|d| (d.object.id.clone(), true))
        .collect()
}

/// 128 unpredictable bits for the script's CSP nonce (std's hasher keys are seeded from the
/// OS's random source). A snapshot written before the report cannot guess them.
fn nonce() -> String {
    let half = || {
        std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish()
    };
    format!("{:016x}{:016x}", half(), half())
}

/// `−` (a real minus sign), `+` or nothing.
fn sign(n: i64) -> &'static str {
    match n.signum() {
        -1 => "−",
        1 => "+",
        _ => "",
    }
}

fn signed(n: i64) -> String {
    format!("{}{}", sign(n), thousands(n.unsigned_abs()))
}

fn signed_size(n: i64) -> String {
    format!("{}{}", sign(n), human_size(n.unsigned_abs()))
}

fn percent(share: f64) -> String {
    if share > 0.0 && share < 0.1 {
        "<0.1%".to_string()
    } else {
        format!("{share:.1}%")
    }
}

/// `1,000,000 items` for `1000000 items`; long labels cut with `…`.
fn short_label(label: &str) -> String {
    if let Some(n) = label
        .strip_suffix(" items")
        .and_then(|n| n.parse::<u64>().ok())
    {
        return format!("{} items", thousands(n));
    }
    if label.chars().count() > LABEL_CHARS {
        let cut: String = label.chars().take(LABEL_CHARS - 1).collect();
        return format!("{cut}…");
    }
    label.to_string()
}

/// `app.rgsnap` for `/tmp/x/app.rgsnap`.
fn file_name(path: &str) -> String {
    let name = std::path::Path::new(path).file_name();
    name.map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_like_people_write_them() {
        assert_eq!(signed(-1234), "−1,234");
        assert_eq!(signed(5), "+5");
        assert_eq!(signed(0), "0");
        assert_eq!(signed_size(2_000_000), "+2.0 MB");
        assert_eq!(percent(0.01), "<0.1%");
        assert_eq!(percent(12.345), "12.3%");
        assert_eq!(short_label("1000000 items"), "1,000,000 items");
        assert_eq!(short_label(&"x".repeat(100)).chars().count(), LABEL_CHARS);
    }

    #[test]
    fn the_page_text_cannot_end_its_own_script_or_style() {
        assert!(!SCRIPT.to_ascii_lowercase().contains("</script"));
        assert!(!STYLE.to_ascii_lowercase().contains("</style"));
    }

    #[test]
    fn heap_text_on_the_page_shows_what_acts_on_text_as_escapes() {
        assert_eq!(
            html_visible("a\u{1b}[2J\nb\u{202e}c\u{2028}"),
            "a\\u{1b}[2J\\u{a}b\\u{202e}c\\u{2028}"
        );
        assert_eq!(html_visible("plain <b> ü 🐍"), "plain <b> ü 🐍");
    }

    #[test]
    fn nonces_differ() {
        assert_ne!(nonce(), nonce());
        assert_eq!(nonce().len(), 32);
    }
}
