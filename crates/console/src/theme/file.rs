//! A theme file as written: styles by meaning, an optional parent, colours as names,
//! `#rrggbb` or 256-colour indexes. Every value keeps its place in the file, so a bad
//! colour is reported with its line rather than as "somewhere in the theme".

use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use toml::Spanned;

use super::ThemeError;

/// A colour as the file writes it: `"red"`, `"#ff8800"`, `"208"` or `208`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(super) enum ColourValue {
    Index(i64),
    Text(String),
}

/// One style as the file writes it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StyleSpec {
    fg: Option<Spanned<ColourValue>>,
    bg: Option<Spanned<ColourValue>>,
    #[serde(default)]
    bold: bool,
    #[serde(default)]
    dim: bool,
    #[serde(default)]
    italic: bool,
    #[serde(default)]
    underline: bool,
    #[serde(default)]
    reversed: bool,
}

/// Turns byte offsets into 1-based lines of one file's text.
pub(super) struct Lines<'t>(pub &'t str);

impl Lines<'_> {
    pub fn of(&self, offset: usize) -> usize {
        self.0[..offset.min(self.0.len())].matches('\n').count() + 1
    }
}

fn colour(value: &Spanned<ColourValue>, meaning: &str, lines: &Lines) -> Result<Color, ThemeError> {
    let parsed = match value.get_ref() {
        ColourValue::Index(i) => u8::try_from(*i).ok().map(Color::Indexed),
        ColourValue::Text(s) => Color::from_str(s).ok(),
    };
    parsed.ok_or_else(|| {
        let shown = match value.get_ref() {
            ColourValue::Index(i) => i.to_string(),
            ColourValue::Text(s) => format!("'{s}'"),
        };
        ThemeError::at(
            lines.of(value.span().start),
            format!(
                "'{meaning}': unknown colour {shown} (use a name like \"red\", \"#rrggbb\" \
                 or an index 0-255)"
            ),
        )
    })
}

impl StyleSpec {
    pub fn to_style(&self, meaning: &str, lines: &Lines) -> Result<Style, ThemeError> {
        let mut style = Style::default();
        if let Some(fg) = &self.fg {
            style = style.fg(colour(fg, meaning, lines)?);
        }
        if let Some(bg) = &self.bg {
            style = style.bg(colour(bg, meaning, lines)?);
        }
        for (on, m) in [
            (self.bold, Modifier::BOLD),
            (self.dim, Modifier::DIM),
            (self.italic, Modifier::ITALIC),
            (self.underline, Modifier::UNDERLINED),
            (self.reversed, Modifier::REVERSED),
        ] {
            if on {
                style = style.add_modifier(m);
            }
        }
        Ok(style)
    }
}

/// Parses TOML, turning a syntax or unknown-key error into one with a line.
pub(super) fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ThemeError> {
    toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(0, |s| Lines(text).of(s.start));
        ThemeError::at(line, e.message().trim().to_string())
    })
}
