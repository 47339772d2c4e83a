//! Text output for people: aligned tables, human sizes, and heap text made safe for a
//! terminal (control characters from the snapshot are shown escaped, never sent raw).

use super::paint;
use crate::query::chain::{ChainAnswer, ChainView, Unrooted};
use crate::query::cycles::{CycleInfo, Cycles};
use crate::query::diff::Growth;
use crate::query::find::Found;
use crate::query::object::ObjectInfo;
use crate::query::orphans::{Orphans, SuspectGroup};
use crate::query::retained::{Accumulation, TopAnswer};
use crate::query::show::{Neighbour, Shown};
use crate::query::steady::SteadyLeak;
use crate::query::summary::{InsideCount, Summary};
use crate::query::types::TypeStat;
use crate::snapshot::format::Memory;
use std::borrow::Cow;
use std::io::{self, Write};

/// `s` with control characters (ANSI escapes, newlines), bidi overrides and line separators
/// escaped as `\u{1b}` (see [`super::style::acts_on_text`]).
pub fn term_safe(s: &str) -> Cow<'_, str> {
    let unsafe_char = super::style::acts_on_text;
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

/// `1 object`, `2 objects`.
pub fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{} {noun}s", thousands(n))
    }
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
    let mut s = paint::type_name(&term_safe(&o.type_name));
    if let Some(l) = &o.label {
        s.push(' ');
        s.push_str(&term_safe(&pretty_label(l)));
    }
    s.push_str(&format!(" ({})", paint::id(&term_safe(&o.id))));
    s
}

/// A chain's text, made safe, its root (the part before the first arrow) coloured.
pub fn chain_text(text: &str) -> String {
    let text = term_safe(text);
    match text.split_once(" → ") {
        Some((root, rest)) => format!("{} → {rest}", paint::root(root)),
        None => paint::root(&text),
    }
}

/// `{:>width$}` of a size, coloured.
fn size_column(bytes: u64, width: usize) -> String {
    paint::size(&format!("{:>width$}", human_size(bytes)))
}

/// Longest label shown on a text line, in characters.
const LABEL_CHARS: usize = 48;

/// Labels like `1000000 items` read better as `1,000,000 items`; long ones are cut with `…`.
fn pretty_label(label: &str) -> Cow<'_, str> {
    if let Some(n) = label
        .strip_suffix(" items")
        .and_then(|n| n.parse::<u64>().ok())
    {
        return Cow::Owned(format!("{} items", thousands(n)));
    }
    if label.chars().count() > LABEL_CHARS {
        let cut: String = label.chars().take(LABEL_CHARS - 1).collect();
        return Cow::Owned(format!("{cut}…"));
    }
    Cow::Borrowed(label)
}

/// `… 40 more types not shown (HOW)` under a list cut short; nothing when `more` is 0.
pub fn write_left_out(w: &mut dyn Write, more: u64, noun: &str, how: &str) -> io::Result<()> {
    if more > 0 {
        writeln!(w, "… {} not shown ({how})", plural(more, noun))?;
    }
    Ok(())
}

/// The `summary` answer as text.
pub fn write_summary(w: &mut dyn Write, s: &Summary) -> io::Result<()> {
    write_facts(w, s)?;
    writeln!(w)?;
    write_type_table(w, "Most common types", &s.top_by_count)?;
    writeln!(w)?;
    write_type_table(w, "Largest types (total shallow size)", &s.top_by_size)?;
    writeln!(w)?;
    writeln!(
        w,
        "Objects retaining the most (retained / own size) and what holds them"
    )?;
    for large in &s.largest {
        let holder = match &large.held_by {
            Some(chain) => paint::root(&term_safe(&chain.path)),
            None => unrooted_holder(&large.object),
        };
        writeln!(
            w,
            "  {} / {}  {}  ← {}{}",
            size_column(large.retained, 9),
            size_column(large.object.size, 9),
            object_line(&large.object),
            holder,
            inside_note(&large.inside)
        )?;
    }
    Ok(())
}

