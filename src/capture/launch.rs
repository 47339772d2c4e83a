//! How a command line starts Python: `python3 [options] app.py | -m mod | -c CODE`, a script
//! with a `#!…python` line (`./manage.py`), or a console script on PATH (`gunicorn app:app`,
//! `pytest -q`). Each is turned into the interpreter the command would use, its options, and
//! the target, so that `capture` can put the dumper in front of the target and the program
//! sees the same `sys.argv`, `sys.path` and `__main__` as without refgraph.

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// The CPython versions `capture` supports, as said in messages and `--help`.
pub const SUPPORTED_PYTHONS: &str = "CPython 3.8 to 3.13";

/// Why a command line cannot be captured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LaunchError {
    /// No command after `--`.
    #[error("nothing to run: give the program after --, e.g. refgraph capture -- python3 app.py")]
    NoCommand,
    /// The command is a Python interpreter but the rest does not name a program.
    #[error("{0}")]
    Usage(String),
    /// The command was not found on PATH.
    #[error("{0}: command not found (not a file, and not on PATH)")]
    NotFound(String),
    /// The command is neither a Python interpreter nor a Python script.
    #[error("capture runs a Python program; {0} is not one ({1}). Give python3 app.py, python3 -m module, python3 -c CODE, or a script whose #! line names python")]
    NotPython(String, String),
}

/// A Python command line split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonCommand {
    /// The interpreter (a path, or a name looked up on PATH when it runs).
    pub interpreter: OsString,
    /// Interpreter options before the target (`-X dev`, `-W error`, `-u`, a shebang's `-E`).
    pub options: Vec<OsString>,
    /// `script ARGS…`, `-m module ARGS…` or `-c CODE ARGS…`.
    pub target: Vec<OsString>,
}

impl PythonCommand {
    /// Resolve `command` (everything after `--`) the way the shell and the kernel would run it.
    pub fn parse(command: &[OsString]) -> Result<Self, LaunchError> {
        let (program, args) = command.split_first().ok_or(LaunchError::NoCommand)?;
        if is_python_name(Path::new(program)) {
            return Self::from_interpreter(program.clone(), Vec::new(), args);
        }
        let script = find_program(program)?;
        let Some(shebang) = interpreter_line(&script) else {
            let what = if is_elf(&script) {
                "a native program"
            } else {
                "no #! line names python"
            };
            return Err(LaunchError::NotPython(display(program), what.into()));
        };
        let (interpreter, options) = shebang;
        if !is_python_name(Path::new(&interpreter)) {
            let what = format!("its #! line runs {}", display(&interpreter));
            return Err(LaunchError::NotPython(display(program), what));
        }
        // The kernel runs `interpreter [option] SCRIPT ARGS…` with the path it was given (the
        // shell's PATH lookup result for a bare name): so does capture.
        let mut rest = vec![script.into_os_string()];
        rest.extend(args.iter().cloned());
        Self::from_interpreter(interpreter, options, &rest)
    }

