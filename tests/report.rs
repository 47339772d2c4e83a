//! The HTML report: a real program's hostile heap text stays text, the CLI writes the page,
//! growth shows against a baseline, and the page works in a real browser (headless Chromium:
//! no console errors, no injected script runs, sorting and pan/zoom respond), with a
//! screenshot kept in target/test-artifacts/.

use crate::util::{run, Workdir};
use refgraph::query::cycles::CycleInfo;
use refgraph::query::object::ObjectInfo;
use refgraph::query::report::{build_report, CyclePicture, Report, ReportOptions};
use refgraph::render::html::render_html;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Passed on the fixture's command line: argv is shown in the header.
const ARGV_PAYLOAD: &str = "<script>document.title='PWNED'</script>";

/// Capture tests/scripts/report_app.py (markup in keys, values, a class, a module, argv).
fn capture_app(w: &Workdir) -> String {
    w.capture("report_app.py", &[ARGV_PAYLOAD])
}

fn report_of(snap: &str, baseline: Option<&str>, picture: CyclePicture<'_>) -> Report {
    let snap = refgraph::load(Path::new(snap)).expect("snapshot loads");
    let old = baseline.map(|b| refgraph::load(Path::new(b)).expect("baseline loads"));
    let tree = refgraph::query::retained::Retained::compute(&snap);
    build_report(
        &snap,
        &tree,
        old.as_ref(),
        &ReportOptions::default(),
        picture,
    )
}

fn no_picture(_: &CycleInfo) -> Option<String> {
    None
}

// ---- A stand-in for the real SVG renderer: members on a circle, references as arrows.

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    s.chars().take(n - 1).chain(std::iter::once('…')).collect()
}

const STAND_IN_HEAD: &str = concat!(
    r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 600 340" width="600" height="340" font-family="sans-serif" font-size="12">"##,
    r##"<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#5f6b7a"/></marker></defs>"##
);

/// Draws every member of the cycle as a labelled box on a circle and every inner reference
/// as an arrow; all snapshot text escaped, as the real renderer must.
fn stand_in_picture(c: &CycleInfo) -> Option<String> {
    let spots = ring(c.examples.len());
    let index = |id: &str| c.examples.iter().position(|o| o.id == id);
    let mut svg = String::from(STAND_IN_HEAD);
    for e in &c.edges {
        if let (Some(a), Some(b)) = (index(&e.from), index(&e.to)) {
            svg.push_str(&arrow(
                spots[a],
                spots[b],
                e.label.as_deref().unwrap_or("?"),
            ));
        }
    }
    for (o, &spot) in c.examples.iter().zip(&spots) {
        svg.push_str(&member_box(o, spot));
    }
    svg.push_str("</svg>");
    Some(svg)
}

/// `n` points on a circle, the first at the top.
fn ring(n: usize) -> Vec<(f64, f64)> {
    let radius = if n > 1 { 110.0 } else { 0.0 };
    (0..n)
        .map(|i| {
            let a = std::f64::consts::TAU * i as f64 / n as f64 - std::f64::consts::FRAC_PI_2;
            (300.0 + radius * a.cos(), 170.0 + radius * a.sin())
        })
        .collect()
}

/// A labelled arrow between two box centres, stopping at the boxes' edges.
fn arrow((x1, y1): (f64, f64), (x2, y2): (f64, f64), label: &str) -> String {
    let (dx, dy) = (x2 - x1, y2 - y1);
    let len = (dx * dx + dy * dy).sqrt().max(1.0);
    let (ux, uy) = (dx / len * 44.0, dy / len * 22.0);
    let (mx, my) = ((x1 + x2) / 2.0 + 6.0, (y1 + y2) / 2.0 - 4.0);
    format!(
        r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#8a96a8" stroke-width="1.4" marker-end="url(#arrow)"/><text x="{mx:.1}" y="{my:.1}" fill="#2f6fdd" text-anchor="middle" font-family="monospace" font-size="11">{}</text>"##,
        x1 + ux,
        y1 + uy,
        x2 - ux,
        y2 - uy,
        xml_escape(&clip(label, 24))
    )
}

