//! The gate every SVG picture passes before the report inlines it.
//!
//! The pictures come from refgraph's own renderers, which must escape the snapshot text they
//! draw (labels, type names, dict keys). This gate is the second line: it keeps only known
//! drawing elements, refuses event handlers (`on…=`) and links that leave the page, drops the
//! XML prolog and comments, and gives the picture's `id`s a per-picture prefix so that two
//! Graphviz pictures (both with `id="node1"`) or a picture and the page's own anchors never
//! collide. Anything it does not understand is refused, never repaired: the page then shows
//! "picture unavailable" with the reason.

use std::collections::HashSet;

/// Why a picture was not inlined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// There is no `<svg …>…</svg>` element.
    #[error("no <svg> element")]
    NoSvg,
    /// A tag, comment or quoted value does not end.
    #[error("malformed markup")]
    Malformed,
    /// An element outside the drawing vocabulary (`script`, `foreignObject`, HTML…).
    #[error("element <{0}> is not allowed")]
    Element(String),
    /// An event handler, or a link that leaves the page.
    #[error("attribute {0} is not allowed")]
    Attribute(String),
    /// `<!DOCTYPE`, `<![CDATA[` or `<?…?>` inside the picture.
    #[error("declarations inside the picture are not allowed")]
    Declaration,
}

/// The SVG elements a drawing needs (Graphviz's output and simple hand-made pictures). No
/// `script`, `foreignObject`, `animate`/`set` (which can rewrite an `href`), `iframe`, or
/// any HTML element (those break out of SVG in the HTML parser).
const ELEMENTS: &[&str] = &[
    "svg",
    "g",
    "defs",
    "title",
    "desc",
    "metadata",
    "style",
    "path",
    "rect",
    "circle",
    "ellipse",
    "line",
    "polyline",
    "polygon",
    "text",
    "tspan",
    "textpath",
    "a",
    "marker",
    "lineargradient",
    "radialgradient",
    "stop",
    "clippath",
    "mask",
    "pattern",
    "symbol",
    "use",
    "image",
    "switch",
];

/// Check `svg` and return the markup to inline; `prefix` is put before every `id`.
pub fn guard(svg: &str, prefix: &str) -> Result<String, Refused> {
    let body = svg_element(svg)?;
    let tokens = tokenize(body)?;
    let local_ids = collect_ids(&tokens);
    let mut out = String::with_capacity(body.len() + 64);
    for token in &tokens {
        match token {
            Token::Text(t) => out.push_str(t),
            Token::Comment => {}
            Token::Tag(tag) => write_tag(&mut out, tag, prefix, &local_ids)?,
        }
    }
    Ok(out)
}

/// The text from the first `<svg` to the end of the last `</svg>`: the XML declaration,
/// DOCTYPE and comments before it are dropped.
fn svg_element(svg: &str) -> Result<&str, Refused> {
    let lower = svg.to_ascii_lowercase();
    let start = lower.find("<svg").ok_or(Refused::NoSvg)?;
    let end = lower.rfind("</svg").ok_or(Refused::NoSvg)?;
    let close = lower[end..].find('>').ok_or(Refused::Malformed)? + end + 1;
    if end < start {
        return Err(Refused::NoSvg);
    }
    Ok(&svg[start..close])
}

enum Token<'a> {
    Text(&'a str),
    Comment,
    Tag(Tag<'a>),
}

struct Tag<'a> {
    closing: bool,
    self_closing: bool,
    name: &'a str,
    attrs: Vec<(&'a str, Option<&'a str>)>,
}

fn tokenize(s: &str) -> Result<Vec<Token<'_>>, Refused> {
    let mut tokens = Vec::new();
    let mut at = 0;
    while let Some(lt) = s[at..].find('<').map(|i| i + at) {
        if lt > at {
            tokens.push(Token::Text(&s[at..lt]));
        }
        let rest = &s[lt..];
        at = if rest.starts_with("<!--") {
            tokens.push(Token::Comment);
            lt + rest.find("-->").ok_or(Refused::Malformed)? + 3
        } else if rest.starts_with("<!") || rest.starts_with("<?") {
            return Err(Refused::Declaration);
        } else {
            let (tag, len) = parse_tag(rest)?;
            tokens.push(Token::Tag(tag));
            lt + len
        };
    }
    if at < s.len() {
        tokens.push(Token::Text(&s[at..]));
    }
    Ok(tokens)
}

/// Parse the tag at the start of `s` (which begins with `<`); returns it and its length.
fn parse_tag(s: &str) -> Result<(Tag<'_>, usize), Refused> {
    let mut p = Cursor { s, at: 1 };
    let closing = p.eat('/');
    let name = p.word();
    if name.is_empty() {
        return Err(Refused::Malformed);
    }
    let mut attrs = Vec::new();
    loop {
        p.skip_space();
        match p.peek() {
            None => return Err(Refused::Malformed),
            Some('>') => {
                let self_closing = s[..p.at].trim_end().ends_with('/');
                let tag = Tag {
                    closing,
                    self_closing,
                    name,
                    attrs,
                };
                return Ok((tag, p.at + 1));
            }
            Some('/') => p.at += 1,
            Some(_) => attrs.push(p.attribute()?),
        }
    }
}