    /// Split `[options] target…` after an interpreter, as CPython's own option parser does
    /// (`-Wd`, `-X dev`, `-uc CODE`, `-mhttp.server` included).
    fn from_interpreter(
        interpreter: OsString,
        mut options: Vec<OsString>,
        rest: &[OsString],
    ) -> Result<Self, LaunchError> {
        let mut i = 0;
        while i < rest.len() {
            let arg = rest[i].as_bytes();
            if arg == b"-" {
                return Err(LaunchError::Usage(
                    "capture cannot run a program from standard input; give a script file".into(),
                ));
            }
            if arg == b"--" {
                i += 1;
                break;
            }
            if arg.first() != Some(&b'-') || arg.len() < 2 {
                break;
            }
            if arg.starts_with(b"--") {
                // --check-hash-based-pycs MODE takes a value; other long options do not.
                let takes = arg == b"--check-hash-based-pycs";
                let end = (i + 1 + usize::from(takes)).min(rest.len());
                options.extend(rest[i..end].iter().cloned());
                i = end;
                continue;
            }
            match short_cluster(arg) {
                Cluster::Flags => {
                    options.push(rest[i].clone());
                    i += 1;
                }
                Cluster::Value { flags, opt, value } => {
                    let value = match value {
                        Some(v) => OsString::from_vec(v.to_vec()),
                        None => match rest.get(i + 1) {
                            Some(v) => {
                                i += 1;
                                v.clone()
                            }
                            None => return Err(missing_value(opt)),
                        },
                    };
                    i += 1;
                    if flags.len() > 1 {
                        options.push(OsString::from_vec(flags.to_vec()));
                    }
                    match opt {
                        b'c' | b'm' => {
                            let mut target = vec![OsString::from(format!("-{}", opt as char))];
                            target.push(value);
                            target.extend(rest[i..].iter().cloned());
                            return Ok(PythonCommand {
                                interpreter,
                                options,
                                target,
                            });
                        }
                        _ => {
                            options.push(OsString::from(format!("-{}", opt as char)));
                            options.push(value);
                        }
                    }
                }
            }
        }
        if i >= rest.len() {
            return Err(LaunchError::Usage(
                "no program to run: give python3 app.py, python3 -m module or python3 -c CODE after --"
                    .into(),
            ));
        }
        Ok(PythonCommand {
            interpreter,
            options,
            target: rest[i..].to_vec(),
        })
    }

    /// A name for default output files: the script's stem, the module name, or `python`.
    pub fn program_name(&self) -> String {
        match self.target[0].as_bytes() {
            b"-m" => {
                let module = self.target[1].to_string_lossy();
                module.rsplit('.').next().unwrap_or("program").to_string()
            }
            b"-c" => "python".into(),
            _ => Path::new(&self.target[0])
                .file_stem()
                .map_or("program".into(), |s| s.to_string_lossy().into_owned()),
        }
    }

    /// Files named on the command line that the program reads (its script): an output must
    /// never replace one of these.
    pub fn input_files(&self) -> Vec<PathBuf> {
        match self.target[0].as_bytes() {
            b"-m" | b"-c" => Vec::new(),
            _ => vec![PathBuf::from(&self.target[0])],
        }
    }
}

/// One `-…` argument: only flags (`-u`, `-BE`), or flags ending in an option with a value
/// (`-W error`, `-Wd`, `-uc CODE`), the value inline or in the next argument.
enum Cluster<'a> {
    Flags,
    Value {
        flags: &'a [u8],
        opt: u8,
        value: Option<&'a [u8]>,
    },
}

fn short_cluster(arg: &[u8]) -> Cluster<'_> {
    for (at, &c) in arg.iter().enumerate().skip(1) {
        if matches!(c, b'c' | b'm' | b'W' | b'X') {
            let value = &arg[at + 1..];
            return Cluster::Value {
                flags: &arg[..at],
                opt: c,
                value: (!value.is_empty()).then_some(value),
            };
        }
    }
    Cluster::Flags
}

fn missing_value(opt: u8) -> LaunchError {
    LaunchError::Usage(format!("python option -{} needs an argument", opt as char))
}

/// `python`, `python3`, `python3.12`, `python3.13t`, `python3-dbg`, `pythonw`: a CPython
/// interpreter by its name (venvs and pyenv shims use the same names).
pub fn is_python_name(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(OsStr::to_str) else {
        return false;
    };
    let Some(rest) = name.strip_prefix("python") else {
        return false;
    };
    let rest = rest.strip_suffix("-dbg").unwrap_or(rest);
    let rest = rest.strip_suffix('w').unwrap_or(rest);
    let rest = rest.strip_suffix(['t', 'd', 'm']).unwrap_or(rest);
    rest.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

/// The file a command name runs: itself when it has a `/`, else the first executable match on
/// PATH (as the shell finds it).
fn find_program(program: &OsStr) -> Result<PathBuf, LaunchError> {
    let path = Path::new(program);
    if program.as_bytes().contains(&b'/') {
        return if path.is_file() {
            Ok(path.to_path_buf())
        } else {
            Err(LaunchError::NotFound(display(program)))
        };
    }
    let search = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&search)
        .map(|dir| dir.join(path))
        .find(|candidate| is_executable_file(candidate))
        .ok_or_else(|| LaunchError::NotFound(display(program)))
}

