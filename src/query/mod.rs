//! Questions asked of a [`Snapshot`](crate::Snapshot), one module each. Queries return plain
//! data (serde structs); they never print.

pub mod chain;
pub mod cycles;
pub mod diff;
pub mod dominators;
pub mod find;
pub mod identity;
pub mod object;
pub mod orphans;
pub mod reach;
pub mod report;
pub mod retained;
pub mod scc;
pub mod show;
pub mod sites;
pub mod steady;
pub mod subgraph;
pub mod summary;
pub mod types;
