//! Read-only routes. Any authenticated caller (every role) may read.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use fleetdeck_api::limits::{MAX_EVENTS_PAGE, SNAPSHOT_EVENTS};
use fleetdeck_api::{ApprovalState, Campaign, Database, EventsPage, Evidence, Snapshot, WhoAmI};
use serde::{Deserialize, Serialize};
use sqlx::SqliteConnection;

use super::AppState;
use super::caller::Caller;
use super::mutation::json_response;
use super::problem::ApiError;
use crate::DomainError;
use crate::store::{approvals, campaigns, drills, events, fleet};

pub async fn whoami(caller: Caller) -> Json<WhoAmI> {
    Json(caller.0)
}

/// Everything in one read transaction: SQLite gives it one consistent view, so
/// `last_seq` is exactly the last event the rest reflects and a console that streams
/// from it misses nothing and sees nothing twice.
pub async fn snapshot(
    State(state): State<AppState>,
    _: Caller,
) -> Result<Json<Snapshot>, ApiError> {
    let now = Utc::now();
    let mut tx = state
        .store()
        .pool()
        .begin()
        .await
        .map_err(DomainError::from)?;
    let last_seq = events::last_seq(&mut *tx).await?;
    let databases = fleet::all(&mut tx).await?;
    let campaigns = recent_campaigns(&mut tx).await?;
    let evidence = drills::all_evidence(&mut tx, now).await?;
    let approvals = approvals::list_in(&mut tx, Some(ApprovalState::Pending)).await?;
    let events = events::recent(&mut *tx, SNAPSHOT_EVENTS).await?;
    tx.rollback().await.map_err(DomainError::from)?;
    Ok(Json(Snapshot {
        server_time: now,
        last_seq,
        databases,
        campaigns,
        evidence,
        approvals,
        events,
    }))
}

/// The newest campaigns, as `GET /v1/campaigns` lists them, on one connection.
async fn recent_campaigns(conn: &mut SqliteConnection) -> Result<Vec<Campaign>, DomainError> {
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM campaigns ORDER BY num DESC LIMIT ?")
        .bind(campaigns::LIST_LIMIT)
        .fetch_all(&mut *conn)
        .await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(c) = campaigns::load(conn, &id).await? {
            out.push(c);
        }
    }
    Ok(out)
}

pub async fn databases(
    State(state): State<AppState>,
    _: Caller,
) -> Result<Json<Vec<Database>>, ApiError> {
    Ok(Json(fleet::list_databases(state.store().pool()).await?))
}

/// One database with its evidence and drills; the ETag is the database's version.
pub async fn database(
    State(state): State<AppState>,
    _: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let detail = drills::database_detail(state.store().pool(), &id, Utc::now())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no database with id '{id}'")))?;
    let version = detail.database.version;
    let mut resp = ok_json(&detail)?;
    if let Ok(v) = fleetdeck_api::etag(version).parse() {
        resp.headers_mut().insert(axum::http::header::ETAG, v);
    }
    Ok(resp)
}

pub async fn campaigns(
    State(state): State<AppState>,
    _: Caller,
) -> Result<Json<Vec<Campaign>>, ApiError> {
    Ok(Json(campaigns::list_campaigns(state.store().pool()).await?))
}

pub async fn campaign(
    State(state): State<AppState>,
    _: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let c = campaigns::get_campaign(state.store().pool(), &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no campaign with id '{id}'")))?;
    ok_json(&c)
}

pub async fn evidence(
    State(state): State<AppState>,
    _: Caller,
) -> Result<Json<Vec<Evidence>>, ApiError> {
    Ok(Json(
        drills::list_evidence(state.store().pool(), Utc::now()).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    #[serde(default)]
    after: u64,
    limit: Option<usize>,
}

/// Events after `after`, oldest first; `limit` defaults to and is capped at
/// [`MAX_EVENTS_PAGE`].
pub async fn events(
    State(state): State<AppState>,
    _: Caller,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Json<EventsPage>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let limit = q.limit.unwrap_or(MAX_EVENTS_PAGE).clamp(1, MAX_EVENTS_PAGE);
    let mut tx = state
        .store()
        .pool()
        .begin()
        .await
        .map_err(DomainError::from)?;
    let last_seq = events::last_seq(&mut *tx).await?;
    let events = events::after(&mut *tx, q.after, limit).await?;
    tx.rollback().await.map_err(DomainError::from)?;
    Ok(Json(EventsPage { events, last_seq }))
}

/// 200 with a JSON body (and the ETag of a top-level `version`).
pub fn ok_json<T: Serialize>(value: &T) -> Result<Response, ApiError> {
    let body = serde_json::to_string(value).map_err(DomainError::from)?;
    Ok(json_response(StatusCode::OK, body))
}
