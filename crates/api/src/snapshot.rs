//! What a console needs for its first frame, and who is asking.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Approval, Campaign, Database, Event, Evidence, Seq};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Read only.
    Viewer,
    /// Pause, resume, rollback, start drills and campaigns.
    Operator,
    /// Approve and reject.
    Approver,
    /// Everything.
    Admin,
    #[serde(other)]
    Unknown,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Approver => "approver",
            Role::Admin => "admin",
            Role::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "viewer" => Some(Role::Viewer),
            "operator" => Some(Role::Operator),
            "approver" => Some(Role::Approver),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhoAmI {
    pub user: String,
    pub roles: Vec<Role>,
}

impl WhoAmI {
    /// May pause, resume, roll back, start drills and campaigns.
    pub fn can_operate(&self) -> bool {
        self.roles
            .iter()
            .any(|r| matches!(r, Role::Operator | Role::Admin))
    }

    /// May approve and reject.
    pub fn can_approve(&self) -> bool {
        self.roles
            .iter()
            .any(|r| matches!(r, Role::Approver | Role::Admin))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub server_time: DateTime<Utc>,
    /// Every event up to and including this one is reflected in the snapshot; stream
    /// from here.
    pub last_seq: Seq,
    pub databases: Vec<Database>,
    pub campaigns: Vec<Campaign>,
    /// Every database's evidence, in `databases` order; its drills come without their
    /// output ([`crate::Drill::output`]).
    pub evidence: Vec<Evidence>,
    /// Pending approvals.
    pub approvals: Vec<Approval>,
    /// The most recent events, oldest first.
    pub events: Vec<Event>,
}
