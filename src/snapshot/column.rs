//! A column of a loaded snapshot: a vector the loader built, or a slice of a mapped index file,
//! read in place — re-opening an indexed snapshot maps its arrays instead of copying them.
//!
//! A mapped column borrows pages of the page cache: no copy, no fresh zeroed memory, and pages
//! only the questions asked touch. The index is only ever replaced by a rename (a new inode),
//! so a map stays valid while another refgraph process writes the next index. Only another
//! program truncating the file in place could make a read of it fault; `mapfault` turns that
//! into a one-line error.

use memmap2::Mmap;
use std::fs::File;
use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

/// A whole file mapped read-only (or, where it cannot be mapped, read into memory), shared by
/// the columns that are slices of it.
#[derive(Debug, Clone)]
pub(crate) struct MappedFile(Arc<Bytes>);

#[derive(Debug)]
enum Bytes {
    /// The registration is dropped first, then the map is unmapped.
    Mapped {
        _fault: crate::mapfault::Registration,
        map: Mmap,
    },
    /// The file read into words, so that its sections are as aligned as in a map.
    Read { words: Vec<u64>, len: usize },
}

impl MappedFile {
    /// Map `file` read-only, all of its pages at once (one system call instead of a fault per
    /// 64 KiB as they are first read). A file system that cannot map files gets a copy.
    /// `path` names the file if it is cut short while mapped (see `mapfault`).
    pub(crate) fn map(file: &File, path: &Path) -> std::io::Result<MappedFile> {
        // SAFETY: the map is read-only and private to this process. refgraph writes index
        // files only to a temp file renamed into place, never in place, so the file mapped
        // here does not change while mapped (see the module note for a file truncated by
        // someone else).
        let bytes = match unsafe { memmap2::MmapOptions::new().populate().map(file) } {
            Ok(map) => Bytes::Mapped {
                _fault: crate::mapfault::register(map.as_ptr(), map.len(), path),
                map,
            },
            Err(_) => read_words(file)?,
        };
        Ok(MappedFile(Arc::new(bytes)))
    }

    /// All of the file's bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        match &*self.0 {
            Bytes::Mapped { map, .. } => map,
            Bytes::Read { words, len } => &bytemuck::cast_slice(words)[..*len],
        }
    }
}

fn read_words(mut file: &File) -> std::io::Result<Bytes> {
    use std::io::{Read, Seek};
    let len = usize::try_from(file.metadata()?.len()).map_err(std::io::Error::other)?;
    let mut words = vec![0u64; len.div_ceil(8)];
    file.rewind()?;
    file.read_exact(&mut bytemuck::cast_slice_mut(&mut words)[..len])?;
    Ok(Bytes::Read { words, len })
}

/// Values of type `T`, owned or read in place from a [`MappedFile`].
#[derive(Debug, Clone)]
pub struct Column<T: bytemuck::Pod> {
    store: Store<T>,
}

#[derive(Debug, Clone)]
enum Store<T> {
    Owned(Vec<T>),
    /// `len` values of `T` at `start`, inside the file `_keep` holds mapped (checked
    /// aligned and in bounds).
    Mapped {
        _keep: MappedFile,
        start: *const T,
        len: usize,
    },
}

impl<T: bytemuck::Pod> Column<T> {
    /// The `bytes` bytes at `offset` of `file` as a column, or `None` when they are not whole,
    /// aligned values of `T` inside the file.
    pub(crate) fn mapped(file: &MappedFile, offset: usize, bytes: usize) -> Option<Column<T>> {
        let end = offset.checked_add(bytes)?;
        let slice = file.bytes().get(offset..end)?;
        let values: &[T] = bytemuck::try_cast_slice(slice).ok()?;
        Some(Column {
            store: Store::Mapped {
                _keep: file.clone(),
                start: values.as_ptr(),
                len: values.len(),
            },
        })
    }

    /// The values as a vector that can grow, copied out of the map first if mapped.
    #[inline]
    pub(crate) fn to_mut(&mut self) -> &mut Vec<T> {
        if let Store::Mapped { .. } = self.store {
            self.copy_out();
        }
        match &mut self.store {
            Store::Owned(values) => values,
            Store::Mapped { .. } => unreachable!("just copied out"),
        }
    }

    /// Replace the mapped values by a copy of them in a vector.
    #[cold]
    #[inline(never)]
    fn copy_out(&mut self) {
        self.store = Store::Owned(self.to_vec());
    }

    #[inline]
    pub(crate) fn push(&mut self, value: T) {
        self.to_mut().push(value);
    }

    /// True when the values are read in place from a mapped file.
    #[cfg(test)]
    pub(crate) fn is_mapped(&self) -> bool {
        matches!(self.store, Store::Mapped { .. })
    }
}

// SAFETY: a mapped column is a read-only view of bytes owned by the `MappedFile` it holds
// (itself `Send + Sync`); the raw pointer only stands for a `&[T]` into them.
unsafe impl<T: bytemuck::Pod + Send + Sync> Send for Column<T> {}
// SAFETY: as for `Send`: shared access only ever reads.
unsafe impl<T: bytemuck::Pod + Send + Sync> Sync for Column<T> {}

impl<T: bytemuck::Pod> Deref for Column<T> {
    type Target = [T];

    #[inline]
    fn deref(&self) -> &[T] {
        match &self.store {
            Store::Owned(values) => values,
            // SAFETY: `start` and `len` were those of a checked slice of a file's bytes
            // (`Column::mapped`: aligned, whole values, in bounds), and `_keep` (held here) keeps
            // those bytes where they are, unchanged, for as long as this column lives. (A
            // checked cast on every access cost `top` 10 % of its time.)
            Store::Mapped { start, len, .. } => unsafe { std::slice::from_raw_parts(*start, *len) },
        }
    }
}

