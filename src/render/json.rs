//! JSON output: every `--json` answer is `{"version": N, "command": "...", "data": {...}}`,
//! with `data` the query's serde struct. Bump [`JSON_VERSION`] when a field changes meaning or
//! disappears; adding a field is not a breaking change.

use serde::{Deserialize, Serialize};
use std::io::{self, Write};

/// The version of the JSON output schema.
pub const JSON_VERSION: u32 = 1;

/// The envelope around every JSON answer.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope<T> {
    /// [`JSON_VERSION`].
    pub version: u32,
    /// The subcommand that answered.
    pub command: String,
    /// The answer.
    pub data: T,
}

/// Write `data` as the JSON answer of `command`, pretty-printed, newline-terminated.
pub fn write_json<T: Serialize>(w: &mut dyn Write, command: &str, data: &T) -> io::Result<()> {
    let envelope = Envelope {
        version: JSON_VERSION,
        command: command.to_string(),
        data,
    };
    serde_json::to_writer_pretty(&mut *w, &envelope)?;
    writeln!(w)
}
