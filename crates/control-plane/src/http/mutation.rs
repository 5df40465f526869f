//! The shape every mutating request takes: idempotency key, one write transaction that
//! holds the effect, its audit event and the stored response, then the answer.
//!
//! ```text
//! let (m, mut tx) = match action.begin(&state).await? {
//!     Begun::Replay(resp) => return Ok(resp),
//!     Begun::Fresh(m, tx) => (m, tx),
//! };
//! let result = workflow::pause(&mut tx, ..., m.correlation_id()).await;
//! m.finish(&state, tx, StatusCode::OK, result).await
//! ```

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fleetdeck_api::headers::{IDEMPOTENCY_KEY, IF_MATCH};
use serde::Serialize;

use super::AppState;
use super::caller::Caller;
use super::problem::ApiError;
use crate::DomainError;
use crate::store::Tx;
use crate::store::idempotency::{self, Record};

/// Keys whose first request is still being processed.
#[derive(Default)]
pub struct InFlight(Mutex<HashSet<String>>);

/// Removes its key from [`InFlight`] when the request ends, however it ends.
struct InFlightGuard {
    set: Arc<InFlight>,
    key: String,
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.set
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.key);
    }
}

/// What identifies a mutating request.
pub struct RequestMeta<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// A mutating request that passed its idempotency check and holds the write transaction.
pub struct Mutation {
    key: String,
    record: Record,
    _guard: InFlightGuard,
}

pub enum Begun {
    /// The key was seen with this same request: here is the first answer again.
    Replay(Response),
    /// Do the work in `Tx`, then call [`Mutation::finish`].
    Fresh(Mutation, Tx),
}

impl Mutation {
    /// Checks the `Idempotency-Key`, then opens the write transaction and looks the key up
    /// inside it, so two requests with one key can never both do the work.
    pub async fn begin(
        state: &AppState,
        caller: &Caller,
        req: RequestMeta<'_>,
    ) -> Result<Begun, ApiError> {
        let key = idempotency_key(req.headers)?;
        let fingerprint =
            idempotency::fingerprint(caller.user(), req.method.as_str(), req.path, req.body);
        // A retry of an answered request needs no write lock and does not count as in
        // flight: any number of concurrent retries all get the stored answer.
        if let Some(stored) = idempotency::lookup(state.store().pool(), &key).await? {
            return replay(&key, &fingerprint, stored);
        }
        let guard = {
            let set = state.in_flight();
            let mut keys = set.0.lock().unwrap_or_else(|e| e.into_inner());
            if !keys.insert(key.clone()) {
                return Err(ApiError::conflict(format!(
                    "a request with Idempotency-Key {key} is still being processed; retry it when that one has answered"
                )));
            }
            InFlightGuard {
                set: Arc::clone(&set),
                key: key.clone(),
            }
        };
        let mut tx = state.store().begin().await?;
        if let Some(stored) = idempotency::lookup(&mut *tx, &key).await? {
            return replay(&key, &fingerprint, stored);
        }
        let record = Record {
            user: caller.user().to_string(),
            fingerprint,
            status: 0,
            body: String::new(),
        };
        Ok(Begun::Fresh(
            Mutation {
                key,
                record,
                _guard: guard,
            },
            tx,
        ))
    }

    /// Ties the events of this request together.
    pub fn correlation_id(&self) -> Option<String> {
        Some(format!("req-{}", self.key))
    }

    /// On success stores the response with the effect and commits; on failure rolls
    /// everything back (nothing is stored, so a corrected retry may reuse the key).
    pub async fn finish<T: Serialize>(
        mut self,
        state: &AppState,
        mut tx: Tx,
        status: StatusCode,
        result: Result<T, DomainError>,
    ) -> Result<Response, ApiError> {
        let value = result?;
        let body = serde_json::to_string(&value).map_err(DomainError::from)?;
        self.record.status = status.as_u16();
        self.record.body = body;
        idempotency::save(&mut tx, &self.key, &self.record).await?;
        state.store().commit(tx).await?;
        Ok(json_response(status, std::mem::take(&mut self.record.body)))
    }
}

/// The stored answer, if `fingerprint` says it is the same request.
fn replay(key: &str, fingerprint: &str, stored: Record) -> Result<Begun, ApiError> {
    if stored.fingerprint != fingerprint {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "Idempotency-Key {key} was already used for a different request; use a new key for a new request"
            ),
        ));
    }
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    Ok(Begun::Replay(json_response(status, stored.body)))
}

fn idempotency_key(headers: &HeaderMap) -> Result<String, ApiError> {
    let value = headers.get(IDEMPOTENCY_KEY).ok_or_else(|| {
        ApiError::bad_request(format!(
            "a mutating request needs an {IDEMPOTENCY_KEY} header (a UUID, new for each new request)"
        ))
    })?;
    value
        .to_str()
        .ok()
        .and_then(|v| uuid::Uuid::parse_str(v.trim()).ok())
        .map(|u| u.hyphenated().to_string())
        .ok_or_else(|| ApiError::bad_request(format!("{IDEMPOTENCY_KEY} must be a UUID")))
}

/// The version named by `If-Match`, if the header is present.
pub fn if_match(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get(IF_MATCH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(fleetdeck_api::parse_etag)
        .map(Some)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "{IF_MATCH} must be a version as sent in ETag, like \"7\""
            ))
        })
}

/// A JSON answer; a body with a top-level `version` also gets that version as its ETag,
/// so fresh answers and replays carry the same headers.
pub fn json_response(status: StatusCode, body: String) -> Response {
    let version = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("version").and_then(serde_json::Value::as_u64));
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(v) = version
        && let Ok(etag) = HeaderValue::from_str(&fleetdeck_api::etag(v))
    {
        h.insert(header::ETAG, etag);
    }
    resp
}

/// Everything a mutating route needs from its request: the caller, the parts that
/// identify the request for idempotency, and the bounded body.
pub struct Action {
    pub caller: Caller,
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: axum::body::Bytes,
}

impl Action {
    pub fn meta(&self) -> RequestMeta<'_> {
        RequestMeta {
            method: &self.method,
            path: &self.path,
            headers: &self.headers,
            body: &self.body,
        }
    }

    /// The `If-Match` version, if sent.
    pub fn if_match(&self) -> Result<Option<u64>, ApiError> {
        if_match(&self.headers)
    }

    /// Starts the mutation; see [`Mutation::begin`].
    pub async fn begin(&self, state: &AppState) -> Result<Begun, ApiError> {
        Mutation::begin(state, &self.caller, self.meta()).await
    }
}

impl axum::extract::FromRequest<AppState> for Action {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &AppState) -> Result<Self, ApiError> {
        use axum::extract::FromRequestParts;
        let (mut parts, body) = req.into_parts();
        // Authentication first: an anonymous caller learns nothing about the body.
        let caller = Caller::from_request_parts(&mut parts, state).await?;
        let req = axum::extract::Request::from_parts(parts, body);
        let path = req.uri().path().to_string();
        let method = req.method().clone();
        let headers = req.headers().clone();
        let body = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|r| match r.status() {
                StatusCode::PAYLOAD_TOO_LARGE => ApiError::too_large(),
                status => ApiError::new(status, r.body_text()),
            })?;
        Ok(Action {
            caller,
            method,
            path,
            headers,
            body,
        })
    }
}
