//! Operator actions: start a campaign, pause, resume and roll it back, drill a database.
//! The workflow functions do the domain work inside the request's transaction.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use fleetdeck_api::{CreateCampaign, ReasonBody, StartDrill};

use super::AppState;
use super::body;
use super::caller::Permission;
use super::mutation::{Action, Begun};
use super::problem::ApiError;
use crate::workflow;

/// `POST /v1/campaigns`: 201 with the planned campaign.
pub async fn create_campaign(
    State(state): State<AppState>,
    action: Action,
) -> Result<Response, ApiError> {
    action.caller.require(Permission::Operate)?;
    let req: CreateCampaign = body::json(&action.body, false)?;
    let (m, mut tx) = match action.begin(&state).await? {
        Begun::Replay(resp) => return Ok(resp),
        Begun::Fresh(m, tx) => (m, tx),
    };
    let result =
        workflow::create_campaign(&mut tx, action.caller.user(), &req, m.correlation_id()).await;
    m.finish(&state, tx, StatusCode::CREATED, result).await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CampaignVerb {
    Pause,
    Resume,
    Rollback,
}

pub async fn pause(
    State(state): State<AppState>,
    Path(id): Path<String>,
    action: Action,
) -> Result<Response, ApiError> {
    campaign_action(state, id, action, CampaignVerb::Pause).await
}

pub async fn resume(
    State(state): State<AppState>,
    Path(id): Path<String>,
    action: Action,
) -> Result<Response, ApiError> {
    campaign_action(state, id, action, CampaignVerb::Resume).await
}

pub async fn rollback(
    State(state): State<AppState>,
    Path(id): Path<String>,
    action: Action,
) -> Result<Response, ApiError> {
    campaign_action(state, id, action, CampaignVerb::Rollback).await
}

/// Pause and rollback need a reason; resume takes one optionally.
async fn campaign_action(
    state: AppState,
    id: String,
    action: Action,
    verb: CampaignVerb,
) -> Result<Response, ApiError> {
    action.caller.require(Permission::Operate)?;
    let parsed: ReasonBody = body::json(&action.body, true)?;
    let required = verb != CampaignVerb::Resume;
    let reason = body::text_field("reason", parsed.reason.as_deref(), required)?;
    let seen = action.if_match()?;
    let (m, mut tx) = match action.begin(&state).await? {
        Begun::Replay(resp) => return Ok(resp),
        Begun::Fresh(m, tx) => (m, tx),
    };
    let user = action.caller.user();
    let corr = m.correlation_id();
    let reason_text = reason.as_deref().unwrap_or_default();
    let result = match verb {
        CampaignVerb::Pause => workflow::pause(&mut tx, user, &id, seen, reason_text, corr).await,
        CampaignVerb::Resume => {
            workflow::resume(&mut tx, user, &id, seen, reason.as_deref(), corr).await
        }
        CampaignVerb::Rollback => {
            workflow::rollback(&mut tx, user, &id, seen, reason_text, corr).await
        }
    };
    m.finish(&state, tx, StatusCode::OK, result).await
}

/// `POST /v1/databases/{id}/drills`: 202 with the drill, which the engine runs now.
pub async fn start_drill(
    State(state): State<AppState>,
    Path(id): Path<String>,
    action: Action,
) -> Result<Response, ApiError> {
    action.caller.require(Permission::Operate)?;
    let _: StartDrill = body::json(&action.body, true)?;
    let (m, mut tx) = match action.begin(&state).await? {
        Begun::Replay(resp) => return Ok(resp),
        Begun::Fresh(m, tx) => (m, tx),
    };
    let result =
        workflow::start_drill(&mut tx, action.caller.user(), &id, m.correlation_id()).await;
    m.finish(&state, tx, StatusCode::ACCEPTED, result).await
}
