//! `[executor] kind = "postgres"`: PostgreSQL over real connections.
//!
//! Health, version and the precheck are built in and read the server itself (see
//! `docs/postgres.md` for what each finding means). Patch and rollback stay the team's
//! own commands, run as the command executor runs them, but wrapped: the built-in
//! precheck right before, and after, a bounded wait until the server accepts
//! connections again and runs the expected version in its declared role with its
//! replication back.
//!
//! Every connection is made for one operation and closed after it: a fleet of
//! thousands holds no idle sessions, and a server restarted by a patch needs no
//! reconnect logic.

mod connect;
pub mod drill;
mod health;
mod precheck;
mod probe;
mod restart;

use std::time::Instant;

use fleetdeck_api::{Database, Health};
use sqlx::postgres::PgConnection;

use super::command::Shell;
use super::{BoxFuture, DrillOutcome, ExecError, Executor, LogSink};
use crate::config::PostgresConfig;
use crate::config::postgres::DeclaredReplica;
use connect::{close, connect, describe, is_unreachable};

pub struct PostgresExecutor {
    config: PostgresConfig,
}

/// How strictly the built-in precheck holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strictness {
    /// Before a patch: every problem refuses it.
    Refuse,
    /// Before a rollback: the problems are logged, and the rollback goes ahead (it is
    /// how a broken server is repaired; refusing it would leave the server broken).
    Warn,
}

impl PostgresExecutor {
    pub fn new(config: PostgresConfig) -> PostgresExecutor {
        if let Some(d) = &config.drill {
            drill::clean_leftovers(d);
        }
        PostgresExecutor { config }
    }

    fn replicas_of(&self, db: &Database) -> Vec<DeclaredReplica> {
        self.config
            .replicas
            .get(&db.id)
            .cloned()
            .unwrap_or_default()
    }

    fn shell(&self) -> Shell<'_> {
        Shell {
            program: &self.config.shell,
            working_dir: self.config.working_dir.as_deref(),
        }
    }

    async fn open(&self, db: &Database) -> Result<PgConnection, connect::ConnectError> {
        connect(
            &self.config.connection_for(db),
            self.config.limits.connect_timeout,
        )
        .await
    }

    async fn check_health(&self, db: &Database) -> Health {
        let started = Instant::now();
        let ms = || started.elapsed().as_secs_f64() * 1000.0;
        let mut conn = match self.open(db).await {
            Ok(c) => c,
            Err(e) if e.unreachable => return health::unreachable(e.message, ms()),
            Err(e) => return health::refused(e.message, ms()),
        };
        let facts = probe::probe(&mut conn).await;
        close(conn).await;
        match facts {
            Ok(p) => health::judge(db, &self.replicas_of(db), &p, ms()),
            Err(e) if is_unreachable(&e) => {
                health::unreachable(format!("the server went away: {}", describe(&e)), ms())
            }
            Err(e) => health::refused(format!("the health queries failed: {}", describe(&e)), ms()),
        }
    }

    /// The built-in precheck; `target` is the version a patch goes to (a rollback
    /// goes back, so it has none).
    async fn builtin_precheck(
        &self,
        db: &Database,
        target: Option<&str>,
        strictness: Strictness,
        log: &LogSink,
    ) -> Result<(), ExecError> {
        let problems = match self.open(db).await {
            Err(e) => vec![format!("not reachable: {e}")],
            Ok(mut conn) => {
                let found = match probe::probe(&mut conn).await {
                    Ok(p) => {
                        precheck::problems(
                            &mut conn,
                            db,
                            &self.replicas_of(db),
                            &self.config.limits,
                            &p,
                            target,
                        )
                        .await
                    }
                    Err(e) => vec![format!("cannot read the server's state: {}", describe(&e))],
                };
                close(conn).await;
                found
            }
        };
        if problems.is_empty() {
            log.info(format!(
                "{}: precheck passed (reachable, {} as declared, replication within {:.1}s, no long or prepared transactions{})",
                db.id,
                db.role.as_str(),
                self.config.limits.max_replication_lag_s,
                if target.is_some() { ", target not older" } else { "" }
            ));
            return Ok(());
        }
        match strictness {
            Strictness::Refuse => Err(ExecError::new(format!(
                "precheck failed: {}",
                problems.join("; ")
            ))),
            Strictness::Warn => {
                for p in &problems {
                    log.warn(format!("{}: before the rollback: {p} (going ahead)", db.id));
                }
                Ok(())
            }
        }
    }

    /// Runs the team's `operation` command, wrapped (see the module comment).
    async fn wrapped(
        &self,
        operation: &str,
        db: &Database,
        to_version: &str,
        log: LogSink,
    ) -> Result<(), ExecError> {
        let (op, target, strictness) = match operation {
            "patch" => (&self.config.patch, Some(to_version), Strictness::Refuse),
            _ => (&self.config.rollback, None, Strictness::Warn),
        };
        self.builtin_precheck(db, target, strictness, &log).await?;
        self.shell()
            .run(operation, op, db, to_version, &log)
            .await?;
        restart::settle(self, db, operation, to_version, &log).await
    }
}

