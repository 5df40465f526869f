//! Tracing. The console logs to a daily-rolling file (never the terminal it draws on);
//! `serve` logs to stderr like any server. `FLEETDECK_LOG` sets the filter, else the
//! config's `log_level`, else `info`. Nothing logged anywhere carries a token: the client redacts it.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

const FILTER_VAR: &str = "FLEETDECK_LOG";

fn filter(configured: Option<&str>) -> EnvFilter {
    EnvFilter::try_from_env(FILTER_VAR)
        .or_else(|_| EnvFilter::try_new(configured.unwrap_or("info")))
        .unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Logs to `dir/fleetdeck.log.YYYY-MM-DD`, keeping a week of files. Keep the guard
/// alive until exit: dropping it flushes.
pub fn to_file(dir: &Path, level: Option<&str>) -> Result<(WorkerGuard, PathBuf), String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("log directory {}: cannot create it: {e}", dir.display()))?;
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("fleetdeck.log")
        .max_log_files(7)
        .build(dir)
        .map_err(|e| format!("log directory {}: cannot log there: {e}", dir.display()))?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    tracing_subscriber::fmt()
        .with_env_filter(filter(level))
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .map_err(|e| format!("cannot start logging: {e}"))?;
    Ok((guard, dir.to_path_buf()))
}

/// Logs to stderr, for `serve`.
pub fn to_stderr() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter(None))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
