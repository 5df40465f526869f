//! Fleet inventory and restore-drill evidence.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    Dev,
    Staging,
    Prod,
    #[serde(other)]
    Unknown,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Dev => "dev",
            Environment::Staging => "staging",
            Environment::Prod => "prod",
            Environment::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DbRole {
    Primary,
    Replica,
    #[serde(other)]
    Unknown,
}

impl DbRole {
    pub fn as_str(self) -> &'static str {
        match self {
            DbRole::Primary => "primary",
            DbRole::Replica => "replica",
            DbRole::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    Healthy,
    Degraded,
    Down,
    Unknown,
    #[serde(other)]
    Unrecognised,
}

impl HealthStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Healthy => "healthy",
            HealthStatus::Degraded => "degraded",
            HealthStatus::Down => "down",
            HealthStatus::Unknown | HealthStatus::Unrecognised => "unknown",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    pub status: HealthStatus,
    /// Replication lag in seconds (replicas only).
    pub replication_lag_s: Option<f64>,
    pub connections: u32,
    pub latency_ms: f64,
    pub checked_at: Option<DateTime<Utc>>,
    /// What the check found that explains the status (a role other than the declared
    /// one, a replica not streaming, why the server could not be reached), or that an
    /// operator should know although the status is good (WAL replay paused).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<String>,
    /// How long the check took, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_ms: Option<f64>,
    /// The server's `max_connections`, to read `connections` against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
    /// On a primary: the stream to each declared replica, as the primary sees it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<ReplicaStream>,
    /// Who made this observation: `poller`, `bake`, `patch`, `repair`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_by: Option<String>,
    /// Since when the status has been what it is (for `unknown`: since when the
    /// database has not been checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            status: HealthStatus::Unknown,
            replication_lag_s: None,
            connections: 0,
            latency_ms: 0.0,
            checked_at: None,
            findings: Vec::new(),
            check_ms: None,
            max_connections: None,
            replicas: Vec::new(),
            checked_by: None,
            since: None,
        }
    }
}

/// A primary's replication stream to one of its declared replicas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicaStream {
    pub database_id: String,
    /// `pg_stat_replication.state` (`streaming`, `catchup`, ...), or `missing` when the
    /// primary has no stream for it.
    pub state: String,
    /// How far the replica's replay is behind the primary's current WAL position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_lag_bytes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupPolicy {
    /// Human description of the schedule, e.g. `daily 02:00`.
    pub schedule: String,
    pub retention_days: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Database {
    pub id: String,
    pub engine: String,
    pub engine_version: String,
    pub environment: Environment,
    /// Criticality: 1 is the most critical.
    pub tier: u8,
    pub region: String,
    pub owner_team: String,
    pub role: DbRole,
    /// For a replica, the id of its primary.
    pub primary_id: Option<String>,
    /// Patch ring, 0 (lowest risk) upwards.
    pub ring: u8,
    pub host: String,
    #[serde(default)]
    pub tags: Vec<String>,
    pub health: Health,
    pub last_patched_at: Option<DateTime<Utc>>,
    pub backup_policy: BackupPolicy,
    /// A restore drill is due this many days after the last good one.
    pub drill_interval_days: u32,
    /// Concurrency version, sent back in `If-Match`.
    pub version: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrillState {
    Running,
    Succeeded,
    Failed,
    #[serde(other)]
    Unknown,
}

/// One restore of a real backup into an isolated place, verified and timed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drill {
    pub id: String,
    pub database_id: String,
    pub state: DrillState,
    pub requested_by: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub backup_id: Option<String>,
    /// The recovery point the restore reached.
    pub recovery_point: Option<DateTime<Utc>>,
    pub restore_seconds: Option<f64>,
    pub checksum_ok: Option<bool>,
    /// What the executor printed, sanitised. Fleet-wide lists leave it out (absent or
    /// empty): the evidence of `GET /v1/snapshot` and `GET /v1/evidence`, so that a
    /// fleet of 100k databases is not a hundred megabytes of drill logs. A database's
    /// drills with their output: `GET /v1/databases/{id}` and the drill events.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub output: String,
    /// What the restore proved, check by check, and the figures it is judged by
    /// against the tier's recovery objectives. Absent from drills recorded before it
    /// existed and from executors that report only the fields above.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<DrillProof>,
}

/// One check of a restore drill, by name, with its result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillCheck {
    /// What was checked: `pg_verifybackup`, `recovery point`, `pg_amcheck`, a SQL
    /// check's configured name, ...
    pub name: String,
    pub passed: bool,
    /// What it found, one short line.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// A restore drill's proof: which backup, where recovery was told to stop and where it
