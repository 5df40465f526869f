//! The execution log and audit trail: one append-only sequence.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Approval, Campaign, Database, Evidence, Seq, Target};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
    #[serde(other)]
    Unknown,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
            Level::Unknown => "?",
        }
    }
}

/// The ids an event is about; any may be absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventSubject {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drill_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ring: Option<u8>,
}

impl EventSubject {
    /// Short text naming the subject, for a log line.
    pub fn label(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = &self.campaign_id {
            parts.push(c.clone());
        }
        if let Some(r) = self.ring {
            parts.push(format!("ring {r}"));
        }
        if let Some(d) = &self.database_id {
            parts.push(d.clone());
        }
        if let Some(a) = &self.approval_id {
            parts.push(a.clone());
        }
        if let Some(d) = &self.drill_id {
            parts.push(d.clone());
        }
        parts.join(" · ")
    }
}

/// The new state an event brings, so a console updates without refetching.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    /// A database was added or changed (health, version).
    Database { database: Box<Database> },
    /// A campaign changed as a whole (state, ring, gate, rollback stage).
    Campaign { campaign: Box<Campaign> },
    /// One target of a campaign changed; cheaper than the whole campaign.
    Target {
        campaign_id: String,
        ring: u8,
        target: Box<Target>,
        campaign_version: u64,
    },
    /// A database's restore evidence changed (drill started or finished).
    Evidence { evidence: Box<Evidence> },
    /// An approval was raised, decided or expired.
    Approval { approval: Box<Approval> },
    /// A change this console does not know; the event is still logged.
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub seq: Seq,
    pub at: DateTime<Utc>,
    /// Who caused it: a user name, or `runner`, `scheduler`, `executor`.
    pub actor: String,
    /// What happened, dotted: `campaign.paused`, `target.done`, `executor.output`, ...
    /// See [`kinds`]; consoles must accept kinds they do not know.
    pub kind: String,
    pub level: Level,
    #[serde(default)]
    pub subject: EventSubject,
    pub message: String,
    /// Ties together the events of one request or one workflow step.
    pub correlation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
}

/// Event kinds the control plane emits today.
pub mod kinds {
    pub const DATABASE_REGISTERED: &str = "database.registered";
    pub const DATABASE_HEALTH: &str = "database.health";
    pub const DATABASE_PATCHED: &str = "database.patched";
    pub const CAMPAIGN_CREATED: &str = "campaign.created";
    pub const CAMPAIGN_RING_STARTED: &str = "campaign.ring_started";
    pub const CAMPAIGN_RING_BAKING: &str = "campaign.ring_baking";
    pub const CAMPAIGN_RING_PASSED: &str = "campaign.ring_passed";
    pub const CAMPAIGN_GATE_FAILED: &str = "campaign.gate_failed";
    pub const CAMPAIGN_AWAITING_APPROVAL: &str = "campaign.awaiting_approval";
    pub const CAMPAIGN_PAUSED: &str = "campaign.paused";
    pub const CAMPAIGN_RESUMED: &str = "campaign.resumed";
    pub const CAMPAIGN_COMPLETED: &str = "campaign.completed";
    pub const CAMPAIGN_ROLLBACK_REQUESTED: &str = "campaign.rollback_requested";
    pub const CAMPAIGN_ROLLBACK_STAGE: &str = "campaign.rollback_stage";
    pub const CAMPAIGN_ROLLED_BACK: &str = "campaign.rolled_back";
    /// The campaign changed in a way no other kind names (what it waits for, the ring it
    /// moves on to); the change carries the whole campaign.
    pub const CAMPAIGN_UPDATED: &str = "campaign.updated";
    pub const TARGET_STATE: &str = "target.state";
    pub const EXECUTOR_OUTPUT: &str = "executor.output";
    pub const DRILL_STARTED: &str = "drill.started";
    pub const DRILL_FINISHED: &str = "drill.finished";
    /// A running drill was stopped by a shutdown; the next start runs it again.
    pub const DRILL_INTERRUPTED: &str = "drill.interrupted";
    /// A start runs again a drill the previous control plane left unfinished.
    pub const DRILL_RESUMED: &str = "drill.resumed";
    pub const APPROVAL_REQUESTED: &str = "approval.requested";
    pub const APPROVAL_DECIDED: &str = "approval.decided";
    pub const APPROVAL_APPROVED: &str = "approval.approved";
    pub const APPROVAL_REJECTED: &str = "approval.rejected";
    pub const APPROVAL_EXPIRED: &str = "approval.expired";
    pub const SERVER_STARTED: &str = "server.started";
    /// An action refused with 403, 409 or 412 (who, what, why, from where), or a count
    /// of such refusals (see the control plane's `http::refusals`).
    pub const ACTION_REFUSED: &str = "action.refused";
}

/// `GET /v1/events` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventsPage {
    pub events: Vec<Event>,
    /// The newest sequence number the server has.
    pub last_seq: Seq,
}
