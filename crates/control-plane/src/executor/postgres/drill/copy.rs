//! The restored copy: set apart from the fleet (its own loopback port and socket, no
//! archiving, no replication, local connections only), started, watched until it is
//! promoted, asked where recovery ended, and stopped cleanly for `pg_checksums`.

use std::ffi::OsStr;
use std::io::Write as _;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions as _, PgConnection, Row as _};

use super::config::DrillConfig;
use super::owner;
use super::report::Report;
use super::scratch::Scratch;
use super::source::sql_error;

/// How the copy is started: with its own recovery settings or pgBackRest's.
pub enum Recovery {
    /// A base backup: replay the WAL it holds (nothing to fetch), then promote.
    BaseBackup,
    /// pgBackRest wrote `restore_command` and the target; leave them.
    Written,
}

/// Settings that set the copy apart, appended to `postgresql.auto.conf` (the last
/// setting of a name wins, over `postgresql.conf` too).
fn settings(scratch: &Scratch, recovery: &Recovery) -> String {
    let data = scratch.data_dir();
    let mut lines = vec![
        format!("port = {}", scratch.port),
        "listen_addresses = '127.0.0.1'".to_string(),
        format!(
            "unix_socket_directories = '{}'",
            scratch.socket_dir().display()
        ),
        format!("hba_file = '{}'", data.join("pg_hba.conf").display()),
        format!("ident_file = '{}'", data.join("pg_ident.conf").display()),
        "archive_mode = off".to_string(),
        "primary_conninfo = ''".to_string(),
        "primary_slot_name = ''".to_string(),
        "synchronous_standby_names = ''".to_string(),
        // Not open to queries while it recovers: the drill looks once it is promoted.
        "hot_standby = off".to_string(),
        "ssl = off".to_string(),
        "logging_collector = off".to_string(),
        "log_destination = 'stderr'".to_string(),
        "cluster_name = 'fleetdeck-drill'".to_string(),
        "shared_buffers = '128MB'".to_string(),
        "max_connections = 20".to_string(),
    ];
    if let Recovery::BaseBackup = recovery {
        // Archive recovery needs a restore_command; there is no archive to read from.
        lines.push("restore_command = 'false'".to_string());
    }
    format!(
        "\n# fleetdeck restore drill: this copy runs apart from the fleet\n{}\n",
        lines.join("\n")
    )
}

/// Writes the copy's settings, its `pg_hba.conf` (local connections only: its socket
/// directory is private to its owner) and, for a base backup, `recovery.signal`.
pub fn configure(scratch: &Scratch, recovery: &Recovery) -> Result<(), String> {
    let data = scratch.data_dir();
    let io = |what: &str, e: std::io::Error| format!("cannot {what} in the copy: {e}");
    let mut files = vec![
        ("pg_hba.conf", "local all all trust\n".to_string()),
        ("pg_ident.conf", String::new()),
    ];
    // A server whose postgresql.conf lives outside its data directory (Debian's
    // /etc/postgresql) restores without one.
    if !data.join("postgresql.conf").exists() {
        files.push(("postgresql.conf", String::new()));
    }
    if let Recovery::BaseBackup = recovery {
        files.push(("recovery.signal", String::new()));
    }
    for (name, text) in files {
        let path = data.join(name);
        std::fs::write(&path, text).map_err(|e| io("write", e))?;
        owner::give(&path).map_err(|e| e.message)?;
    }
    let auto = data.join("postgresql.auto.conf");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&auto)
        .map_err(|e| io("open postgresql.auto.conf", e))?;
    f.write_all(settings(scratch, recovery).as_bytes())
        .map_err(|e| io("write postgresql.auto.conf", e))?;
    drop(f);
    owner::give(&auto).map_err(|e| e.message)
}

/// The last lines of the copy's server log that say why it stopped (FATAL, PANIC).
pub fn why_it_stopped(scratch: &Scratch) -> String {
    let log = std::fs::read_to_string(scratch.log_file()).unwrap_or_default();
    let fatal: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("FATAL:") || l.contains("PANIC:"))
        .collect();
    match fatal.last() {
        Some(l) => l.to_string(),
        None => log.lines().last().unwrap_or("no server log").to_string(),
    }
}

/// Starts the copy and waits until it accepts connections, which, recovering without
/// hot standby, it does once promoted.
pub async fn start(
    report: &mut Report,
    cfg: &DrillConfig,
    scratch: &Scratch,
) -> Result<(), String> {
    let data = scratch.data_dir();
    let log = scratch.log_file();
    let wait = cfg.timeout.as_secs().to_string();
    let args = [
        OsStr::new("-D"),
        data.as_os_str(),
        OsStr::new("-l"),
        log.as_os_str(),
        OsStr::new("-w"),
        OsStr::new("-t"),
        OsStr::new(&wait),
        OsStr::new("start"),
    ];
    super::restore::program(report, &cfg.bin_dir, "pg_ctl", &args, &[], cfg.timeout)
        .await
        .map(|_| ())
        .map_err(|why| format!("{why}; server log: {}", why_it_stopped(scratch)))
}

