//! Read-only routes. Any authenticated caller (every role) may read.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
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
///
/// The fleet-sized parts (databases, evidence) are written row by row as the store
/// yields them, into the chunks of the body: the answer is held once, as JSON, never
/// also as a vector of values. Each database is its stored document and its drills
/// JSON built by SQLite, never decoded here (`drills::for_each_database_json`).
/// Evidence drills come without their output.
pub async fn snapshot(State(state): State<AppState>, _: Caller) -> Result<Response, ApiError> {
    let now = Utc::now();
    let mut tx = state
        .store()
        .pool()
        .begin()
        .await
        .map_err(DomainError::from)?;
    let chunks = write_snapshot(&mut tx, now).await?;
    tx.rollback().await.map_err(DomainError::from)?;
    // The length lets a client make room for the answer once.
    let length = chunks.iter().map(Bytes::len).sum::<usize>();
    let body = Body::from_stream(futures_util::stream::iter(
        chunks.into_iter().map(Ok::<_, std::convert::Infallible>),
    ));
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CONTENT_LENGTH, HeaderValue::from(length)),
        ],
        body,
    )
        .into_response())
}

/// The snapshot as JSON chunks. Written field by field, so each field of [`Snapshot`]
/// is named here; the destructuring makes a field added to the wire type a compile
/// error until it is written.
async fn write_snapshot(
    conn: &mut SqliteConnection,
    now: DateTime<Utc>,
) -> Result<Vec<Bytes>, DomainError> {
    #[allow(dead_code)]
    fn every_field_is_written(s: Snapshot) {
        let Snapshot {
            server_time: _,
            last_seq: _,
            databases: _,
            campaigns: _,
            evidence: _,
            approvals: _,
            events: _,
        } = s;
    }
    let started = std::time::Instant::now();
    let mut out = JsonChunks::new();
    out.field("server_time", &now)?;
    out.field("last_seq", &events::last_seq(&mut *conn).await?)?;
    // Databases and their evidence come in one pass; the evidence is written aside and
    // placed after the campaigns.
    out.array("databases");
    let mut evidence = JsonChunks::new_array();
    drills::for_each_database_json(conn, now, |doc, e| {
        out.raw_item(|buf| {
            buf.extend_from_slice(doc.as_bytes());
            Ok(())
        })?;
        evidence.raw_item(|buf| e.write_to(buf))
    })
    .await?;
    out.end_array();
    evidence.end_array();
    let fleet_done = started.elapsed();
    out.field("campaigns", &campaigns::recent(conn).await?)?;
    let campaigns = started.elapsed();
    out.key("evidence");
    out.splice(evidence);
    let pending = approvals::list_in(conn, Some(ApprovalState::Pending)).await?;
    out.field("approvals", &pending)?;
    out.field(
        "events",
        &events::recent(&mut *conn, SNAPSHOT_EVENTS).await?,
    )?;
    let chunks = out.finish();
    tracing::debug!(
        bytes = chunks.iter().map(Bytes::len).sum::<usize>(),
        databases_and_evidence_ms = fleet_done.as_millis(),
        campaigns_ms = (campaigns - fleet_done).as_millis(),
        total_ms = started.elapsed().as_millis(),
        "snapshot written"
    );
    Ok(chunks)
}

/// A JSON object written field by field into body chunks of about [`JsonChunks::CHUNK`]
/// bytes, so a large answer grows by new chunks rather than by copying one buffer.
struct JsonChunks {
    done: Vec<Bytes>,
    current: Vec<u8>,
    fields: usize,
    items: usize,
}

impl JsonChunks {
    const CHUNK: usize = 256 * 1024;

    fn new() -> JsonChunks {
        Self::starting(b'{')
    }

    /// An array, for [`JsonChunks::splice`] into an object.
    fn new_array() -> JsonChunks {
        Self::starting(b'[')
    }

    fn starting(open: u8) -> JsonChunks {
        let mut current = Vec::with_capacity(Self::CHUNK);
        current.push(open);
        JsonChunks {
            done: Vec::new(),
            current,
            fields: 0,
            items: 0,
        }
    }

    /// Appends the value written in `other` (after a [`JsonChunks::key`]), its chunks
    /// moved, not copied.
    fn splice(&mut self, other: JsonChunks) {
        let current = std::mem::replace(&mut self.current, Vec::with_capacity(Self::CHUNK));
        self.done.push(Bytes::from(current));
        self.done.extend(other.done);
        self.done.push(Bytes::from(other.current));
    }

    /// `"name":` (names are the wire type's field names: plain identifiers).
    fn key(&mut self, name: &str) {
        if self.fields > 0 {
            self.current.push(b',');
        }
        self.fields += 1;
        self.current.push(b'"');
        self.current.extend_from_slice(name.as_bytes());
        self.current.extend_from_slice(b"\":");
    }

    fn value<T: Serialize>(&mut self, value: &T) -> Result<(), DomainError> {
        serde_json::to_writer(&mut self.current, value)?;
        self.cut();
        Ok(())
    }

    /// Starts a new chunk once the current one is full.
    fn cut(&mut self) {
        if self.current.len() >= Self::CHUNK {
            let full = std::mem::replace(&mut self.current, Vec::with_capacity(Self::CHUNK));
            self.done.push(Bytes::from(full));
        }
    }

    fn field<T: Serialize>(&mut self, name: &str, value: &T) -> Result<(), DomainError> {
        self.key(name);
        self.value(value)
    }

    fn array(&mut self, name: &str) {
        self.key(name);
        self.current.push(b'[');
        self.items = 0;
    }

    /// An array item that `write` appends as JSON text it vouches for (already JSON:
    /// a stored document, or evidence built by SQLite).
    fn raw_item(
        &mut self,
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), DomainError>,
    ) -> Result<(), DomainError> {
        if self.items > 0 {
            self.current.push(b',');
        }
        self.items += 1;
        write(&mut self.current)?;
        self.cut();
        Ok(())
    }

    fn end_array(&mut self) {
        self.current.push(b']');
    }

    fn finish(mut self) -> Vec<Bytes> {
        self.current.push(b'}');
        self.done.push(Bytes::from(self.current));
        self.done
    }
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
