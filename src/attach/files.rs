//! The directory refgraph puts in the target's own /tmp (through /proc/PID/root, so it works
//! across mount namespaces): created fresh, verified, given to the target's uid, and used only
//! through an open descriptor (`/proc/self/fd/N/NAME`), never by a path the target's user could
//! have replaced with a symlink. Removed with everything in it when dropped (success, failure,
//! timeout, Ctrl-C).

use std::collections::hash_map::RandomState;
use std::fs::{File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::PathBuf;

/// The directory, open.
#[derive(Debug)]
pub struct TargetDir {
    dir: File,
    /// The target's /tmp, open: the directory is removed through it, which works even when
    /// the target exited meanwhile (its /proc/PID/root is gone, the mount is not).
    parent: File,
    /// The directory's name in it.
    name: String,
    /// /tmp/NAME, as the target sees it.
    pub inside: String,
    /// Whether it has been removed.
    removed: bool,
}

fn random_suffix() -> String {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    format!("{:012x}", h.finish() & 0xffff_ffff_ffff)
}

impl TargetDir {
    /// Make `refgraph-attach-XXXX` in the target's /tmp, owned by `uid`/`gid` (mode 0700).
    pub fn create(pid: i32, uid: u32, gid: u32) -> io::Result<Self> {
        let tmp = PathBuf::from(format!("/proc/{pid}/root/tmp"));
        let parent = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY)
            .open(&tmp)?;
        let tmp = PathBuf::from(format!(
            "/proc/self/fd/{}",
            std::os::fd::AsRawFd::as_raw_fd(&parent)
        ));
        let mut tries = 0;
        let (name, host_path) = loop {
            let name = format!("refgraph-attach-{}", random_suffix());
            let path = tmp.join(&name);
            // mkdir never follows a symlink planted under the name: it fails with EEXIST.
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => break (name, path),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries < 16 => tries += 1,
                Err(e) => return Err(e),
            }
        };
        let dir = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
            .open(&host_path)?;
        let meta = dir.metadata()?;
        let ours = std::fs::metadata("/proc/self")?.uid();
        if !meta.is_dir() || meta.uid() != ours {
            return Err(io::Error::other(format!(
                "{} is not the directory refgraph made",
                host_path.display()
            )));
        }
        let inside = format!("/tmp/{name}");
        let mut made = TargetDir {
            dir,
            parent,
            name,
            inside,
            removed: false,
        };
        if let Err(e) = made.give_to(uid, gid, ours) {
            made.remove();
            return Err(e);
        }
        Ok(made)
    }

    fn give_to(&self, uid: u32, gid: u32, ours: u32) -> io::Result<()> {
        match std::os::unix::fs::fchown(&self.dir, Some(uid), Some(gid)) {
            Err(_) if uid == ours => Ok(()), // our own process: the group may differ, harmless
            other => other,
        }
    }

    /// `/proc/self/fd/N/NAME`: NAME inside the directory this descriptor holds, whatever
    /// happened to its path since.
    fn at(&self, name: &str) -> PathBuf {
        use std::os::fd::AsRawFd;
        PathBuf::from(format!("/proc/self/fd/{}/{name}", self.dir.as_raw_fd()))
    }

    /// Create NAME (it must not exist; never through a symlink) with `data`, owned by the
    /// target's uid and gid.
    pub fn write_new(&self, name: &str, data: &[u8], uid: u32, gid: u32) -> io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(self.at(name))?;
        f.write_all(data)?;
        let ours = std::fs::metadata("/proc/self")?.uid();
        match std::os::unix::fs::fchown(&f, Some(uid), Some(gid)) {
            Err(_) if uid == ours => Ok(()),
            other => other,
        }
    }

    /// Open NAME for reading if it is a regular file (not a symlink, FIFO or device); None when
    /// it does not exist.
    pub fn open_regular(&self, name: &str) -> io::Result<Option<File>> {
        let f = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(self.at(name));
        let f = match f {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        if !f.metadata()?.is_file() {
            return Err(io::Error::other(format!("{name} is not a regular file")));
        }
        Ok(Some(f))
    }

    /// The text of NAME ("" when it does not exist).
    pub fn read_text(&self, name: &str) -> io::Result<String> {
        let mut text = String::new();
        if let Some(mut f) = self.open_regular(name)? {
            f.read_to_string(&mut text)?;
        }
        Ok(text)
    }

    /// Rename FROM to TO inside the directory (atomic; fails when FROM is gone).
    pub fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        std::fs::rename(self.at(from), self.at(to))
    }

    /// Remove everything in it, then the directory itself. Symlinks are removed, never
    /// followed.
    pub fn remove(&mut self) {
        if self.removed {
            return;
        }
        self.removed = true;
        if let Ok(entries) = std::fs::read_dir(self.at("")) {
            for entry in entries.flatten() {
                let name = entry.file_name();
                let path = self.at(&name.to_string_lossy());
                let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
                let _ = if is_dir {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                };
            }
        }
        // rmdir of a symlink (had the target's user swapped the name) fails: nothing followed.
        let parent = std::os::fd::AsRawFd::as_raw_fd(&self.parent);
        let _ = std::fs::remove_dir(format!("/proc/self/fd/{parent}/{}", self.name));
    }
}

impl Drop for TargetDir {
    fn drop(&mut self) {
        self.remove();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_made_fresh_read_back_and_all_removed() {
        let pid = std::process::id() as i32;
        let ours = std::fs::metadata("/proc/self").expect("proc").uid();
        let gid = std::fs::metadata("/proc/self").expect("proc").gid();
        let mut dir = TargetDir::create(pid, ours, gid).expect("create");
        let host = PathBuf::from(format!("/proc/{pid}/root{}", dir.inside));
        assert!(host.is_dir());
        dir.write_new("status", b"one\n", ours, gid).expect("write");
        assert!(
            dir.write_new("status", b"again", ours, gid).is_err(),
            "O_EXCL"
        );
        assert_eq!(dir.read_text("status").expect("read"), "one\n");
        assert_eq!(dir.read_text("missing").expect("read"), "");
        std::os::unix::fs::symlink("/etc/passwd", host.join("planted")).expect("symlink");
        assert!(
            dir.open_regular("planted").is_err(),
            "symlinks are not followed"
        );
        assert!(dir.write_new("planted", b"x", ours, gid).is_err());
        std::fs::create_dir(host.join("sub")).expect("subdir");
        std::fs::write(host.join("sub/f"), b"x").expect("file");
        dir.rename("status", "claimed").expect("rename");
        assert!(
            dir.rename("status", "other").is_err(),
            "a rename happens once"
        );
        dir.remove();
        assert!(!host.exists());
        assert!(std::fs::metadata("/etc/passwd").is_ok());
    }
}
