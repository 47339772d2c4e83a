//! Pictures: the one entry point that turns a [`SubgraphView`] into SVG or PNG bytes, with
//! Graphviz `dot` when it is installed (the best layout) or the builtin pure-Rust layout
//! ([`super::svg`]) otherwise. PNG is always resvg's rendering of the SVG, with the
//! embedded font, so both renderers give labelled PNGs on machines without fonts.

use super::dot::{write_dot_with, DotOptions};
use super::font::FONT_STACK;
use super::graphviz::{find_dot, run_dot, DOT_TIMEOUT};
use super::{png, style, svg};
use crate::query::subgraph::SubgraphView;
use std::path::Path;

/// Above this many labelled edges `dot` gets its edge labels as `xlabel`s, placed after the
/// layout: as `label`s they slow it superlinearly. Measured with `dot -Tsvg` on real
/// subgraphs (2 cores): 315 labelled edges 0.5 s, 455 1.7 s, 623 3–6 s; as xlabels 0.15–0.7 s.
pub const DOT_LABELLED_EDGE_LIMIT: usize = 350;

/// Pictures of more objects take seconds with either renderer (measured on 2 cores: 1000
/// objects and 2151 references, `dot` 8–12 s CPU, builtin 19 s), so the CLI says so first.
pub const SLOW_PICTURE_OBJECTS: usize = 500;

/// A picture format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImageFormat {
    /// Scalable vector graphics (hover a box for its type, address, size and depth).
    Svg,
    /// A bitmap.
    Png,
    /// PDF (Graphviz `dot` only).
    Pdf,
    /// PostScript (Graphviz `dot` only).
    Ps,
    /// Encapsulated PostScript (Graphviz `dot` only).
    Eps,
    /// GIF (Graphviz `dot` only).
    Gif,
    /// JPEG (Graphviz `dot` only).
    Jpg,
    /// BMP (Graphviz `dot` only).
    Bmp,
    /// TIFF (Graphviz `dot` only).
    Tiff,
    /// WebP (Graphviz `dot` only, when built with it).
    Webp,
}

/// The formats only Graphviz draws, as the messages list them.
pub const GRAPHVIZ_ONLY: &str = ".pdf, .ps, .eps, .gif, .jpg, .bmp, .tiff, .webp";

impl ImageFormat {
    /// The format a file name asks for, by its extension (any case).
    pub fn from_path(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "svg" => Some(ImageFormat::Svg),
            "png" => Some(ImageFormat::Png),
            "pdf" => Some(ImageFormat::Pdf),
            "ps" => Some(ImageFormat::Ps),
            "eps" => Some(ImageFormat::Eps),
            "gif" => Some(ImageFormat::Gif),
            "jpg" | "jpeg" => Some(ImageFormat::Jpg),
            "bmp" => Some(ImageFormat::Bmp),
            "tif" | "tiff" => Some(ImageFormat::Tiff),
            "webp" => Some(ImageFormat::Webp),
            _ => None,
        }
    }

    /// The file extension: `svg`, `png`, `pdf`, …
    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Svg => "svg",
            ImageFormat::Png => "png",
            ImageFormat::Pdf => "pdf",
            ImageFormat::Ps => "ps",
            ImageFormat::Eps => "eps",
            ImageFormat::Gif => "gif",
            ImageFormat::Jpg => "jpg",
            ImageFormat::Bmp => "bmp",
            ImageFormat::Tiff => "tiff",
            ImageFormat::Webp => "webp",
        }
    }

    /// `dot -T…` for a format only Graphviz draws; `None` for SVG and PNG, which both
    /// renderers draw.
    pub fn graphviz_only(self) -> Option<&'static str> {
        match self {
            ImageFormat::Svg | ImageFormat::Png => None,
            other => Some(other.extension()),
        }
    }

    /// Why this format cannot be drawn here: it needs `dot`, and `dot` is not on PATH
    /// (`None` when it can be drawn).
    pub fn missing_dot(self) -> Option<RenderError> {
        let needs = self.graphviz_only()?;
        find_dot().is_none().then_some(RenderError::NeedsDot {
            format: needs,
            on_path: false,
        })
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
    /// A format only Graphviz draws, without Graphviz.
    #[error("{} pictures are drawn by Graphviz `dot`, {}; refgraph itself draws .svg and .png (and writes .dot, .json). Graphviz formats: {GRAPHVIZ_ONLY}", .format.to_uppercase(), if *.on_path { "not by --renderer builtin" } else { "which is not on PATH: install graphviz" })]
    NeedsDot {
        /// The extension asked for.
        format: &'static str,
        /// `dot` is on PATH (the builtin renderer was asked for).
        on_path: bool,
    },
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
    if let Some(t) = format.graphviz_only() {
        return match renderer {
            Renderer::Dot => dot_output(view, legend, t),
            Renderer::Builtin => Err(RenderError::NeedsDot {
                format: t,
                on_path: find_dot().is_some(),
            }),
        };
    }
    let svg = match renderer {
        Renderer::Dot => dot_output(view, legend, "svg")?,
        Renderer::Builtin => svg::write_svg(view, legend).into_bytes(),
    };
    match format {
        ImageFormat::Png => png::svg_to_png(&svg),
        _ => Ok(svg),
    }
}