/// What holds an object no rooted chain reaches, the same words in `summary` and `top`.
pub fn unrooted_holder(o: &ObjectInfo) -> String {
    match &o.root {
        Some(root) => format!("itself: a root ({})", term_safe(root)),
        None if o.garbage => "nothing: cyclic garbage (the cycle collector flagged it)".into(),
        None => "nothing rooted: garbage the collector did not flag, or held from C".into(),
    }
}

/// ` (and 20 ValueError, 1 list inside it)`: the rows left out because this one keeps them
/// alive; empty when none were.
pub fn inside_note(inside: &[InsideCount]) -> String {
    if inside.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = inside
        .iter()
        .map(|t| format!("{} {}", thousands(t.count), term_safe(&t.type_name)))
        .collect();
    format!("  (and {} inside it)", parts.join(", "))
}

fn write_facts(w: &mut dyn Write, s: &Summary) -> io::Result<()> {
    let f = &s.snapshot;
    if let Some(memory) = &f.memory {
        writeln!(w, "Memory    {}", memory_answer(s.total_size, memory))?;
    }
    writeln!(w, "Snapshot  {}", term_safe(&f.path))?;
    let python = f.python.as_deref().unwrap_or("?");
    let pid = f.pid.map_or("?".into(), |p| p.to_string());
    let trigger = f.trigger.as_deref().unwrap_or("?");
    let time = f.time.as_deref().unwrap_or("?");
    writeln!(
        w,
        "Process   python {}, pid {pid}, dumped at {} ({})",
        term_safe(python),
        term_safe(trigger),
        term_safe(time)
    )?;
    if !f.argv.is_empty() {
        writeln!(w, "argv      {}", term_safe(&f.argv.join(" ")))?;
    }
    writeln!(
        w,
        "Objects   {}   references {}   roots: {}, {}",
        thousands(s.objects),
        thousands(s.references),
        plural(s.modules, "module"),
        plural(s.thread_frames, "thread frame")
    )?;
    writeln!(w, "Size      {} shallow in all", human_size(s.total_size))?;
    let collector = if f.collect {
        "flagged by the cycle collector"
    } else {
        "collector not run"
    };
    writeln!(
        w,
        "Garbage   {} {collector}; {} unreachable from any root",
        plural(s.garbage, "object"),
        plural(s.unreachable, "object")
    )?;
    if !f.values {
        writeln!(w, "Values    left out (dumped with values=False)")?;
    }
    for warning in &f.warnings {
        writeln!(w, "{}   {}", paint::warning("Warning"), term_safe(warning))?;
    }
    Ok(())
}

/// A `count  size  type` table under a title.
pub fn write_type_table(w: &mut dyn Write, title: &str, stats: &[TypeStat]) -> io::Result<()> {
    writeln!(w, "{title}")?;
    let width = stats
        .iter()
        .map(|s| s.type_name.chars().count())
        .max()
        .unwrap_or(4)
        .min(60);
    for s in stats {
        writeln!(w, "  {}", type_row(s, width))?;
    }
    Ok(())
}

/// `name  count  size`, the name padded to `width`: one row of the type tables.
fn type_row(s: &TypeStat, width: usize) -> String {
    let name = term_safe(&s.type_name);
    let pad = width.saturating_sub(name.chars().count());
    format!(
        "{}{:pad$}  {:>12}  {}",
        paint::type_name(&name),
        "",
        thousands(s.count),
        size_column(s.size, 10)
    )
}

/// A chain, one line: `module app → .__dict__['cache'] → dict['k'] → Session`.
pub fn write_chain(w: &mut dyn Write, chain: &ChainView) -> io::Result<()> {
    writeln!(w, "{}", term_safe(&chain.text))
}

