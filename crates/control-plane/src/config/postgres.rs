//! `[executor] kind = "postgres"`: how the control plane reaches each database, the
//! limits of its built-in checks, and the team's patch and rollback commands it wraps.
//!
//! Connection settings come from `[executor.postgres.connection]` (the template every
//! database starts from) and a database's own `[database.connection]` (which wins, key
//! by key). String settings may name `{id}` and `{host}`, so one template can point at
//! a password file per database. A password is never written in the config: it comes
//! from a file (`password_file`) or an environment variable (`password_env`), read
//! when a connection is made, so a rotated password needs no restart.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use fleetdeck_api::Database;
use serde::Deserialize;
use toml::Spanned;

use super::{OperationCommand, Problem, at};

/// Everything the postgres executor needs.
#[derive(Debug, Clone, PartialEq)]
pub struct PostgresConfig {
    /// Runs each command as `shell -c COMMAND`.
    pub shell: PathBuf,
    pub working_dir: Option<PathBuf>,
    /// Runs after the built-in precheck passed; optional.
    pub precheck: Option<OperationCommand>,
    pub patch: OperationCommand,
    pub rollback: OperationCommand,
    /// The settings every database starts from.
    pub connection: ConnectionSettings,
    /// Each database's own settings, by id (only databases that declare some).
    pub databases: BTreeMap<String, ConnectionSettings>,
    /// Each primary's declared replicas, by primary id: health and precheck look for
    /// them in the primary's `pg_stat_replication`.
    pub replicas: BTreeMap<String, Vec<DeclaredReplica>>,
    pub limits: PostgresLimits,
    /// `[executor.postgres.drill]`: the built-in restore drill; without it drills
    /// refuse to run, saying so.
    pub drill: Option<crate::executor::postgres::drill::DrillConfig>,
}

/// A replica the config declares for a primary, with the name its WAL receiver gives
/// the primary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredReplica {
    pub id: String,
    pub replication_name: String,
}

impl PostgresConfig {
    /// The settings for `db`: its own over the template, placeholders filled.
    pub fn connection_for(&self, db: &Database) -> ResolvedConnection {
        let own = self.databases.get(&db.id);
        let pick = |f: fn(&ConnectionSettings) -> Option<&String>| {
            own.and_then(f).or(f(&self.connection)).map(|s| fill(s, db))
        };
        ResolvedConnection {
            host: pick(|c| c.host.as_ref()).unwrap_or_else(|| db.host.clone()),
            port: own
                .and_then(|c| c.port)
                .or(self.connection.port)
                .unwrap_or(DEFAULT_PORT),
            user: pick(|c| c.user.as_ref()).unwrap_or_default(),
            database: pick(|c| c.database.as_ref()).unwrap_or_else(|| "postgres".into()),
            sslmode: own
                .and_then(|c| c.sslmode)
                .or(self.connection.sslmode)
                .unwrap_or(SslMode::Prefer),
            ca_file: pick(|c| c.ca_file.as_ref()).map(PathBuf::from),
            password: own
                .and_then(|c| c.password.as_ref())
                .or(self.connection.password.as_ref())
                .map(|p| match p {
                    PasswordSource::File(f) => PasswordSource::File(fill(f, db)),
                    PasswordSource::Env(v) => PasswordSource::Env(fill(v, db)),
                }),
            replication_name: own
                .and_then(|c| c.replication_name.clone())
                .unwrap_or_else(|| db.id.clone()),
        }
    }
}