/// One member: type and label in a rounded box that links to its details.
fn member_box(o: &ObjectInfo, (x, y): (f64, f64)) -> String {
    let fill = if o.garbage { "#fdecea" } else { "#e8f0fd" };
    format!(
        r##"<a href="#obj-{id}"><g><title>{title}</title><rect x="{:.1}" y="{:.1}" width="150" height="44" rx="8" fill="{fill}" stroke="#2f6fdd"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" font-weight="bold" fill="#1d2330">{ty}</text><text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="#5f6b7a" font-size="11">{label}</text></g></a>"##,
        x - 75.0,
        y - 22.0,
        y - 4.0,
        y + 13.0,
        id = xml_escape(&o.id),
        title = xml_escape(&format!("{} {}", o.type_long, o.id)),
        ty = xml_escape(&clip(&o.type_name, 22)),
        label = xml_escape(&clip(o.label.as_deref().unwrap_or(""), 22)),
    )
}

// ---- Escaping, without a browser.

/// The raw payloads must never appear; their escaped forms must.
fn assert_escaped(html: &str) {
    for raw in [
        "<script>document.title",
        "<img src=x",
        "<h1>broken layout",
        "</textarea>",
    ] {
        assert!(
            !html.contains(raw),
            "raw snapshot markup {raw:?} reached the page"
        );
    }
    assert_eq!(
        html.matches("<script").count(),
        1,
        "only the page's own script"
    );
    assert!(html.contains("&lt;script&gt;document.title=&#x27;PWNED&#x27;&lt;&#x2f;script&gt;"));
    assert!(html.contains("&lt;img src=x onerror=&quot;document.title="));
}

#[test]
fn snapshot_text_is_escaped_everywhere() {
    let w = Workdir::new();
    let snap = capture_app(&w);
    let report = report_of(&snap, None, &stand_in_picture);
    let html = render_html(&report).expect("the page renders");
    assert_escaped(&html);
    // Each place the fixture puts markup: argv, a module name, a class name, dict keys.
    assert!(report
        .summary
        .snapshot
        .argv
        .iter()
        .any(|a| a == ARGV_PAYLOAD));
    assert!(
        report
            .types
            .iter()
            .any(|t| t.type_name.contains("<img src=x")),
        "the class shows in the type table"
    );
    assert!(
        html.contains("module &lt;script&gt;"),
        "the module name shows in a chain"
    );
    assert!(html.contains("emoji 🐍🔥"), "emoji pass through unharmed");
    assert!(
        html.contains("&amp;amp; &amp;lt;b&amp;gt;"),
        "entities in values are shown, not decoded"
    );
}

#[test]
fn the_list_cycle_has_an_entry_and_linked_details() {
    let w = Workdir::new();
    let snap = capture_app(&w);
    let report = report_of(&snap, None, &stand_in_picture);
    let entry = report
        .cycles
        .entries
        .iter()
        .find(|e| {
            e.cycle
                .types
                .iter()
                .map(|t| (t.type_name.as_str(), t.count))
                .eq([("list", 2), ("dict", 1)])
        })
        .expect("the fixture's cycle: two lists and the payload dict");
    assert!(!entry.cycle.garbage);
    assert!(entry.svg.is_some());
    let html = render_html(&report).expect("the page renders");
    for o in &entry.cycle.examples {
        assert!(
            html.contains(&format!(
                "<details class=\"card object\" id=\"obj-{}\">",
                o.id
            )),
            "details of {}",
            o.id
        );
        assert!(
            html.contains(&format!("href=\"#obj-{}\"", o.id)),
            "a link to {}",
            o.id
        );
    }
}

#[test]
fn pictures_with_scripts_are_withheld() {
    let w = Workdir::new();
    let snap = capture_app(&w);
    let evil = |_: &CycleInfo| {
        Some("<svg onload=\"document.title='PWNED'\"><script>x()</script></svg>".to_string())
    };
    let html = render_html(&report_of(&snap, None, &evil)).expect("the page renders");
    assert!(
        html.contains("picture withheld: attribute onload is not allowed"),
        "the reason is shown"
    );
    assert!(!html.contains("<svg onload"));
    let none = render_html(&report_of(&snap, None, &no_picture)).expect("the page renders");
    assert!(none.contains("picture unavailable"));
}

