//! The source side of a drill: connections to the fleet's servers, the named restore
//! point written before the backup is taken or restored, and waiting for it to reach
//! the WAL archive or a replica.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{ConnectOptions as _, Connection as _, PgConnection, Row as _};

use crate::config::postgres::ResolvedConnection;
use crate::executor::ExecError;

/// How the drill reaches one of the fleet's servers.
#[derive(Clone)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub database: String,
    /// Read from where the config says, never from the config itself.
    pub password: Option<String>,
    /// libpq's name for it: `disable`, `prefer`, `verify-full`, ...
    pub sslmode: String,
    pub ca_file: Option<PathBuf>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}@{}:{}/{} (sslmode {})",
            self.user, self.host, self.port, self.database, self.sslmode
        )
    }
}

impl Endpoint {
    /// The endpoint of a database's resolved connection settings, its password read.
    pub fn resolve(c: &ResolvedConnection) -> Result<Endpoint, ExecError> {
        use crate::config::postgres::SslMode;
        let password = super::super::connect::read_password(c)
            .map_err(|e| ExecError::new(format!("restore drill: {}", e.message)))?;
        Ok(Endpoint {
            host: c.host.clone(),
            port: c.port,
            user: c.user.clone(),
            database: c.database.clone(),
            password,
            sslmode: match c.sslmode {
                SslMode::Disable => "disable",
                SslMode::Allow => "allow",
                SslMode::Prefer => "prefer",
                SslMode::Require => "require",
                SslMode::VerifyCa => "verify-ca",
                SslMode::VerifyFull => "verify-full",
            }
            .to_string(),
            ca_file: c.ca_file.clone(),
        })
    }

    pub fn label(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    fn options(&self, database: &str) -> PgConnectOptions {
        let mut o = PgConnectOptions::new()
            .host(&self.host)
            .port(self.port)
            .username(&self.user)
            .database(database)
            .application_name("fleetdeck-drill")
            .ssl_mode(match self.sslmode.as_str() {
                "disable" => PgSslMode::Disable,
                "allow" => PgSslMode::Allow,
                "require" => PgSslMode::Require,
                "verify-ca" => PgSslMode::VerifyCa,
                "verify-full" => PgSslMode::VerifyFull,
                _ => PgSslMode::Prefer,
            })
            .disable_statement_logging();
        if let Some(p) = &self.password {
            o = o.password(p);
        }
        if let Some(ca) = &self.ca_file {
            o = o.ssl_root_cert(ca);
        }
        o
    }

    /// A connection to `database` (the endpoint's own unless given). The error names
    /// the server, never the password.
    pub async fn connect(&self, database: Option<&str>) -> Result<PgConnection, ExecError> {
        let db = database.unwrap_or(&self.database);
        let options = self.options(db);
        let connect = options.connect();
        match tokio::time::timeout(Duration::from_secs(30), connect).await {
            Ok(Ok(c)) => Ok(c),
            Ok(Err(e)) => Err(ExecError::new(format!(
                "cannot connect to {} as {}: {}",
                self.label(),
                self.user,
                sql_error(&e)
            ))),
            Err(_) => Err(ExecError::new(format!(
                "cannot connect to {}: no answer within 30 s",
                self.label()
            ))),
        }
    }

    /// The environment libpq programs (`pg_basebackup`) read the password and TLS
    /// settings from, so that neither appears on a command line.
    pub fn libpq_env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![("PGSSLMODE", self.sslmode.clone())];
        if let Some(p) = &self.password {
            env.push(("PGPASSWORD", p.clone()));
        }
        if let Some(ca) = &self.ca_file {
            env.push(("PGSSLROOTCERT", ca.display().to_string()));
        }
        env
    }
}

/// A database error in one line: the server's message, or what failed on the way.
pub fn sql_error(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => d.message().to_string(),
        other => other.to_string(),
    }
}

/// The named restore point a drill writes on the primary before its backup is taken
/// (or, from an archive, before it restores), and must find in the copy.
#[derive(Debug, Clone)]
pub struct RestorePoint {
    pub name: String,
    /// Where the restore point record ends.
    pub lsn: String,
    /// The WAL file that holds it.
    pub wal_file: String,
    /// The primary's clock when it was written: a copy that reached it holds every
    /// transaction committed before this.
    pub written_at: DateTime<Utc>,
}