impl PostgresConfig {
    /// Takes each database's own settings (`declared`: its id and `[database.connection]`,
    /// as written) and each primary's declared replicas; every database must resolve a
    /// user to connect as.
    pub(super) fn attach(
        &mut self,
        declared: &[(&Spanned<String>, Option<&Spanned<RawConnection>>)],
        databases: &[Database],
    ) -> Result<(), Problem> {
        for (id, connection) in declared {
            if let Some(c) = connection {
                self.databases
                    .insert(id.get_ref().clone(), c.get_ref().check(true)?);
            }
        }
        for db in databases {
            let resolved = self.connection_for(db);
            if let Some(primary) = &db.primary_id {
                self.replicas
                    .entry(primary.clone())
                    .or_default()
                    .push(DeclaredReplica {
                        id: db.id.clone(),
                        replication_name: resolved.replication_name.clone(),
                    });
            }
            if resolved.user.is_empty() {
                let id = declared.iter().find(|(id, _)| id.get_ref() == &db.id);
                return Err((
                    id.map(|(id, _)| id.span()),
                    format!(
                        "no user to connect to '{}' as: set user in [executor.postgres.connection] or in its [database.connection]",
                        db.id
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Limits of the built-in checks.
#[derive(Debug, Clone, PartialEq)]
pub struct PostgresLimits {
    /// How long a connection attempt may take before the server counts as unreachable.
    pub connect_timeout: Duration,
    /// Precheck: no transaction may have been open longer than this.
    pub max_transaction_age: Duration,
    /// Precheck: a primary's replicas must be streaming within this lag, in seconds
    /// (the default gate's limit unless set).
    pub max_replication_lag_s: f64,
    /// After a patch or rollback command: how long the server may take to accept
    /// connections again.
    pub restart_timeout: Duration,
}

impl Default for PostgresLimits {
    fn default() -> Self {
        PostgresLimits {
            connect_timeout: Duration::from_secs(10),
            max_transaction_age: Duration::from_secs(300),
            max_replication_lag_s: fleetdeck_api::GateSettings::default().max_replication_lag_s,
            restart_timeout: Duration::from_secs(300),
        }
    }
}

pub const DEFAULT_PORT: u16 = 5432;

/// Connection settings as declared: every key optional (a database's own settings
/// override the template's key by key).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectionSettings {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub database: Option<String>,
    pub sslmode: Option<SslMode>,
    pub ca_file: Option<String>,
    pub password: Option<PasswordSource>,
    /// The name a replica's WAL receiver gives its primary (`application_name` in its
    /// `primary_conninfo`, else its `cluster_name`); the database id unless set.
    pub replication_name: Option<String>,
}

/// Where a password comes from; the config never holds one.
#[derive(Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// A file whose first line is the password.
    File(String),
    /// An environment variable of the control plane's process.
    Env(String),
}

impl std::fmt::Debug for PasswordSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PasswordSource::File(p) => write!(f, "password_file {p:?}"),
            PasswordSource::Env(v) => write!(f, "password_env {v:?}"),
        }
    }
}

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    const ALL: [(&'static str, SslMode); 6] = [
        ("disable", SslMode::Disable),
        ("allow", SslMode::Allow),
        ("prefer", SslMode::Prefer),
        ("require", SslMode::Require),
        ("verify-ca", SslMode::VerifyCa),
        ("verify-full", SslMode::VerifyFull),
    ];

    fn parse(s: &str) -> Option<SslMode> {
        SslMode::ALL.iter().find(|(n, _)| *n == s).map(|(_, m)| *m)
    }
}

/// One database's settings, resolved: what a connection is made with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedConnection {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub database: String,
    pub sslmode: SslMode,
    pub ca_file: Option<PathBuf>,
    pub password: Option<PasswordSource>,
    pub replication_name: String,
}

/// The placeholders a connection setting may use.
const PLACEHOLDERS: [&str; 2] = ["id", "host"];

fn fill(s: &str, db: &Database) -> String {
    s.replace("{id}", &db.id).replace("{host}", &db.host)
}

/// `[executor.postgres]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPostgres {
    connection: Option<Spanned<RawConnection>>,
    connect_timeout_seconds: Option<Spanned<u64>>,
    max_transaction_seconds: Option<Spanned<u64>>,
    max_replication_lag_seconds: Option<Spanned<f64>>,
    restart_timeout_seconds: Option<Spanned<u64>>,
    drill: Option<crate::executor::postgres::drill::RawDrill>,
}

/// `[executor.postgres.connection]` and `[database.connection]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConnection {
    host: Option<Spanned<String>>,
    port: Option<Spanned<u16>>,
    user: Option<Spanned<String>>,
    database: Option<Spanned<String>>,
    sslmode: Option<Spanned<String>>,
    ca_file: Option<Spanned<String>>,
    password_file: Option<Spanned<String>>,
    password_env: Option<Spanned<String>>,
    /// Refused with a clear word: a password never lives in the config.
    password: Option<Spanned<toml::Value>>,
    replication_name: Option<Spanned<String>>,
}

fn seconds(
    v: &Option<Spanned<u64>>,
    name: &str,
    max: u64,
    default: Duration,
) -> Result<Duration, Problem> {
    match v {
        Some(s) if *s.get_ref() == 0 || *s.get_ref() > max => {
            Err(at(s, format!("{name} must be between 1 and {max}")))
        }
        Some(s) => Ok(Duration::from_secs(*s.get_ref())),
        None => Ok(default),
    }
}

impl RawPostgres {
    /// `[executor.postgres.drill]`, checked.
    pub(super) fn drill(
        &self,
    ) -> Result<Option<crate::executor::postgres::drill::DrillConfig>, Problem> {
        self.drill.as_ref().map(|d| d.check()).transpose()
    }