/// `dot -Tsvg` of the view's DOT, measured in the embedded font so the PNG's text fits its
/// boxes; with loosely placed edge labels when there are enough to make `dot` slow.
fn dot_output(view: &SubgraphView, legend: &str, format: &str) -> Result<Vec<u8>, RenderError> {
    let labelled = view.edges.iter().filter(|e| e.label.is_some()).count();
    let opts = DotOptions {
        legend: Some(legend.to_string()),
        fontname: Some(FONT_STACK.to_string()),
        loose_edge_labels: labelled > DOT_LABELLED_EDGE_LIMIT,
    };
    let mut text = Vec::new();
    write_dot_with(&mut text, view, &opts).map_err(RenderError::DotIo)?;
    run_dot(&String::from_utf8_lossy(&text), format, DOT_TIMEOUT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::subgraph::tests::{heap, obj, seed};
    use crate::query::subgraph::{
        chain_view, cycle_view, subgraph, SubgraphDirection, SubgraphOptions,
    };
    use crate::render::graphviz::find_dot;
    use crate::snapshot::{NodeIx, ObjectId, Snapshot};
    use resvg::tiny_skia::Pixmap;

    fn node(s: &Snapshot, id: u64) -> NodeIx {
        s.node_by_id(ObjectId(id)).expect("id in heap")
    }

    fn seed_view() -> SubgraphView {
        let s = seed();
        let opts = SubgraphOptions::default();
        subgraph(&s, &[node(&s, 10)], SubgraphDirection::Backrefs, &opts).view()
    }

    /// The same picture with every text empty: what is left is boxes and arrows.
    fn without_text(v: &SubgraphView) -> SubgraphView {
        let mut bare = v.clone();
        for n in &mut bare.nodes {
            n.type_name.clear();
            n.label = None;
        }
        for e in &mut bare.edges {
            e.label = None;
        }
        bare
    }

    /// Pixels that are neither white background nor a box's grey or green fill.
    fn ink(png: &[u8]) -> usize {
        let p = Pixmap::decode_png(png).expect("a PNG");
        p.pixels()
            .iter()
            .filter(|c| c.red() < 40 && c.green() < 40 && c.blue() < 40)
            .count()
    }

    #[test]
    fn the_png_has_text_drawn_with_the_embedded_font() {
        let v = seed_view();
        let bare = without_text(&v);
        let mut renderers = vec![Renderer::Builtin];
        if find_dot().is_some() {
            renderers.push(Renderer::Dot);
        } else {
            eprintln!("skipped the dot half: Graphviz `dot` is not on PATH");
        }
        for r in renderers {
            let with = render_image_with_legend(&v, "legend", ImageFormat::Png, r).expect("draws");
            let plain = render_image_with_legend(&bare, "", ImageFormat::Png, r).expect("draws");
            let (with, plain) = (ink(&with), ink(&plain));
            assert!(
                with > plain + 500,
                "{}: {with} dark pixels with text, {plain} without",
                r.name()
            );
        }
    }

    #[test]
    fn the_svg_names_what_it_draws() {
        let v = seed_view();
        let svg = render_image(&v, ImageFormat::Svg, Renderer::Builtin).expect("draws");
        let text = String::from_utf8(svg).expect("UTF-8");
        for want in [
            "list",
            "4 items",
            "[&apos;a&apos;]",
            "module",
            "__main__",
            "backrefs of list 0xa",
        ] {
            assert!(text.contains(want), "{want} missing");
        }
    }

    #[test]
    fn extensions_pick_the_format() {
        assert_eq!(
            ImageFormat::from_path(Path::new("a/b.SVG")),
            Some(ImageFormat::Svg)
        );
        assert_eq!(
            ImageFormat::from_path(Path::new("b.png")),
            Some(ImageFormat::Png)
        );
        assert_eq!(ImageFormat::from_path(Path::new("b.dot")), None);
        assert_eq!(ImageFormat::from_path(Path::new("png")), None);
    }

    #[test]
    fn a_chain_view_is_the_chain_members_and_their_links() {
        let s = seed();
        let chain = vec![node(&s, 1), node(&s, 2), node(&s, 10), node(&s, 11)];
        let v = chain_view(
            &s,
            std::slice::from_ref(&chain),
            SubgraphDirection::Backrefs,
        )
        .view();
        let ids: Vec<(&str, usize, bool)> = v
            .nodes
            .iter()
            .map(|n| (n.id.as_str(), n.depth, n.start))
            .collect();
        assert_eq!(
            ids,
            [
                ("0xb", 0, true),
                ("0xa", 1, false),
                ("0x2", 2, false),
                ("0x1", 3, false)
            ]
        );
        let edges: Vec<(&str, &str, Option<&str>)> = v
            .edges
            .iter()
            .map(|e| (e.from.as_str(), e.to.as_str(), e.label.as_deref()))
            .collect();
        assert_eq!(
            edges,
            [
                ("0x1", "0x2", Some(".__dict__")),
                ("0x2", "0xa", Some("['a']")),
                ("0xa", "0xb", Some("[3]"))
            ]
        );
        assert_eq!(v.max_depth, 3);
        assert!(v.nodes[3].module, "the root module is green");
        let forward = chain_view(&s, &[chain], SubgraphDirection::Refs).view();
        assert!(forward.nodes[0].start && forward.nodes[0].id == "0x1");
        let two = chain_view(
            &s,
            &[
                vec![node(&s, 2), node(&s, 10)],
                vec![node(&s, 11), node(&s, 10)],
            ],
            SubgraphDirection::Backrefs,
        )
        .view();
        assert_eq!(two.nodes.len(), 3, "shared objects are drawn once");
    }

    #[test]
    fn a_cycle_view_draws_every_reference_between_members() {
        let s = heap(
            &[
                obj(
                    1,
                    "list",
                    Some("2 items"),
                    &[(2, Some("[0]")), (1, Some("[1]"))],
                ),
                obj(
                    2,
                    "dict",
                    Some("1 item"),
                    &[(1, Some("['back']")), (3, Some("['out']"))],
                ),
                obj(3, "str", None, &[]),
            ],
            &[],
        );
        let v = cycle_view(&s, &[node(&s, 1), node(&s, 2), node(&s, 1)], 300).view();
        let depths: Vec<(usize, bool)> = v.nodes.iter().map(|n| (n.depth, n.start)).collect();
        assert_eq!(depths, [(0, true), (1, false)]);
        let labels: Vec<Option<&str>> = v.edges.iter().map(|e| e.label.as_deref()).collect();
        assert_eq!(
            labels,
            [Some("[0]"), Some("[1]"), Some("['back']")],
            "self-reference kept, outside left out"
        );
        let capped = cycle_view(&s, &[node(&s, 1), node(&s, 2)], 1).view();
        assert!(capped.cap_reached && capped.nodes.len() == 1);
    }
}
