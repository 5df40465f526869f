//! Request bodies. Every one refuses unknown fields so a typo is an error, not a no-op.

use serde::{Deserialize, Serialize};

use crate::{Environment, GateSettings};

/// `POST /v1/campaigns` and `POST /v1/campaigns/plan`; also the keys of a campaign file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateCampaign {
    pub title: String,
    pub target_version: String,
    /// Databases to cover; with `rings`, the union; neither means every database of
    /// the engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub databases: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rings: Option<Vec<u8>>,
    /// Only databases of this engine (defaults to every engine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<GateSettings>,
    /// Only databases in one of these environments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environments: Option<Vec<Environment>>,
    /// Only databases of one of these tiers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiers: Option<Vec<u8>>,
    /// Only databases carrying at least one of these tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Database ids left out of the selection, whatever else selects them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<Vec<String>>,
    /// Free text naming the change (a ticket, a pull request); stored with the campaign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_ref: Option<String>,
    /// Create only: the `plan_hash` of the plan that was reviewed. The server plans
    /// again and answers 412, listing what changed, when the plan is no longer that one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_hash: Option<String>,
}

/// Pause, resume and rollback bodies; pause and rollback require the reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Approve and reject bodies; reject requires the comment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// `POST /v1/databases/{id}/drills` (the body may be empty).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartDrill {}
