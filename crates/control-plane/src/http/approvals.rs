//! The exception queue: list, approve, reject.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use fleetdeck_api::{Approval, ApprovalState, CommentBody, EventSubject, Verdict};
use serde::Deserialize;

use super::AppState;
use super::body;
use super::caller::{Caller, Permission};
use super::mutation::Action;
use super::problem::ApiError;
use super::refusals;
use crate::store;
use crate::store::approvals::{self, NewDecision};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    state: Option<String>,
}

/// `GET /v1/approvals?state=pending|approved|rejected|expired|all` (pending by default).
pub async fn list(
    State(state): State<AppState>,
    _: Caller,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Vec<Approval>>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let filter = match q.state.as_deref() {
        None => Some(ApprovalState::Pending),
        Some(s) => ApprovalState::parse_filter(s).map_err(ApiError::bad_request)?,
    };
    Ok(Json(approvals::list(state.store().pool(), filter).await?))
}

pub async fn approve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    action: Action,
) -> Result<Response, ApiError> {
    decide(state, id, action, Verdict::Approve).await
}

pub async fn reject(
    State(state): State<AppState>,
    Path(id): Path<String>,
    action: Action,
) -> Result<Response, ApiError> {
    decide(state, id, action, Verdict::Reject).await
}

async fn decide(
    state: AppState,
    id: String,
    action: Action,
    verdict: Verdict,
) -> Result<Response, ApiError> {
    let subject = EventSubject {
        approval_id: Some(refusals::subject_id(&id)),
        ..EventSubject::default()
    };
    let word = match verdict {
        Verdict::Reject => "reject",
        _ => "approve",
    };
    action
        .audited(&state, word, subject, |action| {
            record_decision(state.clone(), id, action, verdict)
        })
        .await
}

async fn record_decision(
    state: AppState,
    id: String,
    action: Action,
    verdict: Verdict,
) -> Result<Response, ApiError> {
    action.caller.require(Permission::Decide)?;
    let parsed: CommentBody = body::json(&action.body, true)?;
    let comment = body::text_field(
        "comment",
        parsed.comment.as_deref(),
        verdict == Verdict::Reject,
    )?;
    let seen = action.if_match()?;
    let approver = action.caller.user().to_string();
    action
        .commit(&state, StatusCode::OK, move |tx, corr| {
            Box::pin(async move {
                let decision = NewDecision {
                    approver: &approver,
                    verdict,
                    comment: comment.as_deref(),
                    if_match: seen,
                };
                approvals::decide(tx, &id, decision, store::now(), corr).await
            })
        })
        .await
}