/// `chain` for one object: its chains, or why it has none.
pub fn write_chains(w: &mut dyn Write, answer: &ChainAnswer) -> io::Result<()> {
    writeln!(w, "{}", object_line(&answer.object))?;
    super::sites::write_allocated(w, answer.allocated_at.as_slice(), false)?;
    for line in chain_lines(&answer.chains) {
        writeln!(w, "  {line}")?;
    }
    if answer.more_holders > 0 {
        writeln!(
            w,
            "  … {} through other holders not shown (--limit)",
            plural(answer.more_holders, "more chain")
        )?;
    }
    if let Some(why) = &answer.unrooted {
        write_unrooted(w, why)?;
    }
    if answer.beyond_depth {
        writeln!(
            w,
            "  a root holds it, through a chain longer than --max-depth"
        )?;
    } else if answer.chains.is_empty() && answer.forward {
        writeln!(
            w,
            "  no object of that type is reachable from it (classes and modules are not passed \
             through; --all-edges passes them)"
        )?;
    } else if answer.chains.is_empty() && answer.unrooted.is_none() {
        writeln!(
            w,
            "  no chain found (the ignored objects were its only way to a root)"
        )?;
    }
    Ok(())
}

/// The chains' texts; chains that read the same get what tells them apart: the holder
/// that differs (type, label and id).
fn chain_lines(chains: &[ChainView]) -> Vec<String> {
    chains
        .iter()
        .map(|c| {
            let text = chain_text(&c.text);
            let twins: Vec<&ChainView> = chains.iter().filter(|o| o.text == c.text).collect();
            if twins.len() < 2 {
                return text;
            }
            // The first step at which the twins are different objects.
            let differs = (0..c.steps.len()).find(|&i| {
                twins
                    .iter()
                    .any(|o| o.steps.get(i).map(|s| &s.object.id) != Some(&c.steps[i].object.id))
            });
            match differs.and_then(|i| c.steps.get(i)) {
                Some(step) => format!("{text}   (via {})", object_line(&step.object)),
                None => text,
            }
        })
        .collect()
}

fn write_unrooted(w: &mut dyn Write, why: &Unrooted) -> io::Result<()> {
    let flagged = |f: bool| {
        if f {
            " The cycle collector flagged it as garbage."
        } else {
            ""
        }
    };
    match why {
        Unrooted::Cycle { collector_flagged, members } => {
            writeln!(w, "  nothing rooted holds it: it is part of a reference cycle of {} that no root reaches (cyclic garbage).{}", plural(members.len() as u64, "object"), flagged(*collector_flagged))?;
            write_members(w, members)
        }
        Unrooted::HeldByUnrooted { cycle_members, collector_flagged } => {
            writeln!(w, "  nothing rooted holds it: its holders are themselves unreachable from any root.{}", flagged(*collector_flagged))?;
            if !cycle_members.is_empty() {
                writeln!(w, "  it hangs off this unreachable cycle:")?;
            }
            write_members(w, cycle_members)
        }
        Unrooted::HeldFromOutside { refcount, recorded_referrers } => writeln!(
            w,
            "  nothing in the recorded heap holds it, yet its refcount is {refcount} (recorded references: {recorded_referrers}): it is held from outside the heap — C extension code or interpreter internals."
        ),
        Unrooted::Orphan => writeln!(w, "  nothing refers to it and its refcount shows no other holder: an orphan."),
    }
}

fn write_members(w: &mut dyn Write, members: &[ObjectInfo]) -> io::Result<()> {
    for m in members {
        writeln!(w, "    {}", object_line(m))?;
    }
    Ok(())
}

