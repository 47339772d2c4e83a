//! The snapshots a run has opened and what has been computed on them (the dominator tree), so
//! that asking again costs nothing: a one-shot command opens one snapshot and drops it;
//! `refgraph shell` keeps it open for every question it is asked.

use crate::query::retained::Retained;
use crate::render::text;
use crate::snapshot::{Snapshot, Stamp};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Open snapshots, by the path they were opened with.
#[derive(Default)]
pub struct Session {
    open: Vec<Opened>,
}

struct Opened {
    path: PathBuf,
    /// The file as it was when loaded: a file rewritten (or replaced) since is loaded again.
    stamp: Option<Stamp>,
    snap: Arc<Snapshot>,
    retained: Option<Arc<Retained>>,
}

/// The stamp of the regular file at `path` (the loader's: length, times, inode); `None` for
/// what is not a regular file (a pipe is read once) or is not there.
fn stamp_of(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok().filter(|m| m.is_file())?;
    Some(Stamp::of(&meta))
}

impl Session {
    /// A session with nothing open.
    pub fn new() -> Self {
        Session::default()
    }

    /// The snapshot at `path`: loaded (with a spinner on a terminal, its warnings printed on
    /// stderr) the first time, the same one afterwards while the file is unchanged; a file
    /// rewritten or replaced since (a new capture to the same name) is loaded again, and said
    /// so on stderr.
    pub fn snapshot(&mut self, path: &Path) -> anyhow::Result<Arc<Snapshot>> {
        let stamp = stamp_of(path);
        if let Some(at) = self.open.iter().position(|o| o.path == path) {
            // A pipe is read once, and a file gone since is kept as it was loaded.
            if stamp.is_none() || self.open[at].stamp == stamp {
                return Ok(Arc::clone(&self.open[at].snap));
            }
            self.open.remove(at);
            eprintln!(
                "refgraph: {} changed since it was loaded; loading it again",
                text::term_safe(&path.display().to_string())
            );
        }
        let snap = Arc::new(load(path)?);
        note_snapshot_inputs(path, "the snapshot being read");
        self.open.push(Opened {
            path: path.to_path_buf(),
            stamp,
            snap: Arc::clone(&snap),
            retained: None,
        });
        Ok(snap)
    }

    /// Dominator tree and retained sizes of `snap`, computed once.
    pub fn retained(&mut self, snap: &Arc<Snapshot>) -> Arc<Retained> {
        self.retained_with(snap, || ()).0
    }

    /// [`Session::retained`], and `also()`: on two cores at once when the dominator tree is not
    /// computed yet (`cycles` finds its components meanwhile).
    pub fn retained_with<T: Send>(
        &mut self,
        snap: &Arc<Snapshot>,
        also: impl FnOnce() -> T + Send,
    ) -> (Arc<Retained>, T) {
        let slot = self.open.iter_mut().find(|o| Arc::ptr_eq(&o.snap, snap));
        if let Some(r) = slot.as_ref().and_then(|o| o.retained.clone()) {
            return (r, also());
        }
        let (r, other) = rayon::join(|| Arc::new(Retained::compute(snap)), also);
        if let Some(o) = slot {
            o.retained = Some(Arc::clone(&r));
        }
        (r, other)
    }
}

/// Record the snapshot (`what` it is: "the snapshot being read") and its index files as read
/// by this run, so that no output replaces them (see [`crate::output::check_not_an_input`]).
pub(crate) fn note_snapshot_inputs(path: &Path, what: &str) {
    crate::output::note_input(path, what);
    for place in crate::snapshot::index::places(path) {
        crate::output::note_input(&place, &format!("the index of {what}"));
    }
}

/// Snapshots at least this big show a spinner while they load (on a terminal).
const SPINNER_BYTES: u64 = 32 << 20;

/// A spinner on stderr while a big snapshot loads, when stderr is a terminal.
fn load_spinner(path: &Path) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if bytes < SPINNER_BYTES || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_message(format!(
        "loading {} ({})",
        path.display(),
        text::human_size(bytes)
    ));
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    spinner
}

