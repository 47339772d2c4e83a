//! Where answers go: stdout, or a file written atomically (temp file in the same directory,
//! then renamed), so a failed or interrupted run never leaves a partial file or destroys an
//! existing one.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// An output that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct OutputError {
    /// The file being written.
    pub path: PathBuf,
    /// What went wrong.
    #[source]
    pub source: io::Error,
}

/// Write `path` atomically: `write` fills a temp file next to it, which then replaces `path`.
/// The result is readable by others (mode 0644), like a file the shell would create.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), OutputError> {
    let err = |source| OutputError {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".refgraph-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(err)?;
    let _guard = crate::interrupt::TempGuard::new(tmp.path());
    set_readable(tmp.as_file()).map_err(err)?;
    {
        let mut buffered = io::BufWriter::new(tmp.as_file_mut());
        write(&mut buffered).map_err(err)?;
        buffered.flush().map_err(err)?;
    }
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

#[cfg(unix)]
fn set_readable(file: &std::fs::File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn set_readable(_: &std::fs::File) -> io::Result<()> {
    Ok(())
}

/// Write to stdout (`None` or `-`) or atomically to a file.
pub fn write_to(
    target: Option<&Path>,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), OutputError> {
    match target {
        Some(p) if p != Path::new("-") => write_atomically(p, write),
        _ => {
            let stdout = io::stdout();
            let mut lock = io::BufWriter::new(stdout.lock());
            let stdout_err = |source| OutputError {
                path: "<stdout>".into(),
                source,
            };
            write(&mut lock).map_err(stdout_err)?;
            lock.flush().map_err(stdout_err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_keeps_the_old_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        std::fs::write(&path, "old").unwrap();
        let result = write_atomically(&path, |w| {
            w.write_all(b"partial")?;
            Err(io::Error::other("render failed"))
        });
        assert!(result.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_good_write_replaces_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        write_atomically(&path, |w| w.write_all(b"new")).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
    }
}
