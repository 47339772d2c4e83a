//! `report`: everything the HTML report shows, gathered once as plain serde data — the
//! summary, every type, the largest objects and their holders, the cycles (with a picture
//! from a caller-supplied SVG renderer), growth against a baseline, the orphans, and the
//! details of every object the page links to. [`crate::render::html`] turns it into a page.

use super::chain::ChainView;
use super::cycles::{cycles, CycleInfo, CyclesQuery};
use super::diff::{diff, Growth};
use super::object::ObjectInfo;
use super::orphans::{orphans, Orphans};
use super::retained::Retained;
use super::show::{show, Shown};
use super::summary::{summarize, Summary};
use super::types::{type_stats_retained, TypeSort};
use crate::select::Selector;
use crate::snapshot::{NodeIx, Snapshot};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

/// How much the report shows.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Largest objects listed.
    pub largest: usize,
    /// Rows of the type table (the rest are counted, not listed).
    pub types: usize,
    /// Cycles described (those retaining the most first).
    pub cycles: usize,
    /// Rows of the growth table.
    pub growth: usize,
    /// Types and examples per orphan group.
    pub orphan_examples: usize,
    /// Referents and referrers listed per object detail.
    pub neighbours: usize,
    /// Objects with a detail section. Each costs a search for its holder chain, so a huge
    /// heap is not searched hundreds of times; objects past the cap are shown, not linked.
    pub details: usize,
    /// Show retained-size columns in the type and largest-object tables. (The dominator tree
    /// is passed in either way: the largest objects and the cycles are ranked by it.)
    pub retained: bool,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            largest: 25,
            types: 1000,
            cycles: 20,
            growth: 200,
            orphan_examples: 10,
            neighbours: 20,
            details: 300,
            retained: true,
        }
    }
}

/// One row of the type table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeRow {
    /// Qualified type name (`app.models.Session`; builtins stay short).
    #[serde(rename = "type")]
    pub type_name: String,
    /// Instances.
    pub count: u64,
    /// Their total shallow size, bytes.
    pub size: u64,
    /// `size` as a percentage of the heap's total shallow size.
    pub share: f64,
    /// What the instances retain together, each object counted once (a lower bound: freeing
    /// them all at once can free more); `None` when retained sizes were not computed.
    pub retained: Option<u64>,
}

/// One cycle and its picture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CycleEntry {
    /// The cycle.
    pub cycle: CycleInfo,
    /// SVG markup from the picture renderer; `None` when it drew nothing. Untrusted until the
    /// HTML renderer has checked it.
    pub svg: Option<String>,
}

/// The cycles section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CyclesSection {
    /// Cycles found in all (`entries` holds those retaining the most).
    pub total_found: u64,
    /// The rules that left references out, one line each.
    pub rules: Vec<String>,
    /// How many references the rules left out.
    pub references_left_out: u64,
    /// The cycles retaining the most.
    pub entries: Vec<CycleEntry>,
}

/// One of the largest objects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LargeRow {
    /// The object.
    pub object: ObjectInfo,
    /// The shortest chain from a root; `None` when nothing rooted holds it.
    pub held_by: Option<ChainView>,
    /// Bytes freed if this object went away (its dominator subtree); `None` when retained
    /// sizes were not computed.
    pub retained: Option<u64>,
    /// Objects left out of the table because this row keeps them alive, by type.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inside: Vec<super::summary::InsideCount>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// `refgraph 0.1.0`.
    pub generator: String,
    /// Header facts and counts (its own `largest` list is left empty: see `largest`).
    pub summary: Summary,
    /// Number of distinct types.
    pub types_total: u64,
    /// Every type (up to the option's limit), by total size.
    pub types: Vec<TypeRow>,
    /// The largest objects, largest first.
    pub largest: Vec<LargeRow>,
    /// Reference cycles, those retaining the most first.
    pub cycles: CyclesSection,
    /// Growth since the baseline, when one was given.
    pub growth: Option<Growth>,
    /// Rows of growth left out by the option's limit.
    pub growth_more: u64,
    /// Unreferenced objects and objects held from outside the recorded heap.
    pub orphans: Orphans,
    /// One `show` answer per object the page links to, in order of first mention.
    pub details: Vec<Shown>,
    /// Objects by the line that allocated them, most first ([`SITE_ROWS`] at most); empty
    /// when the dump recorded no sites.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sites: Vec<super::sites::SiteStat>,
}

/// Rows of the allocation-site table.
pub const SITE_ROWS: usize = 200;

/// Renders one cycle as SVG markup (an `<svg>` element), or `None` when it cannot.
///
/// The renderer must XML-escape every piece of snapshot text it draws (labels, type names,
/// edge labels): the page inlines the markup. [`crate::render::html`] checks it again and
/// shows "picture withheld" for anything beyond plain drawing elements (scripts, `on…=`
/// handlers, links leaving the page). Links to `#obj-0x…` reach the page's object details.
pub type CyclePicture<'a> = &'a (dyn Fn(&CycleInfo) -> Option<String> + Sync);

/// Gather the report of `snap` (with its dominator tree `tree`), compared with `baseline`
/// when given; `picture` draws each cycle (pass `&|_| None` for no pictures).
pub fn build_report(
    snap: &Snapshot,
    tree: &Retained,
    baseline: Option<&Snapshot>,
    opts: &ReportOptions,
    picture: CyclePicture<'_>,
) -> Report {
    let retained = opts.retained.then_some(tree);
    let mut summary = summarize(snap, opts.largest, tree);
    let largest = std::mem::take(&mut summary.largest);
    let largest = largest
        .into_iter()
        .map(|l| large_row(snap, retained, l))
        .collect();
    let (types_total, types) = type_rows(snap, retained, opts.types);
    let (growth, growth_more) = growth_since(baseline, snap, opts.growth);
    let mut report = Report {
        generator: format!("refgraph {}", env!("CARGO_PKG_VERSION")),
        summary,
        types_total,
        types,
        largest,
        cycles: cycles_section(snap, tree, opts.cycles, picture),
        growth,
        growth_more,
        orphans: orphans(snap, true, opts.orphan_examples),
        details: Vec::new(),
        sites: site_rows(snap),
    };
    report.details = details(snap, tree, &linked_ids(&report), opts);
    shorten_chains(&mut report);
    report
}

