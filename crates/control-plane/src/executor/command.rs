//! The real-fleet executor: a team's own shell commands, one per operation.
//!
//! Each command is a template from the config file (see [`super::template`]); the
//! values are also in the environment (`FLEETDECK_ID`, ...). Exit code 0 is success.
//! `health`, `version` and `drill` answer on the last non-blank line of stdout:
//! - health: JSON `{"status": "healthy"|"degraded"|"down", "replication_lag_s": 1.5,
//!   "connections": 42, "latency_ms": 3.2}` (only `status` is required);
//! - version: the version itself, e.g. `16.6`;
//! - drill: JSON `{"backup_id": "...", "recovery_point": "2026-11-21T20:15:00Z",
//!   "checksum_ok": true, "restore_seconds": 812.5}` (`restore_seconds` defaults to
//!   the measured run time).

use std::path::Path;
use std::time::Instant;

use chrono::{DateTime, Utc};
use fleetdeck_api::{Database, Health, HealthStatus};
use serde::Deserialize;

use super::process::{self, Output, Run};
use super::template::Values;
use super::{BoxFuture, DrillOutcome, ExecError, Executor, LogSink};
use crate::config::{CommandConfig, OperationCommand};

/// Longest version string accepted from a version command.
const MAX_VERSION_CHARS: usize = 64;

pub struct CommandExecutor {
    config: CommandConfig,
}

impl CommandExecutor {
    pub fn new(config: CommandConfig) -> CommandExecutor {
        CommandExecutor { config }
    }

    async fn run(
        &self,
        operation: &str,
        op: &OperationCommand,
        db: &Database,
        to_version: &str,
        log: &LogSink,
    ) -> Result<Output, ExecError> {
        let shell = Shell {
            program: &self.config.shell,
            working_dir: self.config.working_dir.as_deref(),
        };
        shell.run(operation, op, db, to_version, log).await
    }
}

/// How a team's commands run: which shell, from where. The postgres executor runs its
/// patch and rollback commands the same way.
pub(crate) struct Shell<'a> {
    pub program: &'a Path,
    pub working_dir: Option<&'a Path>,
}

impl Shell<'_> {
    /// Runs `op` for `db`, its template filled from the database and `to_version`.
    pub(crate) async fn run(
        &self,
        operation: &str,
        op: &OperationCommand,
        db: &Database,
        to_version: &str,
        log: &LogSink,
    ) -> Result<Output, ExecError> {
        let values = Values {
            id: &db.id,
            host: &db.host,
            engine: &db.engine,
            from_version: &db.engine_version,
            to_version,
            region: &db.region,
        };
        let run = Run {
            operation,
            shell: self.program,
            working_dir: self.working_dir,
            command_line: op.template.render(&values),
            env: values.env().to_vec(),
            timeout: op.timeout,
        };
        process::run(run, log).await
    }
}

/// The last non-blank stdout line, or an error saying the command printed nothing.
fn answer<'o>(operation: &str, output: &'o Output) -> Result<&'o str, ExecError> {
    output.last_stdout_line().ok_or_else(|| {
        ExecError::new(format!(
            "printed nothing on stdout; the {operation} answer is expected on its last line"
        ))
    })
}

fn parse_json<'de, T: Deserialize<'de>>(operation: &str, line: &'de str) -> Result<T, ExecError> {
    serde_json::from_str(line).map_err(|e| {
        ExecError::new(format!(
            "the last stdout line is not the expected {operation} JSON ({e}): {}",
            fleetdeck_api::text::sanitize_line(line)
        ))
    })
}

#[derive(Deserialize)]
struct HealthAnswer {
    status: HealthStatus,
    replication_lag_s: Option<f64>,
    #[serde(default)]
    connections: u32,
    #[serde(default)]
    latency_ms: f64,
}

#[derive(Deserialize)]
struct DrillAnswer {
    backup_id: String,
    recovery_point: DateTime<Utc>,
    checksum_ok: bool,
    restore_seconds: Option<f64>,
}

