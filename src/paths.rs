//! Where fleetdeck keeps its files, per the platform's conventions (XDG on Linux):
//! demo state in the data directory, logs in the state directory (the cache directory
//! where the platform has no state directory), tokens in the config directory.

use std::path::PathBuf;

use directories::ProjectDirs;

fn project() -> Result<ProjectDirs, String> {
    ProjectDirs::from("dev", "fleetdeck", "fleetdeck")
        .ok_or_else(|| "cannot find a home directory for fleetdeck's files (is HOME set?)".into())
}

/// The embedded demo's SQLite file.
pub fn demo_state() -> Result<PathBuf, String> {
    Ok(project()?.data_dir().join("demo.sqlite"))
}

/// The directory of the rolling log files.
pub fn log_dir() -> Result<PathBuf, String> {
    let dirs = project()?;
    let base = dirs.state_dir().unwrap_or_else(|| dirs.cache_dir());
    Ok(base.join("logs"))
}

/// The default token file of `fleetdeck token new`.
pub fn default_token_file() -> Result<PathBuf, String> {
    Ok(project()?.config_dir().join("tokens"))
}

/// A file in fleetdeck's config directory (`keymap.toml`, `theme.toml`), if it exists.
pub fn config_file(name: &str) -> Option<PathBuf> {
    let path = project().ok()?.config_dir().join(name);
    path.is_file().then_some(path)
}