/// did, each check, and the recovery objectives in force when it ran.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DrillProof {
    /// The backup restored, as its tool names it (a pgBackRest set label, the
    /// `backup_label` of a base backup).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_label: Option<String>,
    /// Where recovery was asked to reach, e.g. a named restore point and its LSN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_target: Option<String>,
    /// The WAL position recovery ended at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_lsn: Option<String>,
    /// The timeline the restored copy was promoted to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<u32>,
    /// `pg_last_xact_replay_timestamp()` of the copy: the last replayed commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_replay_at: Option<DateTime<Utc>>,
    /// The tier's recovery time objective when the drill ran, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rto_objective_s: Option<f64>,
    /// The tier's recovery point objective when the drill ran, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpo_objective_s: Option<f64>,
    /// Every check in the order it ran. Fleet-wide lists leave them out, as they do
    /// `output` (see [`Drill::output`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<DrillCheck>,
}

impl Drill {
    /// How far the recovery point reached lagged the drill's start: the data a real
    /// restore at that moment would have lost.
    pub fn rpo_seconds(&self) -> Option<f64> {
        let point = self.recovery_point?;
        let lag = (self.started_at - point).num_milliseconds() as f64 / 1000.0;
        Some(lag.max(0.0))
    }

    /// The recovery objectives this drill missed, one line each (empty when it met
    /// them or none was set).
    pub fn missed_objectives(&self) -> Vec<String> {
        let Some(proof) = &self.proof else {
            return Vec::new();
        };
        let mut missed = Vec::new();
        if let (Some(took), Some(limit)) = (self.restore_seconds, proof.rto_objective_s)
            && took > limit
        {
            missed.push(format!(
                "RTO missed: restore took {}, objective {}",
                span_text(took),
                span_text(limit)
            ));
        }
        if let (Some(lag), Some(limit)) = (self.rpo_seconds(), proof.rpo_objective_s)
            && lag > limit
        {
            missed.push(format!(
                "RPO missed: recovery point {} behind the drill's start, objective {}",
                span_text(lag),
                span_text(limit)
            ));
        }
        missed
    }
}

/// `45s`, `12m`, `3h05m`, `2d04h`.
pub fn span_text(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86400, s % 86400 / 3600),
    }
}

/// How fresh a database's recovery evidence is. Ordered worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Freshness {
    Failed,
    Never,
    Stale,
    Aging,
    Fresh,
    #[serde(other)]
    Unknown,
}

impl Freshness {
    pub fn as_str(self) -> &'static str {
        match self {
            Freshness::Failed => "failed",
            Freshness::Never => "never",
            Freshness::Stale => "stale",
            Freshness::Aging => "aging",
            Freshness::Fresh => "fresh",
            Freshness::Unknown => "unknown",
        }
    }

    /// Judges evidence: the latest finished drill decides `failed`; otherwise the age
    /// of the last good drill against the policy (aging past 75 % of it, stale past it).
    pub fn judge(
        latest_finished: Option<&Drill>,
        last_good_at: Option<DateTime<Utc>>,
        interval_days: u32,
        now: DateTime<Utc>,
    ) -> Freshness {
        Freshness::judge_state(
            latest_finished.map(|d| d.state),
            last_good_at,
            interval_days,
            now,
        )
    }

    /// [`Freshness::judge`] from the latest finished drill's state alone.
    pub fn judge_state(
        latest_finished: Option<DrillState>,
        last_good_at: Option<DateTime<Utc>>,
        interval_days: u32,
        now: DateTime<Utc>,
    ) -> Freshness {
        if latest_finished == Some(DrillState::Failed) {
            return Freshness::Failed;
        }
        let Some(good) = last_good_at else {
            return Freshness::Never;
        };
        let limit = chrono::Duration::days(i64::from(interval_days.max(1)));
        let age = now - good;
        if age > limit {
            Freshness::Stale
        } else if age * 4 > limit * 3 {
            Freshness::Aging
        } else {
            Freshness::Fresh
        }
    }

    /// Patching on this evidence is a policy exception.
    pub fn needs_exception(self) -> bool {
        matches!(
            self,
            Freshness::Stale | Freshness::Never | Freshness::Failed
        )
    }
}

/// Restore-drill evidence for one database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub database_id: String,
    pub freshness: Freshness,
    pub interval_days: u32,
    pub last_good_at: Option<DateTime<Utc>>,
    /// The most recent drill, running or finished.
    pub latest: Option<Drill>,
    /// The most recent successful drill.
    pub last_good: Option<Drill>,
    pub judged_at: DateTime<Utc>,
}

impl Evidence {
    /// The recovery objectives the last good drill missed: patching on such evidence
    /// is a policy exception, as on stale evidence.
    pub fn missed_objectives(&self) -> Vec<String> {
        self.last_good
            .as_ref()
            .map(Drill::missed_objectives)
            .unwrap_or_default()
    }

