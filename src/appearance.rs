//! The theme and keymap in use, and the user's own themes for `:theme`. In order:
//! `--theme`/`--keymap FILE`; the config's `theme`/`keymap` name (a file in the config
//! directory's `themes/` or `keymaps/`, else a built-in); the older `theme.toml` /
//! `keymap.toml` in the config directory; mono when `NO_COLOR` is set; the default.
//! Every problem names its file and line.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use fleetdeck_console::keymap::Keymap;
use fleetdeck_console::theme::{Theme, ThemeError};

use crate::config::{Config, Problem};
use crate::paths;

/// Where user themes and keymaps are looked up.
#[derive(Debug, Clone)]
pub struct Dirs {
    pub themes: PathBuf,
    pub keymaps: PathBuf,
}

impl Dirs {
    pub fn standard() -> Result<Dirs, String> {
        Ok(Dirs {
            themes: paths::themes_dir()?,
            keymaps: paths::keymaps_dir()?,
        })
    }
}

pub struct Appearance {
    pub theme: Theme,
    pub keymap: Keymap,
    /// The user's themes by name (`themes/*.toml`), for `:theme NAME`.
    pub user_themes: Vec<(String, Theme)>,
    /// `NO_COLOR` is set: the themes above are drawn without colours, and so must be
    /// a built-in one `:theme` switches to.
    pub no_color: bool,
}

/// Files given on the command line, which win over the config.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flags<'a> {
    pub theme: Option<&'a Path>,
    pub keymap: Option<&'a Path>,
    /// `NO_COLOR` is set: whatever theme is chosen is drawn without colours, with
    /// modifiers carrying what colours would (see [`Theme::without_colour`]).
    pub no_color: bool,
}

/// Loads everything the console draws with; all problems, not only the first.
pub fn load(flags: Flags, config: &Config, dirs: &Dirs) -> Result<Appearance, Vec<Problem>> {
    let mut problems = Vec::new();
    let user_themes = user_themes(&dirs.themes, &mut problems)
        .into_iter()
        .map(|(name, t)| (name, t.for_terminal(flags.no_color)))
        .collect();
    let theme = theme(flags.theme, config, dirs, flags.no_color, &mut problems)
        .map(|t| t.for_terminal(flags.no_color));
    let keymap = keymap(flags.keymap, config, dirs, &mut problems);
    match (theme, keymap) {
        (Some(theme), Some(keymap)) if problems.is_empty() => Ok(Appearance {
            theme,
            keymap,
            user_themes,
            no_color: flags.no_color,
        }),
        _ => Err(problems),
    }
}

fn read(path: &Path, problems: &mut Vec<Problem>) -> Option<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) => {
            problems.push(problem(path, 0, format!("cannot read it: {e}"), ""));
            None
        }
    }
}

fn problem(path: &Path, line: usize, message: String, hint: &str) -> Problem {
    Problem {
        file: path.to_path_buf(),
        line,
        message,
        hint: hint.to_string(),
    }
}

fn from_theme_error(fallback: &Path, e: ThemeError) -> Problem {
    let file = e.file.map_or_else(|| fallback.to_path_buf(), PathBuf::from);
    problem(
        &file,
        e.line,
        e.message,
        "see docs/config.md for theme meanings and colours",
    )
}

/// Parses a theme file whose parent may be another user theme (loops are refused).
fn parse_theme(path: &Path, text: &str, themes_dir: &Path) -> Result<Theme, ThemeError> {
    let chain = RefCell::new(vec![path.to_path_buf()]);
    parse_in_chain(text, themes_dir, &chain)
}

fn parse_in_chain(
    text: &str,
    themes_dir: &Path,
    chain: &RefCell<Vec<PathBuf>>,
) -> Result<Theme, ThemeError> {
    let lookup = |name: &str| -> Option<Result<Theme, ThemeError>> {
        let parent = themes_dir.join(format!("{name}.toml"));
        if !parent.is_file() {
            return None;
        }
        if chain.borrow().contains(&parent) {
            return Some(Err(ThemeError {
                file: Some(parent.display().to_string()),
                line: 0,
                message: format!("parent '{name}' leads back to itself"),
            }));
        }
        let text = match std::fs::read_to_string(&parent) {
            Ok(t) => t,
            Err(e) => {
                return Some(Err(ThemeError {
                    file: Some(parent.display().to_string()),
                    line: 0,
                    message: format!("cannot read it: {e}"),
                }));
            }
        };
        chain.borrow_mut().push(parent.clone());
        let parsed = parse_in_chain(&text, themes_dir, chain).map_err(|e| {
            if e.file.is_some() {
                e
            } else {
                e.in_file(parent.display().to_string())
            }
        });
        chain.borrow_mut().pop();
        Some(parsed)
    };
    Theme::from_toml_with_parent(text, &lookup)
}

