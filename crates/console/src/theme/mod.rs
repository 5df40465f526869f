//! Styles named by meaning (`themes/default.toml`), parsed once into ready [`Style`]s.
//!
//! Drawing code asks for `theme.critical`, never for a colour. A theme file may leave a
//! meaning out (it falls back to the default theme's), but an unknown meaning or an
//! unknown field is an error with its line, so a typo is never silently ignored.

use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

const DEFAULT_THEME: &str = include_str!("../../../../themes/default.toml");

/// Why a theme file was refused; the message names the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("theme: {0}")]
pub struct ThemeError(pub String);

/// One style as the file writes it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StyleSpec {
    fg: Option<String>,
    bg: Option<String>,
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

impl StyleSpec {
    fn to_style(&self, meaning: &str) -> Result<Style, ThemeError> {
        let colour = |c: &Option<String>| -> Result<Option<Color>, ThemeError> {
            c.as_deref()
                .map(|s| {
                    Color::from_str(s).map_err(|_| {
                        ThemeError(format!(
                            "'{meaning}': unknown colour '{s}' (use a name like \"red\", \
                             \"#rrggbb\" or an index 0-255)"
                        ))
                    })
                })
                .transpose()
        };
        let mut style = Style::default();
        if let Some(fg) = colour(&self.fg)? {
            style = style.fg(fg);
        }
        if let Some(bg) = colour(&self.bg)? {
            style = style.bg(bg);
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

macro_rules! meanings {
    ($($field:ident: $doc:literal,)*) => {
        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct FileForm { $($field: Option<StyleSpec>,)* }

        /// Ready styles, one per meaning.
        #[derive(Debug, Clone, PartialEq)]
        pub struct Theme { $(#[doc = $doc] pub $field: Style,)* }

        impl Theme {
            fn build(file: &FileForm, fallback: Option<&Theme>) -> Result<Theme, ThemeError> {
                Ok(Theme { $($field: match (&file.$field, fallback) {
                    (Some(spec), _) => spec.to_style(stringify!($field))?,
                    (None, Some(f)) => f.$field,
                    (None, None) => {
                        return Err(ThemeError(format!(
                            "the default theme lacks '{}'", stringify!($field)
                        )))
                    }
                },)* })
            }
        }
    };
}

meanings! {
    text: "Ordinary text.",
    muted: "Secondary text: ids, ages, hints.",
    title: "Pane titles.",
    title_focused: "The focused pane's title.",
    border: "Pane borders.",
    border_focused: "The focused pane's border.",
    header: "The top bar.",
    table_header: "Column headings.",
    selection: "The selected row.",
    ok: "Healthy, fresh, passed, connected.",
    warning: "Degraded, aging, paused, waiting.",
    critical: "Down, stale, failed, disconnected.",
    info: "Neutral status: running, pending.",
    accent: "Things to look at: counts, the subject of a dialog.",
    key: "Key names in hints and help.",
    notice: "The footer notice after an action.",
    disconnected: "The header banner while disconnected.",
    button: "A dialog button.",
    button_focused: "The focused dialog button.",
    button_disabled: "A button that cannot be pressed yet.",
    input: "A text field.",
    input_focused: "The focused text field.",
    gauge_done: "The done part of a ring gauge.",
    gauge_failed: "The failed part of a ring gauge.",
    gauge_rest: "The not-yet-done part of a ring gauge.",
}

impl Default for Theme {
    fn default() -> Theme {
        let file: FileForm =
            toml::from_str(DEFAULT_THEME).expect("the embedded default theme parses");
        Theme::build(&file, None).expect("the embedded default theme is complete")
    }
}

impl Theme {
    /// Parses a theme; meanings it leaves out come from the default theme.
    pub fn from_toml(text: &str) -> Result<Theme, ThemeError> {
        let file: FileForm = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            match line {
                Some(line) => ThemeError(format!("line {line}: {}", e.message())),
                None => ThemeError(e.message().to_string()),
            }
        })?;
        Theme::build(&file, Some(&Theme::default()))
    }

    /// Border style for a pane.
    pub fn border_for(&self, focused: bool) -> Style {
        if focused {
            self.border_focused
        } else {
            self.border
        }
    }

    pub fn title_for(&self, focused: bool) -> Style {
        if focused {
            self.title_focused
        } else {
            self.title
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_theme_is_complete() {
        let t = Theme::default();
        assert_ne!(t.critical, Style::default());
    }

    #[test]
    fn missing_meanings_fall_back_to_the_default() {
        let t = Theme::from_toml("ok = { fg = \"#00ff00\", bold = true }\n").unwrap();
        assert_eq!(
            t.ok,
            Style::default()
                .fg(Color::Rgb(0, 255, 0))
                .add_modifier(Modifier::BOLD)
        );
        assert_eq!(t.critical, Theme::default().critical);
    }

    #[test]
    fn unknown_meaning_is_an_error_with_a_line() {
        let err =
            Theme::from_toml("ok = { fg = \"green\" }\ncritcal = { fg = \"red\" }\n").unwrap_err();
        assert!(err.0.contains("line 2"), "{err}");
        assert!(err.0.contains("critcal"), "{err}");
    }

    #[test]
    fn unknown_field_and_colour_are_errors() {
        assert!(Theme::from_toml("ok = { colour = \"green\" }\n").is_err());
        let err = Theme::from_toml("ok = { fg = \"greenish\" }\n").unwrap_err();
        assert!(err.0.contains("greenish"), "{err}");
    }
}