fn parse_health(output: &Output) -> Result<Health, ExecError> {
    let answer: HealthAnswer = parse_json("health", answer("health", output)?)?;
    if !matches!(
        answer.status,
        HealthStatus::Healthy | HealthStatus::Degraded | HealthStatus::Down
    ) {
        return Err(ExecError::new(
            "the health answer's status must be \"healthy\", \"degraded\" or \"down\"",
        ));
    }
    let finite = |v: f64| v.is_finite() && v >= 0.0;
    if !finite(answer.latency_ms) || answer.replication_lag_s.is_some_and(|l| !finite(l)) {
        return Err(ExecError::new(
            "the health answer's latency_ms and replication_lag_s must be non-negative numbers",
        ));
    }
    Ok(Health {
        status: answer.status,
        replication_lag_s: answer.replication_lag_s,
        connections: answer.connections,
        latency_ms: answer.latency_ms,
        checked_at: Some(Utc::now()),
        ..Health::default()
    })
}

fn parse_version(output: &Output) -> Result<String, ExecError> {
    let line = answer("version", output)?;
    if line.chars().count() > MAX_VERSION_CHARS
        || line.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(ExecError::new(format!(
            "the last stdout line must be the bare version (no spaces, at most {MAX_VERSION_CHARS} characters), got: {}",
            fleetdeck_api::text::sanitize_line(line)
        )));
    }
    Ok(line.to_string())
}

fn parse_drill(output: &Output, measured_seconds: f64) -> Result<DrillOutcome, ExecError> {
    let answer: DrillAnswer = parse_json("drill", answer("drill", output)?)?;
    let restore_seconds = match answer.restore_seconds {
        Some(s) if s.is_finite() && s >= 0.0 => s,
        Some(_) => {
            return Err(ExecError::new(
                "the drill answer's restore_seconds must be a non-negative number",
            ));
        }
        None => measured_seconds,
    };
    Ok(DrillOutcome {
        backup_id: fleetdeck_api::text::sanitize_line(&answer.backup_id).into_owned(),
        recovery_point: Some(answer.recovery_point),
        restore_seconds,
        checksum_ok: answer.checksum_ok,
        output: fleetdeck_api::text::sanitize(&output.all.join("\n")).into_owned(),
        proof: fleetdeck_api::DrillProof::default(),
    })
}

impl Executor for CommandExecutor {
    fn name(&self) -> &str {
        "command"
    }

    fn precheck<'a>(
        &'a self,
        db: &'a Database,
        to_version: &'a str,
        log: LogSink,
    ) -> BoxFuture<'a, Result<(), ExecError>> {
        Box::pin(async move {
            match &self.config.precheck {
                Some(op) => self
                    .run("precheck", op, db, to_version, &log)
                    .await
                    .map(drop),
                None => {
                    log.info("no precheck command is configured; precheck passes");
                    Ok(())
                }
            }
        })
    }

    fn patch<'a>(
        &'a self,
        db: &'a Database,
        to_version: &'a str,
        log: LogSink,
    ) -> BoxFuture<'a, Result<(), ExecError>> {
        Box::pin(async move {
            self.run("patch", &self.config.patch, db, to_version, &log)
                .await
                .map(drop)
        })
    }

    fn rollback<'a>(
        &'a self,
        db: &'a Database,
        to_version: &'a str,
        log: LogSink,
    ) -> BoxFuture<'a, Result<(), ExecError>> {
        Box::pin(async move {
            self.run("rollback", &self.config.rollback, db, to_version, &log)
                .await
                .map(drop)
        })
    }

    fn health<'a>(&'a self, db: &'a Database) -> BoxFuture<'a, Result<Health, ExecError>> {
        Box::pin(async move {
            let output = self
                .run(
                    "health",
                    &self.config.health,
                    db,
                    &db.engine_version,
                    &LogSink::discard(),
                )
                .await?;
            parse_health(&output)
        })
    }

    fn actual_version<'a>(&'a self, db: &'a Database) -> BoxFuture<'a, Result<String, ExecError>> {
        Box::pin(async move {
            let output = self
                .run(
                    "version",
                    &self.config.version,
                    db,
                    &db.engine_version,
                    &LogSink::discard(),
                )
                .await?;
            parse_version(&output)
        })
    }

    fn restore_drill<'a>(
        &'a self,
        db: &'a Database,
        log: LogSink,
    ) -> BoxFuture<'a, Result<DrillOutcome, ExecError>> {
        Box::pin(async move {
            let started = Instant::now();
            let output = self
                .run("drill", &self.config.drill, db, &db.engine_version, &log)
                .await?;
            parse_drill(&output, started.elapsed().as_secs_f64())
        })
    }
}
