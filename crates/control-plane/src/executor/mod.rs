//! Executors: the part of the control plane that touches databases.
//!
//! The runner and the drill scheduler speak only this trait; which fleet is behind it
//! (the simulated demo fleet, a team's own shell commands, or PostgreSQL servers over
//! real connections) is chosen by the config.
//! Every operation streams what it prints to a [`LogSink`] as it happens, so the
//! execution log shows progress live rather than after the fact.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use fleetdeck_api::{Database, Health, Level};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

pub mod command;
pub mod postgres;
mod process;
mod sim_script;
pub mod simulated;
pub mod template;

pub use futures_util::future::BoxFuture;

use crate::config::ExecutorConfig;

/// The executor the config asks for. A simulated one starts without scripted
/// situations; the demo builds its own with `SimConfig::scripted`.
pub fn build(config: &ExecutorConfig) -> Arc<dyn Executor> {
    match config {
        ExecutorConfig::Simulated(s) => {
            Arc::new(simulated::SimulatedExecutor::new(simulated::SimConfig {
                seed: s.seed,
                time_scale: s.time_scale,
                call_log: s.call_log.clone(),
                ..simulated::SimConfig::default()
            }))
        }
        ExecutorConfig::Command(c) => Arc::new(command::CommandExecutor::new((**c).clone())),
        ExecutorConfig::Postgres(p) => Arc::new(postgres::PostgresExecutor::new((**p).clone())),
    }
}

/// One line an executor printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub level: Level,
    pub text: String,
}

/// Where an operation's output goes. Cloneable; sending never blocks and never fails
/// (a receiver that went away just stops listening). Text is sanitised on the way in,
/// because it comes from the fleet and will end up in a terminal.
#[derive(Debug, Clone)]
pub struct LogSink(Option<UnboundedSender<LogLine>>);

impl LogSink {
    /// A sink and the receiver its lines arrive on.
    pub fn channel() -> (LogSink, UnboundedReceiver<LogLine>) {
        let (tx, rx) = unbounded_channel();
        (LogSink(Some(tx)), rx)
    }

    /// A sink that drops everything (health polls nobody watches).
    pub fn discard() -> LogSink {
        LogSink(None)
    }

    pub fn line(&self, level: Level, text: impl AsRef<str>) {
        if let Some(tx) = &self.0 {
            let text = fleetdeck_api::text::sanitize_line(text.as_ref()).into_owned();
            let _ = tx.send(LogLine { level, text });
        }
    }

    pub fn info(&self, text: impl AsRef<str>) {
        self.line(Level::Info, text);
    }

    pub fn warn(&self, text: impl AsRef<str>) {
        self.line(Level::Warn, text);
    }

    pub fn error(&self, text: impl AsRef<str>) {
        self.line(Level::Error, text);
    }
}

/// Why an operation failed, in words an operator can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecError {
    pub message: String,
    /// The operation ran past its timeout and was killed.
    pub timed_out: bool,
}

impl ExecError {
    pub fn new(message: impl Into<String>) -> ExecError {
        ExecError {
            message: message.into(),
            timed_out: false,
        }
    }

    pub fn timeout(message: impl Into<String>) -> ExecError {
        ExecError {
            message: message.into(),
            timed_out: true,
        }
    }
}

impl std::fmt::Display for ExecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ExecError {}

/// What a finished restore drill proved. A drill that restored but failed a check is an
/// outcome with `checksum_ok` false (and the failed check in `proof`); one that could
/// not run is an [`ExecError`] saying why.
#[derive(Debug, Clone, PartialEq)]
pub struct DrillOutcome {
    pub backup_id: String,
    /// The recovery point the restore reached; none when it did not get that far.
    pub recovery_point: Option<DateTime<Utc>>,
    pub restore_seconds: f64,
    /// False when the restored data did not verify: the drill failed.
    pub checksum_ok: bool,
    /// What the drill printed, sanitised.
    pub output: String,
    /// Its checks by name, the backup label, the recovery target and the point reached
    /// (executors that only report the fields above leave it empty).
    pub proof: fleetdeck_api::DrillProof,
}

/// The operations a workflow asks of a fleet. `to_version` of `rollback` is the version
/// to go back to. A database's `engine_version` is its declared current version.
pub trait Executor: Send + Sync + 'static {
    fn name(&self) -> &str;
    fn precheck<'a>(
        &'a self,
        db: &'a Database,
        to_version: &'a str,
        log: LogSink,
    ) -> BoxFuture<'a, Result<(), ExecError>>;
    fn patch<'a>(
        &'a self,
        db: &'a Database,
        to_version: &'a str,
        log: LogSink,
    ) -> BoxFuture<'a, Result<(), ExecError>>;
    fn rollback<'a>(
        &'a self,
        db: &'a Database,
        to_version: &'a str,
        log: LogSink,
    ) -> BoxFuture<'a, Result<(), ExecError>>;
    fn health<'a>(&'a self, db: &'a Database) -> BoxFuture<'a, Result<Health, ExecError>>;
    fn actual_version<'a>(&'a self, db: &'a Database) -> BoxFuture<'a, Result<String, ExecError>>;
    fn restore_drill<'a>(
        &'a self,
        db: &'a Database,
        log: LogSink,
    ) -> BoxFuture<'a, Result<DrillOutcome, ExecError>>;
}
