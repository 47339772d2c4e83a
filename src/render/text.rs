//! Text output for people: aligned tables, human sizes, and heap text made safe for a
//! terminal (control characters from the snapshot are shown escaped, never sent raw).

use crate::query::chain::ChainView;
use crate::query::object::ObjectInfo;
use crate::query::summary::Summary;
use crate::query::types::TypeStat;
use std::borrow::Cow;
use std::io::{self, Write};

/// `s` with control characters (ANSI escapes, newlines, bidi overrides) escaped as `\u{1b}`.
pub fn term_safe(s: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c) || ('\u{2066}'..='\u{2069}').contains(&c);
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `8.0 MB`: decimal units, one decimal from kB up.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 999.95 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `1,000,000`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `list 1,000,000 items 0x7f…` — type, label and id of an object on one line.
pub fn object_line(o: &ObjectInfo) -> String {
    let mut s = o.type_name.clone();
    if let Some(l) = &o.label {
        s.push(' ');
        s.push_str(&pretty_label(l));
    }
    s.push_str(&format!(" ({})", o.id));
    term_safe(&s).into_owned()
}

/// Labels like `1000000 items` read better as `1,000,000 items`.
fn pretty_label(label: &str) -> Cow<'_, str> {
    if let Some(n) = label.strip_suffix(" items").and_then(|n| n.parse::<u64>().ok()) {
        return Cow::Owned(format!("{} items", thousands(n)));
    }
    Cow::Borrowed(label)
}

/// The `summary` answer as text.
pub fn write_summary(w: &mut dyn Write, s: &Summary) -> io::Result<()> {
    write_facts(w, s)?;
    writeln!(w)?;
    write_type_table(w, "Most common types", &s.top_by_count)?;
    writeln!(w)?;
    write_type_table(w, "Largest types (total shallow size)", &s.top_by_size)?;
    writeln!(w)?;
    writeln!(w, "Largest objects and what holds them")?;
    for large in &s.largest {
        let holder = match &large.held_by {
            Some(chain) => format!("← {}", chain.path),
            None if large.object.garbage => "← nothing: cyclic garbage".to_string(),
            None => "← nothing rooted".to_string(),
        };
        writeln!(
            w,
            "  {:>9}  {}  {}",
            human_size(large.object.size),
            object_line(&large.object),
            term_safe(&holder)
        )?;
    }
    Ok(())
}

fn write_facts(w: &mut dyn Write, s: &Summary) -> io::Result<()> {
    let f = &s.snapshot;
    writeln!(w, "Snapshot  {}", term_safe(&f.path))?;
    let python = f.python.as_deref().unwrap_or("?");
    let pid = f.pid.map_or("?".into(), |p| p.to_string());
    let trigger = f.trigger.as_deref().unwrap_or("?");
    let time = f.time.as_deref().unwrap_or("?");
    writeln!(w, "Process   python {}, pid {pid}, dumped at {trigger} ({time})", term_safe(python))?;
    if !f.argv.is_empty() {
        writeln!(w, "argv      {}", term_safe(&f.argv.join(" ")))?;
    }
    writeln!(
        w,
        "Objects   {}   references {}   roots: {} modules, {} thread frames",
        thousands(s.objects),
        thousands(s.references),
        thousands(s.modules),
        thousands(s.thread_frames)
    )?;
    writeln!(w, "Size      {} shallow in all", human_size(s.total_size))?;
    let collector = if f.collect { "flagged by the cycle collector" } else { "collector not run" };
    writeln!(
        w,
        "Garbage   {} objects {collector}; {} objects unreachable from any root",
        thousands(s.garbage),
        thousands(s.unreachable)
    )?;
    if !f.values {
        writeln!(w, "Values    left out (dumped with values=False)")?;
    }
    for warning in &f.warnings {
        writeln!(w, "Warning   {}", term_safe(warning))?;
    }
    Ok(())
}

/// A `count  size  type` table under a title.
pub fn write_type_table(w: &mut dyn Write, title: &str, stats: &[TypeStat]) -> io::Result<()> {
    writeln!(w, "{title}")?;
    let width = stats.iter().map(|s| s.type_name.chars().count()).max().unwrap_or(4).min(60);
    for s in stats {
        writeln!(
            w,
            "  {:<width$}  {:>12}  {:>10}",
            term_safe(&s.type_name),
            thousands(s.count),
            human_size(s.size)
        )?;
    }
    Ok(())
}

/// A chain, one line: `module app → .__dict__['cache'] → dict['k'] → Session`.
pub fn write_chain(w: &mut dyn Write, chain: &ChainView) -> io::Result<()> {
    writeln!(w, "{}", term_safe(&chain.text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_counts_read_like_people_write_them() {
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(8_000_056), "8.0 MB");
        assert_eq!(human_size(36_000_000), "36.0 MB");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(12), "12");
    }

    #[test]
    fn ansi_escapes_never_reach_the_terminal() {
        assert_eq!(term_safe("a\u{1b}[31mred"), "a\\u{1b}[31mred");
        assert_eq!(term_safe("plain ünïcode 🎉"), "plain ünïcode 🎉");
        assert_eq!(term_safe("x\u{202e}y"), "x\\u{202e}y");
    }
}
