//! What the shell knows about its own language: the commands, their options, the shell's
//! form of each command's help (no SNAPSHOT argument), "did you mean", and Tab completion of
//! commands, options, type names and marks.

use crate::cli::Cli;
use clap::CommandFactory;

/// Commands that take the snapshot as their first argument.
pub const SNAPSHOT_COMMANDS: [&str; 11] = [
    "summary", "chain", "refs", "backrefs", "cycles", "top", "types", "find", "show", "orphans",
    "report",
];

/// Every word the shell takes first on a line.
pub fn commands() -> impl Iterator<Item = &'static str> {
    SNAPSHOT_COMMANDS
        .into_iter()
        .chain(["diff", "help", "quit", "exit"])
}

/// The argument the shell fills in for `command`: the snapshot it has open.
fn implied_argument(command: &str) -> &'static str {
    if command == "diff" {
        "new"
    } else {
        "snapshot"
    }
}

/// The shell's help for `command`: clap's, with the implied snapshot left out of the usage and
/// the argument list. `None` for a word that is no shell command.
pub fn command_help(command: &str) -> Option<String> {
    if command != "diff" && !SNAPSHOT_COMMANDS.contains(&command) {
        return None;
    }
    let mut cli = Cli::command();
    let sub = cli.find_subcommand_mut(command)?.clone();
    let mut sub = sub.mut_arg(implied_argument(command), |a| a.hide(true));
    if command == "diff" {
        // `diff A [B]` in the shell: the open snapshot is appended as NEW, or as the latest
        // of three; the usage names what the user types.
        sub = sub
            .mut_arg("new", |a| a.required(false))
            .mut_arg("latest", |a| a.hide(true));
    }
    // clap's usage line keeps hidden positionals: spell it without the implied one.
    let positionals: Vec<String> = sub
        .get_positionals()
        .filter(|a| !a.is_hide_set())
        .map(|a| {
            let name = a
                .get_value_names()
                .and_then(|v| v.first().map(|n| n.to_string()))
                .unwrap_or_else(|| a.get_id().to_string().to_uppercase());
            let many = if a.get_num_args().is_some_and(|n| n.max_values() > 1) {
                "..."
            } else {
                ""
            };
            if a.is_required_set() {
                format!(" <{name}>{many}")
            } else {
                format!(" [{name}]{many}")
            }
        })
        .collect();
    let usage = format!("{command} [OPTIONS]{}", positionals.concat());
    let mut sub = sub
        .override_usage(usage)
        .bin_name(command)
        .disable_version_flag(true);
    Some(sub.render_long_help().to_string())
}

/// The command `word` was probably meant to be, if one is close.
pub fn did_you_mean(word: &str) -> Option<&'static str> {
    commands()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// The long options of `command` (`--limit`, and visible aliases such as `--top`).
