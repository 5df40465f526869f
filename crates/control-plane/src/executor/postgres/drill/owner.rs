//! Who the restored copy belongs to. PostgreSQL refuses to run as root, so a control
//! plane running as root runs every server-side program of a drill (`pg_basebackup`,
//! `pgbackrest restore`, `pg_ctl`, `pg_checksums`, ...) as the `postgres` user the
//! distribution's package creates, and gives it the drill's directory. Otherwise it
//! runs them as itself, and the copy is its own.

use std::path::Path;
use std::sync::OnceLock;

use tokio::process::Command;

use crate::executor::ExecError;

/// (uid, gid) of the server's user when we are root; `None` when we are not.
fn server_user() -> Result<Option<(u32, u32)>, ExecError> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    static USER: OnceLock<Option<(u32, u32)>> = OnceLock::new();
    let user = USER.get_or_init(|| {
        // SAFETY: a NUL-terminated name; the entry is read at once, and this runs once
        // (a concurrent getpw* elsewhere in the process is not expected).
        let pw = unsafe { libc::getpwnam(c"postgres".as_ptr()) };
        // SAFETY: checked non-null before reading.
        (!pw.is_null()).then(|| unsafe { ((*pw).pw_uid, (*pw).pw_gid) })
    });
    match user {
        Some(u) => Ok(Some(*u)),
        None => Err(ExecError::new(
            "the control plane runs as root and there is no 'postgres' user to run the \
             restored copy as (PostgreSQL refuses to run as root; the postgresql package \
             creates that user)",
        )),
    }
}

/// `program` (a name in `bin_dir`, or a path) set up to run as the server's user.
pub fn command(bin_dir: &Path, program: impl AsRef<Path>) -> Result<Command, ExecError> {
    let program = program.as_ref();
    let path = if program.is_absolute() || program.components().count() > 1 {
        program.to_path_buf()
    } else if bin_dir.join(program).is_file() {
        bin_dir.join(program)
    } else {
        // Not a server program (pgbackrest): found on PATH.
        program.to_path_buf()
    };
    let mut cmd = Command::new(path);
    if let Some((uid, gid)) = server_user()? {
        cmd.uid(uid).gid(gid);
        // The server's user may not read root's home or working directory.
        cmd.current_dir("/").env("HOME", "/tmp");
    }
    Ok(cmd)
}

/// Gives `path` to the server's user when we are root (not below it: call it on each
/// directory the drill creates, before anything is written inside).
pub fn give(path: &Path) -> Result<(), ExecError> {
    if let Some((uid, gid)) = server_user()? {
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(|e| {
            ExecError::new(format!("cannot give {} to postgres: {e}", path.display()))
        })?;
    }
    Ok(())
}
