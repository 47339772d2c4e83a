//! Where answers go: stdout (`-o -`), a regular file written atomically (temp file in the same
//! directory, then renamed, so a failed or interrupted run never leaves a partial file or
//! destroys an existing one), or — for a device, a pipe, a socket or `/dev/stdout` — written
//! in place, never replaced. No output ever replaces a file the command reads
//! ([`note_input`], [`check_not_an_input`]).

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// An output that could not, or must not, be written. Says it once, with the user's path.
#[derive(Debug, thiserror::Error)]
#[error("{}: {problem}", path.display())]
pub struct OutputError {
    /// The output as the user named it.
    pub path: PathBuf,
    /// What is wrong, e.g. "cannot write: no directory out/".
    pub problem: String,
    /// The I/O error's kind, when an I/O error was the cause.
    pub kind: Option<io::ErrorKind>,
}

impl OutputError {
    fn io(path: &Path, e: &io::Error) -> Self {
        OutputError {
            path: path.to_path_buf(),
            problem: format!("cannot write: {}", describe(path, e)),
            kind: Some(e.kind()),
        }
    }

    /// The reader went away (`refgraph types snap | head`): not worth a message.
    pub fn is_broken_pipe(&self) -> bool {
        self.kind == Some(io::ErrorKind::BrokenPipe)
    }
}

/// An I/O error in words, without the temp file's path or the OS error number. (tempfile's
/// errors carry the temp path and lose the OS error code: their kind is what is left.)
fn describe(path: &Path, e: &io::Error) -> String {
    use io::ErrorKind as K;
    match (e.raw_os_error(), e.kind()) {
        (_, K::NotFound) => format!("no directory {}", dir_name(path)),
        (_, K::NotADirectory) => format!("{} is not a directory", dir_name(path)),
        (_, K::IsADirectory) => "is a directory".into(),
        (_, K::PermissionDenied) => "permission denied".into(),
        (_, K::StorageFull) => "no space left on device".into(),
        (_, K::ReadOnlyFilesystem) => "read-only file system".into(),
        (Some(libc::ENXIO), _) => "a pipe with no reader, or a device that is not there".into(),
        (Some(code), _) => os_message(code),
        (None, K::Other) => e.to_string(),
        (None, kind) => kind.to_string(),
    }
}

/// `strerror` as people write it: "no space left on device".
fn os_message(code: i32) -> String {
    let text = io::Error::from_raw_os_error(code).to_string();
    let text = text.split(" (os error").next().unwrap_or_default();
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_lowercase().chain(chars).collect()
    })
}

/// The directory part of `path` as the user wrote it, with a trailing `/`.
fn dir_name(path: &Path) -> String {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => format!("{}/", p.display()),
        _ => "./".into(),
    }
}

/// A file by identity: hard links and symlinks to it are the same file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
}

#[cfg(unix)]
fn file_id(path: &Path) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some(FileId {
        dev: meta.dev(),
        ino: meta.ino(),
    })
}

#[cfg(not(unix))]
fn file_id(_: &Path) -> Option<FileId> {
    None
}

/// A file this process has read: its identity, its path, and what it is ("the snapshot being
/// read").
struct Input {
    id: FileId,
    path: PathBuf,
    what: String,
}

impl Input {
    /// Still the file that was read: a deleted file's inode may be reused by another.
    fn is_current(&self) -> bool {
        file_id(&self.path) == Some(self.id)
    }
}

static INPUTS: Mutex<Vec<Input>> = Mutex::new(Vec::new());

/// Remember that this run reads `path` (described by `what`, as in "the output is `what`"),
/// so that no output of this run replaces it. A path that does not exist is not recorded.
pub fn note_input(path: &Path, what: &str) {
    if let Some(id) = file_id(path) {
        let mut inputs = INPUTS.lock().unwrap_or_else(|e| e.into_inner());
        inputs.retain(Input::is_current);
        if !inputs.iter().any(|i| i.id == id) {
            inputs.push(Input {
                id,
                path: path.to_path_buf(),
                what: what.to_string(),
            });
        }
    }
}

/// Refuse `output` if its existing file (through hard links and symlinks) is one this run
/// reads: `s.rgsnap: the output is the snapshot being read; not overwritten`.
pub fn check_not_an_input(output: &Path) -> Result<(), OutputError> {
    if output == Path::new("-") {
        return Ok(());
    }
    let Some(id) = file_id(output) else {
        return Ok(());
    };
    let inputs = INPUTS.lock().unwrap_or_else(|e| e.into_inner());
    match inputs.iter().find(|i| i.id == id && i.is_current()) {
        Some(input) => Err(OutputError {
            path: output.to_path_buf(),
            problem: format!("the output is {}; not overwritten", input.what),
            kind: None,
        }),
        None => Ok(()),
    }
}

