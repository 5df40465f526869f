//! `config.toml` as written: every key optional, unknown keys refused. Values that are
//! checked after parsing keep their place in the file, so each problem names its line.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use toml::Spanned;

/// The whole file. `Serialize` exists only so a test can list every key the parser
/// knows and compare it with the documentation.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileForm {
    pub default_context: Option<Spanned<String>>,
    pub theme: Option<Spanned<String>>,
    pub keymap: Option<Spanned<String>>,
    pub log_level: Option<Spanned<String>>,
    pub log_lines: Option<Spanned<i64>>,
    pub stale_after: Option<Spanned<i64>>,
    pub mouse: Option<bool>,
    pub local_time: Option<bool>,
    #[serde(default)]
    pub notify: NotifyForm,
    #[serde(default)]
    pub contexts: BTreeMap<Spanned<String>, ContextForm>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyForm {
    pub bell: Option<bool>,
    pub title: Option<bool>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ContextForm {
    pub server: Option<Spanned<String>>,
    pub token_file: Option<Spanned<PathBuf>>,
    pub token_env: Option<Spanned<String>>,
    pub token_command: Option<Spanned<Vec<String>>>,
    pub production: Option<bool>,
    pub read_only: Option<bool>,
    pub ca_file: Option<Spanned<PathBuf>>,
}

/// Turns byte offsets into 1-based lines of one file's text.
pub struct Lines<'t>(pub &'t str);

impl Lines<'_> {
    pub fn of(&self, offset: usize) -> usize {
        self.0[..offset.min(self.0.len())].matches('\n').count() + 1
    }
}
