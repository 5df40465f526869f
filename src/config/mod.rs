//! `config.toml`: contexts (control planes and how to sign in to them), the default
//! context, theme, keymap, logging, mouse and notifications. Every key is optional; an
//! unknown key, a bad value or a context that cannot work is a [`Problem`] naming the
//! file, the line and what to do about it. `fleetdeck config check` prints them all;
//! everything else stops at the first.

mod file;
pub mod keys;
pub mod token;

use std::path::{Path, PathBuf};

use fleetdeck_api::text::sanitize_line;
use toml::Spanned;

use file::{ContextForm, FileForm, Lines};
pub use token::TokenSource;

/// Most and fewest log lines the console may keep in memory.
pub const LOG_LINES: std::ops::RangeInclusive<i64> = 100..=1_000_000;
/// Allowed data ages before actions are refused, in seconds.
pub const STALE_AFTER: std::ops::RangeInclusive<i64> = 2..=3600;

/// One thing wrong with a config, theme or keymap file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    /// 1-based; 0 when the file as a whole is wrong.
    pub line: usize,
    pub message: String,
    pub hint: String,
}

impl Problem {
    fn new(
        file: &Path,
        line: usize,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Problem {
        Problem {
            file: file.to_path_buf(),
            line,
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// `file:line: message`, one inert line.
    pub fn headline(&self) -> String {
        let place = match self.line {
            0 => self.file.display().to_string(),
            n => format!("{}:{n}", self.file.display()),
        };
        sanitize_line(&format!("{place}: {}", self.message)).into_owned()
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.hint.is_empty() {
            write!(f, "{}", self.headline())
        } else {
            write!(
                f,
                "{} (hint: {})",
                self.headline(),
                sanitize_line(&self.hint)
            )
        }
    }
}

/// A name the config gave (a theme or keymap) and the line it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub name: String,
    pub line: usize,
}

/// One control plane the user can connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub name: String,
    pub server: String,
    pub token: TokenSource,
    /// Unmistakable on screen: its own border colour and a banner.
    pub production: bool,
    /// No action can be sent; `:readonly` cannot turn it off.
    pub read_only: bool,
    /// A PEM file of certificate authorities to trust for this server.
    pub ca_file: Option<PathBuf>,
    pub line: usize,
}

/// A loaded and checked config; `Config::default()` when there is no file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The file it came from, if there was one.
    pub path: Option<PathBuf>,
    pub default_context: Option<String>,
    pub theme: Option<Named>,
    pub keymap: Option<Named>,
    pub log_level: Option<String>,
    pub log_lines: Option<usize>,
    pub stale_after: Option<u64>,
    pub mouse: bool,
    pub local_time: bool,
    pub notify_bell: bool,
    pub notify_title: bool,
    pub contexts: Vec<Context>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            path: None,
            default_context: None,
            theme: None,
            keymap: None,
            log_level: None,
            log_lines: None,
            stale_after: None,
            mouse: true,
            local_time: false,
            notify_bell: false,
            notify_title: false,
            contexts: Vec::new(),
        }
    }
}