    /// No `[executor.postgres]`: the defaults.
    pub(super) fn none() -> (ConnectionSettings, PostgresLimits) {
        (ConnectionSettings::default(), PostgresLimits::default())
    }

    /// The template and the limits.
    pub(super) fn check(&self) -> Result<(ConnectionSettings, PostgresLimits), Problem> {
        let d = PostgresLimits::default();
        let lag = match &self.max_replication_lag_seconds {
            Some(l) if !(l.get_ref().is_finite() && *l.get_ref() >= 0.0) => {
                return Err(at(
                    l,
                    "max_replication_lag_seconds must be a non-negative number",
                ));
            }
            Some(l) => *l.get_ref(),
            None => d.max_replication_lag_s,
        };
        let limits = PostgresLimits {
            connect_timeout: seconds(
                &self.connect_timeout_seconds,
                "connect_timeout_seconds",
                600,
                d.connect_timeout,
            )?,
            max_transaction_age: seconds(
                &self.max_transaction_seconds,
                "max_transaction_seconds",
                7 * 24 * 3600,
                d.max_transaction_age,
            )?,
            max_replication_lag_s: lag,
            restart_timeout: seconds(
                &self.restart_timeout_seconds,
                "restart_timeout_seconds",
                24 * 3600,
                d.restart_timeout,
            )?,
        };
        let connection = match &self.connection {
            Some(c) => c.get_ref().check(false)?,
            None => ConnectionSettings::default(),
        };
        Ok((connection, limits))
    }
}

impl RawConnection {
    /// `own`: a database's own settings (which may name its replication name).
    pub(super) fn check(&self, own: bool) -> Result<ConnectionSettings, Problem> {
        if let Some(p) = &self.password {
            return Err(at(
                p,
                "a password is never written in the config: use password_file (a file holding it) or password_env (an environment variable holding it)",
            ));
        }
        if let (Some(_), Some(env)) = (&self.password_file, &self.password_env) {
            return Err(at(env, "use password_file or password_env, not both"));
        }
        let text = |v: &Option<Spanned<String>>, name: &str| -> Result<Option<String>, Problem> {
            let Some(v) = v else { return Ok(None) };
            let s = v.get_ref();
            if s.trim().is_empty() || s.chars().any(char::is_control) {
                return Err(at(
                    v,
                    format!("{name} is empty or contains control characters"),
                ));
            }
            check_placeholders(s).map_err(|e| at(v, format!("{name}: {e}")))?;
            Ok(Some(s.clone()))
        };
        if let Some(port) = &self.port
            && *port.get_ref() == 0
        {
            return Err(at(port, "port must be between 1 and 65535"));
        }
        let sslmode = match &self.sslmode {
            Some(m) => Some(SslMode::parse(m.get_ref()).ok_or_else(|| {
                at(
                    m,
                    format!(
                        "unknown sslmode '{}': use {}",
                        m.get_ref().escape_debug(),
                        SslMode::ALL.map(|(n, _)| n).join(", ")
                    ),
                )
            })?),
            None => None,
        };
        if let Some(env) = &self.password_env
            && !env
                .get_ref()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '{' | '}'))
        {
            return Err(at(
                env,
                "password_env must name an environment variable (letters, digits, '_')",
            ));
        }
        if !own && let Some(r) = &self.replication_name {
            return Err(at(
                r,
                "replication_name is a database's own setting: put it in that database's [database.connection]",
            ));
        }
        let password = match (
            text(&self.password_file, "password_file")?,
            text(&self.password_env, "password_env")?,
        ) {
            (Some(f), _) => Some(PasswordSource::File(f)),
            (None, Some(e)) => Some(PasswordSource::Env(e)),
            (None, None) => None,
        };
        Ok(ConnectionSettings {
            host: text(&self.host, "host")?,
            port: self.port.as_ref().map(|p| *p.get_ref()),
            user: text(&self.user, "user")?,
            database: text(&self.database, "database")?,
            sslmode,
            ca_file: text(&self.ca_file, "ca_file")?,
            password,
            replication_name: text(&self.replication_name, "replication_name")?,
        })
    }
}

/// Only `{id}` and `{host}` may appear in braces.
fn check_placeholders(s: &str) -> Result<(), String> {
    let mut rest = s;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| "an unclosed '{'".to_string())?;
        let word = &after[..close];
        if !PLACEHOLDERS.contains(&word) {
            return Err(format!(
                "unknown placeholder {{{word}}} (known: {{id}}, {{host}})"
            ));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}