fn options(command: &str) -> Vec<String> {
    let cli = Cli::command();
    let Some(sub) = cli.find_subcommand(command) else {
        return Vec::new();
    };
    let mut out: Vec<String> = sub
        .get_arguments()
        .filter(|a| !a.is_positional() && !a.is_hide_set())
        .flat_map(|a| {
            a.get_long()
                .into_iter()
                .chain(a.get_visible_aliases().unwrap_or_default())
                .map(|l| format!("--{l}"))
        })
        .chain(["--help".to_string()])
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Options whose value is a type name.
const TYPE_OPTIONS: [&str; 5] = ["--to", "--filter", "--highlight", "--type", "--new"];
/// Commands whose positional arguments are objects (selectors).
const SELECTOR_COMMANDS: [&str; 4] = ["chain", "refs", "backrefs", "show"];

/// Completes the word before the cursor from the commands, a command's options, the
/// snapshot's type names and marks.
#[derive(Debug, Default)]
pub struct Completions {
    /// Short and qualified type names, sorted, without repeats.
    pub types: Vec<String>,
    /// Mark names, sorted, without repeats.
    pub marks: Vec<String>,
}

impl Completions {
    /// The type names and marks of `snap`.
    pub fn of(snap: &crate::Snapshot) -> Self {
        let mut types: Vec<String> = snap
            .types()
            .iter()
            .flat_map(|t| [t.short().to_string(), t.long()])
            .collect();
        types.sort();
        types.dedup();
        let mut marks: Vec<String> = snap.marks().iter().map(|(m, _)| m.clone()).collect();
        marks.sort();
        marks.dedup();
        Completions { types, marks }
    }

    /// Where the word being completed starts in `line[..pos]`, and its candidates.
    pub fn complete(&self, line: &str, pos: usize) -> (usize, Vec<String>) {
        let before = &line[..pos];
        let start = before.rfind(char::is_whitespace).map_or(0, |i| i + 1);
        let word = &before[start..];
        let earlier: Vec<&str> = before[..start].split_whitespace().collect();
        let candidates = self.candidates(&earlier, word);
        let matching = candidates
            .into_iter()
            .filter(|c| c.starts_with(word))
            .collect();
        (start, matching)
    }

    fn candidates(&self, earlier: &[&str], word: &str) -> Vec<String> {
        let prefixed = |prefix: &str, names: &[String]| -> Vec<String> {
            names.iter().map(|n| format!("{prefix}{n}")).collect()
        };
        let Some(&command) = earlier.first() else {
            return commands().map(str::to_string).collect();
        };
        if command == "help" {
            return if earlier.len() == 1 {
                commands().map(str::to_string).collect()
            } else {
                Vec::new()
            };
        }
        if word.starts_with('-') {
            return options(command);
        }
        if word.starts_with("type:") {
            return prefixed("type:", &self.types);
        }
        if word.starts_with("mark:") {
            return prefixed("mark:", &self.marks);
        }
        let after_type_option = earlier.last().is_some_and(|p| TYPE_OPTIONS.contains(p));
        let find_type = command == "find" && earlier.len() == 1;
        if after_type_option || find_type {
            return self.types.clone();
        }
        if SELECTOR_COMMANDS.contains(&command) {
            return vec!["type:".into(), "mark:".into()];
        }
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words() -> Completions {
        Completions {
            types: vec!["Session".into(), "app.Session".into(), "dict".into()],
            marks: vec!["cache".into()],
        }
    }

    fn complete(line: &str) -> Vec<String> {
        words().complete(line, line.len()).1
    }

    #[test]
    fn tab_completes_commands_options_types_and_marks() {
        assert_eq!(complete("ch"), ["chain"]);
        assert_eq!(complete("help cy"), ["cycles"]);
        assert!(complete("chain 0x10 --").contains(&"--forward".to_string()));
        assert!(complete("summary --").contains(&"--top".to_string()));
        assert!(complete("summary --").contains(&"--limit".to_string()));
        assert_eq!(complete("show type:S"), ["type:Session"]);
        assert_eq!(complete("backrefs mark:"), ["mark:cache"]);
        assert_eq!(complete("find Se"), ["Session"]);
        assert_eq!(complete("chain 0x10 --to d"), ["dict"]);
        assert_eq!(complete("show "), ["type:", "mark:"]);
        assert_eq!(complete("types --limit 3 x"), Vec::<String>::new());
        let (start, _) = words().complete("show type:S", 11);
        assert_eq!(start, 5);
    }

    #[test]
    fn near_misses_get_a_suggestion() {
        assert_eq!(did_you_mean("chian"), Some("chain"));
        assert_eq!(did_you_mean("summry"), Some("summary"));
        assert_eq!(did_you_mean("zzzz"), None);
    }

    #[test]
    fn help_shows_the_shell_syntax_without_the_snapshot() {
        let help = command_help("chain").unwrap();
        assert!(help.contains("Usage: chain [OPTIONS] <OBJ>..."), "{help}");
        assert!(!help.contains("SNAPSHOT"), "{help}");
        let diff = command_help("diff").unwrap();
        assert!(diff.contains("Usage: diff [OPTIONS] <OLD>"), "{diff}");
        assert!(!diff.contains("<NEW>"), "{diff}");
        assert_eq!(command_help("capture"), None);
    }
}