impl<T: bytemuck::Pod> Default for Column<T> {
    fn default() -> Self {
        Vec::new().into()
    }
}

impl<T: bytemuck::Pod> From<Vec<T>> for Column<T> {
    fn from(values: Vec<T>) -> Self {
        Column {
            store: Store::Owned(values),
        }
    }
}

impl<T: bytemuck::Pod> FromIterator<T> for Column<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        iter.into_iter().collect::<Vec<T>>().into()
    }
}

impl<T: bytemuck::Pod + PartialEq> PartialEq for Column<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<'a, T: bytemuck::Pod> IntoIterator for &'a Column<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// UTF-8 text, owned or read in place from a [`MappedFile`]: the arena of a text column.
#[derive(Debug, Clone, Default)]
pub struct Text {
    store: TextStore,
}

#[derive(Debug, Clone)]
enum TextStore {
    Owned(String),
    Mapped(Column<u8>),
}

impl Default for TextStore {
    fn default() -> Self {
        TextStore::Owned(String::new())
    }
}

impl Text {
    /// `bytes` as text, or `None` when they are not UTF-8.
    pub(crate) fn mapped(bytes: Column<u8>) -> Option<Text> {
        std::str::from_utf8(&bytes).ok()?;
        Some(Text {
            store: TextStore::Mapped(bytes),
        })
    }

    /// The text as a string that can grow, copied out of the map first if mapped.
    #[inline]
    pub(crate) fn to_mut(&mut self) -> &mut String {
        if let TextStore::Mapped(_) = self.store {
            self.copy_out();
        }
        match &mut self.store {
            TextStore::Owned(s) => s,
            TextStore::Mapped(_) => unreachable!("just copied out"),
        }
    }

    #[cold]
    #[inline(never)]
    fn copy_out(&mut self) {
        self.store = TextStore::Owned(self.to_string());
    }

    pub(crate) fn push_str(&mut self, text: &str) {
        self.to_mut().push_str(text);
    }
}

impl Deref for Text {
    type Target = str;

    #[inline]
    fn deref(&self) -> &str {
        match &self.store {
            TextStore::Owned(s) => s,
            // SAFETY: a mapped text was checked to be UTF-8 when made (`Text::mapped`), and
            // neither the column nor the map under it ever changes.
            TextStore::Mapped(bytes) => unsafe { std::str::from_utf8_unchecked(bytes) },
        }
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text {
            store: TextStore::Owned(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn mapped_file(bytes: &[u8]) -> (tempfile::NamedTempFile, MappedFile) {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(bytes).unwrap();
        file.flush().unwrap();
        let map = MappedFile::map(file.as_file(), file.path()).unwrap();
        (file, map)
    }

    #[test]
    fn a_mapped_column_reads_the_values_in_place() {
        let values: Vec<u32> = vec![7, 8, 9, 10];
        let mut bytes = vec![0u8; 8];
        bytes.extend(bytemuck::cast_slice::<u32, u8>(&values));
        let (_keep, map) = mapped_file(&bytes);
        let column: Column<u32> = Column::mapped(&map, 8, 16).unwrap();
        assert!(column.is_mapped());
        assert_eq!(&*column, &values[..]);
        assert_eq!(column, Column::from(values));
    }

    #[test]
    fn a_file_that_cannot_be_mapped_is_read_aligned_instead() {
        let bytes: Vec<u8> = (0..21).collect();
        let (file, _) = mapped_file(&bytes);
        let read = MappedFile(Arc::new(read_words(file.as_file()).unwrap()));
        assert_eq!(read.bytes(), &bytes[..]);
        let column: Column<u64> = Column::mapped(&read, 8, 8).unwrap();
        assert_eq!(
            column[0],
            u64::from_le_bytes([8, 9, 10, 11, 12, 13, 14, 15])
        );
    }

    #[test]
    fn a_mapped_column_must_be_aligned_whole_and_inside_the_file() {
        let (_keep, map) = mapped_file(&[0u8; 64]);
        assert!(Column::<u64>::mapped(&map, 4, 8).is_none(), "misaligned");
        assert!(
            Column::<u64>::mapped(&map, 8, 12).is_none(),
            "partial value"
        );
        assert!(
            Column::<u64>::mapped(&map, 56, 16).is_none(),
            "past the end"
        );
        assert!(
            Column::<u64>::mapped(&map, usize::MAX, 16).is_none(),
            "overflow"
        );
        assert_eq!(Column::<u64>::mapped(&map, 64, 0).map(|c| c.len()), Some(0));
    }

    #[test]
    fn pushing_to_a_mapped_column_copies_it_first() {
        let (_keep, map) = mapped_file(&[1, 2, 3]);
        let mut column: Column<u8> = Column::mapped(&map, 0, 3).unwrap();
        column.push(4);
        assert!(!column.is_mapped());
        assert_eq!(&*column, &[1, 2, 3, 4]);
    }

    #[test]
    fn mapped_text_must_be_utf8() {
        let (_keep, map) = mapped_file("héllo\u{ff}".as_bytes());
        let whole = Column::mapped(&map, 0, 6).unwrap();
        assert_eq!(&*Text::mapped(whole).unwrap(), "héllo");
        let cut = Column::mapped(&map, 0, 2).unwrap();
        assert!(Text::mapped(cut).is_none(), "cut inside é");
        let mut text = Text::mapped(Column::mapped(&map, 0, 1).unwrap()).unwrap();
        text.push_str("i");
        assert_eq!(&*text, "hi");
    }
}