/// A position in a tag being parsed.
struct Cursor<'a> {
    s: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<char> {
        self.s[self.at..].chars().next()
    }

    fn eat(&mut self, c: char) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.at += c.len_utf8();
        }
        hit
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    /// A tag or attribute name: up to whitespace, `/`, `>` or `=`.
    fn word(&mut self) -> &'a str {
        let start = self.at;
        while let Some(c) = self.peek() {
            if c.is_whitespace() || matches!(c, '/' | '>' | '=') {
                break;
            }
            self.at += c.len_utf8();
        }
        &self.s[start..self.at]
    }

    /// `name`, `name=value`, `name="value"` or `name='value'`.
    fn attribute(&mut self) -> Result<(&'a str, Option<&'a str>), Refused> {
        let name = self.word();
        if name.is_empty() {
            return Err(Refused::Malformed);
        }
        self.skip_space();
        if !self.eat('=') {
            return Ok((name, None));
        }
        self.skip_space();
        let value = match self.peek() {
            Some(q @ ('"' | '\'')) => self.quoted(q)?,
            _ => self.word(),
        };
        Ok((name, Some(value)))
    }

    fn quoted(&mut self, quote: char) -> Result<&'a str, Refused> {
        self.at += 1;
        let len = self.s[self.at..].find(quote).ok_or(Refused::Malformed)?;
        let value = &self.s[self.at..self.at + len];
        self.at += len + 1;
        Ok(value)
    }
}

/// The `id`s the picture defines: references to them are renamed with the ids.
fn collect_ids<'a>(tokens: &[Token<'a>]) -> HashSet<&'a str> {
    let mut ids = HashSet::new();
    for token in tokens {
        if let Token::Tag(tag) = token {
            let values = tag
                .attrs
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("id"));
            ids.extend(values.filter_map(|(_, v)| *v));
        }
    }
    ids
}

fn write_tag(
    out: &mut String,
    tag: &Tag<'_>,
    prefix: &str,
    ids: &HashSet<&str>,
) -> Result<(), Refused> {
    let local = tag
        .name
        .rsplit(':')
        .next()
        .unwrap_or(tag.name)
        .to_ascii_lowercase();
    if !ELEMENTS.contains(&local.as_str()) {
        return Err(Refused::Element(tag.name.to_string()));
    }
    out.push('<');
    if tag.closing {
        out.push('/');
    }
    out.push_str(tag.name);
    for &(name, value) in &tag.attrs {
        check_attribute(&local, name, value)?;
        write_attribute(out, name, value, prefix, ids);
    }
    out.push_str(if tag.self_closing { "/>" } else { ">" });
    Ok(())
}

/// Event handlers never pass; links must stay inside the page (`#…`), and an `<image>` may
/// carry its bitmap inline.
fn check_attribute(element: &str, name: &str, value: Option<&str>) -> Result<(), Refused> {
    let lower = name.to_ascii_lowercase();
    let refuse = || Err(Refused::Attribute(name.to_string()));
    if lower.starts_with("on") {
        return refuse();
    }
    let is_link = lower == "href" || lower.ends_with(":href");
    if !is_link {
        return Ok(());
    }
    let v = value.unwrap_or("").trim();
    let inline_bitmap = element == "image" && is_inline_bitmap(v);
    if v.is_empty() || v.starts_with('#') || inline_bitmap {
        Ok(())
    } else {
        refuse()
    }
}

fn is_inline_bitmap(v: &str) -> bool {
    let v = v.to_ascii_lowercase();
    ["png", "jpeg", "gif", "webp"]
        .iter()
        .any(|t| v.starts_with(&format!("data:image/{t};base64,")))
}

/// Write one attribute, double-quoted, renaming ids and references to them.
fn write_attribute(
    out: &mut String,
    name: &str,
    value: Option<&str>,
    prefix: &str,
    ids: &HashSet<&str>,
) {
    out.push(' ');
    out.push_str(name);
    let Some(v) = value else { return };
    let v = if name.eq_ignore_ascii_case("id") {
        format!("{prefix}{v}")
    } else {
        rename_references(v, prefix, ids)
    };
    out.push_str("=\"");
    // A value that was single-quoted may hold a `"`: keep it inside the quotes.
    out.push_str(&v.replace('"', "&quot;"));
    out.push('"');
}

