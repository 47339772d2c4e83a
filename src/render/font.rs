//! The embedded font (DejaVu Sans, `assets/DejaVuSans.ttf`, licence beside it) and text
//! measurement with it. Pictures are drawn with this one font everywhere: the builtin layout
//! sizes boxes from its advance widths, `dot` is told to measure with it, and the PNG
//! rasterizer loads only it, so a machine with no fonts installed still gets labelled PNGs
//! and every machine gets the same picture.

use skrifa::instance::{LocationRef, Size};
use skrifa::{FontRef, MetadataProvider};

/// The TrueType file.
pub static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// The family name inside it, as SVG `font-family` and DOT `fontname` ask for it.
pub const FAMILY: &str = "DejaVu Sans";

/// What SVG readers that lack DejaVu Sans should use: Verdana has nearly its widths (both
/// descend from Bitstream Vera's design brief), then any sans.
pub const FONT_STACK: &str = "DejaVu Sans, Verdana, sans-serif";

/// The width of `text` set in the embedded font at `size` pixels, from its advance widths.
/// Characters the font lacks (CJK, emoji) count one em: they are drawn by a fallback font or
/// as a missing-glyph box, both about that wide.
pub fn text_width(text: &str, size: f32) -> f64 {
    let Ok(font) = FontRef::new(DEJAVU_SANS) else {
        return fallback_width(text, size);
    };
    let charmap = font.charmap();
    let metrics = font.glyph_metrics(Size::new(size), LocationRef::default());
    let width: f32 = text
        .chars()
        .map(|c| {
            charmap
                .map(c)
                .and_then(|g| metrics.advance_width(g))
                .unwrap_or(size)
        })
        .sum();
    f64::from(width)
}

/// An estimate for when the font cannot be read (it is compiled in, so never in practice).
fn fallback_width(text: &str, size: f32) -> f64 {
    text.chars().count() as f64 * f64::from(size) * 0.6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_font_measures_text() {
        let narrow = text_width("iiii", 14.0);
        let wide = text_width("WWWW", 14.0);
        assert!(narrow > 5.0 && wide > 2.0 * narrow, "{narrow} {wide}");
        assert_eq!(text_width("", 14.0), 0.0);
        assert!(
            (text_width("🐍", 10.0) - 10.0).abs() < 1e-6,
            "missing glyph: one em"
        );
    }
}
