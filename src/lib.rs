//! refgraph: find out why a Python process keeps memory alive.
//!
//! The flow is one way: a stdlib-only dumper ([`capture`]) writes a heap snapshot file, the
//! [`snapshot`] loader reads it into a CSR graph, [`query`] modules answer questions about it
//! as plain data, and [`render`] modules turn those answers into text, JSON or DOT.

pub mod attach;
pub mod capture;
pub mod cli;
pub mod commands;
pub mod demo;
mod hugepages;
pub mod interrupt;
pub mod mapfault;
mod open;
pub mod output;
pub mod query;
pub mod render;
pub mod select;
pub mod session;
pub mod shell;
pub mod snapshot;

pub use snapshot::{load, NodeIx, ObjectId, Snapshot};
