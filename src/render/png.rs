//! SVG → PNG with resvg, for both renderers' SVG, drawing text with the embedded font only.
//!
//! resvg draws no text at all when it finds no font: its font database maps `serif` and
//! `sans-serif` to Times New Roman and Arial, which a Debian machine lacks. So the database
//! holds just the embedded DejaVu Sans, every generic family points at it, and no system
//! font is read: the PNG looks the same on every machine, fonts installed or not.

use super::font::{DEJAVU_SANS, FAMILY};
use super::image::RenderError;
use resvg::tiny_skia::{Pixmap, Transform};
use resvg::usvg::{self, fontdb};
use std::sync::Arc;

/// Longest side of a PNG, in pixels; larger pictures are scaled down to fit (a 300-node
/// picture is a few thousand pixels wide at full size).
pub const MAX_SIDE: f32 = 16_000.0;
/// Most pixels in a PNG: 160 MB while drawing, and a 300-object picture keeps 10-pixel text.
pub const MAX_PIXELS: f32 = 40_000_000.0;

/// The PNG of an SVG document.
pub fn svg_to_png(svg: &[u8]) -> Result<Vec<u8>, RenderError> {
    let tree =
        usvg::Tree::from_data(svg, &options()).map_err(|e| RenderError::Svg(e.to_string()))?;
    let size = tree.size();
    let scale = fit_scale(size.width(), size.height());
    let width = (size.width() * scale).ceil() as u32;
    let height = (size.height() * scale).ceil() as u32;
    let mut pixmap =
        Pixmap::new(width.max(1), height.max(1)).ok_or(RenderError::TooLarge { width, height })?;
    resvg::render(
        &tree,
        Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| RenderError::Png(e.to_string()))
}

/// usvg's options with a font database of the embedded font alone.
fn options() -> usvg::Options<'static> {
    let mut opts = usvg::Options {
        font_family: FAMILY.to_string(),
        ..usvg::Options::default()
    };
    *opts.fontdb_mut() = embedded_fonts();
    opts
}

fn embedded_fonts() -> fontdb::Database {
    let mut db = fontdb::Database::new();
    db.load_font_source(fontdb::Source::Binary(Arc::new(DEJAVU_SANS)));
    db.set_serif_family(FAMILY);
    db.set_sans_serif_family(FAMILY);
    db.set_monospace_family(FAMILY);
    db.set_cursive_family(FAMILY);
    db.set_fantasy_family(FAMILY);
    db
}

/// 1, or less so the picture fits [`MAX_SIDE`] and [`MAX_PIXELS`].
fn fit_scale(width: f32, height: f32) -> f32 {
    let side = MAX_SIDE / width.max(height).max(1.0);
    let area = (MAX_PIXELS / (width * height).max(1.0)).sqrt();
    side.min(area).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_pixels(svg: &str) -> Pixmap {
        let png = svg_to_png(svg.as_bytes()).expect("renders");
        Pixmap::decode_png(&png).expect("a PNG")
    }

    fn dark_pixels(p: &Pixmap) -> usize {
        p.pixels().iter().filter(|c| c.red() < 128).count()
    }

    /// Generic families resolve to the embedded font, so text is drawn with no system fonts.
    #[test]
    fn text_is_drawn_with_the_embedded_font_whatever_family_is_asked() {
        for family in ["sans-serif", "serif", "Times,serif", "DejaVu Sans"] {
            let svg = |text: &str| {
                format!(
                    r#"<svg xmlns="http://www.w3.org/2000/svg" width="120" height="30"><rect width="120" height="30" fill="white"/><text x="5" y="20" font-family="{family}" font-size="14">{text}</text></svg>"#
                )
            };
            let with = dark_pixels(&png_pixels(&svg("list [0]")));
            let without = dark_pixels(&png_pixels(&svg("")));
            assert_eq!(without, 0);
            assert!(with > 50, "{family}: {with} dark pixels");
        }
    }

    #[test]
    fn huge_pictures_are_scaled_to_fit() {
        assert_eq!(fit_scale(800.0, 600.0), 1.0);
        assert!((fit_scale(32_000.0, 100.0) - 0.5).abs() < 1e-6);
        assert!(fit_scale(10_000.0, 10_000.0) <= 0.64);
    }
}
