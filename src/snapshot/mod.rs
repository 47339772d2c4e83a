//! The data model and the file format: records on disk, the loader, the in-memory graph.

pub mod binary;
mod column;
pub mod format;
pub mod graph;
mod id_index;
mod id_order;
mod id_rank;
pub mod index;
pub mod load;
mod read;
pub(crate) use read::Stamp;
pub mod sites;

pub use graph::{sum_sizes, EdgeLabel, NodeIx, ObjectId, Root, RootKind, Snapshot, TypeName};
pub use load::{load, parse_snapshot, LoadError};
pub use sites::Frame;