/// Refuse, before any work, a file output that cannot be written: a directory, a name that
/// can only be a directory (`out/`, `.`), or one in a directory that is missing, not a
/// directory, or not writable (checked by creating and removing a temp file there). Devices,
/// pipes, sockets, descriptors and `-` pass: they are written in place.
pub fn check_writable(path: &Path) -> Result<(), OutputError> {
    if path == Path::new("-") || descriptor_of(path).is_some() {
        return Ok(());
    }
    let refuse = |problem: &str| OutputError {
        path: path.to_path_buf(),
        problem: format!("cannot write: {problem}"),
        kind: None,
    };
    let meta = std::fs::metadata(path);
    if meta.as_ref().is_ok_and(|m| m.is_dir()) {
        return Err(refuse("is a directory"));
    }
    if meta.is_ok_and(|m| !m.is_file()) {
        return Ok(());
    }
    if names_a_directory(path) {
        return Err(refuse("names a directory, not a file"));
    }
    let target = resolved(path);
    new_temp(parent_dir(&target))
        .map(drop)
        .map_err(|e| OutputError::io(path, &e))
}

/// `out/`, `.`, `..`, `/`: names that cannot be a file's.
fn names_a_directory(path: &Path) -> bool {
    #[cfg(unix)]
    let slash = std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()).ends_with(b"/");
    #[cfg(not(unix))]
    let slash = false;
    slash || path.file_name().is_none()
}

/// The directory a file `path` goes in (`.` for a bare name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Write `path`: atomically when it is (or will be) a regular file, in place when it is a
/// device, a pipe, a socket or a name for an open descriptor (`/dev/stdout`, `/dev/fd/3`).
/// A new file gets the mode a shell's `>` would give it (0666 less the umask), and is no more
/// readable than any file this run reads ([`output_mode`]): a report of a private snapshot is
/// private too.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), OutputError> {
    check_not_an_input(path)?;
    match descriptor_of(path) {
        Some(1) => return write_stream(io::stdout().lock(), path, write),
        Some(2) => return write_stream(io::stderr().lock(), path, write),
        _ => {}
    }
    let meta = std::fs::metadata(path);
    let is_special = meta.as_ref().is_ok_and(|m| !m.is_file() && !m.is_dir());
    if is_special || descriptor_of(path).is_some() {
        let append = meta.as_ref().is_ok_and(|m| m.is_file());
        return write_in_place(path, append, write);
    }
    check_writable(path)?;
    replace(path, &resolved(path), write)
}

/// The descriptor a path names: `/dev/stdout` is 1, `/dev/fd/3` and `/proc/self/fd/3` are 3.
fn descriptor_of(path: &Path) -> Option<i32> {
    let text = path.to_str()?;
    match text {
        "/dev/stdout" => return Some(1),
        "/dev/stderr" => return Some(2),
        _ => {}
    }
    let number = text
        .strip_prefix("/dev/fd/")
        .or_else(|| text.strip_prefix("/proc/self/fd/"))?;
    number.parse().ok()
}

/// Where a symlink points, so that the link itself is kept and its target replaced.
fn resolved(path: &Path) -> PathBuf {
    let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    match is_link.then(|| std::fs::canonicalize(path)) {
        Some(Ok(target)) => target,
        _ => path.to_path_buf(),
    }
}

/// Fill a temp file beside `target`, then rename it over `target`. Errors name `shown`.
fn replace(
    shown: &Path,
    target: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), OutputError> {
    let err = |e: io::Error| OutputError::io(shown, &e);
    let mut tmp = new_temp(parent_dir(target)).map_err(err)?;
    let _guard = crate::interrupt::TempGuard::new(tmp.path());
    {
        let mut buffered = io::BufWriter::new(tmp.as_file_mut());
        write(&mut buffered).map_err(err)?;
        buffered.flush().map_err(err)?;
    }
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(target).map_err(|e| err(e.error))?;
    Ok(())
}

/// Write straight into an existing device, pipe, socket or open descriptor's file.
fn write_in_place(
    path: &Path,
    append: bool,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), OutputError> {
    let err = |e: io::Error| OutputError::io(path, &e);
    let file: Box<dyn Write> = match open_socket(path) {
        Some(socket) => Box::new(socket.map_err(err)?),
        None if append => Box::new(
            std::fs::OpenOptions::new()
                .append(true)
                .open(path)
                .map_err(err)?,
        ),
        None => Box::new(crate::open::open_write(path).map_err(err)?),
    };
    write_stream(file, path, write)
}

