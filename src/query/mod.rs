//! Questions asked of a [`Snapshot`](crate::Snapshot), one module each. Queries return plain
//! data (serde structs); they never print.

pub mod chain;
pub mod object;
pub mod reach;
pub mod summary;
pub mod types;
