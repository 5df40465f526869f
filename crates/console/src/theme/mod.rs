//! Styles named by meaning (`themes/*.toml`), parsed once into ready [`Style`]s.
//!
//! Drawing code asks for `theme.critical`, never for a colour. A theme file names a
//! `parent` (the default theme when it names none) and overrides any subset of
//! meanings; an unknown meaning, field or colour is an error with its line, so a typo
//! is never silently ignored.

mod file;

use ratatui::style::Style;
use serde::Deserialize;
use toml::Spanned;

use file::{Lines, StyleSpec};

/// The themes built into the binary, by the name `:theme` and the config use.
const BUILT_IN: [(&str, &str); 4] = [
    ("default", include_str!("../../../../themes/default.toml")),
    ("light", include_str!("../../../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../../../themes/high-contrast.toml"),
    ),
    ("mono", include_str!("../../../../themes/mono.toml")),
];

/// Why a theme file was refused: the line (0 when the file as a whole is wrong) and,
/// once the caller knows it, the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct ThemeError {
    pub file: Option<String>,
    pub line: usize,
    pub message: String,
}

impl ThemeError {
    fn at(line: usize, message: String) -> ThemeError {
        ThemeError {
            file: None,
            line,
            message,
        }
    }

    /// Names the file the error is in.
    pub fn in_file(mut self, file: impl Into<String>) -> ThemeError {
        self.file = Some(file.into());
        self
    }

    fn describe(&self) -> String {
        match (&self.file, self.line) {
            (Some(f), 0) => format!("{f}: {}", self.message),
            (Some(f), n) => format!("{f}:{n}: {}", self.message),
            (None, 0) => format!("theme: {}", self.message),
            (None, n) => format!("theme line {n}: {}", self.message),
        }
    }
}

