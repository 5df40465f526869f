//! One connection to one database, made from its resolved settings.
//!
//! The password is read from its file or environment variable at each connection (a
//! rotated password needs no restart) and lives only in the connect options, which are
//! never formatted: every error that leaves this module has the password scrubbed from
//! it, whatever the driver or the server put in the text.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgSslMode};
use sqlx::{ConnectOptions, Connection};

use crate::config::postgres::{PasswordSource, ResolvedConnection, SslMode};

/// Why a connection could not be made, in words safe to show anywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectError {
    pub message: String,
    /// The server could not be reached or did not answer in time, as opposed to
    /// refusing us (authentication, configuration).
    pub unreachable: bool,
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A secret that never shows in `{:?}`.
struct Password(String);

impl Password {
    fn read(source: &PasswordSource) -> Result<Password, ConnectError> {
        let refused = |message: String| ConnectError {
            message,
            unreachable: false,
        };
        let text = match source {
            PasswordSource::File(path) => std::fs::read_to_string(path).map_err(|e| {
                refused(format!(
                    "cannot read the password file {path}: {}",
                    e.kind()
                ))
            })?,
            PasswordSource::Env(var) => std::env::var(var).map_err(|_| {
                refused(format!(
                    "the environment variable {var} (password_env) is not set"
                ))
            })?,
        };
        let first = text.lines().next().unwrap_or("").to_string();
        if first.is_empty() {
            let what = match source {
                PasswordSource::File(path) => format!("the password file {path}"),
                PasswordSource::Env(var) => format!("the environment variable {var}"),
            };
            return Err(refused(format!("{what} is empty")));
        }
        Ok(Password(first))
    }

    /// `text` with every occurrence of the password replaced.
    fn scrub(&self, text: &str) -> String {
        text.replace(&self.0, "[password]")
    }
}

fn ssl_mode(m: SslMode) -> PgSslMode {
    match m {
        SslMode::Disable => PgSslMode::Disable,
        SslMode::Allow => PgSslMode::Allow,
        SslMode::Prefer => PgSslMode::Prefer,
        SslMode::Require => PgSslMode::Require,
        SslMode::VerifyCa => PgSslMode::VerifyCa,
        SslMode::VerifyFull => PgSslMode::VerifyFull,
    }
}

/// The connection's name on the server (`pg_stat_activity.application_name`), so a
/// DBA can tell the control plane's sessions from others.
pub const APPLICATION_NAME: &str = "fleetdeck";

/// Connects, giving up after `timeout`.
pub async fn connect(
    c: &ResolvedConnection,
    timeout: Duration,
) -> Result<PgConnection, ConnectError> {
    let password = c.password.as_ref().map(Password::read).transpose()?;
    let mut options = PgConnectOptions::new_without_pgpass()
        .host(&c.host)
        .port(c.port)
        .username(&c.user)
        .database(&c.database)
        .ssl_mode(ssl_mode(c.sslmode))
        .application_name(APPLICATION_NAME)
        .statement_cache_capacity(0)
        .disable_statement_logging();
    if let Some(ca) = &c.ca_file {
        options = options.ssl_root_cert(ca);
    }
    if let Some(p) = &password {
        options = options.password(&p.0);
    }
    let scrub = |text: String| match &password {
        Some(p) => p.scrub(&text),
        None => text,
    };
    let target = format!("{}@{}:{}/{}", c.user, c.host, c.port, c.database);
    match tokio::time::timeout(timeout, PgConnection::connect_with(&options)).await {
        Err(_) => Err(ConnectError {
            message: format!(
                "cannot connect to {target}: no answer within {} s",
                timeout.as_secs_f64()
            ),
            unreachable: true,
        }),
        Ok(Err(e)) => Err(ConnectError {
            unreachable: is_unreachable(&e),
            message: scrub(format!("cannot connect to {target}: {}", describe(&e))),
        }),
        Ok(Ok(conn)) => Ok(conn),
    }
}

/// The server is not there (or not yet accepting connections), as opposed to there
/// and refusing us.
pub fn is_unreachable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut => true,
        // 57P03 cannot_connect_now: starting up, shutting down, in recovery without
        // hot standby.
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c == "57P03" || c.starts_with("08")),
        _ => false,
    }
}

/// An error in one line, without the driver's debug formatting.
pub fn describe(e: &sqlx::Error) -> String {
    let text = match e {
        sqlx::Error::Database(db) => match db.code() {
            Some(code) => format!("{} (SQLSTATE {code})", db.message()),
            None => db.message().to_string(),
        },
        other => other.to_string(),
    };
    fleetdeck_api::text::sanitize_line(&text).into_owned()
}

/// Closes a connection without waiting long on a server that went away.
pub async fn close(conn: PgConnection) {
    let _ = tokio::time::timeout(Duration::from_secs(2), conn.close()).await;
}

/// The password of `c`, read as a connection reads it (restore drills hand it to
/// `pg_basebackup` in its environment).
pub fn read_password(c: &ResolvedConnection) -> Result<Option<String>, ConnectError> {
    Ok(c.password
        .as_ref()
        .map(Password::read)
        .transpose()?
        .map(|p| p.0))
}
