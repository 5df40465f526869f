//! Operator actions: start a campaign, pause, resume and roll it back, drill a database.
//! The workflow functions do the domain work inside the request's transaction.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use fleetdeck_api::{CreateCampaign, EventSubject, ReasonBody, StartDrill};

use super::AppState;
use super::body;
use super::caller::{Caller, Permission};
use super::mutation::{Action, json_response};
use super::problem::ApiError;
use super::refusals;
use crate::{DomainError, workflow};

/// `POST /v1/campaigns/plan`: 200 with what `POST /v1/campaigns` with this body would do
/// now, refusals included. Any role may ask; it changes nothing, so it needs no
/// Idempotency-Key. Read in one transaction: one consistent view of fleet, evidence and
/// campaigns.
pub async fn plan_campaign(
    State(state): State<AppState>,
    _: Caller,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let req: CreateCampaign = body::json(&bytes, false)?;
    let mut tx = state
        .store()
        .pool()
        .begin()
        .await
        .map_err(DomainError::from)?;
    let plan = workflow::plan_campaign(&mut tx, &req).await?;
    tx.rollback().await.map_err(DomainError::from)?;
    let body = serde_json::to_string(&plan).map_err(DomainError::from)?;
    Ok(json_response(StatusCode::OK, body))
}

/// `POST /v1/campaigns`: 201 with the planned campaign (the plan of
/// [`plan_campaign`], started).
pub async fn create_campaign(
    State(state): State<AppState>,
    action: Action,
) -> Result<Response, ApiError> {
    let subject = EventSubject::default();
    action
        .audited(&state, "create a campaign", subject, |action| {
            create(state.clone(), action)
        })
        .await
}

async fn create(state: AppState, action: Action) -> Result<Response, ApiError> {
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

impl CampaignVerb {
    fn word(self) -> &'static str {
        match self {
            CampaignVerb::Pause => "pause",
            CampaignVerb::Resume => "resume",
            CampaignVerb::Rollback => "roll back",
        }
    }
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
    let subject = EventSubject {
        campaign_id: Some(refusals::subject_id(&id)),
        ..EventSubject::default()
    };
    action
        .audited(&state, verb.word(), subject, |action| {
            act_on_campaign(state.clone(), id, action, verb)
        })
        .await
}

async fn act_on_campaign(
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
    let subject = EventSubject {
        database_id: Some(refusals::subject_id(&id)),
        ..EventSubject::default()
    };
    action
        .audited(&state, "drill", subject, |action| {
            drill(state.clone(), id, action)
        })
        .await
}

async fn drill(state: AppState, id: String, action: Action) -> Result<Response, ApiError> {
    action.caller.require(Permission::Operate)?;
    let _: StartDrill = body::json(&action.body, true)?;
    let user = action.caller.user().to_string();
    action
        .commit(&state, StatusCode::ACCEPTED, move |tx, corr| {
            Box::pin(async move { workflow::start_drill(tx, &user, &id, corr).await })
        })
        .await
}
