//! Operator actions: start a campaign, pause, resume and roll it back, drill a database.
//! The workflow functions do the domain work inside the request's transaction.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use fleetdeck_api::{CreateCampaign, ReasonBody, StartDrill};

use super::AppState;
use super::body;
use super::caller::Permission;
use super::mutation::Action;
use super::problem::ApiError;
use crate::workflow;

/// `POST /v1/campaigns`: 201 with the planned campaign.
pub async fn create_campaign(
    State(state): State<AppState>,
    action: Action,
) -> Result<Response, ApiError> {
    action.caller.require(Permission::Operate)?;
    let req: CreateCampaign = body::json(&action.body, false)?;
    let user = action.caller.user().to_string();
    action
        .commit(&state, StatusCode::CREATED, move |tx, corr| {
            Box::pin(async move { workflow::create_campaign(tx, &user, &req, corr).await })
        })
        .await
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

/// Pause and rollback need a reason; resume takes one optionally. `If-Match` guards
/// what each one decides on (see `Guard` in `workflow::actions`): a pause is never
/// refused because targets moved the version, a resume only when the campaign's state
/// changed since, a rollback on any change; a 412 names the current version.
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
    let user = action.caller.user().to_string();
    action
        .commit(&state, StatusCode::OK, move |tx, corr| {
            Box::pin(async move {
                let reason_text = reason.as_deref().unwrap_or_default();
                match verb {
                    CampaignVerb::Pause => {
                        workflow::pause(tx, &user, &id, seen, reason_text, corr).await
                    }
                    CampaignVerb::Resume => {
                        workflow::resume(tx, &user, &id, seen, reason.as_deref(), corr).await
                    }
                    CampaignVerb::Rollback => {
                        workflow::rollback(tx, &user, &id, seen, reason_text, corr).await
                    }
                }
            })
        })
        .await
}

/// `POST /v1/databases/{id}/drills`: 202 with the drill, which the engine runs now.
pub async fn start_drill(
    State(state): State<AppState>,
    Path(id): Path<String>,
    action: Action,
) -> Result<Response, ApiError> {
    action.caller.require(Permission::Operate)?;
    let _: StartDrill = body::json(&action.body, true)?;
    let user = action.caller.user().to_string();
    action
        .commit(&state, StatusCode::ACCEPTED, move |tx, corr| {
            Box::pin(async move { workflow::start_drill(tx, &user, &id, corr).await })
        })
        .await
}
