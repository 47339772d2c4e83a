//! The Python the new thread runs (through `PyRun_SimpleString`, with the GIL): claim the
//! ticket (or exit at once when refgraph gave up or the directory is gone), load the embedded
//! dumper from refgraph's directory as a module, dump to a file there, write one status line,
//! and remove the module from `sys.modules`. It binds nothing in `__main__` (everything runs in
//! a fresh namespace given to `exec`), never touches `sys.path`, imports nothing but what the
//! dumper imports, prints nothing, and calls the real os and time functions even when the
//! program patched them.

/// The file names in the directory.
pub const TICKET: &str = "ticket";
/// The ticket once the new thread took it.
pub const CLAIMED: &str = "claimed";
/// The ticket once refgraph gave up (the new thread then exits without dumping).
pub const CANCELLED: &str = "cancelled";
/// JSON lines from the new thread.
pub const STATUS: &str = "status";

const BOOT: &str = r#"
def _refgraph_attach(d, mod, snap, values, collect, fmt):
    import sys
    # The functions os re-exports, from posix itself: the program may have patched os's.
    os = sys.modules["posix"]
    try:
        os.rename(d + "/ticket", d + "/claimed")
    except OSError:
        return  # refgraph gave up (or is gone): no late snapshot

    def status(line):
        fd = os.open(d + "/status", os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW)
        try:
            os.write(fd, line.encode("utf-8", "backslashreplace") + b"\n")
        finally:
            os.close(fd)

    def text(s):
        return '"%s"' % "".join(c if c.isprintable() and c not in '"\\' else "\\u%04x" % ord(c)
                                for c in s)

    def real_modules():
        # The program runs already: the os and time functions the dumper binds at its import
        # (`from os import open as _open`, ...) may be the program's patches (mock.patch,
        # freezegun, pyfakefs). They are bound from these instead: posix, whose functions os
        # re-exports (patching os.open leaves posix.open alone), and a fresh instance of the
        # time module (3.9+: a new module object; 3.8's would reset the program's own module,
        # so 3.8 binds the time functions it finds).
        real = {"os": os}
        time = sys.modules.get("time")
        if type(time) is type(sys):
            found = [time.__dict__.get(n) for n in ("gmtime", "perf_counter", "strftime", "time")]
            if all(type(f) is type(len) and f.__self__ is time for f in found):
                return real  # not patched: no second time module in the snapshot
        if sys.version_info >= (3, 9):
            import _imp
            fresh = _imp.create_builtin(type(sys.__spec__)("time", None, origin="built-in"))
            if fresh is not sys.modules.get("time"):
                _imp.exec_builtin(fresh)
                real["time"] = fresh
        return real

    def rebind(source, real):
        # `from os import a as _a, b as _b` -> `_a, _b = _refgraph_real_os.a, ...b`, on the
        # same line (tracebacks keep their line numbers).
        lines = source.split("\n")
        for i, line in enumerate(lines):
            for name in real:
                prefix = "from %s import " % name
                if not line.startswith(prefix) or "(" in line:
                    continue
                pairs = [p.strip().split(" as ") for p in line[len(prefix):].split(",")]
                if all(len(p) == 2 for p in pairs):
                    lines[i] = "%s = %s" % (
                        ", ".join(p[1] for p in pairs),
                        ", ".join("_refgraph_real_%s.%s" % (name, p[0]) for p in pairs))
        return "\n".join(lines)

    status('{"started": true, "pid": %d}' % os.getpid())
    try:
        path = d + "/" + mod + ".py"
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        try:
            chunks = []
            while True:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(fd)
        m = type(sys)(mod)
        m.__file__ = path
        real = real_modules()
        for name, module in real.items():
            m.__dict__["_refgraph_real_" + name] = module
        sys.modules[mod] = m
        source = rebind(b"".join(chunks).decode("utf-8"), real)
        exec(compile(source, path, "exec"), m.__dict__)
        for name in real:
            del m.__dict__["_refgraph_real_" + name]
        r = m.dump(d + "/" + snap, values=values, collect=collect, format=fmt)
        status('{"objects": %d, "edges": %d, "seconds": %f, "dumper": "%s"}'
               % (r["objects"], r["edges"], r["seconds"], r["dumper"]))
    except BaseException as e:
        status('{"error": %s}' % text("%s: %s" % (type(e).__name__, e)))
    finally:
        sys.modules.pop(mod, None)
"#;

/// Python's literal for an ASCII string refgraph made (directory and file names).
fn literal(s: &str) -> String {
    let escaped: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "/-_.".contains(c) {
                c.to_string()
            } else {
                format!("\\x{:02x}", u32::from(c) & 0xff)
            }
        })
        .collect();
    format!("\"{escaped}\"")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The source for `PyRun_SimpleString`: the bootstrap, hex-encoded (no quoting to get wrong),
/// run by `exec` in a fresh namespace, every exception swallowed (nothing is printed in the
/// target).
pub fn code(
    dir_inside: &str,
    module: &str,
    snapshot: &str,
    values: bool,
    collect: bool,
    binary: bool,
) -> String {
    let py_bool = |b: bool| if b { "True" } else { "False" };
    let call = format!(
        "_refgraph_attach({}, {}, {}, {}, {}, {})\n",
        literal(dir_inside),
        literal(module),
        literal(snapshot),
        py_bool(values),
        py_bool(collect),
        literal(if binary { "binary" } else { "json" })
    );
    let source = format!("{BOOT}{call}");
    format!(
        "try:\n    exec(bytes.fromhex(\"{}\").decode(\"utf-8\"), {{\"__name__\": \"_refgraph_attach\"}})\nexcept BaseException:\n    pass\n",
        hex(source.as_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_stay_literal() {
        assert_eq!(
            literal("/tmp/refgraph-attach-0a"),
            "\"/tmp/refgraph-attach-0a\""
        );
        assert_eq!(literal("a\"b"), "\"a\\x22b\"");
    }

    #[test]
    fn the_code_is_one_exec_of_the_bootstrap() {
        let c = code("/tmp/x", "m", "s.rgsnap", true, false, false);
        assert!(c.starts_with("try:\n    exec(bytes.fromhex(\""));
        let hexed = c.split('"').nth(1).expect("hex");
        let bytes: Vec<u8> = (0..hexed.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hexed[i..i + 2], 16).expect("hex"))
            .collect();
        let source = String::from_utf8(bytes).expect("utf-8");
        assert!(source.ends_with(
            "_refgraph_attach(\"/tmp/x\", \"m\", \"s.rgsnap\", True, False, \"json\")\n"
        ));
    }
}