fn theme_file(path: &Path, themes_dir: &Path, problems: &mut Vec<Problem>) -> Option<Theme> {
    let text = read(path, problems)?;
    parse_theme(path, &text, themes_dir)
        .map_err(|e| problems.push(from_theme_error(path, e)))
        .ok()
}

fn theme(
    flag: Option<&Path>,
    config: &Config,
    dirs: &Dirs,
    no_color: bool,
    problems: &mut Vec<Problem>,
) -> Option<Theme> {
    if let Some(path) = flag {
        return theme_file(path, &dirs.themes, problems);
    }
    if let Some(named) = &config.theme {
        let user = dirs.themes.join(format!("{}.toml", named.name));
        if user.is_file() {
            return theme_file(&user, &dirs.themes, problems);
        }
        return Theme::by_name(&named.name).or_else(|| {
            problems.push(problem(
                config.path.as_deref().unwrap_or(Path::new("config.toml")),
                named.line,
                format!("unknown theme '{}'", named.name),
                &format!(
                    "use one of {} or put {}.toml in {}",
                    Theme::NAMES.join(", "),
                    named.name,
                    dirs.themes.display()
                ),
            ));
            None
        });
    }
    if let Some(path) = paths::config_dir_file("theme.toml") {
        return theme_file(&path, &dirs.themes, problems);
    }
    Some(Theme::for_environment(no_color))
}

fn keymap_file(path: &Path, problems: &mut Vec<Problem>) -> Option<Keymap> {
    let text = read(path, problems)?;
    Keymap::default()
        .with_overrides(&text)
        .map_err(|e| {
            problems.push(problem(
                path,
                e.line,
                e.message,
                "see docs/config.md for layers, actions and key names",
            ))
        })
        .ok()
}

fn keymap(
    flag: Option<&Path>,
    config: &Config,
    dirs: &Dirs,
    problems: &mut Vec<Problem>,
) -> Option<Keymap> {
    if let Some(path) = flag {
        return keymap_file(path, problems);
    }
    if let Some(named) = &config.keymap {
        let user = dirs.keymaps.join(format!("{}.toml", named.name));
        if user.is_file() {
            return keymap_file(&user, problems);
        }
        return Keymap::by_name(&named.name).or_else(|| {
            problems.push(problem(
                config.path.as_deref().unwrap_or(Path::new("config.toml")),
                named.line,
                format!("unknown keymap '{}'", named.name),
                &format!(
                    "use one of {} or put {}.toml in {}",
                    Keymap::NAMES.join(", "),
                    named.name,
                    dirs.keymaps.display()
                ),
            ));
            None
        });
    }
    if let Some(path) = paths::config_dir_file("keymap.toml") {
        return keymap_file(&path, problems);
    }
    Some(Keymap::default())
}

/// Every `themes/*.toml`, by file name, in name order; broken ones are problems.
fn user_themes(dir: &Path, problems: &mut Vec<Problem>) -> Vec<(String, Theme)> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect(),
        Err(_) => return Vec::new(),
    };
    files.sort();
    files
        .iter()
        .filter_map(|path| {
            let name = path.file_stem()?.to_string_lossy().into_owned();
            theme_file(path, dir, problems).map(|t| (name, t))
        })
        .collect()
}

