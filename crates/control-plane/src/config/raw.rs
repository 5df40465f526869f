//! The config file as written (every key with its place in the file, for errors) and
//! its checks, which turn it into a [`ServerConfig`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use fleetdeck_api::{BackupPolicy, Database, DbRole, Environment, Health};
use serde::Deserialize;
use toml::Spanned;

use super::postgres::{PostgresConfig, RawConnection, RawPostgres};
use super::{
    ApprovalPolicy, CommandConfig, DrillPolicy, ExecutorConfig, HealthPolicy, OperationCommand,
    Problem, RecoveryObjectives, ServerConfig, SimSettings, at, default_timeouts,
};
use crate::executor::template::Template;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    #[serde(default, rename = "database")]
    databases: Vec<Spanned<RawDatabase>>,
    executor: Option<Spanned<RawExecutor>>,
    #[serde(default)]
    drills: Option<Spanned<RawDrills>>,
    #[serde(default)]
    approvals: Option<RawApprovals>,
    #[serde(default)]
    health: Option<super::health::RawHealth>,
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
    /// How the postgres executor reaches this database (over its template).
    #[serde(default)]
    connection: Option<Spanned<RawConnection>>,
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
    postgres: Option<Spanned<RawPostgres>>,
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
    tier1_rto_minutes: Option<Spanned<u32>>,
    tier1_rpo_minutes: Option<Spanned<u32>>,
    tier2_rto_minutes: Option<Spanned<u32>>,
    tier2_rpo_minutes: Option<Spanned<u32>>,
    tier3_rto_minutes: Option<Spanned<u32>>,
    tier3_rpo_minutes: Option<Spanned<u32>>,
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
    pub(super) fn check(self) -> Result<ServerConfig, Problem> {
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
        let health = match &self.health {
            Some(h) => h.check()?,
            None => HealthPolicy::default(),
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
        let executor = self.attach_connections(executor, &databases)?;
        Ok(ServerConfig {
            databases,
            executor,
            drills,
            approvals,
            health,
        })
    }
}

impl RawFile {
    /// Gives the postgres executor each database's own connection settings, and checks
    /// that every database can be reached with a user; other executors take none.
    fn attach_connections(
        &self,
        executor: ExecutorConfig,
        databases: &[Database],
    ) -> Result<ExecutorConfig, Problem> {
        let ExecutorConfig::Postgres(mut pg) = executor else {
            if let Some(c) = self
                .databases
                .iter()
                .find_map(|d| d.get_ref().connection.as_ref())
            {
                return Err(at(
                    c,
                    "[database.connection] applies only to [executor] kind = \"postgres\"",
                ));
            }
            return Ok(executor);
        };
        let declared: Vec<_> = self
            .databases
            .iter()
            .map(|d| (&d.get_ref().id, d.get_ref().connection.as_ref()))
            .collect();
        pg.attach(&declared, databases)?;
        if let Some(mut drill) = pg.drill.take() {
            // A replica's drill writes its restore point on the primary.
            for db in databases {
                let primary = db.primary_id.as_ref();
                if let Some(p) = primary.and_then(|p| databases.iter().find(|d| &d.id == p)) {
                    drill.primaries.insert(db.id.clone(), pg.connection_for(p));
                }
            }
            pg.drill = Some(drill);
        }
        Ok(ExecutorConfig::Postgres(pg))
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
            objectives: [
                objectives(&self.tier1_rto_minutes, &self.tier1_rpo_minutes, 1)?,
                objectives(&self.tier2_rto_minutes, &self.tier2_rpo_minutes, 2)?,
                objectives(&self.tier3_rto_minutes, &self.tier3_rpo_minutes, 3)?,
            ],
        })
    }
}

/// Longest recovery objective: thirty days.
const MAX_OBJECTIVE_MINUTES: u32 = 30 * 24 * 60;

fn objectives(
    rto: &Option<Spanned<u32>>,
    rpo: &Option<Spanned<u32>>,
    tier: u8,
) -> Result<RecoveryObjectives, Problem> {
    let minutes = |v: &Option<Spanned<u32>>, what: &str| match v {
        Some(s) if *s.get_ref() == 0 || *s.get_ref() > MAX_OBJECTIVE_MINUTES => Err(at(
            s,
            format!("tier{tier}_{what}_minutes must be between 1 and {MAX_OBJECTIVE_MINUTES}"),
        )),
        Some(s) => Ok(Some(Duration::from_secs(u64::from(*s.get_ref()) * 60))),
        None => Ok(None),
    };
    Ok(RecoveryObjectives {
        rto: minutes(rto, "rto")?,
        rpo: minutes(rpo, "rpo")?,
    })
}

