//! Allocation sites as a grouping: objects counted by the line that allocated them (the most
//! recent frame of their tracemalloc traceback), for `types --by site` and `find --by site`.

use crate::snapshot::{Frame, NodeIx, Snapshot};
use serde::{Deserialize, Serialize};

/// How `types` and `find` group what they count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum GroupBy {
    /// By type (`types`), or one row per object (`find`).
    #[default]
    Type,
    /// By the line that allocated the objects (needs a snapshot with sites).
    Site,
}

/// Why sites cannot be grouped by: the snapshot has none (the program ran without tracing).
#[derive(Debug, thiserror::Error)]
#[error(
    "{path}: this snapshot has no allocation sites (tracemalloc was not tracing); capture \
     with `refgraph capture --trace-alloc -- python3 app.py` (or run the program with \
     PYTHONTRACEMALLOC=10) to record them"
)]
pub struct NoSites {
    /// The snapshot.
    pub path: String,
}

/// `Ok` when `snap` recorded sites, else the error naming the file and how to get them.
pub fn require_sites(snap: &Snapshot) -> Result<(), NoSites> {
    if snap.has_sites() {
        return Ok(());
    }
    Err(NoSites {
        path: snap.path().display().to_string(),
    })
}

/// Count and total shallow size of the objects one line allocated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteStat {
    /// The line, or `None` for the objects without a site (allocated before tracing started,
    /// or in memory a free list reused).
    pub site: Option<Frame>,
    /// Number of objects.
    pub count: u64,
    /// Sum of their shallow sizes, bytes.
    pub size: u64,
}

/// Count and size per allocating line over `nodes`, most objects first (then most bytes,
/// then by file and line); objects without a site last.
pub fn site_stats(snap: &Snapshot, nodes: impl Iterator<Item = NodeIx>) -> Vec<SiteStat> {
    let mut by_line: rustc_hash::FxHashMap<Option<&Frame>, (u64, u64)> = Default::default();
    for n in nodes {
        let e = by_line.entry(snap.allocated_at(n)).or_default();
        e.0 += 1;
        e.1 = e.1.saturating_add(snap.size(n));
    }
    let mut stats: Vec<SiteStat> = by_line
        .into_iter()
        .map(|(site, (count, size))| SiteStat {
            site: site.cloned(),
            count,
            size,
        })
        .collect();
    stats.sort_by(|a, b| {
        (
            a.site.is_none(),
            std::cmp::Reverse((a.count, a.size)),
            &a.site,
        )
            .cmp(&(
                b.site.is_none(),
                std::cmp::Reverse((b.count, b.size)),
                &b.site,
            ))
    });
    stats
}

/// The line that allocated most of some objects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteShare {
    /// The line.
    pub site: Frame,
    /// How many of the objects it allocated.
    pub count: u64,
    /// `count` as a percentage of all the objects (those without a site included), rounded
    /// to 0.1.
    pub percent: f64,
}

/// The most common allocating line among `nodes` and its share, if any of them has a site.
pub fn main_site(snap: &Snapshot, nodes: impl Iterator<Item = NodeIx>) -> Option<SiteShare> {
    if !snap.has_sites() {
        return None;
    }
    let stats = site_stats(snap, nodes);
    let total: u64 = stats.iter().map(|s| s.count).sum();
    let first = stats.into_iter().next()?;
    let percent = (first.count as f64 * 1000.0 / total.max(1) as f64).round() / 10.0;
    Some(SiteShare {
        site: first.site?,
        count: first.count,
        percent,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::sites::tests::{snapshot, SITES};

    #[test]
    fn objects_group_by_their_most_recent_frame_and_unknown_sites_come_last() {
        let snap = snapshot(SITES, "[0,1,2,null]").expect("valid");
        let stats = site_stats(&snap, snap.nodes());
        let rows: Vec<(Option<String>, u64, u64)> = stats
            .iter()
            .map(|s| (s.site.as_ref().map(|f| f.to_string()), s.count, s.size))
            .collect();
        assert_eq!(
            rows,
            vec![
                (Some("/app/a.py:3".into()), 2, 30),
                (Some("/app/b.py:7".into()), 1, 30),
                (None, 1, 40)
            ]
        );
        let main = main_site(&snap, snap.nodes()).expect("a site");
        assert_eq!(
            (main.site.to_string(), main.count, main.percent),
            ("/app/a.py:3".into(), 2, 50.0)
        );
        assert_eq!(snap.allocation(1).map(|f| f.len()), Some(2));
        assert_eq!(snap.allocation(3), None);
    }
}