/// `types`: objgraph's `show_most_common_types`, with sizes (and retained sizes).
pub fn write_types(w: &mut dyn Write, stats: &[TypeStat]) -> io::Result<()> {
    let width = stats
        .iter()
        .map(|s| s.type_name.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 60);
    let retained = stats.iter().any(|s| s.retained.is_some());
    write!(w, "{:<width$}  {:>12}  {:>10}", "type", "count", "size")?;
    writeln!(
        w,
        "{}",
        if retained {
            format!("  {:>10}", "retained")
        } else {
            String::new()
        }
    )?;
    for s in stats {
        write!(w, "{}", type_row(s, width))?;
        let column = s
            .retained
            .map(|r| format!("  {}", size_column(r, 10)))
            .unwrap_or_default();
        writeln!(w, "{column}")?;
    }
    Ok(())
}

/// `find`: one object per line.
pub fn write_found(w: &mut dyn Write, found: &Found) -> io::Result<()> {
    writeln!(
        w,
        "{} of {}, {} in all{}",
        plural(found.total, "instance"),
        term_safe(&found.type_name),
        human_size(found.total_size),
        if (found.objects.len() as u64) < found.total {
            match found.objects.len() {
                1 => "; the first:".to_string(),
                n => format!("; the first {}:", thousands(n as u64)),
            }
        } else {
            ":".into()
        }
    )?;
    for o in &found.objects {
        writeln!(
            w,
            "  {}  rc {:>4}  {}",
            size_column(o.size, 10),
            o.refcount,
            object_line(o)
        )?;
    }
    Ok(())
}

/// `show`: one object in detail.
pub fn write_shown(w: &mut dyn Write, s: &Shown) -> io::Result<()> {
    let o = &s.object;
    writeln!(w, "{}", object_line(o))?;
    writeln!(w, "  type      {}", term_safe(&o.type_long))?;
    writeln!(
        w,
        "  size      {} ({} bytes); retains {}",
        human_size(o.size),
        thousands(o.size),
        human_size(s.retained)
    )?;
    writeln!(w, "  refcount  {}", o.refcount)?;
    let mut flags = Vec::new();
    if let Some(r) = &o.root {
        flags.push(format!("root ({r})"));
    }
    if o.garbage {
        flags.push("garbage".into());
    }
    if !s.tracked {
        flags.push("not gc-tracked".into());
    }
    for m in &o.marks {
        flags.push(format!("mark:{m}"));
    }
    if !flags.is_empty() {
        writeln!(w, "  flags     {}", term_safe(&flags.join(", ")))?;
    }
    if let Some(chain) = &s.held_by {
        writeln!(w, "  held by   {}", chain_text(&chain.text))?;
    }
    super::sites::write_allocated(w, &s.allocated, s.stack)?;
    write_neighbours(w, "references", s.referents_total, &s.referents, "→")?;
    write_neighbours(w, "referrers", s.referrers_total, &s.referrers, "←")
}

fn write_neighbours(
    w: &mut dyn Write,
    title: &str,
    total: u64,
    list: &[Neighbour],
    arrow: &str,
) -> io::Result<()> {
    writeln!(w, "  {title} ({}):", thousands(total))?;
    for n in list {
        let edge = n.edge.as_deref().unwrap_or("?");
        writeln!(
            w,
            "    {arrow} {:<20} {}",
            term_safe(edge),
            object_line(&n.object)
        )?;
    }
    if (list.len() as u64) < total {
        writeln!(w, "    … {} more", thousands(total - list.len() as u64))?;
    }
    Ok(())
}

