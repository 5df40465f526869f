//! The v1 HTTP API (see `shared/design/API.md`): routes, authentication, idempotency and
//! problem-detail errors.

mod actions;
mod approvals;
mod body;
mod caller;
mod feed;
mod mutation;
mod problem;
mod reads;
pub mod refusals;
mod sse;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use tokio_util::sync::CancellationToken;

pub use caller::TokenTable;
pub use feed::Feed;
pub use problem::ApiError;

use crate::store::Store;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    store: Store,
    feed: Arc<Feed>,
    tokens: TokenTable,
    in_flight: Arc<mutation::InFlight>,
    refusals: Arc<refusals::Refusals>,
    ready: AtomicBool,
    /// Cancelled at shutdown: ends the event streams so connections can close.
    shutdown: CancellationToken,
}

impl AppState {
    pub fn new(
        store: Store,
        feed: Arc<Feed>,
        tokens: TokenTable,
        shutdown: CancellationToken,
    ) -> AppState {
        AppState(Arc::new(Inner {
            store,
            feed,
            tokens,
            in_flight: Arc::default(),
            refusals: Arc::default(),
            ready: AtomicBool::new(false),
            shutdown,
        }))
    }

    pub fn store(&self) -> &Store {
        &self.0.store
    }

    fn feed(&self) -> Arc<Feed> {
        Arc::clone(&self.0.feed)
    }

    fn tokens(&self) -> &TokenTable {
        &self.0.tokens
    }

    fn in_flight(&self) -> Arc<mutation::InFlight> {
        Arc::clone(&self.0.in_flight)
    }

    fn shutdown(&self) -> &CancellationToken {
        &self.0.shutdown
    }

    fn refusals(&self) -> &refusals::Refusals {
        &self.0.refusals
    }

    /// Writes the summaries of refused actions every [`refusals::WINDOW`] until shutdown.
    pub fn refusal_summaries(&self) -> impl Future<Output = ()> + Send + 'static {
        refusals::flush_every(
            Arc::clone(&self.0.refusals),
            self.0.store.clone(),
            self.0.shutdown.clone(),
        )
    }

    /// Writes the summary of refused actions counted so far (at shutdown, once requests
    /// have stopped).
    pub async fn flush_refusals(&self) {
        self.0.refusals.flush(&self.0.store).await;
    }

    /// `/readyz` answers 200 while this is set.
    pub fn set_ready(&self, ready: bool) {
        self.0.ready.store(ready, Ordering::SeqCst);
    }
}

/// Every route of API v1.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/v1/whoami", get(reads::whoami))
        .route("/v1/snapshot", get(reads::snapshot))
        .route("/v1/databases", get(reads::databases))
        .route("/v1/databases/{id}", get(reads::database))
        .route("/v1/databases/{id}/drills", post(actions::start_drill))
        .route(
            "/v1/campaigns",
            get(reads::campaigns).post(actions::create_campaign),
        )
        .route("/v1/campaigns/plan", post(actions::plan_campaign))
        .route("/v1/campaigns/{id}", get(reads::campaign))
        .route("/v1/campaigns/{id}/pause", post(actions::pause))
        .route("/v1/campaigns/{id}/resume", post(actions::resume))
        .route("/v1/campaigns/{id}/rollback", post(actions::rollback))
        .route("/v1/evidence", get(reads::evidence))
        .route("/v1/approvals", get(approvals::list))
        .route("/v1/approvals/{id}/approve", post(approvals::approve))
        .route("/v1/approvals/{id}/reject", post(approvals::reject))
        .route("/v1/events", get(reads::events))
        .route("/v1/events/stream", get(sse::stream))
        .fallback(problem::not_found)
        .layer(DefaultBodyLimit::max(fleetdeck_api::limits::MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(problem::problemify))
        // Method, path and status of every request; headers (and so tokens) are not logged.
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    if state.0.ready.load(Ordering::SeqCst) {
        Ok("ready")
    } else {
        Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the control plane is starting or shutting down",
        ))
    }
}
