//! Notes which external tools the end-to-end tests can use (Graphviz `dot`, `chromium`,
//! `tmux`), as `has_dot`, `has_chromium`, `has_tmux`: a test that needs a missing tool is then
//! reported as ignored, with the reason, instead of passing without having run. Also builds
//! the dumper's native accelerator (`build_native`).

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
    build_native();
}

/// Compiles native/rgnative.c, the dumper's accelerator, into OUT_DIR/_refgraph_native.so with
/// the system C compiler (`$CC` or `cc`; no Python headers needed), for a 64-bit Linux target
/// built on itself. The binary then embeds it (cfg `has_native`) and writes it next to the
/// dumper; a copy goes to python/refgraph/ (git-ignored) for the pip wheel and for a checkout's
/// `import refgraph`. No compiler, or it fails: a warning, and the binary is pure Python.
fn build_native() {
    println!("cargo::rustc-check-cfg=cfg(has_native)");
    println!("cargo::rerun-if-changed=native/rgnative.c");
    println!("cargo::rerun-if-env-changed=CC");
    // the package's copy: a build without the module removes a stale one, so that a wheel
    // never ships a module from another build (or another platform)
    let package_copy = Path::new("python/refgraph/_refgraph_native.so");
    let none = || {
        let _ = std::fs::remove_file(package_copy);
    };
    let env = |name: &str| std::env::var(name).unwrap_or_default();
    let target = env("TARGET");
    if target != env("HOST")
        || !target.contains("linux")
        || env("CARGO_CFG_TARGET_POINTER_WIDTH") != "64"
    {
        return none();
    }
    let Some(out_dir) = std::env::var_os("OUT_DIR") else {
        return none();
    };
    let out = Path::new(&out_dir).join("_refgraph_native.so");
    let compiler = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let built = std::process::Command::new(&compiler)
        .args([
            "-O2",
            "-fPIC",
            "-shared",
            "-fvisibility=hidden",
            "-fno-strict-aliasing",
            "-Wall",
            "-o",
        ])
        .arg(&out)
        .arg("native/rgnative.c")
        .status();
    match built {
        Ok(status) if status.success() => {}
        Ok(status) => {
            println!("cargo::warning=native walker not built: {compiler} exited with {status}");
            return none();
        }
        Err(e) => {
            println!("cargo::warning=native walker not built: cannot run {compiler}: {e}");
            return none();
        }
    }
    println!("cargo::rustc-cfg=has_native");
    // only rewritten when it changed, so that a running test reads a whole file
    if let Ok(bytes) = std::fs::read(&out) {
        if std::fs::read(package_copy).ok().as_deref() != Some(&bytes[..]) {
            let tmp = package_copy.with_extension("so.tmp");
            if std::fs::write(&tmp, &bytes).is_ok() {
                let _ = std::fs::rename(&tmp, package_copy);
            }
        }
    }
}
