//! One control plane per state file. Two processes working on one file would both run
//! its queued drills and unfinished targets (with the command executor: the team's
//! scripts twice at once), so a control plane holds an OS lock on `STATE.lock` beside
//! the state file for as long as it runs. The kernel releases the lock when its holder
//! dies, however it dies: a crash never leaves a stale lock to clear by hand.
//!
//! The lock file also says who holds it (pid, host, address, start time), written once
//! the holder listens (a failed start leaves none), so a refused second process can
//! name it. A holder that stops
//! cleanly empties it; what a new holder finds there was left by one that did not.
//! The file itself is never deleted: a process waiting on the old file would then lock
//! a file nobody else sees.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// Who holds (or last held) a state file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub host: String,
    /// The address it listens on.
    pub listen: String,
    pub started_at: DateTime<Utc>,
    /// `serve`, or `console` for a console's embedded control plane.
    pub by: String,
}

impl Holder {
    /// This process, listening on `listen`.
    pub fn this_process(listen: impl Into<String>, by: &str) -> Holder {
        Holder {
            pid: std::process::id(),
            host: host_name(),
            listen: listen.into(),
            started_at: Utc::now(),
            by: by.to_string(),
        }
    }

    /// Whether it is a console's embedded control plane.
    pub fn is_console(&self) -> bool {
        self.by == BY_CONSOLE
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = if self.is_console() {
            "a fleetdeck console's embedded control plane"
        } else {
            "fleetdeck serve"
        };
        write!(
            f,
            "{what} (pid {} on host {}, listening on {}, since {})",
            self.pid,
            self.host,
            self.listen,
            self.started_at.to_rfc3339_opts(SecondsFormat::Secs, true)
        )
    }
}

/// [`Holder::by`] of `fleetdeck serve`.
pub const BY_SERVE: &str = "serve";
/// [`Holder::by`] of a console's embedded control plane.
pub const BY_CONSOLE: &str = "console";

/// Why the lock was not taken.
#[derive(Debug)]
pub enum LockError {
    /// Another process holds it; `holder` is what it wrote (nothing yet while it starts).
    Held {
        state: PathBuf,
        lock: PathBuf,
        holder: Option<Box<Holder>>,
    },
    /// The lock file could not be created or locked.
    Io(String),
}

impl std::fmt::Display for LockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LockError::Held {
                state,
                lock,
                holder,
            } => {
                write!(f, "state file {} is in use by ", state.display())?;
                match holder {
                    Some(h) => write!(f, "{h}")?,
                    None => f.write_str("another process that is still starting")?,
                }
                write!(
                    f,
                    " (lock {}); one control plane per state file: stop that one first, or use another --state",
                    lock.display()
                )
            }
            LockError::Io(m) => f.write_str(m),
        }
    }
}

/// The held lock on a state file. Dropping it releases the lock and leaves the holder's
/// record, as a crash would; [`StateLock::release`] is the clean stop.
#[derive(Debug)]
pub struct StateLock {
    file: File,
    path: PathBuf,
    previous: Option<Holder>,
}

/// `STATE.lock`.
pub fn lock_path(state: &Path) -> PathBuf {
    let mut name = state.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// What the lock file of `state` says: its holder, or the last one that did not stop
/// cleanly. Says nothing of whether it is held.
pub fn read_holder(state: &Path) -> Option<Holder> {
    let mut file = File::open(lock_path(state)).ok()?;
    read_record(&mut file)
}

fn read_record(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(text.trim()).ok()
}

impl StateLock {
    /// Takes the lock of `state` if nobody holds it.
    pub fn try_acquire(state: &Path) -> Result<StateLock, LockError> {
        let path = lock_path(state);
        let io = |what: &str, e: &dyn std::fmt::Display| {
            LockError::Io(format!(
                "state file {}: {what} {}: {e}",
                state.display(),
                path.display()
            ))
        };
        if let Some(dir) = state.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.is_dir()
        {
            return Err(LockError::Io(format!(
                "state file {}: cannot create it: directory {} does not exist",
                state.display(),
                dir.display()
            )));
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io("cannot open its lock file", &e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::Held {
                    state: state.to_path_buf(),
                    holder: read_record(&mut file).map(Box::new),
                    lock: path,
                });
            }
            Err(TryLockError::Error(e)) => return Err(io("cannot lock", &e)),
        }
        let previous = read_record(&mut file);
        let mut lock = StateLock {
            file,
            path: path.clone(),
            previous,
        };
        // Until this holder writes its own record, a refused process is told that one
        // is starting, not the name of the one that is gone.
        if lock.previous.is_some() {
            lock.rewrite(b"")
                .map_err(|e| io("cannot write its lock file", &e))?;
        }
        Ok(lock)
    }

    /// The holder that held the file last and did not stop cleanly (killed, crashed).
    pub fn previous(&self) -> Option<&Holder> {
        self.previous.as_ref()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes who holds the lock, for a refused second process to name.
    pub fn record(&mut self, holder: &Holder) -> std::io::Result<()> {
        let text = serde_json::to_string(holder).map_err(std::io::Error::other)?;
        self.rewrite(text.as_bytes())
    }

    fn rewrite(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.file.set_len(0)?;
        self.file.seek(SeekFrom::Start(0))?;
        self.file.write_all(bytes)?;
        self.file.sync_data()
    }

    /// The clean stop: empties the record, then releases the lock.
    pub fn release(mut self) {
        if let Err(e) = self.rewrite(b"") {
            tracing::warn!(lock = %self.path.display(), error = %e, "cannot empty the lock file");
        }
    }
}

/// The host's name, for a refused process on another host of a shared file system.
fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname(2) writes at most `buf.len()` bytes into the buffer we own.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let name = if rc == 0 {
        let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        String::new()
    };
    let name = fleetdeck_api::text::sanitize_line(&name).into_owned();
    if name.is_empty() {
        "unknown".to_string()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_names_the_holder_and_a_dropped_one_is_free_again() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.db");
        let mut first = StateLock::try_acquire(&state).unwrap();
        assert!(first.previous().is_none());
        match StateLock::try_acquire(&state) {
            Err(LockError::Held { holder: None, .. }) => {}
            other => panic!("expected held without a record yet: {other:?}"),
        }
        let me = Holder::this_process("127.0.0.1:7300", BY_SERVE);
        first.record(&me).unwrap();
        let err = StateLock::try_acquire(&state).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!("pid {}", std::process::id()))
                && text.contains("127.0.0.1:7300")
                && text.contains(&state.display().to_string()),
            "{text}"
        );
        // Dropped as by a crash: free at once, the record left behind.
        drop(first);
        let second = StateLock::try_acquire(&state).unwrap();
        assert_eq!(second.previous(), Some(&me));
        // While it starts, nobody is told the gone one holds the file.
        match StateLock::try_acquire(&state) {
            Err(LockError::Held { holder: None, .. }) => {}
            other => panic!("expected held without a record: {other:?}"),
        }
        // A clean stop leaves nothing for the next one.
        second.release();
        let third = StateLock::try_acquire(&state).unwrap();
        assert!(third.previous().is_none());
    }

    #[test]
    fn a_missing_directory_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("nope").join("s.db");
        let err = StateLock::try_acquire(&state).unwrap_err().to_string();
        assert!(
            err.contains("nope") && err.contains("does not exist"),
            "{err}"
        );
    }
}