impl Config {
    /// Reads `path`; a missing file is the default config, an unreadable one a problem.
    pub fn load(path: &Path) -> Result<Config, Vec<Problem>> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => {
                return Err(vec![Problem::new(
                    path,
                    0,
                    format!("cannot read it: {e}"),
                    "check the file's permissions",
                )]);
            }
        };
        Config::parse(path, &text)
    }

    /// Parses the text of the config file at `path` (relative paths in it are taken
    /// from the file's directory).
    pub fn parse(path: &Path, text: &str) -> Result<Config, Vec<Problem>> {
        let lines = Lines(text);
        let form: FileForm = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(0, |s| lines.of(s.start));
            let message = e.message().trim().replace('\n', " ");
            let hint = if message.starts_with("unknown field") {
                "remove it or fix its spelling; docs/config.md lists every key"
            } else {
                "see docs/config.md for the form of each key"
            };
            vec![Problem::new(path, line, message, hint)]
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut problems = Vec::new();
        let mut config = Config {
            path: Some(path.to_path_buf()),
            mouse: form.mouse.unwrap_or(true),
            local_time: form.local_time.unwrap_or(false),
            notify_bell: form.notify.bell.unwrap_or(false),
            notify_title: form.notify.title.unwrap_or(false),
            theme: form.theme.as_ref().map(|n| named(n, &lines)),
            keymap: form.keymap.as_ref().map(|n| named(n, &lines)),
            ..Config::default()
        };
        let mut check = |ok: Result<(), (usize, String, String)>| {
            if let Err((line, message, hint)) = ok {
                problems.push(Problem::new(path, line, message, hint));
            }
        };
        if let Some(level) = &form.log_level {
            let line = lines.of(level.span().start);
            if valid_log_level(level.get_ref()) {
                config.log_level = Some(level.get_ref().clone());
            } else {
                check(Err((
                    line,
                    format!("log_level '{}' is not a log level", level.get_ref()),
                    "use off, error, warn, info, debug or trace, or per target like \"info,fleetdeck_console=debug\"".into(),
                )));
            }
        }
        if let Some(n) = &form.log_lines {
            match in_range(n, &LOG_LINES, "log_lines", &lines) {
                Ok(v) => config.log_lines = Some(v as usize),
                Err(p) => check(Err(p)),
            }
        }
        if let Some(n) = &form.stale_after {
            match in_range(n, &STALE_AFTER, "stale_after", &lines) {
                Ok(v) => config.stale_after = Some(v as u64),
                Err(p) => check(Err(p)),
            }
        }
        for (name, ctx) in &form.contexts {
            match context(name, ctx, base, &lines) {
                Ok(c) => config.contexts.push(c),
                Err(p) => check(Err(p)),
            }
        }
        if let Some(default) = &form.default_context {
            let line = lines.of(default.span().start);
            if form
                .contexts
                .keys()
                .any(|k| k.get_ref() == default.get_ref())
            {
                config.default_context = Some(default.get_ref().clone());
            } else {
                check(Err((
                    line,
                    format!(
                        "default_context '{}' is not a context in this file",
                        default.get_ref()
                    ),
                    names_hint(&form),
                )));
            }
        }
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(problems)
        }
    }

    pub fn context(&self, name: &str) -> Option<&Context> {
        self.contexts.iter().find(|c| c.name == name)
    }

    pub fn context_names(&self) -> Vec<String> {
        self.contexts.iter().map(|c| c.name.clone()).collect()
    }
}

fn named(n: &Spanned<String>, lines: &Lines) -> Named {
    Named {
        name: n.get_ref().clone(),
        line: lines.of(n.span().start),
    }
}

type Found = (usize, String, String);

fn in_range(
    n: &Spanned<i64>,
    range: &std::ops::RangeInclusive<i64>,
    key: &str,
    lines: &Lines,
) -> Result<i64, Found> {
    if range.contains(n.get_ref()) {
        return Ok(*n.get_ref());
    }
    Err((
        lines.of(n.span().start),
        format!("{key} = {} is out of range", n.get_ref()),
        format!("use a number from {} to {}", range.start(), range.end()),
    ))
}

fn names_hint(form: &FileForm) -> String {
    if form.contexts.is_empty() {
        "define it as a [contexts.NAME] table, or remove default_context".into()
    } else {
        let names: Vec<&str> = form.contexts.keys().map(|k| k.get_ref().as_str()).collect();
        format!("the contexts are: {}", names.join(", "))
    }
}

/// A level, or comma-separated `level` and `target=level` parts: stricter than a
/// tracing filter, which would take a misspelt level for a target name.
fn valid_log_level(text: &str) -> bool {
    const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
    let ok = |l: &str| LEVELS.contains(&l.trim().to_ascii_lowercase().as_str());
    !text.trim().is_empty()
        && text.split(',').all(|part| match part.split_once('=') {
            Some((target, level)) => !target.trim().is_empty() && ok(level),
            None => ok(part),
        })
        && tracing_subscriber::EnvFilter::try_new(text).is_ok()
}

/// A context name is typed on command lines and in `:ctx`.
fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn context(
    name: &Spanned<String>,
    form: &ContextForm,
    base: &Path,
    lines: &Lines,
) -> Result<Context, Found> {
    let line = lines.of(name.span().start);
    let shown = name.get_ref();
    if !valid_name(shown) {
        return Err((
            line,
            format!("context name '{shown}' is not 1-64 letters, digits, '-', '_' or '.'"),
            "rename the [contexts.NAME] table".into(),
        ));
    }
    let Some(server) = &form.server else {
        return Err((
            line,
            format!("context '{shown}' has no server"),
            "add server = \"https://host:7300\"".into(),
        ));
    };
    let server_text = server.get_ref().trim();
    if !(server_text.starts_with("http://") || server_text.starts_with("https://")) {
        return Err((
            lines.of(server.span().start),
            format!("context '{shown}': server '{server_text}' is not an http:// or https:// URL"),
            "write the control plane's URL, like \"https://fleetdeck.internal:7300\"".into(),
        ));
    }
    let token = token::from_form(shown, form, base, line, lines)?;
    let ca_file = form
        .ca_file
        .as_ref()
        .map(|p| token::resolve(p.get_ref(), base));
    Ok(Context {
        name: shown.clone(),
        server: server_text.to_string(),
        token,
        production: form.production.unwrap_or(false),
        read_only: form.read_only.unwrap_or(false),
        ca_file,
        line,
    })
}