/// `diff`: objgraph's `show_growth`, with sizes and the count of objects new in NEW.
pub fn write_growth(w: &mut dyn Write, g: &Growth) -> io::Result<()> {
    writeln!(
        w,
        "{} → {}: {} → {} objects",
        term_safe(&g.old),
        term_safe(&g.new),
        thousands(g.old_objects),
        thousands(g.new_objects)
    )?;
    let width = g
        .types
        .iter()
        .map(|t| t.type_name.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 60);
    // Matching objects by id needs one process: the column is left out otherwise.
    let identity = g.different_processes.is_none();
    let new_objs = |v: String| {
        if identity {
            format!("  {v:>9}")
        } else {
            String::new()
        }
    };
    writeln!(
        w,
        "{:<width$}  {:>10}  {:>10}  {:>9}  {:>11}{}",
        "type",
        "old",
        "new",
        "delta",
        "size delta",
        new_objs("new objs".into())
    )?;
    for t in &g.types {
        writeln!(
            w,
            "{:<width$}  {:>10}  {:>10}  {:>9}  {:>11}{}",
            term_safe(&t.type_name),
            thousands(t.old_count),
            thousands(t.new_count),
            signed_thousands(t.delta),
            signed_size(t.size_delta),
            new_objs(thousands(t.new_objects))
        )?;
    }
    if !g.only_in_new.is_empty() {
        writeln!(w, "\nOnly in NEW:")?;
        for o in &g.only_in_new {
            writeln!(w, "  {:>10}  {}", human_size(o.size), object_line(o))?;
        }
    }
    Ok(())
}

/// "Is it Python objects or the allocator?" in one line: `Python objects 40.6 MB of 120.0 MB
/// RSS (34%); peak RSS 130.0 MB; C allocator 70.0 MB in use; 1,234,567 allocated blocks`.
pub fn memory_answer(python_bytes: u64, m: &Memory) -> String {
    let mut parts = Vec::new();
    match m.rss {
        Some(rss) if rss > 0 => parts.push(format!(
            "Python objects {} of {} RSS ({:.0}%)",
            human_size(python_bytes),
            human_size(rss),
            python_bytes as f64 * 100.0 / rss as f64
        )),
        _ => parts.push(format!("Python objects {}", human_size(python_bytes))),
    }
    if let Some(peak) = m.peak_rss {
        parts.push(format!("peak RSS {}", human_size(peak)));
    }
    if let Some(c) = &m.c_allocator {
        parts.push(format!("C allocator {} in use", human_size(c.in_use)));
    }
    if let Some(blocks) = m.allocated_blocks {
        parts.push(format!("{} allocated blocks", thousands(blocks)));
    }
    parts.join("; ")
}

/// `diff A B C`: the steady leak, then the types that grew at every step.
pub fn write_steady_leak(w: &mut dyn Write, l: &SteadyLeak) -> io::Result<()> {
    let [a, b, c] = &l.snapshots;
    writeln!(
        w,
        "{} → {} → {}: {} → {} → {} objects",
        term_safe(a),
        term_safe(b),
        term_safe(c),
        thousands(l.objects[0]),
        thousands(l.objects[1]),
        thousands(l.objects[2])
    )?;
    if l.types.is_empty() {
        writeln!(
            w,
            "No steady leak: nothing new in {} is still alive in {}",
            term_safe(b),
            term_safe(c)
        )?;
    } else {
        writeln!(
            w,
            "Steady leak: {} new in {} and still alive in {} ({}):",
            plural(l.count, "object"),
            term_safe(b),
            term_safe(c),
            human_size(l.size)
        )?;
        let width = name_width(l.types.iter().map(|t| t.type_name.as_str()));
        writeln!(
            w,
            "{:<width$}  {:>9}  {:>10}  held by",
            "type", "count", "size"
        )?;
        for t in &l.types {
            let held = t
                .held_by
                .as_deref()
                .unwrap_or("nothing rooted (garbage, or held from C)");
            writeln!(
                w,
                "{:<width$}  {:>9}  {:>10}  {}",
                term_safe(&t.type_name),
                thousands(t.count),
                human_size(t.size),
                term_safe(held)
            )?;
        }
        if l.more_types > 0 {
            write_left_out(w, l.more_types, "more type", "--limit 0 shows them all")?;
        }
    }
    if !l.grew_every_step.is_empty() {
        writeln!(w, "\nTypes that grew at every step:")?;
        let width = name_width(l.grew_every_step.iter().map(|g| g.type_name.as_str()));
        writeln!(
            w,
            "{:<width$}  {:>10}  {:>10}  {:>10}",
            "type", "A", "B", "C"
        )?;
        for g in &l.grew_every_step {
            writeln!(
                w,
                "{:<width$}  {:>10}  {:>10}  {:>10}",
                term_safe(&g.type_name),
                thousands(g.counts[0]),
                thousands(g.counts[1]),
                thousands(g.counts[2])
            )?;
        }
    }
    Ok(())
}

