//! Patch campaigns: a change rolled out ring by ring behind health gates.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignState {
    /// Dispatching targets.
    Running,
    /// Stopped by an operator or by a failed gate; `paused_reason` says why.
    Paused,
    /// Waiting for an approval (ring promotion); `waiting_for` says which.
    AwaitingApproval,
    /// Every ring passed.
    Completed,
    /// Rollback in progress; `rollback.stage` says where.
    RollingBack,
    /// Rollback finished; `rollback.mismatches` is the reconcile report.
    RolledBack,
    #[serde(other)]
    Unknown,
}

impl CampaignState {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignState::Running => "running",
            CampaignState::Paused => "paused",
            CampaignState::AwaitingApproval => "awaiting_approval",
            CampaignState::Completed => "completed",
            CampaignState::RollingBack => "rolling_back",
            CampaignState::RolledBack => "rolled_back",
            CampaignState::Unknown => "unknown",
        }
    }

    /// No further action changes a finished campaign.
    pub fn is_finished(self) -> bool {
        matches!(self, CampaignState::Completed | CampaignState::RolledBack)
    }

    pub fn can_pause(self) -> bool {
        matches!(
            self,
            CampaignState::Running | CampaignState::AwaitingApproval
        )
    }

    pub fn can_resume(self) -> bool {
        matches!(self, CampaignState::Paused)
    }

    pub fn can_rollback(self) -> bool {
        matches!(
            self,
            CampaignState::Running | CampaignState::Paused | CampaignState::AwaitingApproval
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RingState {
    Pending,
    /// Waiting for a ring-promotion approval before entering.
    AwaitingApproval,
    Running,
    /// All targets finished; the bake time is running and health is watched.
    Baking,
    Passed,
    /// The gate failed; the campaign paused.
    Failed,
    RolledBack,
    #[serde(other)]
    Unknown,
}

impl RingState {
    pub fn as_str(self) -> &'static str {
        match self {
            RingState::Pending => "pending",
            RingState::AwaitingApproval => "awaiting_approval",
            RingState::Running => "running",
            RingState::Baking => "baking",
            RingState::Passed => "passed",
            RingState::Failed => "failed",
            RingState::RolledBack => "rolled_back",
            RingState::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetState {
    Pending,
    /// Evidence is stale or missing: waits for a policy-exception approval.
    Blocked,
    Prechecking,
    Patching,
    Verifying,
    Done,
    Failed,
    /// Not patched (for example its exception was rejected).
    Skipped,
    RollingBack,
    RolledBack,
    #[serde(other)]
    Unknown,
}

impl TargetState {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetState::Pending => "pending",
            TargetState::Blocked => "blocked",
            TargetState::Prechecking => "prechecking",
            TargetState::Patching => "patching",
            TargetState::Verifying => "verifying",
            TargetState::Done => "done",
            TargetState::Failed => "failed",
            TargetState::Skipped => "skipped",
            TargetState::RollingBack => "rolling_back",
            TargetState::RolledBack => "rolled_back",
            TargetState::Unknown => "unknown",
        }
    }

    pub fn is_in_flight(self) -> bool {
        matches!(
            self,
            TargetState::Prechecking
                | TargetState::Patching
                | TargetState::Verifying
                | TargetState::RollingBack
        )
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TargetState::Done
                | TargetState::Failed
                | TargetState::Skipped
                | TargetState::RolledBack
        )
    }
}

/// Health-gate settings of a campaign, applied to every ring. Each setting left out of a
/// request takes its default (see [`Default`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GateSettings {
    /// The campaign pauses at this many failed targets in one ring.
    pub failure_budget: u32,
    /// After a ring's last target, health is watched this long before it passes.
    pub bake_seconds: u64,
    /// A replica lagging more than this during the bake fails the gate.
    pub max_replication_lag_s: f64,
    /// At most this many targets of a ring in flight at once.
    pub concurrency: u32,
}

