//! Text for allocation sites: the `allocated at` lines of `show` and `chain`, and the tables
//! of `types --by site` / `find --by site`.

use super::text::{human_size, term_safe, thousands};
use crate::query::sites::{SiteShare, SiteStat};
use crate::snapshot::Frame;
use std::io::{self, Write};

/// Shown for the objects without a site.
pub const NO_SITE: &str = "(no site: allocated before tracing started, or reused memory)";

/// `  allocated at FILE:LINE`, and with `stack` the older frames under it.
pub fn write_allocated(w: &mut dyn Write, frames: &[Frame], stack: bool) -> io::Result<()> {
    let Some(first) = frames.first() else {
        return Ok(());
    };
    writeln!(w, "  allocated at {}", term_safe(&first.to_string()))?;
    if stack {
        for f in &frames[1..] {
            writeln!(w, "             from {}", term_safe(&f.to_string()))?;
        }
    }
    Ok(())
}

/// `count  size  site`, one row per allocating line; `what` names what was counted.
pub fn write_site_stats(w: &mut dyn Write, what: &str, stats: &[SiteStat]) -> io::Result<()> {
    writeln!(
        w,
        "{:>12}  {:>10}  allocated at ({})",
        "count",
        "size",
        term_safe(what)
    )?;
    for s in stats {
        let site = s
            .site
            .as_ref()
            .map_or_else(|| NO_SITE.to_string(), |f| f.to_string());
        writeln!(
            w,
            "{:>12}  {:>10}  {}",
            thousands(s.count),
            human_size(s.size),
            term_safe(&site)
        )?;
    }
    Ok(())
}

/// `top`'s line under an accumulation point: `  allocated mostly at FILE:LINE (N of them, P%)`.
pub fn write_site_share(w: &mut dyn Write, share: Option<&SiteShare>) -> io::Result<()> {
    let Some(s) = share else {
        return Ok(());
    };
    writeln!(
        w,
        "  allocated mostly at {} ({} of them, {}%)",
        term_safe(&s.site.to_string()),
        thousands(s.count),
        s.percent
    )
}
