//! Turning answers into bytes: one module per output format. Renderers never walk the graph.

pub mod dot;
pub mod json;
pub mod text;