macro_rules! meanings {
    ($($field:ident: $doc:literal,)*) => {
        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct FileForm {
            parent: Option<Spanned<String>>,
            $($field: Option<StyleSpec>,)*
        }

        /// Ready styles, one per meaning.
        #[derive(Debug, Clone, PartialEq)]
        pub struct Theme { $(#[doc = $doc] pub $field: Style,)* }

        /// Every meaning a theme names, with what it is for (docs and `config check`).
        pub const MEANINGS: &[(&str, &str)] = &[$((stringify!($field), $doc),)*];

        impl Theme {
            fn build(file: &FileForm, parent: &Theme, lines: &Lines) -> Result<Theme, ThemeError> {
                Ok(Theme { $($field: match &file.$field {
                    Some(spec) => spec.to_style(stringify!($field), lines)?,
                    None => parent.$field,
                },)* })
            }

            /// Each meaning's style from `f` of this theme's and `other`'s.
            fn zip_with(&self, other: &Theme, f: impl Fn(Style, Style) -> Style) -> Theme {
                Theme { $($field: f(self.$field, other.$field),)* }
            }

            /// Every meaning with its style, in file order.
            pub fn styles(&self) -> Vec<(&'static str, Style)> {
                vec![$((stringify!($field), self.$field),)*]
            }

            /// The root of every inheritance chain: all of it must be written out.
            fn complete(file: &FileForm, lines: &Lines) -> Result<Theme, ThemeError> {
                Ok(Theme { $($field: match &file.$field {
                    Some(spec) => spec.to_style(stringify!($field), lines)?,
                    None => return Err(ThemeError::at(0, format!(
                        "the default theme lacks '{}'", stringify!($field)
                    ))),
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
    border_production: "Pane borders while connected to a production context.",
    header: "The top bar.",
    production: "The header banner of a production context.",
    read_only: "The READ-ONLY badge in the header.",
    table_header: "Column headings.",
    selection: "The selected row.",
    marked: "A marked row (Space), ready for a bulk action.",
    matched: "Characters a filter matched.",
    ok: "Healthy, fresh, passed, connected.",
    warning: "Degraded, aging, paused, waiting.",
    critical: "Down, stale, failed, disconnected.",
    info: "Neutral status: running, pending.",
    accent: "Things to look at: counts, the subject of a dialog.",
    key: "Key names in hints and help.",
    notice: "The footer notice after an action.",
    command: "The command and filter line.",
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
        let text = BUILT_IN[0].1;
        let file: FileForm = file::parse(text).expect("the embedded default theme parses");
        Theme::complete(&file, &Lines(text)).expect("the embedded default theme is complete")
    }
}

impl Theme {
    /// Names of the themes built in, for completion and `:theme`.
    pub const NAMES: [&'static str; 4] = ["default", "light", "high-contrast", "mono"];

    /// A built-in theme by name.
    pub fn by_name(name: &str) -> Option<Theme> {
        let (_, text) = BUILT_IN.iter().find(|(n, _)| *n == name)?;
        if name == "default" {
            return Some(Theme::default());
        }
        Some(Theme::from_toml(text).expect("the embedded themes are valid"))
    }

    /// The theme when nothing else is configured: mono when `NO_COLOR` is set (any
    /// value, as no-color.org asks), else the default.
    pub fn for_environment(no_color: bool) -> Theme {
        if no_color {
            Theme::by_name("mono").expect("mono is built in")
        } else {
            Theme::default()
        }
    }

    /// This theme for a terminal without colour (`NO_COLOR`), where colours are not
    /// drawn at all (crossterm leaves them out): every meaning loses its colours and
    /// gains the mono theme's modifiers, so the selection stays reversed, failures bold
    /// and underlined, and so on, whatever colours a theme of one's own chose to carry
    /// them. Its own modifiers stay.
    pub fn without_colour(&self) -> Theme {
        let mono = Theme::by_name("mono").expect("mono is built in");
        self.zip_with(&mono, |own, mono| {
            let mut style = Style::default().add_modifier(own.add_modifier | mono.add_modifier);
            style.sub_modifier = own.sub_modifier - mono.add_modifier;
            style
        })
    }

    /// This theme as a terminal shows it: [`Theme::without_colour`] when `no_color`.
    pub fn for_terminal(self, no_color: bool) -> Theme {
        if no_color {
            self.without_colour()
        } else {
            self
        }
    }

    /// Parses a theme whose parent is a built-in theme (the default when it names none).
    pub fn from_toml(text: &str) -> Result<Theme, ThemeError> {
        Theme::from_toml_with_parent(text, &|_| None)
    }

    /// Parses a theme; its `parent` is looked up with `user` first (the user's own
    /// themes, which may fail with their own file and line), then among the built-ins.
    /// Meanings the file leaves out come from the parent.
    pub fn from_toml_with_parent(
        text: &str,
        user: &dyn Fn(&str) -> Option<Result<Theme, ThemeError>>,
    ) -> Result<Theme, ThemeError> {
        let file: FileForm = file::parse(text)?;
        let lines = Lines(text);
        let parent = match &file.parent {
            None => Theme::default(),
            Some(name) => match user(name.get_ref()) {
                Some(parent) => parent?,
                None => Theme::by_name(name.get_ref()).ok_or_else(|| {
                    ThemeError::at(
                        lines.of(name.span().start),
                        format!(
                            "unknown parent theme '{}': use one of {} or a theme file of yours",
                            name.get_ref(),
                            Theme::NAMES.join(", ")
                        ),
                    )
                })?,
            },
        };
        Theme::build(&file, &parent, &lines)
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
    use ratatui::style::{Color, Modifier};

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
        assert_eq!(err.line, 2, "{err}");
        assert!(err.message.contains("critcal"), "{err}");
    }

    #[test]
    fn unknown_field_and_colour_are_errors() {
        assert!(Theme::from_toml("ok = { colour = \"green\" }\n").is_err());
        let err = Theme::from_toml("\nok = { fg = \"greenish\" }\n").unwrap_err();
        assert!(err.message.contains("greenish"), "{err}");
        assert_eq!(err.line, 2);
    }

    #[test]
    fn without_colour_keeps_modifiers_and_adds_mono_ones() {
        let own = Theme::from_toml(
            "selection = { bg = \"blue\" }\nok = { fg = \"green\", italic = true }\n",
        )
        .unwrap();
        let bare = own.without_colour();
        for (meaning, style) in bare.styles() {
            assert_eq!((style.fg, style.bg), (None, None), "{meaning}");
        }
        assert!(bare.selection.add_modifier.contains(Modifier::REVERSED));
        assert!(bare.ok.add_modifier.contains(Modifier::ITALIC));
        assert!(bare.critical.add_modifier.contains(Modifier::BOLD));
        assert_eq!(
            Theme::by_name("mono").unwrap().without_colour(),
            Theme::by_name("mono").unwrap()
        );
    }

    #[test]
    fn every_built_in_theme_loads() {
        for name in Theme::NAMES {
            assert!(Theme::by_name(name).is_some(), "{name}");
        }
    }
}