fn name_width<'a>(names: impl Iterator<Item = &'a str>) -> usize {
    names
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 60)
}

/// `+1,000`, `-12`, `+0`.
pub fn signed_thousands(delta: i64) -> String {
    let sign = if delta < 0 { "-" } else { "+" };
    format!("{sign}{}", thousands(delta.unsigned_abs()))
}

fn signed_size(delta: i64) -> String {
    let sign = if delta < 0 { "-" } else { "+" };
    format!("{sign}{}", human_size(delta.unsigned_abs()))
}

/// `orphans`: both groups of suspects.
pub fn write_orphans(w: &mut dyn Write, o: &Orphans) -> io::Result<()> {
    let scope = if o.tracked_only {
        "gc-tracked objects"
    } else {
        "all objects"
    };
    writeln!(w, "Among {scope} (type objects left out):")?;
    write_group(
        w,
        "not referenced by any recorded object, and not roots",
        &o.unreferenced,
    )?;
    writeln!(w)?;
    write_group(
        w,
        "refcount higher than the references recorded: held from C code or interpreter internals",
        &o.held_from_outside,
    )?;
    if o.interpreter_internal.count > 0 {
        writeln!(w)?;
        write_group(
            w,
            "interpreter internals (static types' dicts, subclass registries): held by the \
             interpreter itself, not leaks",
            &o.interpreter_internal,
        )?;
    }
    Ok(())
}

fn write_group(w: &mut dyn Write, title: &str, g: &SuspectGroup) -> io::Result<()> {
    writeln!(w, "{} {title}", thousands(g.count))?;
    for t in &g.by_type {
        writeln!(
            w,
            "  {:>10}  {}",
            thousands(t.count),
            term_safe(&t.type_name)
        )?;
    }
    if !g.examples.is_empty() {
        writeln!(w, "  largest:")?;
        for e in &g.examples {
            writeln!(
                w,
                "    {:>10}  rc {:>4}  {}",
                human_size(e.size),
                e.refcount,
                object_line(e)
            )?;
        }
    }
    Ok(())
}

/// `cycles`: each cycle with its size, types, members and what holds it.
pub fn write_cycles(w: &mut dyn Write, c: &Cycles) -> io::Result<()> {
    let rules = if c.all_edges {
        "all references kept".to_string()
    } else {
        format!(
            "{} to classes/modules/namespaces left out; --all-edges keeps them",
            plural(c.references_left_out, "reference")
        )
    };
    writeln!(
        w,
        "{} found, {} shown ({rules})",
        plural(c.total_found, "cycle"),
        c.cycles.len()
    )?;
    for (i, cycle) in c.cycles.iter().enumerate() {
        writeln!(w)?;
        write_cycle(w, i + 1, cycle)?;
    }
    Ok(())
}