#[test]
fn cli_writes_the_page_next_to_the_snapshot() {
    let w = Workdir::new();
    let snap = capture_app(&w);
    let out = run(&["report", &snap]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let page = w.path("report_app.html");
    assert!(
        stderr.contains(&format!("wrote {}", page.display())),
        "{stderr}"
    );
    let html = std::fs::read_to_string(&page).expect("the page exists");
    assert_escaped(&html);
    assert!(
        !html.contains("picture unavailable") && html.matches("<svg").count() >= 1,
        "the CLI draws each cycle's picture"
    );
    let explicit = w.arg("out.html");
    let out = run(&[
        "report", &snap, "-o", &explicit, "--top", "3", "--cycles", "1",
    ]);
    assert!(out.status.success());
    let html = std::fs::read_to_string(&explicit).expect("-o is honoured");
    assert_eq!(
        html.matches("<article class=\"card cycle\"").count(),
        1,
        "--cycles 1"
    );
    assert!(html.contains(">Retained</th>"), "retained sizes by default");
    let out = run(&["report", &snap, "-o", &explicit, "--no-retained"]);
    assert!(out.status.success());
    let html = std::fs::read_to_string(&explicit).expect("the page exists");
    assert!(
        !html.contains(">Retained</th>"),
        "--no-retained leaves the column out"
    );
}

#[test]
fn retained_sizes_cover_what_an_object_holds() {
    let w = Workdir::new();
    let snap = capture_app(&w);
    let report = report_of(&snap, None, &no_picture);
    for row in &report.largest {
        let retained = row.retained.expect("computed by default");
        assert!(retained >= row.object.size, "{row:?}");
    }
    let dicts = report
        .types
        .iter()
        .find(|t| t.type_name == "dict")
        .expect("dicts");
    assert!(dicts.retained.is_some_and(|r| r >= dicts.size));
}

#[test]
fn the_report_data_reads_back_as_its_schema() {
    let w = Workdir::new();
    let snap = capture_app(&w);
    let report = report_of(&snap, None, &stand_in_picture);
    let text = serde_json::to_string(&report).expect("serializes");
    // Every struct denies unknown fields, so this checks the schema end to end.
    let back: Report = serde_json::from_str(&text).expect("deserializes");
    assert_eq!(back.details, report.details);
    assert_eq!(back.cycles, report.cycles);
    assert_eq!(back.largest, report.largest);
}

#[test]
fn cli_reports_a_missing_snapshot_and_writes_nothing() {
    let w = Workdir::new();
    let out = run(&["report", &w.arg("missing.rgsnap"), "-o", &w.arg("r.html")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!w.path("r.html").exists());
}

#[test]
fn growth_against_a_baseline() {
    let w = Workdir::new();
    let dir = w.dumper_dir();
    let (a, b) = (w.arg("a.rgsnap"), w.arg("b.rgsnap"));
    w.python("grow.py", &[&dir, &a, &b]);
    let report = report_of(&b, Some(&a), &no_picture);
    let growth = report.growth.as_ref().expect("a growth section");
    let leaked = growth
        .types
        .iter()
        .find(|t| t.type_name == "__main__.Leaked")
        .expect("Leaked grew");
    assert_eq!(leaked.delta, 1000);
    let html = render_html(&report).expect("the page renders");
    assert!(html.contains("id=\"growth-table\""));
    assert!(html.contains("+1,000"), "the delta is shown");
    let out = run(&["report", &b, "--baseline", &a, "-o", &w.arg("g.html")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let without = render_html(&report_of(&b, None, &no_picture)).expect("the page renders");
    assert!(without.contains("No baseline given"));
}

// ---- In a real browser.

/// Debian's Chromium, or `None` (the browser test is then built as ignored).
fn chromium() -> Option<PathBuf> {
    crate::util::tool("chromium")
}

/// Where screenshots are kept after the test: target/test-artifacts/.
fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("test-artifacts");
    std::fs::create_dir_all(&dir).expect("artifact dir");
    dir
}

/// Run headless Chromium on `page` with `extra` flags, a fresh profile and no network
/// chatter; killed after a minute. Returns its output (stdout: --dump-dom). Output goes to
/// files, not pipes: a dumped DOM is larger than a pipe's buffer.
fn run_chromium(exe: &Path, page: &Path, extra: &[&str]) -> Output {
    let scratch = tempfile::tempdir().expect("chromium scratch dir");
    let (out_path, err_path) = (scratch.path().join("stdout"), scratch.path().join("stderr"));
    let file = |p: &Path| std::fs::File::create(p).expect("chromium output file");
    let mut child = Command::new(exe)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
        ])
        .args([
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ])
        .arg(format!(
            "--user-data-dir={}",
            scratch.path().join("profile").display()
        ))
        .args([
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=3000",
            "--window-size=1400,2000",
        ])
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(file(&out_path))
        .stderr(file(&err_path))
        .spawn()
        .expect("chromium starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within a minute");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let read = |p: &Path| std::fs::read(p).unwrap_or_default();
    Output {
        status,
        stdout: read(&out_path),
        stderr: read(&err_path),
    }
}

/// The page's console messages (uncaught errors, CSP refusals) from Chromium's log.
fn console_lines(out: &Output) -> Vec<String> {
    let log = String::from_utf8_lossy(&out.stderr);
    log.lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect()
}

fn title_of(dom: &str) -> &str {
    let start = dom.find("<title>").map_or(0, |i| i + 7);
    let end = dom[start..].find("</title>").map_or(start, |i| start + i);
    &dom[start..end]
}

/// The page's nonce, so a test probe can run under its Content-Security-Policy.
fn nonce_of(html: &str) -> &str {
    let start = html.find("'nonce-").expect("a CSP nonce") + 7;
    let len = html[start..].find('\'').expect("nonce end");
    &html[start..start + len]
}

/// Clicks, wheel and drag events run in the page; results are written into `<pre id="probe">`.
const PROBE: &str = r##"
(function () {
  var lines = [];
  function check(name, ok, detail) { lines.push(name + ": " + (ok ? "ok" : "FAIL " + (detail || ""))); }
  function column(table, i) {
    return Array.prototype.filter.call(table.tBodies[0].rows, function (r) { return !r.hidden; })
      .map(function (r) { return r.cells[i].getAttribute("data-v") || r.cells[i].textContent.trim().toLowerCase(); });
  }
  function sorted(xs, numeric, dir) {
    for (var i = 1; i < xs.length; i++) {
      var a = numeric ? Number(xs[i - 1]) : xs[i - 1], b = numeric ? Number(xs[i]) : xs[i];
      if (dir > 0 ? a > b : a < b) return false;
    }
    return xs.length > 1;
  }
  function vb(svg) { return svg.getAttribute("viewBox").split(" ").map(Number); }
  try {
    var table = document.getElementById("types-table");
    var heads = table.tHead.rows[0].cells;
    heads[1].click();
    check("sort count descending", sorted(column(table, 1), true, -1));
    heads[1].click();
    check("sort count ascending", sorted(column(table, 1), true, 1));
    heads[0].click();
    check("sort name ascending", sorted(column(table, 0), false, 1));
    var filter = document.querySelector('input[data-filter="types-table"]');
    filter.value = "dict";
    filter.dispatchEvent(new Event("input"));
    var shown = column(table, 0);
    check("filter", shown.length > 0 && shown.every(function (t) { return t.indexOf("dict") >= 0; }), shown.join(","));
    var box = document.querySelector(".figure .panzoom");
    var svg = box.querySelector("svg");
    var home = vb(svg);
    var r = box.getBoundingClientRect();
    var x = r.left + r.width / 2, y = r.top + r.height / 2;
    box.dispatchEvent(new WheelEvent("wheel", { deltaY: -300, clientX: x, clientY: y, bubbles: true, cancelable: true }));
    var zoomed = vb(svg);
    check("wheel zooms in", zoomed[2] < home[2], zoomed.join(" "));
    box.dispatchEvent(new PointerEvent("pointerdown", { button: 0, clientX: x, clientY: y, pointerId: 1, bubbles: true }));
    box.dispatchEvent(new PointerEvent("pointermove", { clientX: x + 60, clientY: y + 30, pointerId: 1, bubbles: true }));
    box.dispatchEvent(new PointerEvent("pointerup", { clientX: x + 60, clientY: y + 30, pointerId: 1, bubbles: true }));
    var panned = vb(svg);
    check("drag pans", panned[0] < zoomed[0] && panned[1] < zoomed[1] && panned[2] === zoomed[2], panned.join(" "));
    box.parentNode.querySelector('[data-zoom="reset"]').click();
    check("reset", vb(svg).join(" ") === home.join(" "), vb(svg).join(" "));
    var link = document.querySelector('#cycles a.oid[href^="#obj-"]');
    var target = document.getElementById(link.getAttribute("href").slice(1));
    check("detail closed first", target && !target.open);
    link.click();
  } catch (e) {
    check("probe ran", false, String(e));
  }
  setTimeout(function () {
    try { check("link opens details", target && target.open); } catch (e) { check("late probe", false, String(e)); }
    var pre = document.createElement("pre");
    pre.id = "probe";
    pre.textContent = lines.join("\n");
    document.body.appendChild(pre);
  }, 200);
})();
"##;

fn probe_results(dom: &str) -> String {
    let start = dom
        .find("<pre id=\"probe\">")
        .map(|i| i + 16)
        .expect("the probe wrote its results");
    let end = dom[start..].find("</pre>").expect("end of results") + start;
    dom[start..end].to_string()
}

/// A copy of the page with only the cycles section visible, for a second screenshot.
fn cycles_only(html: &str) -> String {
    let hide = "<style>#overview, #types, #largest { display: none; }</style></head>";
    html.replacen("</head>", hide, 1)
}

/// Load the page, keep a screenshot, and check the DOM Chromium ends with: the page's own
/// script ran without errors, and no snapshot markup became an element or ran.
fn check_page_in_browser(exe: &Path, page: &Path) {
    let shot = artifacts().join("report.png");
    let screenshot = format!("--screenshot={}", shot.display());
    let out = run_chromium(exe, page, &["--dump-dom", &screenshot]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "chromium failed: {stderr}");
    assert_eq!(
        console_lines(&out),
        Vec::<String>::new(),
        "console messages from the page"
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    let title = title_of(&dom);
    assert_eq!(
        title, "Heap report · report_app.rgsnap",
        "no injected script set the title"
    );
    let html_tag = &dom[..dom.find("<head>").unwrap_or(0)];
    assert!(
        html_tag.contains("data-ready=\"yes\""),
        "the script ran to the end: {html_tag}"
    );
    assert!(
        !html_tag.contains("data-js-errors"),
        "the page recorded errors: {html_tag}"
    );
    assert!(!dom.contains("<img"), "no injected element");
    assert_eq!(
        dom.matches("<script").count(),
        1,
        "only the page's own script"
    );
    let payload = "&lt;script&gt;document.title='PWNED'&lt;/script&gt;";
    assert!(dom.contains(payload), "the payload shows as text");
    assert!(dom.contains("<table class=\"sortable\" id=\"types-table\">"));
    assert!(dom.matches("<svg").count() >= 3, "a picture per cycle");
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(size > 10_000, "screenshot {}", shot.display());
}

/// Sorting, filtering, wheel zoom, drag, reset and links, run by [`PROBE`] in the page.
fn check_interactions(exe: &Path, w: &Workdir, html: &str) {
    let probed = w.path("probed.html");
    let probe = format!(
        "<script nonce=\"{}\">{PROBE}</script></body>",
        nonce_of(html)
    );
    std::fs::write(&probed, html.replacen("</body>", &probe, 1)).expect("write probe page");
    let out = run_chromium(exe, &probed, &["--dump-dom"]);
    let results = probe_results(&String::from_utf8_lossy(&out.stdout));
    assert!(!results.contains("FAIL"), "interactions:\n{results}");
    assert_eq!(results.lines().count(), 9, "{results}");
    let console = console_lines(&out);
    assert_eq!(
        console,
        Vec::<String>::new(),
        "console messages while interacting"
    );
}

/// A second screenshot, of the cycles and what follows them.
fn screenshot_cycles(exe: &Path, w: &Workdir, html: &str) {
    let page = w.path("cycles.html");
    std::fs::write(&page, cycles_only(html)).expect("write cycles page");
    let shot = artifacts().join("report-cycles.png");
    run_chromium(exe, &page, &[&format!("--screenshot={}", shot.display())]);
}

#[test]
#[cfg_attr(
    not(has_chromium),
    ignore = "`chromium` is not on PATH (apt-get install chromium; CI installs it)"
)]
fn the_page_works_in_headless_chromium() {
    let exe = chromium().expect("`chromium` was on PATH when the tests were built, and is gone");
    let w = Workdir::new();
    let snap = capture_app(&w);
    let report = report_of(&snap, None, &stand_in_picture);
    let html = render_html(&report).expect("the page renders");
    let page = w.path("report.html");
    std::fs::write(&page, &html).expect("write page");
    check_page_in_browser(&exe, &page);
    check_interactions(&exe, &w, &html);
    screenshot_cycles(&exe, &w, &html);
    eprintln!(
        "screenshots: {}/report.png, report-cycles.png",
        artifacts().display()
    );
}
