//! The exception queue: approvals with four-eyes decisions.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalKind {
    /// Entering a ring that contains production databases.
    RingPromotion,
    /// Patching a database whose restore evidence is stale, failed or missing.
    PolicyException,
    #[serde(other)]
    Unknown,
}

impl ApprovalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalKind::RingPromotion => "ring_promotion",
            ApprovalKind::PolicyException => "policy_exception",
            ApprovalKind::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalState {
    Pending,
    Approved,
    Rejected,
    Expired,
    #[serde(other)]
    Unknown,
}

impl ApprovalState {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalState::Pending => "pending",
            ApprovalState::Approved => "approved",
            ApprovalState::Rejected => "rejected",
            ApprovalState::Expired => "expired",
            ApprovalState::Unknown => "unknown",
        }
    }

    /// Parses the `state` query parameter; `all` is `None`.
    pub fn parse_filter(s: &str) -> Result<Option<ApprovalState>, String> {
        match s {
            "pending" => Ok(Some(ApprovalState::Pending)),
            "approved" => Ok(Some(ApprovalState::Approved)),
            "rejected" => Ok(Some(ApprovalState::Rejected)),
            "expired" => Ok(Some(ApprovalState::Expired)),
            "all" => Ok(None),
            other => Err(format!(
                "unknown approval state '{other}': use pending, approved, rejected, expired or all"
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Approve,
    Reject,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub approver: String,
    pub verdict: Verdict,
    pub comment: Option<String>,
    pub at: DateTime<Utc>,
}

/// How much of the fleet an approval lets automation touch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlastRadius {
    pub databases: u32,
    pub prod: u32,
    pub tier1: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
    #[serde(other)]
    Unknown,
}

/// What policy found when the approval was raised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub severity: Severity,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    pub id: String,
    pub kind: ApprovalKind,
    pub state: ApprovalState,
    /// Human description of the subject, e.g. `campaign cmp-3 · ring 3`.
    pub subject: String,
    pub campaign_id: Option<String>,
    pub database_id: Option<String>,
    pub ring: Option<u8>,
    pub requested_by: String,
    pub reason: String,
    pub blast_radius: BlastRadius,
    #[serde(default)]
    pub findings: Vec<Finding>,
    pub approvals_required: u32,
    #[serde(default)]
    pub decisions: Vec<Decision>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    /// Concurrency version, sent back in `If-Match`.
    pub version: u64,
}

impl Approval {
    pub fn approvals_so_far(&self) -> u32 {
        self.decisions
            .iter()
            .filter(|d| d.verdict == Verdict::Approve)
            .count() as u32
    }

    /// Whether `user` may decide this approval, and if not, why.
    pub fn may_decide(&self, user: &str) -> Result<(), String> {
        if self.state != ApprovalState::Pending {
            return Err(format!("approval is {}, not pending", self.state.as_str()));
        }
        if self.requested_by == user {
            return Err("nobody decides their own request (four eyes)".into());
        }
        if self.decisions.iter().any(|d| d.approver == user) {
            return Err("you have already decided this approval".into());
        }
        Ok(())
    }
}