/// A Unix socket is written by connecting to it.
#[cfg(unix)]
fn open_socket(path: &Path) -> Option<io::Result<std::os::unix::net::UnixStream>> {
    use std::os::unix::fs::FileTypeExt;
    let meta = std::fs::metadata(path).ok()?;
    meta.file_type()
        .is_socket()
        .then(|| std::os::unix::net::UnixStream::connect(path))
}

#[cfg(not(unix))]
fn open_socket(_: &Path) -> Option<io::Result<std::fs::File>> {
    None
}

/// Write to an open stream, buffered; errors name `path`.
fn write_stream(
    stream: impl Write,
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), OutputError> {
    let err = |e: io::Error| OutputError::io(path, &e);
    let mut buffered = io::BufWriter::new(stream);
    write(&mut buffered).map_err(err)?;
    buffered.flush().map_err(err)
}

/// A temp file in `dir`, created with [`output_mode`] (the kernel takes the umask off it).
#[cfg(unix)]
fn new_temp(dir: &Path) -> io::Result<tempfile::NamedTempFile> {
    use std::os::unix::fs::PermissionsExt;
    tempfile::Builder::new()
        .prefix(".refgraph-")
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(output_mode()))
        .tempfile_in(dir)
}

#[cfg(not(unix))]
fn new_temp(dir: &Path) -> io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(".refgraph-")
        .suffix(".tmp")
        .tempfile_in(dir)
}

/// The mode a new output is created with, before the umask: read and write for all (as a
/// shell's `>`), less what any input of this run withholds from its group or others. The
/// owner can always read and write what refgraph wrote.
#[cfg(unix)]
fn output_mode() -> u32 {
    use std::os::unix::fs::PermissionsExt;
    let inputs = INPUTS.lock().unwrap_or_else(|e| e.into_inner());
    inputs
        .iter()
        .filter_map(|i| std::fs::metadata(&i.path).ok())
        .fold(0o666, |mode, meta| {
            mode & (meta.permissions().mode() | 0o600)
        })
}

/// Write to stdout (`None` or `-`) or to a file (see [`write_atomically`]).
pub fn write_to(
    target: Option<&Path>,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), OutputError> {
    match target {
        Some(p) if p != Path::new("-") => write_atomically(p, write),
        _ => write_stream(io::stdout().lock(), Path::new("<stdout>"), write),
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

    #[test]
    fn an_input_is_refused_through_its_name_a_hard_link_and_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.rgsnap");
        std::fs::write(&input, "snapshot").unwrap();
        let hard = dir.path().join("hard.html");
        std::fs::hard_link(&input, &hard).unwrap();
        let soft = dir.path().join("soft.html");
        #[cfg(unix)]
        std::os::unix::fs::symlink(&input, &soft).unwrap();
        note_input(&input, "the snapshot being read");
        for output in [&input, &hard, &soft] {
            let e = write_atomically(output, |w| w.write_all(b"html")).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "{}: the output is the snapshot being read; not overwritten",
                    output.display()
                )
            );
        }
        assert_eq!(std::fs::read_to_string(&input).unwrap(), "snapshot");
    }

    #[test]
    fn a_symlinked_output_keeps_its_link_and_replaces_the_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.svg");
        std::fs::write(&target, "old").unwrap();
        let link = dir.path().join("link.svg");
        #[cfg(unix)]
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_atomically(&link, |w| w.write_all(b"new")).unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
    }

    #[test]
    fn errors_name_the_users_path_once_and_no_temp_file() {
        let e = write_atomically(Path::new("no-such-dir/sub/x.svg"), |w| w.write_all(b"x"))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "no-such-dir/sub/x.svg: cannot write: no directory no-such-dir/sub/"
        );
        // Through /dev/fd: a regression could never rename a file over /dev/full itself.
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let path = format!("/dev/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&full));
        let e = write_atomically(Path::new(&path), |w| w.write_all(&[0; 100_000])).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{path}: cannot write: no space left on device")
        );
    }

    #[test]
    fn descriptor_names_are_recognized() {
        assert_eq!(descriptor_of(Path::new("/dev/stdout")), Some(1));
        assert_eq!(descriptor_of(Path::new("/dev/fd/7")), Some(7));
        assert_eq!(descriptor_of(Path::new("/proc/self/fd/2")), Some(2));
        assert_eq!(descriptor_of(Path::new("/dev/null")), None);
        assert_eq!(descriptor_of(Path::new("out.svg")), None);
    }
}
