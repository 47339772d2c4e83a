//! Pictures: the one entry point that turns a [`SubgraphView`] into SVG or PNG bytes, with
//! Graphviz `dot` when it is installed (the best layout) or the builtin pure-Rust layout
//! ([`super::svg`]) otherwise. PNG is always resvg's rendering of the SVG, with the
//! embedded font, so both renderers give labelled PNGs on machines without fonts.

use super::dot::{write_dot_with, DotOptions};
use super::font::FAMILY;
use super::graphviz::{find_dot, run_dot, DOT_TIMEOUT};
use super::{png, style, svg};
use crate::query::subgraph::SubgraphView;
use std::path::Path;

/// Above this many objects `dot` gets no edge labels: they make its layout superlinear
/// (measured, `dot -Tsvg`: 300 labelled nodes 0.13 s, 1000 labelled 10 s, 1000 unlabelled 2 s).
pub const DOT_EDGE_LABEL_LIMIT: usize = 400;

/// A picture format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImageFormat {
    /// Scalable vector graphics (hover a box for its type, address, size and depth).
    Svg,
    /// A bitmap.
    Png,
}

impl ImageFormat {
    /// The format a file name asks for, by its extension (any case).
    pub fn from_path(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "svg" => Some(ImageFormat::Svg),
            "png" => Some(ImageFormat::Png),
            _ => None,
        }
    }

    /// `svg` / `png`, as file extensions.
    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Svg => "svg",
            ImageFormat::Png => "png",
        }
    }
}

/// Who lays the picture out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Renderer {
    /// Graphviz `dot` (must be on PATH).
    Dot,
    /// refgraph's own layout (dagre), no Graphviz needed.
    Builtin,
}

impl Renderer {
    /// `dot` when it is on `PATH`, else `builtin`.
    pub fn detect() -> Self {
        if find_dot().is_some() {
            Renderer::Dot
        } else {
            Renderer::Builtin
        }
    }

    /// `dot` / `builtin`, as `--renderer` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Renderer::Dot => "dot",
            Renderer::Builtin => "builtin",
        }
    }
}

/// Why a picture could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// `dot` is not installed.
    #[error("Graphviz `dot` not found on PATH: install graphviz, or use --renderer builtin")]
    DotNotFound,
    /// `dot` could not be run or waited for.
    #[error("could not run Graphviz `dot`: {0}")]
    DotIo(#[source] std::io::Error),
    /// `dot` exited with an error.
    #[error("Graphviz `dot` failed ({}): {stderr}", exit_text(*.status))]
    DotFailed {
        /// Its exit code (`None`: killed by a signal).
        status: Option<i32>,
        /// What it said.
        stderr: String,
    },
    /// `dot` ran too long and was stopped.
    #[error("Graphviz `dot` took more than {seconds} s and was stopped: draw fewer objects (--max-nodes) or use --renderer builtin")]
    DotTimeout {
        /// The time limit.
        seconds: u64,
    },
    /// The SVG could not be read back for rasterizing.
    #[error("could not read the SVG to make a PNG: {0}")]
    Svg(String),
    /// The PNG could not be encoded.
    #[error("could not encode the PNG: {0}")]
    Png(String),
    /// The bitmap would not fit in memory.
    #[error("a {width}×{height} PNG is too large to draw")]
    TooLarge {
        /// Pixels.
        width: u32,
        /// Pixels.
        height: u32,
    },
}

fn exit_text(status: Option<i32>) -> String {
    status.map_or_else(|| "killed".to_string(), |c| format!("exit {c}"))
}

/// `view` as an SVG or PNG file's bytes, captioned with the usual legend.
pub fn render_image(
    view: &SubgraphView,
    format: ImageFormat,
    renderer: Renderer,
) -> Result<Vec<u8>, RenderError> {
    render_image_with_legend(view, &style::legend(view), format, renderer)
}

/// [`render_image`] with a caption of the caller's (chain and cycle pictures).
pub fn render_image_with_legend(
    view: &SubgraphView,
    legend: &str,
    format: ImageFormat,
    renderer: Renderer,
) -> Result<Vec<u8>, RenderError> {
    let svg = match renderer {
        Renderer::Dot => dot_svg(view, legend)?,
        Renderer::Builtin => svg::write_svg(view, legend).into_bytes(),
    };
    match format {
        ImageFormat::Svg => Ok(svg),
        ImageFormat::Png => png::svg_to_png(&svg),
    }
}

/// `dot -Tsvg` of the view's DOT, measured in the embedded font so the PNG's text fits its
/// boxes; without edge labels when the graph is large enough to make `dot` slow.
fn dot_svg(view: &SubgraphView, legend: &str) -> Result<Vec<u8>, RenderError> {
    let no_edge_labels = view.nodes.len() > DOT_EDGE_LABEL_LIMIT;
    let legend = if no_edge_labels {
        format!("{legend}; edge labels left out above {DOT_EDGE_LABEL_LIMIT} objects")
    } else {
        legend.to_string()
    };
    let opts = DotOptions {
        legend: Some(legend),
        fontname: Some(FAMILY.to_string()),
        no_edge_labels,
    };
    let mut text = Vec::new();
    write_dot_with(&mut text, view, &opts).map_err(RenderError::DotIo)?;
    run_dot(&String::from_utf8_lossy(&text), "svg", DOT_TIMEOUT)
}
