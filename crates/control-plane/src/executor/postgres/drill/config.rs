//! `[executor.postgres.drill]`: where the backup a drill restores comes from, where it
//! restores to, and the SQL checks the team adds.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::config::postgres::ResolvedConnection;

/// Why a drill setting was refused: where in the file, and what.
pub type Problem = (Option<Range<usize>>, String);

fn at<T>(s: &Spanned<T>, message: impl Into<String>) -> Problem {
    (Some(s.span()), message.into())
}

/// Everything a built-in restore drill needs.
#[derive(Debug, Clone, PartialEq)]
pub struct DrillConfig {
    pub source: BackupSource,
    /// Each drill restores into a directory of its own below this one; what a drill
    /// interrupted by a crash left here is removed at the next start.
    pub scratch_root: PathBuf,
    /// Where `pg_ctl`, `pg_basebackup`, `pg_verifybackup`, `pg_amcheck` and
    /// `pg_checksums` are.
    pub bin_dir: PathBuf,
    /// The whole drill (restore, start, checks) is stopped and torn down after this.
    pub timeout: Duration,
    /// How long the source may take to archive the WAL holding the drill's restore
    /// point (pgBackRest).
    pub archive_timeout: Duration,
    pub checks: Vec<SqlCheck>,
    /// How to reach each replica's primary, by replica id (the drill's restore point is
    /// written on the primary). Filled from the fleet, not written in this section.
    pub primaries: BTreeMap<String, ResolvedConnection>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackupSource {
    /// `pg_basebackup` from the database the drill is for (a replica's drill takes it
    /// from the replica), checked with `pg_verifybackup`.
    BaseBackup,
    /// A pgBackRest stanza: its latest set, or `set`, replayed to the drill's restore
    /// point from the WAL archive.
    PgBackRest {
        stanza: String,
        set: Option<String>,
        /// `--config` for pgbackrest; its default file unless set.
        config: Option<PathBuf>,
        program: PathBuf,
    },
}

impl BackupSource {
    pub fn name(&self) -> &'static str {
        match self {
            BackupSource::BaseBackup => "pg_basebackup",
            BackupSource::PgBackRest { .. } => "pgbackrest",
        }
    }
}

/// A query run on the restored copy, whose single value must match.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlCheck {
    pub name: String,
    /// The database it runs in; the connection's database unless set.
    pub database: Option<String>,
    pub sql: String,
    pub expect: Expect,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expect {
    /// The copy's value, as text, equals this.
    Equals(String),
    /// The same query on the source gives a number; the copy's may differ from it by at
    /// most this fraction of it (data written since the recovery point).
    Source { tolerance: f64 },
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(4 * 3600);
pub const DEFAULT_ARCHIVE_TIMEOUT: Duration = Duration::from_secs(120);

/// `[executor.postgres.drill]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDrill {
    source: Spanned<String>,
    stanza: Option<Spanned<String>>,
    set: Option<Spanned<String>>,
    pgbackrest_config: Option<PathBuf>,
    pgbackrest: Option<PathBuf>,
    scratch_dir: Option<PathBuf>,
    bin_dir: Option<PathBuf>,
    timeout_seconds: Option<Spanned<u64>>,
    archive_timeout_seconds: Option<Spanned<u64>>,
    #[serde(default, rename = "check")]
    checks: Vec<Spanned<RawSqlCheck>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSqlCheck {
    name: Spanned<String>,
    database: Option<String>,
    sql: Spanned<String>,
    expect: Option<String>,
    compare: Option<Spanned<String>>,
    tolerance: Option<Spanned<f64>>,
}

/// Where PostgreSQL 15's server programs are on Debian and Ubuntu.
pub const DEFAULT_BIN_DIR: &str = "/usr/lib/postgresql/15/bin";

fn seconds(v: &Option<Spanned<u64>>, name: &str, default: Duration) -> Result<Duration, Problem> {
    match v {
        Some(s) if *s.get_ref() == 0 || *s.get_ref() > 2 * 24 * 3600 => {
            Err(at(s, format!("{name} must be between 1 and 172800")))
        }
        Some(s) => Ok(Duration::from_secs(*s.get_ref())),
        None => Ok(default),
    }
}

fn plain(s: &Spanned<String>, name: &str) -> Result<String, Problem> {
    let v = s.get_ref();
    if v.trim().is_empty() || v.chars().any(char::is_control) {
        return Err(at(s, format!("{name} must be one line of text")));
    }
    Ok(v.clone())
}

impl RawDrill {
    pub fn check(&self) -> Result<DrillConfig, Problem> {
        let source = match self.source.get_ref().as_str() {
            "pg_basebackup" => {
                if let Some(s) = self.stanza.as_ref().or(self.set.as_ref()) {
                    return Err(at(
                        s,
                        "stanza and set apply only to source = \"pgbackrest\"",
                    ));
                }
                BackupSource::BaseBackup
            }
            "pgbackrest" => {
                let Some(stanza) = &self.stanza else {
                    return Err(at(&self.source, "source = \"pgbackrest\" needs a stanza"));
                };
                BackupSource::PgBackRest {
                    stanza: plain(stanza, "stanza")?,
                    set: self.set.as_ref().map(|s| plain(s, "set")).transpose()?,
                    config: self.pgbackrest_config.clone(),
                    program: self
                        .pgbackrest
                        .clone()
                        .unwrap_or_else(|| PathBuf::from("pgbackrest")),
                }
            }
            other => {
                return Err(at(
                    &self.source,
                    format!(
                        "unknown drill source '{other}': use \"pg_basebackup\" or \"pgbackrest\""
                    ),
                ));
            }
        };
        let checks = self
            .checks
            .iter()
            .map(|c| c.get_ref().check(c))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(DrillConfig {
            source,
            scratch_root: self
                .scratch_dir
                .clone()
                .unwrap_or_else(|| std::env::temp_dir().join("fleetdeck-drills")),
            bin_dir: self
                .bin_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from(DEFAULT_BIN_DIR)),
            timeout: seconds(&self.timeout_seconds, "timeout_seconds", DEFAULT_TIMEOUT)?,
            archive_timeout: seconds(
                &self.archive_timeout_seconds,
                "archive_timeout_seconds",
                DEFAULT_ARCHIVE_TIMEOUT,
            )?,
            checks,
            primaries: BTreeMap::new(),
        })
    }
}

