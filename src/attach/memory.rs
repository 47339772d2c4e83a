//! The target's memory through /proc/PID/mem: reads for preflight, writes of the start
//! routine and of breakpoints (the kernel writes through read-only text pages, copy on
//! write, as debuggers do).

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;

/// Read 8 bytes at `addr`.
pub fn read_u64(pid: i32, addr: u64) -> io::Result<u64> {
    let mut b = [0u8; 8];
    File::open(format!("/proc/{pid}/mem"))?.read_exact_at(&mut b, addr)?;
    Ok(u64::from_le_bytes(b))
}

/// The target's memory, open for reading and writing.
pub struct Memory {
    file: File,
}

impl Memory {
    /// Open /proc/PID/mem.
    pub fn open(pid: i32) -> io::Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(format!("/proc/{pid}/mem"))?;
        Ok(Memory { file })
    }

    /// Read `buf.len()` bytes at `addr`.
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> io::Result<()> {
        self.file.read_exact_at(buf, addr)
    }

    /// Write `data` at `addr`.
    pub fn write(&self, addr: u64, data: &[u8]) -> io::Result<()> {
        self.file.write_all_at(data, addr)
    }
}
