//! The scratch directory a drill restores into, and the guarantee that nothing of it
//! outlives the drill: a guard that, when dropped (success, failure, timeout, or the
//! server cancelling the drill at shutdown), stops the copy's postmaster and removes the
//! directory; and, for a drill interrupted by a crash, a marker file by which the next
//! start finds and removes what it left.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::owner;
use crate::executor::ExecError;

/// The marker file in every drill directory.
const MARKER: &str = "fleetdeck-drill.json";
/// Drill directories are `d-` and a random hex name: short, since the copy's Unix
/// socket lives inside and socket paths are limited to about 100 bytes.
const PREFIX: &str = "d-";

#[derive(Serialize, Deserialize)]
struct Marker {
    /// The control plane that ran the drill.
    pid: u32,
    database_id: String,
    started_at: chrono::DateTime<Utc>,
}

/// One drill's directory: `data/` (the copy), `s/` (its socket), `server.log`.
#[derive(Debug)]
pub struct Scratch {
    dir: PathBuf,
    pub port: u16,
}

impl Scratch {
    /// A new directory below `root` (created if need be) for a drill of `database_id`.
    pub fn create(root: &Path, database_id: &str) -> Result<Scratch, ExecError> {
        let fail = |what: &str, e: std::io::Error| {
            ExecError::new(format!("scratch directory {}: {what}: {e}", root.display()))
        };
        std::fs::create_dir_all(root).map_err(|e| fail("cannot create it", e))?;
        // The server's user must pass through to its own drill directory.
        let mode = std::fs::metadata(root).map_err(|e| fail("cannot read it", e))?;
        if mode.permissions().mode() & 0o011 != 0o011 {
            let mut p = mode.permissions();
            p.set_mode(p.mode() | 0o711);
            std::fs::set_permissions(root, p).map_err(|e| fail("cannot open it to postgres", e))?;
        }
        let dir = root.join(format!("{PREFIX}{:016x}", fastrand::u64(..)));
        std::fs::create_dir(&dir).map_err(|e| fail("cannot create a drill directory", e))?;
        let scratch = Scratch {
            dir,
            port: free_port().map_err(|e| fail("no free loopback port", e))?,
        };
        let marker = Marker {
            pid: std::process::id(),
            database_id: database_id.to_string(),
            started_at: Utc::now(),
        };
        let text = serde_json::to_vec(&marker).expect("a marker serialises");
        std::fs::write(scratch.dir.join(MARKER), text)
            .map_err(|e| fail("cannot write the marker", e))?;
        for d in [
            scratch.dir.clone(),
            scratch.data_dir(),
            scratch.socket_dir(),
        ] {
            if d != scratch.dir {
                std::fs::create_dir(&d).map_err(|e| fail("cannot create a drill directory", e))?;
            }
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| fail("cannot restrict a drill directory", e))?;
            owner::give(&d)?;
        }
        Ok(scratch)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    pub fn socket_dir(&self) -> PathBuf {
        self.dir.join("s")
    }

    pub fn log_file(&self) -> PathBuf {
        self.dir.join("server.log")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        tear_down(&self.dir);
    }
}

/// Stops a copy's postmaster still running on `dir/data`, then removes `dir`.
fn tear_down(dir: &Path) {
    stop_postmaster(&dir.join("data"));
    if let Err(e) = std::fs::remove_dir_all(dir)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(dir = %dir.display(), error = %e, "restore drill: scratch directory not removed");
    }
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

/// The postmaster of `data`, if one runs: its pid file names it, and the process's
/// working directory is the data directory (a recycled pid is someone else's).
fn postmaster_of(data: &Path) -> Option<i32> {
    let pidfile = std::fs::read_to_string(data.join("postmaster.pid")).ok()?;
    let pid: i32 = pidfile.lines().next()?.trim().parse().ok()?;
    if pid <= 0 || !alive(pid) {
        return None;
    }
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).ok()?;
    let data = std::fs::canonicalize(data).ok()?;
    (cwd == data).then_some(pid)
}

/// Whether a postmaster runs on `data`.
pub fn runs(data: &Path) -> bool {
    postmaster_of(data).is_some()
}

/// Immediate shutdown of the copy (it is thrown away: nothing to flush), then a kill
/// if it does not go.
fn stop_postmaster(data: &Path) {
    let Some(pid) = postmaster_of(data) else {
        return;
    };
    for (signal, wait) in [
        (libc::SIGQUIT, Duration::from_secs(10)),
        (libc::SIGKILL, Duration::from_secs(10)),
    ] {
        // SAFETY: kill(2) on a pid checked above to be this data directory's postmaster.
        unsafe {
            libc::kill(pid, signal);
        }
        let deadline = Instant::now() + wait;
        while alive(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if !alive(pid) {
            return;
        }
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Removes what drills interrupted by a crash left below `root`: their copies are
/// stopped and their directories removed. A directory whose marker names a control
/// plane still running (another one sharing the root) is left alone. Returns what was
/// removed, for the log.
pub fn clean_leftovers(root: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let dir = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(PREFIX) || !dir.is_dir() {
            continue;
        }
        let marker = std::fs::read(dir.join(MARKER))
            .ok()
            .and_then(|t| serde_json::from_slice::<Marker>(&t).ok());
        let what = match &marker {
            Some(m) if m.pid != std::process::id() && is_control_plane(m.pid) => continue,
            Some(m) => format!(
                "{name} (a drill of {} started {})",
                m.database_id,
                m.started_at.format("%Y-%m-%d %H:%M:%S UTC")
            ),
            // A drill killed between creating its directory and writing its marker, or
            // one that is being created right now: only the former is old.
            None if recently_modified(&dir) => continue,
            None => name.clone(),
        };
        tear_down(&dir);
        removed.push(what);
    }
    removed
}

/// Whether `pid` runs the same program as this process.
fn is_control_plane(pid: u32) -> bool {
    let Ok(i) = i32::try_from(pid) else {
        return false;
    };
    if !alive(i) {
        return false;
    }
    let exe = |p: &str| std::fs::read_link(format!("/proc/{p}/exe")).ok();
    exe(&pid.to_string()).is_some_and(|e| Some(e) == exe("self"))
}

fn recently_modified(dir: &Path) -> bool {
    std::fs::metadata(dir)
        .and_then(|m| m.modified())
        .is_ok_and(|t| t.elapsed().is_ok_and(|age| age < Duration::from_secs(60)))
}