impl RawExecutor {
    fn check(&self, whole: &Spanned<RawExecutor>) -> Result<ExecutorConfig, Problem> {
        let kind = self.kind.get_ref().as_str();
        if kind != "postgres"
            && let Some(pg) = &self.postgres
        {
            return Err(at(
                pg,
                "[executor.postgres] applies only to kind = \"postgres\"",
            ));
        }
        match kind {
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
                    return Err(at(
                        op,
                        "commands apply only to kind = \"command\" or \"postgres\"",
                    ));
                }
                if self.shell.is_some() || self.working_dir.is_some() {
                    return Err(at(
                        &self.kind,
                        "shell and working_dir apply only to kind = \"command\" or \"postgres\"",
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
                self.no_sim_keys()?;
                Ok(ExecutorConfig::Command(Box::new(CommandConfig {
                    shell: self.shell(),
                    working_dir: self.working_dir.clone(),
                    precheck: self.optional_precheck()?,
                    patch: self.required(whole, &self.patch, "patch", default_timeouts::PATCH)?,
                    rollback: self.required(
                        whole,
                        &self.rollback,
                        "rollback",
                        default_timeouts::ROLLBACK,
                    )?,
                    health: self.required(
                        whole,
                        &self.health,
                        "health",
                        default_timeouts::HEALTH,
                    )?,
                    version: self.required(
                        whole,
                        &self.version,
                        "version",
                        default_timeouts::VERSION,
                    )?,
                    drill: self.required(whole, &self.drill, "drill", default_timeouts::DRILL)?,
                })))
            }
            "postgres" => {
                self.no_sim_keys()?;
                for (op, name) in [
                    (&self.health, "health"),
                    (&self.version, "version"),
                    (&self.drill, "drill"),
                ] {
                    if let Some(op) = op {
                        return Err(at(
                            op,
                            format!(
                                "kind = \"postgres\" checks {name} itself: remove [executor.{name}]"
                            ),
                        ));
                    }
                }
                let (connection, limits) = match &self.postgres {
                    Some(pg) => pg.get_ref().check()?,
                    None => RawPostgres::none(),
                };
                Ok(ExecutorConfig::Postgres(Box::new(PostgresConfig {
                    shell: self.shell(),
                    working_dir: self.working_dir.clone(),
                    precheck: self.optional_precheck()?,
                    patch: self.required(whole, &self.patch, "patch", default_timeouts::PATCH)?,
                    rollback: self.required(
                        whole,
                        &self.rollback,
                        "rollback",
                        default_timeouts::ROLLBACK,
                    )?,
                    connection,
                    databases: Default::default(),
                    replicas: Default::default(),
                    limits,
                    drill: match &self.postgres {
                        Some(pg) => pg.get_ref().drill()?,
                        None => None,
                    },
                })))
            }
            other => Err(at(
                &self.kind,
                format!(
                    "unknown executor kind '{other}': use \"postgres\", \"command\" or \"simulated\""
                ),
            )),
        }
    }

    fn no_sim_keys(&self) -> Result<(), Problem> {
        if self.seed.is_some() || self.time_scale.is_some() || self.call_log.is_some() {
            return Err(at(
                &self.kind,
                "seed, time_scale and call_log apply only to kind = \"simulated\"",
            ));
        }
        Ok(())
    }

    fn shell(&self) -> PathBuf {
        self.shell
            .clone()
            .unwrap_or_else(|| PathBuf::from("/bin/sh"))
    }

    fn optional_precheck(&self) -> Result<Option<OperationCommand>, Problem> {
        self.precheck
            .as_ref()
            .map(|op| op.get_ref().check(default_timeouts::PRECHECK))
            .transpose()
    }

    fn required(
        &self,
        whole: &Spanned<RawExecutor>,
        op: &Option<Spanned<RawOperation>>,
        name: &str,
        default: u64,
    ) -> Result<OperationCommand, Problem> {
        match op {
            Some(op) => op.get_ref().check(default),
            None => Err(at(
                whole,
                format!(
                    "[executor.{name}] is missing: kind = \"{}\" needs a {name} command",
                    self.kind.get_ref()
                ),
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