impl RawSqlCheck {
    fn check(&self, whole: &Spanned<RawSqlCheck>) -> Result<SqlCheck, Problem> {
        let expect = match (&self.expect, &self.compare) {
            (Some(v), None) => Expect::Equals(v.clone()),
            (None, Some(c)) if c.get_ref() == "source" => {
                let tolerance = match &self.tolerance {
                    Some(t) if !(t.get_ref().is_finite() && (0.0..=1.0).contains(t.get_ref())) => {
                        return Err(at(t, "tolerance must be a fraction between 0 and 1"));
                    }
                    Some(t) => *t.get_ref(),
                    None => 0.0,
                };
                Expect::Source { tolerance }
            }
            (None, Some(c)) => {
                return Err(at(c, "compare must be \"source\""));
            }
            _ => {
                return Err(at(
                    whole,
                    "a drill check needs either expect = \"VALUE\" or compare = \"source\"",
                ));
            }
        };
        if self.tolerance.is_some() && !matches!(expect, Expect::Source { .. }) {
            return Err(at(whole, "tolerance applies only to compare = \"source\""));
        }
        if self.sql.get_ref().trim().is_empty() {
            return Err(at(&self.sql, "sql is empty"));
        }
        Ok(SqlCheck {
            name: plain(&self.name, "name")?,
            database: self.database.clone(),
            sql: self.sql.get_ref().clone(),
            expect,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<DrillConfig, String> {
        let raw: RawDrill = toml::from_str(text).map_err(|e| e.to_string())?;
        raw.check().map_err(|(_, m)| m)
    }

    #[test]
    fn a_pgbackrest_drill_with_checks_parses() {
        let c = parse(
            r#"
            source = "pgbackrest"
            stanza = "main"
            scratch_dir = "/srv/drills"
            [[check]]
            name = "orders"
            database = "app"
            sql = "SELECT count(*) FROM orders"
            compare = "source"
            tolerance = 0.05
            [[check]]
            name = "schema"
            sql = "SELECT 1"
            expect = "1"
            "#,
        )
        .unwrap();
        assert!(
            matches!(c.source, BackupSource::PgBackRest { ref stanza, .. } if stanza == "main")
        );
        assert_eq!(c.scratch_root, PathBuf::from("/srv/drills"));
        assert_eq!(c.checks[0].expect, Expect::Source { tolerance: 0.05 });
        assert_eq!(c.checks[1].expect, Expect::Equals("1".into()));
    }

    #[test]
    fn mistakes_are_named() {
        let e = parse(r#"source = "pgbackrest""#).unwrap_err();
        assert!(e.contains("needs a stanza"), "{e}");
        let e = parse(r#"source = "barman""#).unwrap_err();
        assert!(e.contains("unknown drill source 'barman'"), "{e}");
        let e = parse("source = \"pg_basebackup\"\n[[check]]\nname = \"x\"\nsql = \"SELECT 1\"")
            .unwrap_err();
        assert!(e.contains("either expect"), "{e}");
        let e = parse("source = \"pg_basebackup\"\nstanza = \"main\"").unwrap_err();
        assert!(e.contains("only to source = \"pgbackrest\""), "{e}");
    }
}
