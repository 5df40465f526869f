//! The shape every mutating request takes: idempotency key, then the work in the
//! store's next group commit together with its audit event and the stored response,
//! then the answer, given only once that commit is durable.
//!
//! ```text
//! action.commit(&state, StatusCode::OK, move |tx, corr| {
//!     Box::pin(async move { workflow::pause(tx, &user, &id, seen, &reason, corr).await })
//! })
//! .await
//! ```

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fleetdeck_api::EventSubject;
use fleetdeck_api::headers::{IDEMPOTENCY_KEY, IF_MATCH};
use serde::Serialize;

use super::AppState;
use super::caller::Caller;
use super::problem::ApiError;
use super::refusals::{self, Refusal};
use crate::DomainError;
use crate::store::idempotency::{self, Record};
use crate::store::{Tx, WriteFuture};

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

/// The stored answer, if `fingerprint` says it is the same request.
fn replay(key: &str, fingerprint: &str, stored: Record) -> Result<Record, ApiError> {
    if stored.fingerprint != fingerprint {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "Idempotency-Key {key} was already used for a different request; use a new key for a new request"
            ),
        ));
    }
    Ok(stored)
}

/// The answer a record holds.
fn record_response(record: Record) -> Response {
    let status = StatusCode::from_u16(record.status).unwrap_or(StatusCode::OK);
    json_response(status, record.body)
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
    /// The address the request came from, when the server knows it.
    pub peer: Option<SocketAddr>,
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: axum::body::Bytes,
}

impl Action {
    /// Runs `handler` on this action and, when it is refused (403, 409, 412), records
    /// the refusal for the audit trail (see [`super::refusals`]).
    pub async fn audited<F, Fut>(
        self,
        state: &AppState,
        action: &'static str,
        subject: EventSubject,
        handler: F,
    ) -> Result<Response, ApiError>
    where
        F: FnOnce(Action) -> Fut,
        Fut: Future<Output = Result<Response, ApiError>>,
    {
        let user = self.caller.user().to_string();
        let peer = self.peer;
        // The request's correlation id, as its events would have had.
        let correlation = idempotency_key(&self.headers)
            .ok()
            .map(|k| format!("req-{k}"));
        let result = handler(self).await;
        if let Err(e) = &result
            && refusals::is_refusal(e.0.status)
        {
            let refusal = Refusal {
                user,
                action,
                subject,
                peer,
                status: e.0.status,
                reason: format!("{}: {}", e.0.title, e.0.detail),
                correlation,
            };
            state.refusals().record(refusal);
        }
        result
    }

    /// The `If-Match` version, if sent.
    pub fn if_match(&self) -> Result<Option<u64>, ApiError> {
        if_match(&self.headers)
    }

    /// Runs `work` as this request's effect, durably and at most once per
    /// `Idempotency-Key`; answers `status` with what `work` returned. `work` gets the
    /// write transaction and the correlation id that ties the request's events
    /// together, and must write only through that transaction.
    ///
    /// `work` runs in the store's group commit: inside the write transaction the key
    /// is looked up (so two requests with one key can never both do the work), the
    /// work is done and its answer stored with it. On
    /// failure the work's savepoint is rolled back: nothing is stored, so a corrected
    /// retry may reuse the key.
    pub async fn commit<T, F>(
        &self,
        state: &AppState,
        status: StatusCode,
        work: F,
    ) -> Result<Response, ApiError>
    where
        T: Serialize + Send,
        F: for<'a> FnOnce(
                &'a mut Tx<'_>,
                Option<String>,
            ) -> WriteFuture<'a, Result<T, DomainError>>
            + Send
            + 'static,
    {
        let key = idempotency_key(&self.headers)?;
        let fingerprint = idempotency::fingerprint(
            self.caller.user(),
            self.method.as_str(),
            &self.path,
            &self.body,
        );
        // Held until the answer: a second request with this key meanwhile is told to wait.
        // Should this request be dropped (the client left), its work still runs; a retry
        // then queues behind it and finds its record inside the transaction.
        // The key is looked up inside the write transaction, where the answer is
        // certain; a first request pays no read of its own before it (a statement costs
        // more in thread hand-offs than in SQLite).
        let guard = {
            let set = state.in_flight();
            let mut keys = set.0.lock().unwrap_or_else(|e| e.into_inner());
            keys.insert(key.clone()).then(|| InFlightGuard {
                set: Arc::clone(&set),
                key: key.clone(),
            })
        };
        let Some(_guard) = guard else {
            // Another request with this key is in flight. If it is a retry of one already
            // answered, this one gets that answer too, without waiting.
            if let Some(stored) = idempotency::lookup(state.store().pool(), &key).await? {
                return replay(&key, &fingerprint, stored).map(record_response);
            }
            return Err(ApiError::conflict(format!(
                "a request with Idempotency-Key {key} is still being processed; retry it when that one has answered"
            )));
        };
        let user = self.caller.user().to_string();
        // The answer is built after the commit: the work inside runs while every other
        // action of the group waits.
        state
            .store()
            .write_keyed(key.clone(), move |tx, stored| {
                Box::pin(async move {
                    if let Some(stored) = stored {
                        return replay(&key, &fingerprint, stored);
                    }
                    let correlation_id = Some(format!("req-{key}"));
                    let value = work(tx, correlation_id).await?;
                    let body = serde_json::to_string(&value).map_err(DomainError::from)?;
                    let record = Record {
                        user,
                        fingerprint,
                        status: status.as_u16(),
                        body,
                    };
                    idempotency::save(tx, &key, &record);
                    Ok(record)
                })
            })
            .await
            .map(record_response)
    }
}

impl axum::extract::FromRequest<AppState> for Action {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &AppState) -> Result<Self, ApiError> {
        use axum::extract::FromRequestParts;
        let (mut parts, body) = req.into_parts();
        // Authentication first: an anonymous caller learns nothing about the body.
        let caller = Caller::from_request_parts(&mut parts, state).await?;
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
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
            peer,
            method,
            path,
            headers,
            body,
        })
    }
}