fn is_executable_file(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn is_elf(path: &Path) -> bool {
    let mut head = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && head == *b"\x7fELF"
}

/// The interpreter and its options a script names: from its `#!` line (through `env` and
/// `env -S`), or from the `'''exec' …` line pip writes under `#!/bin/sh` when the interpreter's
/// path is too long for a `#!` line.
fn interpreter_line(script: &Path) -> Option<(OsString, Vec<OsString>)> {
    let mut head = Vec::with_capacity(1024);
    std::fs::File::open(script)
        .ok()?
        .take(1024)
        .read_to_end(&mut head)
        .ok()?;
    let mut lines = head.split(|&b| b == b'\n');
    let first = lines.next()?.strip_prefix(b"#!")?;
    let words = split_words(first);
    let (interpreter, options) = words.split_first()?;
    if Path::new(interpreter).file_name() == Some(OsStr::new("sh")) {
        if let Some(found) = lines.next().and_then(pip_exec_line) {
            return Some(found);
        }
    }
    if Path::new(interpreter).file_name() == Some(OsStr::new("env")) {
        return env_command(options);
    }
    // The kernel passes everything after the interpreter as one argument.
    let option = first
        .trim_ascii()
        .get(interpreter.len()..)
        .map(<[u8]>::trim_ascii)
        .filter(|o| !o.is_empty())
        .map(|o| OsString::from_vec(o.to_vec()));
    Some((interpreter.clone(), option.into_iter().collect()))
}

/// `env [-S] [-i|-u NAME|NAME=VALUE…] python3 [options]`: the program env runs and its options.
fn env_command(words: &[OsString]) -> Option<(OsString, Vec<OsString>)> {
    let mut words: Vec<OsString> = words.to_vec();
    if let Some(first) = words.first() {
        if first.as_bytes().starts_with(b"-S") {
            // `env -S "python3 -u"`: the rest is split into words again.
            let rest = first.as_bytes()[2..].to_vec();
            let mut again = split_words(&rest);
            again.extend(words.drain(1..));
            words = again;
        }
    }
    let at = words
        .iter()
        .position(|w| !w.as_bytes().starts_with(b"-") && !w.as_bytes().contains(&b'='))?;
    Some((words[at].clone(), words[at + 1..].to_vec()))
}

/// pip's `'''exec' "/long/path/python" "$0" "$@"` trampoline.
fn pip_exec_line(line: &[u8]) -> Option<(OsString, Vec<OsString>)> {
    let rest = line.strip_prefix(b"'''exec' ")?;
    let rest = rest.trim_ascii();
    let interpreter = if let Some(quoted) = rest.strip_prefix(b"\"") {
        &quoted[..quoted.iter().position(|&b| b == b'"')?]
    } else {
        &rest[..rest.iter().position(|&b| b == b' ').unwrap_or(rest.len())]
    };
    Some((OsString::from_vec(interpreter.to_vec()), Vec::new()))
}

fn split_words(line: &[u8]) -> Vec<OsString> {
    line.split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
        .map(|w| OsString::from_vec(w.to_vec()))
        .collect()
}

fn display(s: &OsStr) -> String {
    crate::render::text::term_safe(&s.to_string_lossy()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn args(s: &str) -> Vec<OsString> {
        s.split_whitespace().map(OsString::from).collect()
    }

    fn script(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn splits_interpreter_options_from_the_script() {
        let c = PythonCommand::parse(&args("python3 -X dev -u app.py --port 80")).unwrap();
        assert_eq!(c.options, args("-X dev -u"));
        assert_eq!(c.target, args("app.py --port 80"));
        assert_eq!(c.program_name(), "app");
    }

    #[test]
    fn understands_dash_m_and_dash_c_in_every_spelling() {
        let c = PythonCommand::parse(&args("python3 -m http.server 8000")).unwrap();
        assert_eq!(c.target, args("-m http.server 8000"));
        assert_eq!(c.program_name(), "server");
        let c = PythonCommand::parse(&args("python3 -mhttp.server")).unwrap();
        assert_eq!(c.target, args("-m http.server"));
        let c = PythonCommand::parse(&args("python3.12 -Bc pass x y")).unwrap();
        assert_eq!((c.options, c.target), (args("-B"), args("-c pass x y")));
        let c = PythonCommand::parse(&args("python -Wd -X importtime app.py")).unwrap();
        assert_eq!(c.options, args("-W d -X importtime"));
        assert_eq!(c.program_name(), "app");
        let c = PythonCommand::parse(&args("python3 -c pass")).unwrap();
        assert_eq!(c.program_name(), "python");
        assert!(c.input_files().is_empty());
    }

    #[test]
    fn refuses_what_it_cannot_run() {
        for bad in [
            "python3",
            "python3 -m",
            "python3 -c",
            "python3 -",
            "python3 -u",
            "",
        ] {
            assert!(PythonCommand::parse(&args(bad)).is_err(), "{bad}");
        }
        let err = PythonCommand::parse(&args("/bin/echo hi")).unwrap_err();
        assert!(matches!(err, LaunchError::NotPython(..)), "{err}");
        let err = PythonCommand::parse(&args("no-such-command-here x")).unwrap_err();
        assert!(matches!(err, LaunchError::NotFound(..)), "{err}");
    }

    #[test]
    fn python_names() {
        for yes in [
            "python",
            "python3",
            "/usr/bin/python3.11",
            "python3.13t",
            "python3-dbg",
        ] {
            assert!(is_python_name(Path::new(yes)), "{yes}");
        }
        for no in ["pythonista", "ipython", "bash", "python3-config", "py"] {
            assert!(!is_python_name(Path::new(no)), "{no}");
        }
    }

    #[test]
    fn scripts_run_with_the_interpreter_their_shebang_names() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let direct = script(d, "a.py", "#!/opt/venv/bin/python3 -E\nprint(1)\n");
        let c = PythonCommand::parse(&[direct.clone().into(), "x".into()]).unwrap();
        assert_eq!(c.interpreter, "/opt/venv/bin/python3");
        assert_eq!(c.options, args("-E"));
        assert_eq!(c.target, vec![direct.clone().into_os_string(), "x".into()]);
        assert_eq!(c.input_files(), vec![direct]);

        let env = script(d, "b", "#!/usr/bin/env -S python3 -u\n");
        let c = PythonCommand::parse(&[env.into()]).unwrap();
        assert_eq!((c.interpreter, c.options), ("python3".into(), args("-u")));

        let pip = script(
            d,
            "c",
            "#!/bin/sh\n'''exec' \"/very long/venv/bin/python\" \"$0\" \"$@\"\n' '''\n",
        );
        let c = PythonCommand::parse(&[pip.into()]).unwrap();
        assert_eq!(c.interpreter, "/very long/venv/bin/python");

        let shell = script(d, "d.sh", "#!/bin/bash\necho hi\n");
        let err = PythonCommand::parse(&[shell.into()]).unwrap_err();
        assert!(
            err.to_string().contains("its #! line runs /bin/bash"),
            "{err}"
        );
    }

    #[test]
    fn console_scripts_are_found_on_path() {
        let dir = tempfile::tempdir().unwrap();
        let tool = script(dir.path(), "mytool", "#!/usr/bin/python3\n");
        // PATH lookup is what the shell does: emulate it with an absolute directory.
        let found = std::env::split_paths(&dir.path().as_os_str().to_owned())
            .map(|d| d.join("mytool"))
            .find(|p| is_executable_file(p));
        assert_eq!(found, Some(tool));
    }
}