impl Default for GateSettings {
    fn default() -> Self {
        GateSettings {
            failure_budget: 3,
            bake_seconds: 300,
            max_replication_lag_s: 30.0,
            concurrency: 4,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateState {
    Pending,
    Watching,
    Passed,
    Failed,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateStatus {
    pub state: GateState,
    /// Failed targets in this ring so far.
    pub failures: u32,
    /// When the bake ends, while baking.
    pub bake_until: Option<DateTime<Utc>>,
    /// Why the gate failed.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub database_id: String,
    pub state: TargetState,
    pub from_version: String,
    pub to_version: String,
    pub attempts: u32,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Last thing worth saying about this target (failure cause, skip reason).
    pub message: Option<String>,
    /// The policy-exception approval this target waits for.
    pub approval_id: Option<String>,
    /// What the campaign's rollback did to this target, once the rollback reached it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<TargetRollback>,
}

impl Target {
    /// The result of the forward run: the state the rollback found the target in, or
    /// its state while no rollback reached it.
    pub fn patch_state(&self) -> TargetState {
        self.rollback.as_ref().map_or(self.state, |r| r.patch_state)
    }
}

/// What a rollback did to one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevertOutcome {
    /// The executor's rollback is running.
    Reverting,
    /// Back on the version it had before the campaign.
    Reverted,
    /// The executor's rollback failed or could not be verified; `message` says why.
    RevertFailed,
    /// Its patch was never started: nothing to revert.
    NotPatched,
    #[serde(other)]
    Unknown,
}

impl RevertOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            RevertOutcome::Reverting => "reverting",
            RevertOutcome::Reverted => "reverted",
            RevertOutcome::RevertFailed => "revert_failed",
            RevertOutcome::NotPatched => "not_patched",
            RevertOutcome::Unknown => "unknown",
        }
    }
}

/// A target as a rollback left it: the outcome, and the patch result it replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetRollback {
    /// The target's state when the rollback reached it (`done`, `failed`, `skipped`,
    /// `pending`, …): the forward run's result, kept after the revert.
    pub patch_state: TargetState,
    pub outcome: RevertOutcome,
}

/// How a ring's targets came out of a rollback.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RevertCounts {
    pub reverting: usize,
    pub reverted: usize,
    pub revert_failed: usize,
    pub not_patched: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ring {
    pub index: u8,
    pub state: RingState,
    /// The ring contains production databases: entering it needs approval.
    pub contains_prod: bool,
    pub gate: GateStatus,
    /// The ring-promotion approval, when one was requested.
    pub approval_id: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub targets: Vec<Target>,
}

impl Ring {
    /// (done, failed, total) of the forward run, for a ring gauge: a rollback does not
    /// turn a failed patch into a success ([`Target::patch_state`]).
    pub fn progress(&self) -> (usize, usize, usize) {
        let count =
            |f: fn(TargetState) -> bool| self.targets.iter().filter(|t| f(t.patch_state())).count();
        // A target reverted with no record of its patch result (stored before the
        // record existed) was patched.
        let done = count(|s| matches!(s, TargetState::Done | TargetState::RolledBack));
        let failed = count(|s| s == TargetState::Failed);
        (done, failed, self.targets.len())
    }

    /// What a rollback did to the ring's targets; `None` before one reached any.
    pub fn revert_counts(&self) -> Option<RevertCounts> {
        let mut n = RevertCounts::default();
        let mut any = false;
        for r in self.targets.iter().filter_map(|t| t.rollback.as_ref()) {
            any = true;
            match r.outcome {
                RevertOutcome::Reverting => n.reverting += 1,
                RevertOutcome::Reverted => n.reverted += 1,
                RevertOutcome::RevertFailed => n.revert_failed += 1,
                RevertOutcome::NotPatched => n.not_patched += 1,
                RevertOutcome::Unknown => {}
            }
        }
        any.then_some(n)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RollbackStage {
    /// No new dispatch.
    Disable,
    /// Executor rollback of every patched target, in reverse ring order.
    Revert,
    /// Health verification of the reverted targets.
    Repair,
    /// Actual versions compared with the declared ones.
    Reconcile,
    Done,
    #[serde(other)]
    Unknown,
}

impl RollbackStage {
    pub fn as_str(self) -> &'static str {
        match self {
            RollbackStage::Disable => "disable",
            RollbackStage::Revert => "revert",
            RollbackStage::Repair => "repair",
            RollbackStage::Reconcile => "reconcile",
            RollbackStage::Done => "done",
            RollbackStage::Unknown => "unknown",
        }
    }
}

/// A database whose actual version differs from the one declared after rollback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mismatch {
    pub database_id: String,
    pub declared_version: String,
    pub actual_version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollbackStatus {
    pub stage: RollbackStage,
    pub reason: String,
    pub requested_by: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The reconcile report; empty means everything matches.
    #[serde(default)]
    pub mismatches: Vec<Mismatch>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    pub id: String,
    pub title: String,
    pub target_version: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub state: CampaignState,
    pub paused_reason: Option<String>,
    /// Human description of the live approvals the campaign waits for, if any. Never set
    /// while paused: a paused campaign waits for a resume, and `on_resume` says what that
    /// will do.
    pub waiting_for: Option<String>,
    /// While paused: what resuming will do, in words (approvals requested again because
    /// theirs expired or were rejected, a gate or bake restarted, approvals still open).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_resume: Option<String>,
    /// Read leniently: a request must name only known settings, but a newer server may
    /// answer with a setting this client does not know, and every campaign must still
    /// decode.
    #[serde(deserialize_with = "known_gate_settings")]
    pub gate: GateSettings,
    /// The ring number (`Ring::index`, not a position in `rings`) being worked on.
    pub current_ring: Option<u8>,
    pub rings: Vec<Ring>,
    pub rollback: Option<RollbackStatus>,
    /// Concurrency version, sent back in `If-Match`.
    pub version: u64,
    /// The change it carries out (ticket, pull request), as given at creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_ref: Option<String>,
}

impl Campaign {
    /// True when any target of the campaign is a production database.
    pub fn touches_prod(&self) -> bool {
        self.rings.iter().any(|r| r.contains_prod)
    }

