//! Exported symbols of an ELF64 shared object or executable: its `.dynsym`, read from the
//! file the target mapped, so no debug symbols are needed.

use std::collections::HashMap;

/// Why a file's symbols could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ElfError {
    /// Not a little-endian ELF64 file, or a table points outside it.
    #[error("not a readable ELF64 file: {0}")]
    Malformed(&'static str),
}

/// What `symbols` needs from one ELF file.
#[derive(Debug, Default)]
pub struct ElfSymbols {
    /// Address (before relocation) of each wanted defined symbol found.
    pub symbols: HashMap<String, u64>,
    /// `p_vaddr` of the first `PT_LOAD` segment, page-aligned: the load bias is the
    /// mapping's start at file offset 0 minus this.
    pub first_load_vaddr: u64,
}

fn u16_at(data: &[u8], at: usize) -> Result<u16, ElfError> {
    data.get(at..at + 2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .ok_or(ElfError::Malformed("truncated"))
}

fn u32_at(data: &[u8], at: usize) -> Result<u32, ElfError> {
    data.get(at..at + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or(ElfError::Malformed("truncated"))
}

fn u64_at(data: &[u8], at: usize) -> Result<u64, ElfError> {
    let b = data
        .get(at..at + 8)
        .ok_or(ElfError::Malformed("truncated"))?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Ok(u64::from_le_bytes(a))
}

fn index(v: u64) -> Result<usize, ElfError> {
    usize::try_from(v).map_err(|_| ElfError::Malformed("offset too large"))
}

/// Find the defined (non-zero, non-undefined) dynamic symbols named in `wanted`.
pub fn symbols(data: &[u8], wanted: &[&str]) -> Result<ElfSymbols, ElfError> {
    if data.get(0..4) != Some(b"\x7fELF") {
        return Err(ElfError::Malformed("no ELF magic"));
    }
    if data.get(4) != Some(&2) || data.get(5) != Some(&1) {
        return Err(ElfError::Malformed("not 64-bit little-endian"));
    }
    let phoff = index(u64_at(data, 0x20)?)?;
    let shoff = index(u64_at(data, 0x28)?)?;
    let phentsize = usize::from(u16_at(data, 0x36)?);
    let phnum = usize::from(u16_at(data, 0x38)?);
    let shentsize = usize::from(u16_at(data, 0x3a)?);
    let shnum = usize::from(u16_at(data, 0x3c)?);
    let mut out = ElfSymbols::default();
    let mut load_found = false;
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        const PT_LOAD: u32 = 1;
        if u32_at(data, ph)? == PT_LOAD {
            out.first_load_vaddr = u64_at(data, ph + 0x10)? & !0xfff;
            load_found = true;
            break;
        }
    }
    if !load_found {
        return Err(ElfError::Malformed("no loadable segment"));
    }
    const SHT_DYNSYM: u32 = 11;
    const SHT_GNU_VERSYM: u32 = 0x6fff_ffff;
    // Symbol versions: of two definitions of one name (pthread_create@GLIBC_2.2.5 and
    // @@GLIBC_2.34), the default one (not hidden) is what the dynamic linker binds.
    let mut versym: Option<usize> = None;
    for i in 0..shnum {
        let sh = shoff + i * shentsize;
        if u32_at(data, sh + 4)? == SHT_GNU_VERSYM {
            versym = Some(index(u64_at(data, sh + 0x18)?)?);
        }
    }
    let hidden = |s: usize| -> bool {
        const VERSYM_HIDDEN: u16 = 0x8000;
        versym
            .and_then(|at| u16_at(data, at + 2 * s).ok())
            .is_some_and(|v| v & VERSYM_HIDDEN != 0)
    };
    for i in 0..shnum {
        let sh = shoff + i * shentsize;
        if u32_at(data, sh + 4)? != SHT_DYNSYM {
            continue;
        }
        let sym_off = index(u64_at(data, sh + 0x18)?)?;
        let sym_size = index(u64_at(data, sh + 0x20)?)?;
        let link = u32_at(data, sh + 0x28)? as usize;
        let entsize = index(u64_at(data, sh + 0x38)?)?.max(24);
        let strtab = shoff + link * shentsize;
        let str_off = index(u64_at(data, strtab + 0x18)?)?;
        let str_size = index(u64_at(data, strtab + 0x20)?)?;
        let strings = data
            .get(str_off..str_off.saturating_add(str_size))
            .ok_or(ElfError::Malformed("string table outside the file"))?;
        for s in 0..sym_size / entsize {
            let sym = sym_off + s * entsize;
            let name_at = u32_at(data, sym)? as usize;
            let shndx = u16_at(data, sym + 6)?;
            let value = u64_at(data, sym + 8)?;
            if shndx == 0 || value == 0 {
                continue; // undefined: another object provides it
            }
            let Some(rest) = strings.get(name_at..) else {
                continue;
            };
            let name = rest.split(|&b| b == 0).next().unwrap_or_default();
            if let Some(w) = wanted.iter().find(|w| w.as_bytes() == name) {
                if hidden(s) {
                    out.symbols.entry((*w).to_string()).or_insert(value);
                } else {
                    out.symbols.insert((*w).to_string(), value);
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_libc_exports_in_the_running_libc() {
        let maps = std::fs::read_to_string("/proc/self/maps").expect("maps");
        let libc = maps
            .lines()
            .filter_map(|l| l.split_whitespace().nth(5))
            .find(|p| p.contains("libc.so"))
            .expect("this test binary maps libc");
        let data = std::fs::read(libc).expect("read libc");
        let found = symbols(&data, &["mmap", "pthread_create", "no_such_symbol"]).expect("elf");
        assert!(found.symbols.contains_key("mmap"));
        assert!(found.symbols.contains_key("pthread_create"));
        assert!(!found.symbols.contains_key("no_such_symbol"));
    }

    #[test]
    fn refuses_what_is_not_elf() {
        assert!(symbols(b"#!/bin/sh\n", &["x"]).is_err());
        assert!(symbols(b"\x7fELF\x02\x01", &["x"]).is_err());
    }
}
