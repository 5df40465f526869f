//! The control-plane config file (TOML): the declared fleet, the executor settings, the
//! drill policy, the approval expiry and the health poller.
//!
//! Loading is strict: an unknown key anywhere is an error, every database is checked
//! (ids unique and URL/shell-safe, replicas name an existing primary patched no earlier
//! than themselves, known environments and tiers), and every command template is
//! parsed, so a typo is found when the server starts rather than at 3 a.m. when a
//! campaign reaches the database. Errors are one line naming the file and the line.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use fleetdeck_api::Database;
use toml::Spanned;

use crate::executor::template::Template;

mod health;
pub mod postgres;
mod raw;

pub use health::HealthPolicy;
pub use postgres::{PostgresConfig, PostgresLimits};

/// Everything `--config` declares.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// The declared fleet; health starts unknown, `version` at 1.
    pub databases: Vec<Database>,
    pub executor: ExecutorConfig,
    pub drills: DrillPolicy,
    pub approvals: ApprovalPolicy,
    pub health: HealthPolicy,
}

impl Default for ServerConfig {
    /// No config file: an empty fleet (nothing for any executor to touch).
    fn default() -> Self {
        ServerConfig {
            databases: Vec::new(),
            executor: ExecutorConfig::Simulated(SimSettings::default()),
            drills: DrillPolicy::default(),
            approvals: ApprovalPolicy::default(),
            health: HealthPolicy::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExecutorConfig {
    /// The simulated fleet (the demo, tests).
    Simulated(SimSettings),
    /// A team's own shell commands.
    Command(Box<CommandConfig>),
    /// PostgreSQL over real connections; patch and rollback are the team's commands.
    Postgres(Box<PostgresConfig>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SimSettings {
    pub seed: u64,
    /// Simulated seconds per real second.
    pub time_scale: f64,
    /// Where to record every mutating executor call (see `SimConfig::call_log`).
    pub call_log: Option<PathBuf>,
}

impl Default for SimSettings {
    fn default() -> Self {
        SimSettings {
            seed: 1,
            time_scale: 1.0,
            call_log: None,
        }
    }
}

/// One operation's command and how long it may run before its process group is killed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationCommand {
    pub template: Template,
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandConfig {
    /// Runs each command as `shell -c COMMAND`.
    pub shell: PathBuf,
    pub working_dir: Option<PathBuf>,
    /// Optional: without it the precheck passes with a note in the log.
    pub precheck: Option<OperationCommand>,
    pub patch: OperationCommand,
    pub rollback: OperationCommand,
    pub health: OperationCommand,
    pub version: OperationCommand,
    pub drill: OperationCommand,
}

/// Default timeouts, per operation, in seconds.
pub mod default_timeouts {
    pub const PRECHECK: u64 = 300;
    pub const PATCH: u64 = 3600;
    pub const ROLLBACK: u64 = 3600;
    pub const HEALTH: u64 = 60;
    pub const VERSION: u64 = 60;
    pub const DRILL: u64 = 4 * 3600;
}

/// How often each tier must prove its backups restore, how many drills run at once,
/// and each tier's recovery objectives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrillPolicy {
    pub tier1_days: u32,
    pub tier2_days: u32,
    pub tier3_days: u32,
    pub max_concurrent: u32,
    /// Tiers 1, 2, 3.
    pub objectives: [RecoveryObjectives; 3],
}

/// A tier's recovery objectives; unset ones are not judged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecoveryObjectives {
    /// RTO: how long a restore may take (the drill's restore time: restore, start and
    /// checks).
    pub rto: Option<Duration>,
    /// RPO: how far the recovery point a drill reaches may lag the moment it started.
    pub rpo: Option<Duration>,
}

impl Default for DrillPolicy {
    fn default() -> Self {
        DrillPolicy {
            tier1_days: 7,
            tier2_days: 14,
            tier3_days: 30,
            max_concurrent: 2,
            objectives: [RecoveryObjectives::default(); 3],
        }
    }
}

impl DrillPolicy {
    /// The drill interval of a tier; tiers past 3 get the tier-3 interval.
    pub fn interval_days(&self, tier: u8) -> u32 {
        match tier {
            0 | 1 => self.tier1_days,
            2 => self.tier2_days,
            _ => self.tier3_days,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalPolicy {
    /// A pending approval expires this long after it was raised.
    pub ttl: Duration,
}

impl Default for ApprovalPolicy {
    fn default() -> Self {
        ApprovalPolicy {
            ttl: Duration::from_secs(24 * 3600),
        }
    }
}

/// Why the config file was refused: one line, naming the file and (when known) the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.path.display(), line, self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Reads and checks the config file at `path`.
pub fn load(path: &Path) -> Result<ServerConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        path: path.to_path_buf(),
        line: None,
        message: format!("cannot read the config file: {e}"),
    })?;
    parse(&text, path)
}

/// Parses config text; `path` only names the file in errors.
pub fn parse(text: &str, path: &Path) -> Result<ServerConfig, ConfigError> {
    let fail = |span: Option<Range<usize>>, message: String| ConfigError {
        path: path.to_path_buf(),
        line: span.map(|s| line_of(text, s.start)),
        message: one_line(&message),
    };
    let raw: raw::RawFile =
        toml::from_str(text).map_err(|e| fail(e.span(), e.message().to_string()))?;
    raw.check().map_err(|(span, message)| fail(span, message))
}

fn line_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A check failure: where, and what.
type Problem = (Option<Range<usize>>, String);

fn at<T>(spanned: &Spanned<T>, message: impl Into<String>) -> Problem {
    (Some(spanned.span()), message.into())
}
