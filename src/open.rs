//! Opening a file that may turn out to be a pipe or a device without blocking: a FIFO with
//! nobody at the other end would otherwise hang `open(2)` forever.

use std::fs::File;
use std::io;
use std::path::Path;

/// Open `path` for reading. A FIFO with no writer opens at once (and then reads as empty);
/// the file is blocking again once open, so reads wait for data as usual.
pub(crate) fn open_read(path: &Path) -> io::Result<File> {
    let file = options().read(true).open(path)?;
    blocking_again(&file)?;
    Ok(file)
}

/// Open an existing `path` for writing in place (no create, no truncate). A FIFO with no
/// reader fails at once with `ENXIO` instead of waiting for one.
pub(crate) fn open_write(path: &Path) -> io::Result<File> {
    let file = options().write(true).open(path)?;
    blocking_again(&file)?;
    Ok(file)
}

/// How long a FIFO opened for reading waits for a writer to connect (`mkfifo f; refgraph
/// summary f & gzip -dc s.gz > f` may start in either order).
pub(crate) const FIFO_WRITER_WAIT_MS: i32 = 2000;

/// Wait until `file` (a FIFO opened for reading) has data or its writer came and went, at most
/// `timeout_ms`; false when nothing arrived (no writer connected): reading would find it empty.
#[cfg(unix)]
pub(crate) fn wait_for_writer(file: &File, timeout_ms: i32) -> bool {
    use std::os::fd::AsRawFd;
    let mut poll = libc::pollfd {
        fd: file.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: one pollfd on the stack, for a descriptor `file` keeps open during the call.
        let ready = unsafe { libc::poll(&mut poll, 1, timeout_ms) };
        if ready >= 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return ready > 0;
        }
    }
}

#[cfg(not(unix))]
pub(crate) fn wait_for_writer(_: &File, _: i32) -> bool {
    true
}

#[cfg(unix)]
fn options() -> std::fs::OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.custom_flags(libc::O_NONBLOCK);
    options
}

#[cfg(not(unix))]
fn options() -> std::fs::OpenOptions {
    std::fs::OpenOptions::new()
}

/// Clear `O_NONBLOCK`: it was only wanted for the open.
#[cfg(unix)]
fn blocking_again(file: &File) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: `fd` is an open descriptor owned by `file` for the duration of both calls;
    // F_GETFL/F_SETFL only read and change its status flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(not(unix))]
fn blocking_again(_: &File) -> io::Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn fifo(dir: &Path) -> std::path::PathBuf {
        let path = dir.join("fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .expect("mkfifo runs");
        assert!(status.success());
        path
    }

    #[test]
    fn a_fifo_without_a_writer_opens_for_reading_and_reads_empty() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = open_read(&fifo(dir.path())).unwrap();
        let mut text = String::new();
        io::Read::read_to_string(&mut file, &mut text).unwrap();
        assert_eq!(text, "");
    }

    #[test]
    fn a_fifo_without_a_reader_refuses_a_writer_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let err = open_write(&fifo(dir.path())).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENXIO));
    }
}
