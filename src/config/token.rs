//! Where a context's token comes from: a file, an environment variable, or a command
//! whose standard output is the token (a password manager, a secrets CLI). Exactly one
//! per context. The token itself is never printed or logged.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use fleetdeck_api::text::sanitize_line;

use super::file::{ContextForm, Lines};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    File(PathBuf),
    Env(String),
    /// Program and arguments, run without a shell.
    Command(Vec<String>),
}

impl TokenSource {
    /// Where the token comes from, for messages (never the token).
    pub fn describe(&self) -> String {
        match self {
            TokenSource::File(p) => format!("token file {}", p.display()),
            TokenSource::Env(var) => format!("environment variable {var}"),
            TokenSource::Command(argv) => format!("token command '{}'", argv.join(" ")),
        }
    }

    /// Reads the token: trimmed, never empty.
    pub fn read(&self) -> Result<String, String> {
        let raw = match self {
            TokenSource::File(path) => std::fs::read_to_string(path)
                .map_err(|e| format!("{}: cannot read it: {e}", self.describe()))?,
            TokenSource::Env(var) => {
                std::env::var(var).map_err(|_| format!("{} is not set", self.describe()))?
            }
            TokenSource::Command(argv) => {
                run(argv).map_err(|e| format!("{}: {e}", self.describe()))?
            }
        };
        let token = raw.trim();
        if token.is_empty() {
            return Err(format!("{} gave an empty token", self.describe()));
        }
        Ok(token.to_string())
    }
}

/// Runs the command with the terminal's stdin and stderr (a password manager may ask
/// for a passphrase) and returns its standard output.
fn run(argv: &[String]) -> Result<String, String> {
    let (program, args) = argv.split_first().ok_or("the command is empty")?;
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::inherit())
        .stderr(Stdio::inherit())
        .stdout(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run it: {e}"))?;
    if !out.status.success() {
        return Err(format!("it failed ({})", out.status));
    }
    String::from_utf8(out.stdout).map_err(|_| "its output is not UTF-8 text".to_string())
}

/// `~/x` is in the home directory; a relative path is next to the config file.
pub fn resolve(path: &Path, base: &Path) -> PathBuf {
    if let Ok(rest) = path.strip_prefix("~")
        && let Some(home) = std::env::var_os("HOME")
    {
        return PathBuf::from(home).join(rest);
    }
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

pub(super) fn from_form(
    name: &str,
    form: &ContextForm,
    base: &Path,
    line: usize,
    lines: &Lines,
) -> Result<TokenSource, (usize, String, String)> {
    let mut sources = Vec::new();
    if let Some(p) = &form.token_file {
        sources.push((
            lines.of(p.span().start),
            TokenSource::File(resolve(p.get_ref(), base)),
        ));
    }
    if let Some(var) = &form.token_env {
        let at = lines.of(var.span().start);
        let v = var.get_ref();
        if v.is_empty() || v.contains(['=', '\0']) {
            return Err((
                at,
                format!(
                    "context '{name}': token_env '{}' is not a variable name",
                    sanitize_line(v)
                ),
                "write the variable's name, like \"FLEETDECK_PROD_TOKEN\"".into(),
            ));
        }
        sources.push((at, TokenSource::Env(v.clone())));
    }
    if let Some(argv) = &form.token_command {
        let at = lines.of(argv.span().start);
        if argv.get_ref().first().is_none_or(|p| p.trim().is_empty()) {
            return Err((
                at,
                format!("context '{name}': token_command is empty"),
                "write the program and its arguments, like [\"pass\", \"show\", \"fleetdeck/prod\"]".into(),
            ));
        }
        sources.push((at, TokenSource::Command(argv.get_ref().clone())));
    }
    match sources.len() {
        1 => Ok(sources.remove(0).1),
        0 => Err((
            line,
            format!("context '{name}' has no token source"),
            "add one of token_file, token_env or token_command".into(),
        )),
        _ => Err((
            sources[1].0,
            format!("context '{name}' has more than one token source"),
            "keep exactly one of token_file, token_env and token_command".into(),
        )),
    }
}
