//! The control-plane config file (TOML): the declared fleet, the executor settings, the
//! drill policy and the approval expiry.
//!
//! Loading is strict: an unknown key anywhere is an error, every database is checked
//! (ids unique and URL/shell-safe, replicas name an existing primary patched no earlier
//! than themselves, known environments and tiers), and every command template is
//! parsed, so a typo is found when the server starts rather than at 3 a.m. when a
//! campaign reaches the database. Errors are one line naming the file and the line.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use fleetdeck_api::{BackupPolicy, Database, DbRole, Environment, Health};
use serde::Deserialize;
use toml::Spanned;

use crate::executor::template::Template;

/// Everything `--config` declares.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// The declared fleet; health starts unknown, `version` at 1.
    pub databases: Vec<Database>,
    pub executor: ExecutorConfig,
    pub drills: DrillPolicy,
    pub approvals: ApprovalPolicy,
}

impl Default for ServerConfig {
    /// No config file: an empty fleet (nothing for any executor to touch).
    fn default() -> Self {
        ServerConfig {
            databases: Vec::new(),
            executor: ExecutorConfig::Simulated(SimSettings::default()),
            drills: DrillPolicy::default(),
            approvals: ApprovalPolicy::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExecutorConfig {
    /// The simulated fleet (the demo, tests).
    Simulated(SimSettings),
    /// A team's own shell commands.
    Command(Box<CommandConfig>),
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

/// How often each tier must prove its backups restore, and how many drills run at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrillPolicy {
    pub tier1_days: u32,
    pub tier2_days: u32,
    pub tier3_days: u32,
    pub max_concurrent: u32,
}

impl Default for DrillPolicy {
    fn default() -> Self {
        DrillPolicy {
            tier1_days: 7,
            tier2_days: 14,
            tier3_days: 30,
            max_concurrent: 2,
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
    let raw: RawFile = toml::from_str(text).map_err(|e| fail(e.span(), e.message().to_string()))?;
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default, rename = "database")]
    databases: Vec<Spanned<RawDatabase>>,
    executor: Option<Spanned<RawExecutor>>,
    #[serde(default)]
    drills: Option<Spanned<RawDrills>>,
    #[serde(default)]
    approvals: Option<RawApprovals>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    id: Spanned<String>,
    engine: Spanned<String>,
    engine_version: Spanned<String>,
    environment: Spanned<String>,
    tier: Spanned<u8>,
    region: Spanned<String>,
    owner_team: Spanned<String>,
    #[serde(default)]
    role: Option<Spanned<String>>,
    #[serde(default)]
    primary_id: Option<Spanned<String>>,
    ring: u8,
    host: Spanned<String>,
    #[serde(default)]
    tags: Vec<Spanned<String>>,
    backup: RawBackup,
    #[serde(default)]
    drill_interval_days: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBackup {
    schedule: Spanned<String>,
    retention_days: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExecutor {
    kind: Spanned<String>,
    seed: Option<u64>,
    time_scale: Option<Spanned<f64>>,
    call_log: Option<PathBuf>,
    shell: Option<PathBuf>,
    working_dir: Option<PathBuf>,
    precheck: Option<Spanned<RawOperation>>,
    patch: Option<Spanned<RawOperation>>,
    rollback: Option<Spanned<RawOperation>>,
    health: Option<Spanned<RawOperation>>,
    version: Option<Spanned<RawOperation>>,
    drill: Option<Spanned<RawOperation>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOperation {
    command: Spanned<String>,
    timeout_seconds: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDrills {
    tier1_days: Option<Spanned<u32>>,
    tier2_days: Option<Spanned<u32>>,
    tier3_days: Option<Spanned<u32>>,
    max_concurrent: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApprovals {
    ttl_minutes: Spanned<u64>,
}

/// Longest database id: it travels in URLs, events and shell commands.
const MAX_ID_CHARS: usize = 100;
/// Longest timeout an operation may ask for (two days).
const MAX_TIMEOUT_SECONDS: u64 = 2 * 24 * 3600;

impl RawFile {
    fn check(self) -> Result<ServerConfig, Problem> {
        let drills = match &self.drills {
            Some(d) => d.get_ref().check()?,
            None => DrillPolicy::default(),
        };
        let approvals = match &self.approvals {
            Some(a) => {
                let minutes = *a.ttl_minutes.get_ref();
                if minutes == 0 || minutes > 30 * 24 * 60 {
                    return Err(at(
                        &a.ttl_minutes,
                        "ttl_minutes must be between 1 and 43200 (30 days)",
                    ));
                }
                ApprovalPolicy {
                    ttl: Duration::from_secs(minutes * 60),
                }
            }
            None => ApprovalPolicy::default(),
        };
        let databases = check_fleet(&self.databases, &drills)?;
        let executor = match &self.executor {
            Some(e) => e.get_ref().check(e)?,
            None if databases.is_empty() => ExecutorConfig::Simulated(SimSettings::default()),
            None => {
                return Err((
                    None,
                    "databases are declared but there is no [executor] section saying how to reach them"
                        .into(),
                ));
            }
        };
        Ok(ServerConfig {
            databases,
            executor,
            drills,
            approvals,
        })
    }
}

impl RawDrills {
    fn check(&self) -> Result<DrillPolicy, Problem> {
        let d = DrillPolicy::default();
        let days = |v: &Option<Spanned<u32>>, default: u32, name: &str| match v {
            Some(s) if *s.get_ref() == 0 || *s.get_ref() > 3650 => {
                Err(at(s, format!("{name} must be between 1 and 3650")))
            }
            Some(s) => Ok(*s.get_ref()),
            None => Ok(default),
        };
        let max_concurrent = match &self.max_concurrent {
            Some(s) if *s.get_ref() == 0 || *s.get_ref() > 64 => {
                return Err(at(s, "max_concurrent must be between 1 and 64"));
            }
            Some(s) => *s.get_ref(),
            None => d.max_concurrent,
        };
        Ok(DrillPolicy {
            tier1_days: days(&self.tier1_days, d.tier1_days, "tier1_days")?,
            tier2_days: days(&self.tier2_days, d.tier2_days, "tier2_days")?,
            tier3_days: days(&self.tier3_days, d.tier3_days, "tier3_days")?,
            max_concurrent,
        })
    }
}

impl RawExecutor {
    fn check(&self, whole: &Spanned<RawExecutor>) -> Result<ExecutorConfig, Problem> {
        match self.kind.get_ref().as_str() {
            "simulated" => {
                let commands = [
                    &self.precheck,
                    &self.patch,
                    &self.rollback,
                    &self.health,
                    &self.version,
                    &self.drill,
                ];
                if let Some(op) = commands.into_iter().flatten().next() {
                    return Err(at(op, "commands apply only to kind = \"command\""));
                }
                if self.shell.is_some() || self.working_dir.is_some() {
                    return Err(at(
                        &self.kind,
                        "shell and working_dir apply only to kind = \"command\"",
                    ));
                }
                let time_scale = match &self.time_scale {
                    Some(t) if !(t.get_ref().is_finite() && *t.get_ref() > 0.0) => {
                        return Err(at(t, "time_scale must be a positive number"));
                    }
                    Some(t) => *t.get_ref(),
                    None => 1.0,
                };
                Ok(ExecutorConfig::Simulated(SimSettings {
                    seed: self.seed.unwrap_or(1),
                    time_scale,
                    call_log: self.call_log.clone(),
                }))
            }
            "command" => {
                if self.seed.is_some() || self.time_scale.is_some() || self.call_log.is_some() {
                    return Err(at(
                        &self.kind,
                        "seed, time_scale and call_log apply only to kind = \"simulated\"",
                    ));
                }
                let required = |op: &Option<Spanned<RawOperation>>, name: &str, default: u64| {
                    match op {
                        Some(op) => op.get_ref().check(default),
                        None => Err(at(
                            whole,
                            format!(
                                "[executor.{name}] is missing: kind = \"command\" needs a {name} command"
                            ),
                        )),
                    }
                };
                Ok(ExecutorConfig::Command(Box::new(CommandConfig {
                    shell: self
                        .shell
                        .clone()
                        .unwrap_or_else(|| PathBuf::from("/bin/sh")),
                    working_dir: self.working_dir.clone(),
                    precheck: match &self.precheck {
                        Some(op) => Some(op.get_ref().check(default_timeouts::PRECHECK)?),
                        None => None,
                    },
                    patch: required(&self.patch, "patch", default_timeouts::PATCH)?,
                    rollback: required(&self.rollback, "rollback", default_timeouts::ROLLBACK)?,
                    health: required(&self.health, "health", default_timeouts::HEALTH)?,
                    version: required(&self.version, "version", default_timeouts::VERSION)?,
                    drill: required(&self.drill, "drill", default_timeouts::DRILL)?,
                })))
            }
            other => Err(at(
                &self.kind,
                format!("unknown executor kind '{other}': use \"command\" or \"simulated\""),
            )),
        }
    }
}

impl RawOperation {
    fn check(&self, default_timeout: u64) -> Result<OperationCommand, Problem> {
        let template = Template::parse(self.command.get_ref()).map_err(|e| at(&self.command, e))?;
        let timeout = match &self.timeout_seconds {
            Some(t) if *t.get_ref() == 0 || *t.get_ref() > MAX_TIMEOUT_SECONDS => {
                return Err(at(
                    t,
                    format!("timeout_seconds must be between 1 and {MAX_TIMEOUT_SECONDS}"),
                ));
            }
            Some(t) => *t.get_ref(),
            None => default_timeout,
        };
        Ok(OperationCommand {
            template,
            timeout: Duration::from_secs(timeout),
        })
    }
}

fn check_fleet(
    raw: &[Spanned<RawDatabase>],
    drills: &DrillPolicy,
) -> Result<Vec<Database>, Problem> {
    let mut by_id: HashMap<&str, &RawDatabase> = HashMap::new();
    for db in raw {
        let db = db.get_ref();
        db.check_fields()?;
        if by_id.insert(db.id.get_ref(), db).is_some() {
            return Err(at(
                &db.id,
                format!("database id '{}' is declared twice", db.id.get_ref()),
            ));
        }
    }
    raw.iter()
        .map(|db| {
            let db = db.get_ref();
            db.check_primary(&by_id)?;
            Ok(db.to_database(drills))
        })
        .collect()
}

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

fn plain_text(s: &Spanned<String>, name: &str) -> Result<(), Problem> {
    if s.get_ref().trim().is_empty() {
        return Err(at(s, format!("{name} is empty")));
    }
    if s.get_ref().chars().any(char::is_control) {
        return Err(at(s, format!("{name} contains control characters")));
    }
    Ok(())
}

impl RawDatabase {
    fn role(&self) -> DbRole {
        match self.role.as_ref().map(|r| r.get_ref().as_str()) {
            Some("replica") => DbRole::Replica,
            _ => DbRole::Primary,
        }
    }

    fn environment(&self) -> Environment {
        match self.environment.get_ref().as_str() {
            "dev" => Environment::Dev,
            "staging" => Environment::Staging,
            "prod" => Environment::Prod,
            _ => Environment::Unknown,
        }
    }

    fn check_fields(&self) -> Result<(), Problem> {
        let id = self.id.get_ref();
        if id.is_empty() || id.len() > MAX_ID_CHARS || !id.chars().all(is_id_char) {
            return Err(at(
                &self.id,
                format!(
                    "database id '{}' must be 1 to {MAX_ID_CHARS} letters, digits, '.', '_' or '-'",
                    id.escape_debug()
                ),
            ));
        }
        for (value, name) in [
            (&self.engine, "engine"),
            (&self.engine_version, "engine_version"),
            (&self.region, "region"),
            (&self.owner_team, "owner_team"),
            (&self.host, "host"),
            (&self.backup.schedule, "backup.schedule"),
        ] {
            plain_text(value, name)?;
        }
        for tag in &self.tags {
            plain_text(tag, "tag")?;
        }
        if self.host.get_ref().chars().any(char::is_whitespace) {
            return Err(at(&self.host, "host contains whitespace"));
        }
        if self.environment() == Environment::Unknown {
            return Err(at(
                &self.environment,
                format!(
                    "unknown environment '{}': use dev, staging or prod",
                    self.environment.get_ref().escape_debug()
                ),
            ));
        }
        if !(1..=3).contains(self.tier.get_ref()) {
            return Err(at(
                &self.tier,
                "tier must be 1, 2 or 3 (1 is the most critical)",
            ));
        }
        if let Some(role) = &self.role
            && !matches!(role.get_ref().as_str(), "primary" | "replica")
        {
            return Err(at(
                role,
                format!(
                    "unknown role '{}': use primary or replica",
                    role.get_ref().escape_debug()
                ),
            ));
        }
        if let Some(days) = &self.drill_interval_days
            && !(1..=3650).contains(days.get_ref())
        {
            return Err(at(days, "drill_interval_days must be between 1 and 3650"));
        }
        match (self.role(), &self.primary_id) {
            (DbRole::Replica, None) => {
                Err(at(&self.id, format!("replica '{id}' has no primary_id")))
            }
            (DbRole::Primary, Some(p)) => Err(at(
                p,
                format!("'{id}' has a primary_id but is not a replica (add role = \"replica\")"),
            )),
            _ => Ok(()),
        }
    }

    fn check_primary(&self, by_id: &HashMap<&str, &RawDatabase>) -> Result<(), Problem> {
        let Some(primary_id) = &self.primary_id else {
            return Ok(());
        };
        let name = primary_id.get_ref();
        let Some(primary) = by_id.get(name.as_str()) else {
            return Err(at(primary_id, format!("primary '{name}' is not declared")));
        };
        if primary.role() != DbRole::Primary {
            return Err(at(
                primary_id,
                format!("primary '{name}' is itself a replica"),
            ));
        }
        if primary.engine.get_ref() != self.engine.get_ref() {
            return Err(at(
                primary_id,
                format!("primary '{name}' runs another engine"),
            ));
        }
        if primary.ring < self.ring {
            return Err(at(
                primary_id,
                format!(
                    "replica '{}' is in ring {} but its primary '{name}' is in ring {}: a replica is patched no later than its primary",
                    self.id.get_ref(),
                    self.ring,
                    primary.ring
                ),
            ));
        }
        Ok(())
    }

    fn to_database(&self, drills: &DrillPolicy) -> Database {
        let tier = *self.tier.get_ref();
        Database {
            id: self.id.get_ref().clone(),
            engine: self.engine.get_ref().clone(),
            engine_version: self.engine_version.get_ref().clone(),
            environment: self.environment(),
            tier,
            region: self.region.get_ref().clone(),
            owner_team: self.owner_team.get_ref().clone(),
            role: self.role(),
            primary_id: self.primary_id.as_ref().map(|p| p.get_ref().clone()),
            ring: self.ring,
            host: self.host.get_ref().clone(),
            tags: self.tags.iter().map(|t| t.get_ref().clone()).collect(),
            health: Health::default(),
            last_patched_at: None,
            backup_policy: BackupPolicy {
                schedule: self.backup.schedule.get_ref().clone(),
                retention_days: self.backup.retention_days,
            },
            drill_interval_days: self
                .drill_interval_days
                .as_ref()
                .map(|d| *d.get_ref())
                .unwrap_or_else(|| drills.interval_days(tier)),
            version: 1,
        }
    }
}
