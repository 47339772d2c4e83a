//! Allocation sites (format 1.3): the tracebacks tracemalloc recorded for the objects, a table
//! of distinct sites and one site index per object.

use super::graph::{NodeIx, Snapshot};
use serde::{Deserialize, Serialize};

/// "No site" in [`Sites::of`].
pub(crate) const NO_SITE: u32 = u32::MAX;
/// Frames kept per site: more than any tracemalloc limit a user sets for a leak hunt, and a
/// hostile file cannot make one site hold millions.
pub(crate) const MAX_FRAMES: usize = 1000;

/// One frame of an allocation traceback: the file (as tracemalloc gives it, absolute) and the
/// line that was running.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Frame {
    /// The code's file name.
    pub file: Box<str>,
    /// The line number.
    pub line: u32,
}

impl std::fmt::Display for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// The site table and the per-object site column. Empty when the dump was not traced.
#[derive(Debug, Default, Clone)]
pub(crate) struct Sites {
    /// Each site's frames, most recent first (never empty).
    pub(crate) table: Vec<Box<[Frame]>>,
    /// Per node: its site index, or [`NO_SITE`]; empty when no object has a site column.
    pub(crate) of: super::column::Column<u32>,
}

impl Sites {
    /// The site of node `n`, if it has one.
    pub(crate) fn site_of(&self, n: NodeIx) -> Option<u32> {
        match self.of.get(n as usize) {
            Some(&s) if s != NO_SITE => Some(s),
            _ => None,
        }
    }

    /// Check a site column read from an untrusted source: every entry a site or `NO_SITE`.
    pub(crate) fn column_is_valid(&self, nodes: usize) -> bool {
        let sites = self.table.len();
        (self.of.is_empty() || self.of.len() == nodes)
            && self
                .of
                .iter()
                .all(|&s| s == NO_SITE || (s as usize) < sites)
            && self
                .table
                .iter()
                .all(|t| !t.is_empty() && t.len() <= MAX_FRAMES)
    }
}

impl Snapshot {
    /// Whether the dump recorded allocation sites (tracemalloc was tracing).
    pub fn has_sites(&self) -> bool {
        self.header.trace_alloc.is_some() || !self.sites.table.is_empty()
    }

    /// How many frames tracemalloc kept per allocation, when it was tracing.
    pub fn trace_alloc(&self) -> Option<u64> {
        self.header.trace_alloc
    }

    /// The site index of node `n`: `None` when the object was allocated before tracing
    /// started (or comes from a free list), or the dump was not traced.
    pub fn site_index(&self, n: NodeIx) -> Option<u32> {
        self.sites.site_of(n)
    }

    /// The frames of site `s`, most recent first.
    pub fn site(&self, s: u32) -> Option<&[Frame]> {
        self.sites.table.get(s as usize).map(|f| &f[..])
    }

    /// Where node `n` was allocated: its traceback, most recent frame first.
    pub fn allocation(&self, n: NodeIx) -> Option<&[Frame]> {
        self.site_index(n).and_then(|s| self.site(s))
    }

    /// The line that allocated node `n` (the most recent frame of its traceback).
    pub fn allocated_at(&self, n: NodeIx) -> Option<&Frame> {
        self.allocation(n).and_then(|f| f.first())
    }

    /// The number of sites in the table.
    pub fn site_count(&self) -> usize {
        self.sites.table.len()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::path::Path;

    /// Four objects of one type with the site column `column`, after `site_line`.
    pub(crate) fn snapshot(
        site_line: &str,
        column: &str,
    ) -> Result<Snapshot, crate::snapshot::LoadError> {
        let text = format!(
            "{}\n{}\n{}\n{{\"kind\":\"objects\",\"id\":[1,2,3,4],\"type\":[0,0,0,0],\"size\":[10,20,30,40],\"refcount\":[1,1,1,1],\"flags\":[0,0,0,0],\"label\":[null,null,null,null],\"nrefs\":[0,0,0,0],\"refs\":[],\"edge_labels\":[],\"site\":{column}}}\n",
            r#"{"kind":"header","format":"refgraph-snapshot","version":[1,3],"trace_alloc":5}"#,
            r#"{"kind":"types","base":0,"names":[["app","A"]]}"#,
            site_line,
        );
        crate::snapshot::parse_snapshot(Path::new("t.rgsnap"), text.as_bytes())
    }

    pub(crate) const SITES: &str = r#"{"kind":"sites","base":0,"sites":[[["/app/a.py",3],["/app/m.py",9]],[["/app/a.py",3],["/app/n.py",1]],[["/app/b.py",7]]]}"#;

    #[test]
    fn sites_load_with_their_frames_most_recent_first() {
        let snap = snapshot(SITES, "[0,1,2,null]").expect("valid");
        assert!(snap.has_sites());
        assert_eq!(snap.site_count(), 3);
        let frames: Vec<String> = snap
            .allocation(1)
            .unwrap()
            .iter()
            .map(|f| f.to_string())
            .collect();
        assert_eq!(frames, ["/app/a.py:3", "/app/n.py:1"]);
        assert_eq!(
            snap.allocated_at(2).map(|f| f.to_string()),
            Some("/app/b.py:7".into())
        );
        assert_eq!(snap.allocation(3), None);
        assert_eq!(snap.site(3), None);
    }

    #[test]
    fn a_site_index_out_of_range_names_the_file_line_and_object() {
        let e = snapshot(SITES, "[0,1,3,null]").unwrap_err().to_string();
        assert_eq!(
            e,
            "t.rgsnap:4: object 0x3 has site index 3, but only 3 sites are defined"
        );
    }

    #[test]
    fn a_site_used_before_its_sites_line_is_an_error() {
        let e = snapshot("", "[0,null,null,null]").unwrap_err().to_string();
        assert!(e.contains("has site index 0, but only 0 sites"), "{e}");
    }

    #[test]
    fn malformed_sites_are_one_line_errors() {
        let cases = [
            (
                r#"{"kind":"sites","base":0,"sites":[[]]}"#,
                "site 0 has 0 frames",
            ),
            (
                r#"{"kind":"sites","base":1,"sites":[]}"#,
                "sites base 1 does not follow",
            ),
            (
                r#"{"kind":"sites","base":0,"sites":[[["a.py",4294967296]]]}"#,
                "out of range",
            ),
            (
                r#"{"kind":"sites","base":0,"sites":[[["a.py"]]]}"#,
                "t.rgsnap:3:",
            ),
            (
                r#"{"kind":"sites","base":0,"sites":[[[7,1]]]}"#,
                "t.rgsnap:3:",
            ),
        ];
        for (line, expected) in cases {
            let e = snapshot(line, "[null,null,null,null]")
                .unwrap_err()
                .to_string();
            assert!(e.contains(expected), "{line}: {e}");
            assert!(e.starts_with("t.rgsnap:3: "), "{line}: {e}");
        }
    }

    #[test]
    fn a_site_column_of_the_wrong_length_is_an_error() {
        let e = snapshot(SITES, "[0,1]").unwrap_err().to_string();
        assert!(e.contains("4 ids but 2 site entries"), "{e}");
    }
}