fn site_rows(snap: &Snapshot) -> Vec<super::sites::SiteStat> {
    if !snap.has_sites() {
        return Vec::new();
    }
    let mut rows = super::sites::site_stats(snap, snap.nodes());
    rows.truncate(SITE_ROWS);
    rows
}

fn large_row(
    snap: &Snapshot,
    retained: Option<&Retained>,
    large: super::summary::LargeObject,
) -> LargeRow {
    let node = node_of(snap, &large.object.id);
    LargeRow {
        retained: retained.zip(node).map(|(r, n)| r.retained(n)),
        object: large.object,
        held_by: large.held_by,
        inside: large.inside,
    }
}

/// All types by total size, cut to `limit` rows; also how many there are.
fn type_rows(snap: &Snapshot, retained: Option<&Retained>, limit: usize) -> (u64, Vec<TypeRow>) {
    let stats = type_stats_retained(snap, snap.type_totals(), true, TypeSort::Size, None);
    let by_name = retained.map(|r| retained_by_name(snap, r));
    let total_size = snap.total_size().max(1) as f64;
    let rows = stats
        .iter()
        .take(limit)
        .map(|t| TypeRow {
            type_name: t.type_name.clone(),
            count: t.count,
            size: t.size,
            share: t.size as f64 * 100.0 / total_size,
            retained: by_name
                .as_ref()
                .map(|m| m.get(&t.type_name).copied().unwrap_or(0)),
        })
        .collect();
    (stats.len() as u64, rows)
}

/// Retained size per qualified type name: types of the same name (a class defined twice)
/// add up, as their rows in the type table do.
fn retained_by_name(snap: &Snapshot, r: &Retained) -> FxHashMap<String, u64> {
    let mut by_name: FxHashMap<String, u64> = FxHashMap::default();
    for (t, bytes) in r.by_type(snap).into_iter().enumerate() {
        let sum = by_name.entry(snap.types()[t].long()).or_default();
        *sum = sum.saturating_add(bytes);
    }
    by_name
}

fn cycles_section(
    snap: &Snapshot,
    retained: &Retained,
    limit: usize,
    picture: CyclePicture<'_>,
) -> CyclesSection {
    let found = cycles(
        snap,
        &CyclesQuery {
            limit,
            ..Default::default()
        },
        Some(retained),
    );
    let entries = found
        .cycles
        .into_iter()
        .map(|cycle| CycleEntry {
            svg: picture(&cycle),
            cycle,
        })
        .collect();
    CyclesSection {
        total_found: found.total_found,
        rules: found.rules,
        references_left_out: found.references_left_out,
        entries,
    }
}

/// Growth from `baseline` to `snap`, cut to `limit` rows, and how many rows were cut.
fn growth_since(
    baseline: Option<&Snapshot>,
    snap: &Snapshot,
    limit: usize,
) -> (Option<Growth>, u64) {
    let Some(old) = baseline else {
        return (None, 0);
    };
    let mut g = diff(old, snap, true, None, 1);
    let more = g.types.len().saturating_sub(limit) as u64;
    g.types.truncate(limit);
    (Some(g), more)
}

/// The ids the page mentions, in order of first mention: largest objects, cycle members,
/// orphan examples.
fn linked_ids(r: &Report) -> Vec<String> {
    let largest = r.largest.iter().map(|l| &l.object);
    let members = r.cycles.entries.iter().flat_map(|e| &e.cycle.examples);
    let unreferenced = &r.orphans.unreferenced.examples;
    let outside = &r.orphans.held_from_outside.examples;
    let mut seen = FxHashSet::default();
    largest
        .chain(members)
        .chain(unreferenced)
        .chain(outside)
        .map(|o| o.id.clone())
        .filter(|id| seen.insert(id.clone()))
        .collect()
}

/// `show` for the first `opts.details` of `ids`, in parallel: each searches for a chain.
fn details(snap: &Snapshot, tree: &Retained, ids: &[String], opts: &ReportOptions) -> Vec<Shown> {
    let nodes: Vec<NodeIx> = ids
        .iter()
        .filter_map(|id| node_of(snap, id))
        .take(opts.details)
        .collect();
    nodes
        .par_iter()
        .map(|&n| show(snap, n, opts.neighbours, tree))
        .collect()
}

fn node_of(snap: &Snapshot, id: &str) -> Option<NodeIx> {
    match id.parse::<Selector>().ok()? {
        Selector::Id(id) => snap.node_by_id(id),
        _ => None,
    }
}

/// The page shows a chain's text and path only; its steps repeat every object on the way and
/// a chain down a linked list has a million of them.
fn shorten_chains(r: &mut Report) {
    let chains = r
        .largest
        .iter_mut()
        .map(|l| &mut l.held_by)
        .chain(r.cycles.entries.iter_mut().map(|e| &mut e.cycle.held_by))
        .chain(r.details.iter_mut().map(|d| &mut d.held_by));
    for chain in chains.flatten() {
        drop_steps(chain);
    }
}

fn drop_steps(chain: &mut ChainView) {
    chain.steps = Vec::new();
}
