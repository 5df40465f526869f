//! The join file: how a second console on the same demo state reaches the embedded
//! control plane the first one runs. `STATE.join` holds its URL, a token for the local
//! user and the hosting process's pid; mode 0600 in the user's own data directory,
//! written whole (a new file renamed over the old) and removed when its host stops. The
//! token is never logged.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize)]
pub struct Join {
    pub url: String,
    pub token: String,
    pub pid: u32,
}

/// `STATE.join`.
pub fn path(state: &Path) -> PathBuf {
    let mut name = state.as_os_str().to_owned();
    name.push(".join");
    PathBuf::from(name)
}

/// The join file of `state`, if there is a readable one.
pub fn read(state: &Path) -> Option<Join> {
    let text = std::fs::read_to_string(path(state)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Writes the join file, readable by its owner only.
pub fn write(state: &Path, join: &Join) -> Result<(), String> {
    let target = path(state);
    let mut tmp = target.as_os_str().to_owned();
    tmp.push(format!(".{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let fail = |e: std::io::Error| format!("join file {}: {e}", target.display());
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(fail)?;
    let text = serde_json::to_string(join).map_err(|e| fail(std::io::Error::other(e)))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(fail)?;
    std::fs::rename(&tmp, &target).map_err(fail)
}

/// Removes the join file if it is this process's.
pub fn remove_own(state: &Path) {
    if read(state).is_some_and(|j| j.pid == std::process::id())
        && let Err(e) = std::fs::remove_file(path(state))
    {
        tracing::warn!(file = %path(state).display(), error = %e, "cannot remove the join file");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_join_file_is_the_owners_alone_and_removed_by_its_writer_only() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("demo.sqlite");
        let join = Join {
            url: "http://127.0.0.1:1".into(),
            token: "secret".into(),
            pid: std::process::id(),
        };
        write(&state, &join).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(path(&state))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(read(&state).unwrap().url, join.url);
        // Another process's file stays.
        write(
            &state,
            &Join {
                pid: join.pid + 1,
                ..join.clone()
            },
        )
        .unwrap();
        remove_own(&state);
        assert!(path(&state).exists());
        write(&state, &join).unwrap();
        remove_own(&state);
        assert!(!path(&state).exists());
    }
}