/// `#x` and `url(#x)` point at `prefix` + `x` when `x` is one of the picture's own ids; links
/// to the page (`#obj-0x…`) are left alone.
fn rename_references(v: &str, prefix: &str, ids: &HashSet<&str>) -> String {
    if let Some(target) = v.strip_prefix('#') {
        if ids.contains(target) {
            return format!("#{prefix}{target}");
        }
        return v.to_string();
    }
    let mut out = String::with_capacity(v.len());
    let mut rest = v;
    while let Some(i) = rest.find("url(#") {
        let after = &rest[i + 5..];
        let end = after.find(')').unwrap_or(after.len());
        let target = &after[..end];
        out.push_str(&rest[..i + 5]);
        if ids.contains(target) {
            out.push_str(prefix);
        }
        out.push_str(target);
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(svg: &str) -> String {
        guard(svg, "p-").unwrap_or_else(|e| panic!("refused {svg}: {e}"))
    }

    #[test]
    fn graphviz_output_passes_without_its_prolog() {
        let svg = r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<!-- Generated by graphviz -->
<svg width="62pt" height="44pt" viewBox="0.00 0.00 62.00 44.00" xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">
<g id="graph0" class="graph" transform="scale(1 1) rotate(0) translate(4 40)">
<!-- o1 -->
<g id="node1" class="node"><title>o1</title>
<ellipse fill="none" stroke="black" cx="27" cy="-18" rx="27" ry="18"/>
<text text-anchor="middle" x="27" y="-14.3" font-family="Times,serif" font-size="14.00">&lt;list&gt; &amp; &#39;q&#39;</text>
</g></g></svg>
"#;
        let out = ok(svg);
        assert!(out.starts_with("<svg width=\"62pt\""), "{out}");
        assert!(out.ends_with("</svg>"), "{out}");
        assert!(!out.contains("<?xml") && !out.contains("DOCTYPE") && !out.contains("<!--"));
        assert!(out.contains(r#"<g id="p-node1" class="node">"#), "{out}");
        assert!(
            out.contains("&lt;list&gt; &amp; &#39;q&#39;"),
            "escaped text stays escaped"
        );
        assert!(out
            .contains(r#"<ellipse fill="none" stroke="black" cx="27" cy="-18" rx="27" ry="18"/>"#));
    }

    #[test]
    fn scripts_and_html_never_pass() {
        for bad in [
            "<svg><script>alert(1)</script></svg>",
            "<svg><SCRIPT>alert(1)</SCRIPT></svg>",
            "<svg><svg:script>alert(1)</svg:script></svg>",
            "<svg><foreignObject><div>x</div></foreignObject></svg>",
            "<svg><img src=x></svg>",
            "<svg><iframe srcdoc='x'></iframe></svg>",
            "<svg><a><animate attributeName=\"href\" values=\"javascript:alert(1)\"/></a></svg>",
            "<svg><set attributeName=\"onclick\" to=\"alert(1)\"/></svg>",
        ] {
            assert!(
                matches!(guard(bad, "p-"), Err(Refused::Element(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn event_handlers_and_outside_links_never_pass() {
        for bad in [
            r#"<svg onload="alert(1)"></svg>"#,
            r#"<svg><g ONCLICK='alert(1)'></g></svg>"#,
            r#"<svg><rect onmouseover=alert(1) /></svg>"#,
            r#"<svg><a href="javascript:alert(1)"><text>x</text></a></svg>"#,
            r#"<svg><a xlink:href=" JavaScript:alert(1)"><text>x</text></a></svg>"#,
            r#"<svg><a href="&#106;avascript:alert(1)"><text>x</text></a></svg>"#,
            r#"<svg><use href="https://example.com/x.svg#a"/></svg>"#,
            r#"<svg><image href="data:image/svg+xml;base64,AAAA"/></svg>"#,
        ] {
            assert!(
                matches!(guard(bad, "p-"), Err(Refused::Attribute(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn text_that_looks_like_a_handler_is_only_text() {
        let out = ok(r#"<svg><text x="1">onload=alert(1) &lt;script&gt;</text></svg>"#);
        assert_eq!(
            out,
            r#"<svg><text x="1">onload=alert(1) &lt;script&gt;</text></svg>"#
        );
    }

    #[test]
    fn broken_markup_is_refused() {
        assert_eq!(
            guard("<svg><g id=\"a></g></svg>", "p-"),
            Err(Refused::Malformed)
        );
        assert_eq!(
            guard("<svg><!-- open </svg>", "p-"),
            Err(Refused::Malformed)
        );
        assert_eq!(
            guard("<svg><![CDATA[x]]></svg>", "p-"),
            Err(Refused::Declaration)
        );
        assert_eq!(guard("<div>no picture</div>", "p-"), Err(Refused::NoSvg));
        assert_eq!(guard("", "p-"), Err(Refused::NoSvg));
    }

    #[test]
    fn local_references_follow_their_ids_and_page_links_stay() {
        let svg = r##"<svg><defs><linearGradient id="g1"/></defs><rect fill="url(#g1)"/><use href="#g1"/><a href="#obj-0x10"><text>o</text></a></svg>"##;
        let out = ok(svg);
        assert!(out.contains(r#"id="p-g1""#), "{out}");
        assert!(out.contains(r##"fill="url(#p-g1)""##), "{out}");
        assert!(out.contains(r##"<use href="#p-g1"/>"##), "{out}");
        assert!(out.contains(r##"<a href="#obj-0x10">"##), "{out}");
    }

    #[test]
    fn single_quoted_values_keep_their_quotes_inside() {
        let out = ok(r#"<svg><text font-family='"Noto Sans", sans-serif'>x</text></svg>"#);
        assert!(
            out.contains(r#"font-family="&quot;Noto Sans&quot;, sans-serif""#),
            "{out}"
        );
    }
}