/// Every `keymaps/*.toml` checked (for `config check`).
pub fn check_user_keymaps(dir: &Path, problems: &mut Vec<Problem>) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    for path in &files {
        keymap_file(path, problems);
    }
    files.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs(root: &Path) -> Dirs {
        let d = Dirs {
            themes: root.join("themes"),
            keymaps: root.join("keymaps"),
        };
        std::fs::create_dir_all(&d.themes).unwrap();
        std::fs::create_dir_all(&d.keymaps).unwrap();
        d
    }

    #[test]
    fn user_themes_inherit_from_each_other_and_loops_are_named() {
        let root = tempfile::tempdir().unwrap();
        let d = dirs(root.path());
        std::fs::write(
            d.themes.join("base.toml"),
            "parent = \"light\"\nok = { fg = \"green\" }\n",
        )
        .unwrap();
        std::fs::write(d.themes.join("mine.toml"), "parent = \"base\"\n").unwrap();
        let config = Config {
            theme: Some(crate::config::Named {
                name: "mine".into(),
                line: 1,
            }),
            ..Config::default()
        };
        let a = load(Flags::default(), &config, &d).unwrap();
        assert_eq!(a.user_themes.len(), 2);
        assert_eq!(
            a.theme.ok,
            Theme::from_toml("ok = { fg = \"green\" }").unwrap().ok
        );

        std::fs::write(d.themes.join("base.toml"), "parent = \"mine\"\n").unwrap();
        let problems = load(Flags::default(), &config, &d).err().unwrap();
        assert!(
            problems
                .iter()
                .any(|p| p.message.contains("leads back to itself")),
            "{problems:?}"
        );
    }

    #[test]
    fn no_color_keeps_a_user_theme_s_selection_reversed() {
        use ratatui::style::Modifier;
        let root = tempfile::tempdir().unwrap();
        let d = dirs(root.path());
        // A theme of one's own that shows the selection and failures by colour alone.
        std::fs::write(
            d.themes.join("ocean.toml"),
            "selection = { bg = \"blue\" }\ncritical = { fg = \"red\" }\n",
        )
        .unwrap();
        let config = Config {
            theme: Some(crate::config::Named {
                name: "ocean".into(),
                line: 1,
            }),
            ..Config::default()
        };
        let coloured = load(Flags::default(), &config, &d).unwrap();
        assert_eq!(
            coloured.theme.selection.bg,
            Some(ratatui::style::Color::Blue)
        );
        let flags = Flags {
            no_color: true,
            ..Flags::default()
        };
        let bare = load(flags, &config, &d).unwrap();
        let themes = std::iter::once(&bare.theme).chain(bare.user_themes.iter().map(|(_, t)| t));
        for theme in themes {
            for (meaning, style) in theme.styles() {
                assert_eq!((style.fg, style.bg), (None, None), "{meaning}");
            }
            assert!(theme.selection.add_modifier.contains(Modifier::REVERSED));
            assert!(theme.critical.add_modifier.contains(Modifier::BOLD));
        }
    }

    #[test]
    fn unknown_names_point_at_the_config_line() {
        let root = tempfile::tempdir().unwrap();
        let d = dirs(root.path());
        let config = Config {
            path: Some(root.path().join("config.toml")),
            theme: Some(crate::config::Named {
                name: "nope".into(),
                line: 3,
            }),
            keymap: Some(crate::config::Named {
                name: "emacs".into(),
                line: 4,
            }),
            ..Config::default()
        };
        let problems = load(Flags::default(), &config, &d).err().unwrap();
        let lines: Vec<String> = problems.iter().map(Problem::headline).collect();
        assert!(
            lines[0].ends_with("config.toml:3: unknown theme 'nope'"),
            "{lines:?}"
        );
        assert!(
            lines[1].ends_with("config.toml:4: unknown keymap 'emacs'"),
            "{lines:?}"
        );
    }

    #[test]
    fn a_user_keymap_overrides_part_of_the_default() {
        let root = tempfile::tempdir().unwrap();
        let d = dirs(root.path());
        std::fs::write(d.keymaps.join("mine.toml"), "[global]\nquit = \"f10\"\n").unwrap();
        let config = Config {
            keymap: Some(crate::config::Named {
                name: "mine".into(),
                line: 1,
            }),
            ..Config::default()
        };
        let a = load(Flags::default(), &config, &d).unwrap();
        let quit = fleetdeck_console::keymap::NamedAction::parse("quit").unwrap();
        let keys = a.keymap.keys(
            fleetdeck_console::keymap::Layer::parse("global").unwrap(),
            quit,
        );
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].label(), "F10");
    }
}