fn write_cycle(w: &mut dyn Write, number: usize, c: &CycleInfo) -> io::Result<()> {
    let status = match (c.garbage, c.collector_flagged) {
        (true, true) => "garbage: no root reaches it, the cycle collector flagged it",
        (true, false) => "garbage: no root reaches it",
        (false, _) => "alive",
    };
    let retains = if c.retained > c.size {
        format!(" (retains {})", human_size(c.retained))
    } else {
        String::new()
    };
    writeln!(
        w,
        "#{number}  {}, {}{retains}, {status}",
        plural(c.members, "object"),
        human_size(c.size)
    )?;
    let types: Vec<String> = c
        .types
        .iter()
        .map(|t| format!("{} ×{}", t.type_name, thousands(t.count)))
        .collect();
    writeln!(w, "    types    {}", term_safe(&types.join(", ")))?;
    if let Some(chain) = &c.held_by {
        writeln!(w, "    held by  {}", chain_text(&chain.text))?;
    }
    for e in &c.edges {
        // The type and label (a function's or class's name, as the picture shows it).
        let name = |id: &str| {
            c.examples
                .iter()
                .find(|o| o.id == id)
                .map_or_else(|| term_safe(id).into_owned(), object_line)
        };
        writeln!(
            w,
            "    {} ─{}→ {}",
            name(&e.from),
            term_safe(e.label.as_deref().unwrap_or("?")),
            name(&e.to)
        )?;
    }
    if c.edges_left_out > 0 {
        writeln!(
            w,
            "    … and {} more between these members, not listed",
            plural(c.edges_left_out, "pair")
        )?;
    }
    if (c.examples.len() as u64) < c.members {
        writeln!(
            w,
            "    ({} of {} members listed)",
            c.examples.len(),
            thousands(c.members)
        )?;
    }
    if c.edges.is_empty() {
        for o in &c.examples {
            writeln!(w, "    {}", object_line(o))?;
        }
    }
    Ok(())
}

/// `top`: leak suspects with their accumulation points, then the dominator tree's top level.
pub fn write_top(w: &mut dyn Write, t: &TopAnswer) -> io::Result<()> {
    writeln!(
        w,
        "{}, {} in all ({} unreachable from any root)",
        plural(t.objects, "object"),
        human_size(t.total_size),
        human_size(t.unreachable_size)
    )?;
    if t.suspects.is_empty() {
        writeln!(
            w,
            "No leak suspect: no object retains {} or more.",
            human_size(t.suspect_threshold)
        )?;
    }
    for (i, s) in t.suspects.iter().enumerate() {
        writeln!(
            w,
            "\nSuspect #{}: {} retains {} ({:.1}% of the heap)",
            i + 1,
            object_line(&s.object),
            human_size(s.retained),
            s.percent
        )?;
        match &s.chain {
            Some(c) => writeln!(w, "  held by   {}", chain_text(&c.text))?,
            None => writeln!(w, "  held by   {}", unrooted_holder(&s.object))?,
        }
        write_accumulation(w, &s.accumulation)?;
    }
    writeln!(w, "\nRetaining the most (top of the dominator tree)")?;
    for e in &t.top {
        let note = if e.unreachable { "  (unreachable)" } else { "" };
        writeln!(
            w,
            "  {}  {:>5.1}%  {}{note}",
            size_column(e.retained, 9),
            e.percent,
            object_line(&e.object)
        )?;
    }
    Ok(())
}

fn write_accumulation(w: &mut dyn Write, a: &Accumulation) -> io::Result<()> {
    let place = match a.depth {
        0 => "in itself".to_string(),
        1 => "1 level down".to_string(),
        d => format!("{d} levels down"),
    };
    writeln!(
        w,
        "  bytes accumulate {place}: {}, which alone keeps {} alive (its children in the dominator tree) retaining {}",
        object_line(&a.object),
        plural(a.children, "object"),
        human_size(a.children_retained)
    )?;
    if let Some(run) = a.linked_run {
        writeln!(
            w,
            "  (a linked structure of {} objects of one type)",
            thousands(run)
        )?;
    }
    for t in &a.children_by_type {
        writeln!(
            w,
            "    {:>10} × {:<24} {}",
            thousands(t.count),
            term_safe(&t.type_name),
            human_size(t.retained)
        )?;
    }
    if let Some(c) = &a.chain {
        writeln!(w, "  reached by {}", chain_text(&c.text))?;
    }
    super::sites::write_site_share(w, a.allocated_at.as_ref())
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
        assert_eq!(term_safe("a\u{2028}b\u{2029}"), "a\\u{2028}b\\u{2029}");
    }
}
