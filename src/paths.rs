//! Where fleetdeck keeps its files, per the platform's conventions (XDG on Linux):
//! config.toml, user themes and keymaps and the default token file in the config
//! directory, demo state in the data directory, logs in the state directory (the cache
//! directory where the platform has no state directory).

use std::path::PathBuf;

use directories::ProjectDirs;

fn project() -> Result<ProjectDirs, String> {
    ProjectDirs::from("dev", "fleetdeck", "fleetdeck")
        .ok_or_else(|| "cannot find a home directory for fleetdeck's files (is HOME set?)".into())
}

/// fleetdeck's config directory.
pub fn config_dir() -> Result<PathBuf, String> {
    Ok(project()?.config_dir().to_path_buf())
}

/// `config.toml`, whether or not it exists.
pub fn config_file() -> Result<PathBuf, String> {
    Ok(config_dir()?.join("config.toml"))
}

/// The user's themes, `themes/NAME.toml`.
pub fn themes_dir() -> Result<PathBuf, String> {
    Ok(config_dir()?.join("themes"))
}

/// The user's keymaps, `keymaps/NAME.toml`.
pub fn keymaps_dir() -> Result<PathBuf, String> {
    Ok(config_dir()?.join("keymaps"))
}

/// The data directory: the embedded demo's state.
pub fn data_dir() -> Result<PathBuf, String> {
    Ok(project()?.data_dir().to_path_buf())
}

/// The embedded demo's SQLite file.
pub fn demo_state() -> Result<PathBuf, String> {
    Ok(data_dir()?.join("demo.sqlite"))
}

/// The directory of the rolling log files.
pub fn log_dir() -> Result<PathBuf, String> {
    let dirs = project()?;
    let base = dirs.state_dir().unwrap_or_else(|| dirs.cache_dir());
    Ok(base.join("logs"))
}

/// The default token file of `fleetdeck token new`.
pub fn default_token_file() -> Result<PathBuf, String> {
    Ok(config_dir()?.join("tokens"))
}

/// A file in fleetdeck's config directory (`keymap.toml`, `theme.toml`), if it exists.
pub fn config_dir_file(name: &str) -> Option<PathBuf> {
    let path = config_dir().ok()?.join(name);
    path.is_file().then_some(path)
}