/// A clean (fast) shutdown, so that `pg_checksums` may read the files.
pub async fn stop(report: &mut Report, cfg: &DrillConfig, scratch: &Scratch) -> Result<(), String> {
    let data = scratch.data_dir();
    let args = [
        OsStr::new("-D"),
        data.as_os_str(),
        OsStr::new("-m"),
        OsStr::new("fast"),
        OsStr::new("-w"),
        OsStr::new("-t"),
        OsStr::new("300"),
        OsStr::new("stop"),
    ];
    super::restore::program(
        report,
        &cfg.bin_dir,
        "pg_ctl",
        &args,
        &[],
        Duration::from_secs(330),
    )
    .await
    .map(|_| ())
}

/// Connections to the running copy, through its private socket.
pub struct Copy<'a> {
    scratch: &'a Scratch,
    /// The copy's bootstrap superuser (the checks install amcheck and read files).
    pub superuser: String,
}

impl<'a> Copy<'a> {
    /// Waits (up to `limit`) until the copy accepts connections, which, recovering
    /// without hot standby, it does once promoted; then finds its superuser, connecting
    /// as `user` (a role the source has).
    pub async fn open(
        scratch: &'a Scratch,
        user: &str,
        database: &str,
        limit: Duration,
    ) -> Result<Copy<'a>, String> {
        let mut copy = Copy {
            scratch,
            superuser: user.to_string(),
        };
        let deadline = tokio::time::Instant::now() + limit;
        let mut conn = loop {
            match copy.connect(database).await {
                Ok(c) => break c,
                Err(e) if !super::scratch::runs(&scratch.data_dir()) => {
                    return Err(format!(
                        "the copy stopped: {}; {e}",
                        why_it_stopped(scratch)
                    ));
                }
                Err(e) if tokio::time::Instant::now() >= deadline => {
                    return Err(format!(
                        "the copy was still recovering when the drill's time ran out: {e}"
                    ));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        copy.superuser = sqlx::query_scalar("SELECT rolname::text FROM pg_roles WHERE oid = 10")
            .fetch_one(&mut conn)
            .await
            .map_err(|e| sql_error(&e))?;
        Ok(copy)
    }

    pub async fn connect(&self, database: &str) -> Result<PgConnection, String> {
        PgConnectOptions::new()
            .socket(self.scratch.socket_dir())
            .port(self.scratch.port)
            .username(&self.superuser)
            .database(database)
            .application_name("fleetdeck-drill")
            .disable_statement_logging()
            .connect()
            .await
            .map_err(|e| format!("cannot connect to the copy's {database}: {}", sql_error(&e)))
    }

    pub fn socket_args(&self) -> Vec<String> {
        vec![
            "-h".into(),
            self.scratch.socket_dir().display().to_string(),
            "-p".into(),
            self.scratch.port.to_string(),
            "-U".into(),
            self.superuser.clone(),
        ]
    }
}

/// Where recovery ended, as the promoted copy reports it.
#[derive(Debug, Clone, Default)]
pub struct Reached {
    pub timeline: u32,
    /// The LSN the copy switched timelines at: the end of recovery.
    pub lsn: Option<String>,
    pub last_replay_at: Option<DateTime<Utc>>,
    pub data_checksums: bool,
}

/// Waits (up to `limit`) until the copy is out of recovery, then reads where recovery
/// ended: its timeline, the switch point from the timeline's history file, and the
/// last replayed commit.
pub async fn reached(conn: &mut PgConnection, limit: Duration) -> Result<Reached, String> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let recovering: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| sql_error(&e))?;
        if !recovering {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            return Err("the copy was still in recovery when the drill's time ran out".into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let row = sqlx::query(
        "SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int, \
         extract(epoch FROM pg_last_xact_replay_timestamp())::float8, \
         current_setting('data_checksums')",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| sql_error(&e))?;
    let timeline: i32 = row.get(0);
    let replay: Option<f64> = row.get(1);
    let checksums: String = row.get(2);
    let timeline = u32::try_from(timeline).unwrap_or_default();
    let lsn = if timeline > 1 {
        let history: String = sqlx::query_scalar("SELECT pg_read_file($1)")
            .bind(format!("pg_wal/{timeline:08X}.history"))
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| sql_error(&e))?;
        history
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .and_then(|l| l.split_whitespace().nth(1))
            .map(str::to_string)
    } else {
        None
    };
    Ok(Reached {
        timeline,
        lsn,
        last_replay_at: replay.and_then(|s| DateTime::from_timestamp_micros((s * 1e6) as i64)),
        data_checksums: checksums == "on",
    })
}

/// Whether recovery ended at or past `target` (both LSNs), asked of the copy.
pub async fn at_or_past(
    conn: &mut PgConnection,
    reached: &str,
    target: &str,
) -> Result<bool, String> {
    sqlx::query_scalar("SELECT $1::pg_lsn >= $2::pg_lsn")
        .bind(reached)
        .bind(target)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| sql_error(&e))
}