/// Load a snapshot, printing its load warnings on stderr.
pub fn load(path: &Path) -> anyhow::Result<Snapshot> {
    let spinner = load_spinner(path);
    let loaded = crate::load(path);
    spinner.finish_and_clear();
    let snap = loaded?;
    for warning in &snap.load_report().warnings {
        eprintln!(
            "refgraph: warning: {}: {}",
            path.display(),
            text::term_safe(warning)
        );
    }
    Ok(snap)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_snapshot(dir: &Path) -> PathBuf {
        let path = dir.join("t.rgsnap");
        let text = concat!(
            r#"{"kind":"header","format":"refgraph-snapshot","version":[1,0]}"#,
            "\n",
            r#"{"kind":"types","base":0,"names":[["builtins","module"],["builtins","list"]]}"#,
            "\n",
            r#"{"kind":"objects","id":[1,2],"type":[0,1],"size":[72,56],"refcount":[1,1],"flags":[2,6],"label":[null,null],"nrefs":[1,0],"refs":[2],"edge_labels":[".x"]}"#,
            "\n",
            r#"{"kind":"root","root":"module","name":"m","id":1}"#,
            "\n",
            r#"{"kind":"end","objects":2,"edges":1}"#,
            "\n"
        );
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_snapshot_is_opened_once_and_its_dominator_tree_computed_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = tiny_snapshot(dir.path());
        let mut s = Session::new();
        let a = s.snapshot(&path).unwrap();
        let b = s.snapshot(&path).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let r1 = s.retained(&a);
        let (r2, also) = s.retained_with(&a, || 7);
        assert!(Arc::ptr_eq(&r1, &r2));
        assert_eq!(also, 7);
        assert_eq!(r1.total_size(), 72 + 56);
    }

    #[test]
    fn a_loaded_snapshot_and_its_index_are_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = tiny_snapshot(dir.path());
        let loaded = crate::load(&path).unwrap();
        let index = crate::snapshot::index::Index::write_for_test(&path, &loaded);
        assert_eq!(index, crate::snapshot::index::places(&path)[0]);
        let mut s = Session::new();
        assert!(
            s.snapshot(&path).unwrap().ids.is_mapped(),
            "read from its index"
        );
        for (output, what) in [(&path, "snapshot"), (&index, "index of the snapshot")] {
            let e = crate::output::write_to(Some(output), |w| w.write_all(b"x")).unwrap_err();
            let expected = format!("the output is the {what} being read; not overwritten");
            assert!(e.to_string().ends_with(&expected), "{e}");
        }
    }

    #[test]
    fn a_snapshot_rewritten_or_replaced_is_loaded_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = tiny_snapshot(dir.path());
        let mut s = Session::new();
        let first = s.snapshot(&path).unwrap();
        assert!(Arc::ptr_eq(&first, &s.snapshot(&path).unwrap()));
        // Replaced by a rename, as a capture to the same name does: three objects now.
        let text = std::fs::read_to_string(&path).unwrap();
        let grown = text
            .replace(r#""id":[1,2]"#, r#""id":[1,2,3]"#)
            .replace(r#""type":[0,1]"#, r#""type":[0,1,1]"#)
            .replace(r#""size":[72,56]"#, r#""size":[72,56,56]"#)
            .replace(r#""refcount":[1,1]"#, r#""refcount":[1,1,1]"#)
            .replace(r#""flags":[2,6]"#, r#""flags":[2,6,6]"#)
            .replace(r#""label":[null,null]"#, r#""label":[null,null,null]"#)
            .replace(r#""nrefs":[1,0]"#, r#""nrefs":[1,0,0]"#)
            .replace(r#""objects":2"#, r#""objects":3"#);
        let new = dir.path().join("new.rgsnap");
        std::fs::write(&new, grown).unwrap();
        std::fs::rename(&new, &path).unwrap();
        let second = s.snapshot(&path).unwrap();
        assert_eq!(second.node_count(), 3);
        assert_eq!(first.node_count(), 2, "the old one is kept by who holds it");
        assert!(Arc::ptr_eq(&second, &s.snapshot(&path).unwrap()));
        assert_eq!(s.open.len(), 1);
    }

    #[test]
    fn a_missing_snapshot_is_an_error_and_nothing_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Session::new();
        assert!(s.snapshot(&dir.path().join("nope.rgsnap")).is_err());
        assert!(s.open.is_empty());
    }
}
