//! Request bodies. Every one refuses unknown fields so a typo is an error, not a no-op.

use serde::{Deserialize, Serialize};

use crate::GateSettings;

/// `POST /v1/campaigns`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