    /// Patching on this evidence is a policy exception: stale, never drilled, failed,
    /// or its last good drill missed a recovery objective.
    pub fn needs_exception(&self) -> bool {
        self.freshness.needs_exception() || !self.missed_objectives().is_empty()
    }
}

/// `GET /v1/databases/{id}`: one database with its evidence and drill history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatabaseDetail {
    pub database: Database,
    pub evidence: Evidence,
    /// Newest first.
    pub drills: Vec<Drill>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn drill(state: DrillState) -> Drill {
        Drill {
            id: "d1".into(),
            database_id: "db".into(),
            state,
            requested_by: "scheduler".into(),
            started_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            finished_at: None,
            backup_id: None,
            recovery_point: None,
            restore_seconds: None,
            checksum_ok: None,
            output: String::new(),
            proof: None,
        }
    }

    #[test]
    fn freshness_is_judged_against_policy() {
        let now = Utc.with_ymd_and_hms(2026, 1, 31, 0, 0, 0).unwrap();
        let days = |d| Some(now - chrono::Duration::days(d));
        let ok = drill(DrillState::Succeeded);
        assert_eq!(
            Freshness::judge(Some(&ok), days(1), 7, now),
            Freshness::Fresh
        );
        assert_eq!(
            Freshness::judge(Some(&ok), days(6), 7, now),
            Freshness::Aging
        );
        assert_eq!(
            Freshness::judge(Some(&ok), days(8), 7, now),
            Freshness::Stale
        );
        assert_eq!(Freshness::judge(None, None, 7, now), Freshness::Never);
        let bad = drill(DrillState::Failed);
        assert_eq!(
            Freshness::judge(Some(&bad), days(1), 7, now),
            Freshness::Failed
        );
    }

    #[test]
    fn a_drill_without_output_leaves_the_field_out_and_reads_back_empty() {
        let lean = drill(DrillState::Succeeded);
        let json = serde_json::to_value(&lean).unwrap();
        assert!(json.get("output").is_none(), "{json}");
        let back: Drill = serde_json::from_value(json).unwrap();
        assert_eq!(back, lean);
        let full = Drill {
            output: "restored 12 GiB\nchecksums verified".into(),
            ..lean
        };
        let json = serde_json::to_value(&full).unwrap();
        assert_eq!(json["output"], "restored 12 GiB\nchecksums verified");
    }

    #[test]
    fn objectives_are_judged_from_the_drills_figures() {
        let started = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let mut d = Drill {
            recovery_point: Some(started - chrono::Duration::minutes(20)),
            restore_seconds: Some(700.0),
            ..drill(DrillState::Succeeded)
        };
        assert_eq!(d.rpo_seconds(), Some(1200.0));
        assert!(
            d.missed_objectives().is_empty(),
            "no objectives, nothing missed"
        );
        d.proof = Some(DrillProof {
            rto_objective_s: Some(900.0),
            rpo_objective_s: Some(1800.0),
            ..DrillProof::default()
        });
        assert!(d.missed_objectives().is_empty());
        d.proof = Some(DrillProof {
            rto_objective_s: Some(600.0),
            rpo_objective_s: Some(900.0),
            ..DrillProof::default()
        });
        assert_eq!(
            d.missed_objectives(),
            vec![
                "RTO missed: restore took 11m, objective 10m".to_string(),
                "RPO missed: recovery point 20m behind the drill's start, objective 15m"
                    .to_string()
            ]
        );
        let ev = Evidence {
            database_id: "db".into(),
            freshness: Freshness::Fresh,
            interval_days: 7,
            last_good_at: Some(started),
            latest: Some(d.clone()),
            last_good: Some(d),
            judged_at: started,
        };
        assert!(ev.needs_exception());
    }

    #[test]
    fn a_drill_from_before_proofs_reads_without_one() {
        let old = r#"{"id":"d1","database_id":"db","state":"succeeded","requested_by":"s",
            "started_at":"2026-01-01T00:00:00Z","finished_at":null,"backup_id":null,
            "recovery_point":null,"restore_seconds":null,"checksum_ok":true}"#;
        let d: Drill = serde_json::from_str(old).unwrap();
        assert_eq!(d.proof, None);
        let json = serde_json::to_value(&d).unwrap();
        assert!(json.get("proof").is_none(), "{json}");
    }

    #[test]
    fn unknown_enum_values_do_not_break_decoding() {
        let e: Environment = serde_json::from_str("\"qa\"").unwrap();
        assert_eq!(e, Environment::Unknown);
        let f: Freshness = serde_json::from_str("\"rotten\"").unwrap();
        assert_eq!(f, Freshness::Unknown);
    }
}