impl Executor for PostgresExecutor {
    fn name(&self) -> &str {
        "postgres"
    }

    fn precheck<'a>(
        &'a self,
        db: &'a Database,
        to_version: &'a str,
        log: LogSink,
    ) -> BoxFuture<'a, Result<(), ExecError>> {
        Box::pin(async move {
            self.builtin_precheck(db, Some(to_version), Strictness::Refuse, &log)
                .await?;
            if let Some(op) = &self.config.precheck {
                self.shell()
                    .run("precheck", op, db, to_version, &log)
                    .await?;
            }
            Ok(())
        })
    }

    fn patch<'a>(
        &'a self,
        db: &'a Database,
        to_version: &'a str,
        log: LogSink,
    ) -> BoxFuture<'a, Result<(), ExecError>> {
        Box::pin(self.wrapped("patch", db, to_version, log))
    }

    fn rollback<'a>(
        &'a self,
        db: &'a Database,
        to_version: &'a str,
        log: LogSink,
    ) -> BoxFuture<'a, Result<(), ExecError>> {
        Box::pin(self.wrapped("rollback", db, to_version, log))
    }

    fn health<'a>(&'a self, db: &'a Database) -> BoxFuture<'a, Result<Health, ExecError>> {
        Box::pin(async move { Ok(self.check_health(db).await) })
    }

    fn actual_version<'a>(&'a self, db: &'a Database) -> BoxFuture<'a, Result<String, ExecError>> {
        Box::pin(async move {
            let mut conn = self.open(db).await.map_err(|e| ExecError::new(e.message))?;
            let version: Result<String, sqlx::Error> =
                sqlx::query_scalar("SELECT current_setting('server_version')")
                    .fetch_one(&mut conn)
                    .await;
            close(conn).await;
            let version = version.map_err(|e| {
                ExecError::new(format!("cannot read server_version: {}", describe(&e)))
            })?;
            let numeric = probe::numeric_version(&version);
            if numeric.is_empty() {
                return Err(ExecError::new(format!(
                    "server_version '{}' has no version number",
                    fleetdeck_api::text::sanitize_line(&version)
                )));
            }
            Ok(numeric)
        })
    }

    fn restore_drill<'a>(
        &'a self,
        db: &'a Database,
        log: LogSink,
    ) -> BoxFuture<'a, Result<DrillOutcome, ExecError>> {
        Box::pin(async move {
            let Some(drill_config) = &self.config.drill else {
                return Err(ExecError::new(format!(
                    "restore drills of {} cannot run: restore drills for kind = \"postgres\" need the [executor.postgres.drill] config (the backup source: pgbackrest or pg_basebackup), and this control plane has none",
                    db.id
                )));
            };
            drill::run_for(drill_config, db, &self.config.connection_for(db), log).await
        })
    }
}