impl RestorePoint {
    pub fn describe(&self) -> String {
        format!("restore point \"{}\" at {}", self.name, self.lsn)
    }
}

/// Writes the restore point `name` on `primary`.
pub async fn write_restore_point(
    primary: &Endpoint,
    name: &str,
) -> Result<RestorePoint, ExecError> {
    let mut conn = primary.connect(None).await?;
    let row = sqlx::query(
        "WITH rp AS (SELECT pg_create_restore_point($1) AS lsn) \
         SELECT lsn::text, pg_walfile_name(lsn), extract(epoch FROM clock_timestamp())::float8 FROM rp",
    )
    .bind(name)
    .fetch_one(&mut conn)
    .await
    .map_err(|e| {
        ExecError::new(format!(
            "cannot write the drill's restore point on {}: {} (the drill's user needs \
             EXECUTE on pg_create_restore_point(text), see docs/postgres.md)",
            primary.label(),
            sql_error(&e)
        ))
    })?;
    let _ = conn.close().await;
    let epoch: f64 = row.try_get(2).map_err(|e| ExecError::new(e.to_string()))?;
    Ok(RestorePoint {
        name: name.to_string(),
        lsn: row.try_get(0).map_err(|e| ExecError::new(e.to_string()))?,
        wal_file: row.try_get(1).map_err(|e| ExecError::new(e.to_string()))?,
        written_at: DateTime::from_timestamp_micros((epoch * 1e6) as i64).unwrap_or_else(Utc::now),
    })
}

/// Switches the primary to a new WAL file, so the one holding the restore point is
/// archived now rather than at the next `archive_timeout`, and waits until the archiver
/// reports it (or `limit` passes). `Err` says what the archiver said.
pub async fn wait_archived(
    primary: &Endpoint,
    point: &RestorePoint,
    limit: Duration,
) -> Result<String, String> {
    let mut conn = primary.connect(None).await.map_err(|e| e.message)?;
    sqlx::query("SELECT pg_switch_wal()")
        .execute(&mut conn)
        .await
        .map_err(|e| {
            format!(
                "cannot switch WAL files on {}: {} (the drill's user needs EXECUTE on pg_switch_wal())",
                primary.label(),
                sql_error(&e)
            )
        })?;
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let row = sqlx::query(
            "SELECT coalesce(last_archived_wal, ''), coalesce(last_failed_wal, ''), \
             current_setting('archive_mode') FROM pg_stat_archiver",
        )
        .fetch_one(&mut conn)
        .await
        .map_err(|e| sql_error(&e))?;
        let archived: String = row.get(0);
        let failed: String = row.get(1);
        let mode: String = row.get(2);
        if mode == "off" {
            return Err(format!("archive_mode is off on {}", primary.label()));
        }
        // Same timeline, fixed-width hex: names order as the WAL does.
        if archived.len() == point.wal_file.len() && archived >= point.wal_file {
            return Ok(format!("{} archived", point.wal_file));
        }
        if tokio::time::Instant::now() >= deadline {
            let last = if failed.is_empty() {
                String::new()
            } else {
                format!("; archiving {failed} failed")
            };
            return Err(format!(
                "{} was not archived within {} s (last archived: {}{last})",
                point.wal_file,
                limit.as_secs(),
                if archived.is_empty() {
                    "none"
                } else {
                    &archived
                }
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until the replica `from` has replayed the restore point, so a base backup
/// taken from it holds the point.
pub async fn wait_replayed(
    from: &Endpoint,
    point: &RestorePoint,
    limit: Duration,
) -> Result<(), ExecError> {
    let mut conn = from.connect(None).await?;
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let done: Option<bool> = sqlx::query_scalar(
            "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() >= $1::pg_lsn ELSE true END",
        )
        .bind(&point.lsn)
        .fetch_one(&mut conn)
        .await
        .map_err(|e| ExecError::new(sql_error(&e)))?;
        if done == Some(true) {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ExecError::new(format!(
                "{} did not replay the drill's {} within {} s",
                from.label(),
                point.describe(),
                limit.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
