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

/// Health-gate settings of a campaign, applied to every ring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
    /// (done, failed, total) for a ring gauge.
    pub fn progress(&self) -> (usize, usize, usize) {
        let done = self
            .targets
            .iter()
            .filter(|t| matches!(t.state, TargetState::Done | TargetState::RolledBack))
            .count();
        let failed = self
            .targets
            .iter()
            .filter(|t| t.state == TargetState::Failed)
            .count();
        (done, failed, self.targets.len())
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
    /// Human description of what the campaign waits for, if anything.
    pub waiting_for: Option<String>,
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
