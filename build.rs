//! Notes which external tools the end-to-end tests can use (Graphviz `dot`, `chromium`,
//! `tmux`), as `has_dot`, `has_chromium`, `has_tmux`: a test that needs a missing tool is then
//! reported as ignored, with the reason, instead of passing without having run.

use std::path::Path;

const TOOLS: [(&str, &str); 3] = [
    ("dot", "has_dot"),
    ("chromium", "has_chromium"),
    ("tmux", "has_tmux"),
];

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| Path::new(&dir).join(tool).is_file())
    })
}

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=PATH");
    for (tool, cfg) in TOOLS {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        if on_path(tool) {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
}