    pub fn target_count(&self) -> usize {
        self.rings.iter().map(|r| r.targets.len()).sum()
    }
}

/// [`GateSettings`] from an answer, settings this version does not know dropped.
fn known_gate_settings<'de, D: serde::Deserializer<'de>>(d: D) -> Result<GateSettings, D::Error> {
    const KNOWN: [&str; 4] = [
        "failure_budget",
        "bake_seconds",
        "max_replication_lag_s",
        "concurrency",
    ];
    let mut map = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
    map.retain(|k, _| KNOWN.contains(&k.as_str()));
    serde_json::from_value(serde_json::Value::Object(map)).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_campaign_whose_gate_has_a_setting_from_a_newer_server_still_decodes() {
        let mut c = serde_json::json!({
            "id": "cmp-1", "title": "t", "target_version": "16.3", "created_by": "a",
            "created_at": "2026-12-03T00:00:00Z", "updated_at": "2026-12-03T00:00:00Z",
            "state": "running", "paused_reason": null, "waiting_for": null,
            "gate": {"failure_budget": 2, "metric_queries": [{"expr": "up"}]},
            "current_ring": null, "rings": [], "rollback": null, "version": 1
        });
        let read: Campaign = serde_json::from_value(c.clone()).unwrap();
        assert_eq!(read.gate.failure_budget, 2);
        assert_eq!(read.gate.concurrency, GateSettings::default().concurrency);
        // Every known setting is still checked.
        c["gate"]["concurrency"] = serde_json::json!("four");
        assert!(serde_json::from_value::<Campaign>(c).is_err());
    }

    #[test]
    fn a_target_from_a_server_before_rollback_outcomes_reads_and_writes_as_before() {
        let old = r#"{"database_id":"pg-1","state":"rolled_back","from_version":"16.2",
            "to_version":"16.3","attempts":1,"started_at":null,"finished_at":null,
            "message":null,"approval_id":null}"#;
        let t: Target = serde_json::from_str(old).unwrap();
        assert_eq!(t.rollback, None);
        assert_eq!(t.patch_state(), TargetState::RolledBack);
        assert!(!serde_json::to_string(&t).unwrap().contains("rollback"));
        let ring = Ring {
            index: 0,
            state: RingState::RolledBack,
            contains_prod: false,
            gate: GateStatus {
                state: GateState::Passed,
                failures: 0,
                bake_until: None,
                reason: None,
            },
            approval_id: None,
            started_at: None,
            finished_at: None,
            targets: vec![t],
        };
        // Reverted with no record of its patch: it was patched.
        assert_eq!(ring.progress(), (1, 0, 1));
        assert_eq!(ring.revert_counts(), None);
    }

    #[test]
    fn gate_settings_left_out_take_their_defaults_and_unknown_ones_are_refused() {
        let g: GateSettings = serde_json::from_str(r#"{"concurrency": 2}"#).unwrap();
        assert_eq!(
            g,
            GateSettings {
                concurrency: 2,
                ..GateSettings::default()
            }
        );
        let e = serde_json::from_str::<GateSettings>(r#"{"bake_secs": 5}"#).unwrap_err();
        assert!(e.to_string().contains("bake_secs"), "{e}");
    }
}
