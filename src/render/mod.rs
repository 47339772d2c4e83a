//! Turning answers into bytes: one module per output format. Renderers never walk the graph.

pub mod dot;
pub mod font;
pub mod graphviz;
pub mod html;
pub mod image;
pub mod json;
pub mod layered;
pub mod paint;
pub mod png;
pub mod sites;
pub mod style;
pub mod svg;
pub mod text;
