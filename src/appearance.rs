//! The keymap and theme: the embedded defaults, or the user's files (`--keymap`,
//! `--theme`, else `keymap.toml` / `theme.toml` in fleetdeck's config directory). A
//! file that does not parse is a one-line error naming it, before the screen changes.

use std::path::{Path, PathBuf};

use fleetdeck_console::keymap::Keymap;
use fleetdeck_console::theme::Theme;

use crate::failure::Failure;
use crate::paths;

fn chosen(flag: Option<&Path>, default_name: &str) -> Option<PathBuf> {
    flag.map(Path::to_path_buf)
        .or_else(|| paths::config_file(default_name))
}

fn read(path: &Path, what: &str) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| {
        Failure::usage(format!(
            "{what} file {}: cannot read it: {e}",
            path.display()
        ))
    })
}

pub fn keymap(flag: Option<&Path>) -> Result<Keymap, Failure> {
    let Some(path) = chosen(flag, "keymap.toml") else {
        return Ok(Keymap::default());
    };
    let text = read(&path, "keymap")?;
    Keymap::from_toml(&text).map_err(|e| Failure::usage(format!("{}: {e}", path.display())))
}

pub fn theme(flag: Option<&Path>) -> Result<Theme, Failure> {
    let Some(path) = chosen(flag, "theme.toml") else {
        return Ok(Theme::default());
    };
    let text = read(&path, "theme")?;
    Theme::from_toml(&text).map_err(|e| Failure::usage(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_file_is_named_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("keymap.toml");
        std::fs::write(&bad, "[global]\nquit = \"q\"\nno_such_action = \"x\"\n").unwrap();
        let f = keymap(Some(&bad)).unwrap_err();
        assert_eq!(f.code, crate::failure::USAGE);
        assert!(
            f.message.starts_with(&bad.display().to_string()),
            "{}",
            f.message
        );
        assert!(!f.message.contains('\n'), "{}", f.message);

        let theme_file = dir.path().join("theme.toml");
        std::fs::write(&theme_file, "not = [valid").unwrap();
        let f = theme(Some(&theme_file)).unwrap_err();
        assert!(f.message.contains("theme.toml"), "{}", f.message);

        let missing = dir.path().join("missing.toml");
        let f = keymap(Some(&missing)).unwrap_err();
        assert!(f.message.contains("cannot read"), "{}", f.message);
    }
}
