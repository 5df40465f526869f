//! Starting and stopping the control plane: tokens, config, store, fleet, HTTP server,
//! workflow engine and housekeeping, in an order where a bad input writes nothing.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use fleetdeck_api::{Level, kinds};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::DomainError;
use crate::auth::{TokenEntry, load_token_file};
use crate::config::{self, ServerConfig};
use crate::http::{self, AppState, TokenTable};
use crate::store::events::{NewEvent, append};
use crate::store::{Store, approvals, fleet, idempotency};

/// `--demo`: a generated, simulated fleet.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub fleet_size: usize,
    pub seed: u64,
    /// Simulated seconds per real second.
    pub time_scale: f64,
}

/// Where the server's tokens come from.
#[derive(Debug, Clone)]
pub enum TokenSource {
    /// A token file (see [`crate::auth`]).
    File(PathBuf),
    /// Entries held in memory, e.g. the token of the console's embedded server.
    Entries(Vec<TokenEntry>),
}

#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    pub state: PathBuf,
    pub tokens: TokenSource,
    pub config: Option<PathBuf>,
    pub demo: Option<DemoOptions>,
}

/// Why the server did not start: one line naming the file (or address) and the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

impl From<DomainError> for StartError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Internal(m) => StartError(m),
            other => StartError(other.to_string()),
        }
    }
}

/// How often pending approvals are checked for expiry.
const EXPIRY_TICK: Duration = Duration::from_secs(1);
/// How long a stored idempotent response is replayed.
const IDEMPOTENCY_RETENTION: chrono::Duration = chrono::Duration::hours(24);
/// How long shutdown waits for open connections before dropping them.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// A started control plane.
pub struct RunningServer {
    addr: SocketAddr,
    state: AppState,
    shutdown: CancellationToken,
    http: JoinHandle<std::io::Result<()>>,
    housekeeping: JoinHandle<()>,
}

/// Starts the control plane and returns once it is ready (`/readyz` answers 200).
///
/// Tokens and config are read and the address bound before the state file is opened,
/// so a malformed input or a busy port leaves nothing written.
pub async fn start(opts: ServeOptions) -> Result<RunningServer, StartError> {
    let entries = match opts.tokens {
        TokenSource::File(path) => load_token_file(&path).map_err(StartError)?,
        TokenSource::Entries(e) => e,
    };
    if entries.is_empty() {
        tracing::warn!("no tokens configured: every API request will be refused with 401");
    }
    let config = match &opts.config {
        Some(path) => config::load(path).map_err(|e| StartError(e.to_string()))?,
        None => ServerConfig::default(),
    };
    let listener = TcpListener::bind(opts.listen)
        .await
        .map_err(|e| StartError(format!("cannot listen on {}: {e}", opts.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError(format!("cannot listen on {}: {e}", opts.listen)))?;

    let store = Store::open(&opts.state).await?;
    register_fleet(&store, &config).await?;
    announce(&store, addr).await?;

    let shutdown = CancellationToken::new();
    let state = AppState::new(store.clone(), TokenTable::new(entries), shutdown.clone());
    let app = http::router(state.clone());
    let http = tokio::spawn(
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.clone().cancelled_owned())
            .into_future(),
    );
    let housekeeping = tokio::spawn(housekeeping(store, shutdown.clone()));
    state.set_ready(true);
    tracing::info!(%addr, "control plane ready");
    Ok(RunningServer {
        addr,
        state,
        shutdown,
        http,
        housekeeping,
    })
}

impl RunningServer {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The store, for tests and tools that inspect state directly.
    pub fn store(&self) -> &Store {
        self.state.store()
    }

    /// Stops accepting requests, lets answered ones finish, closes event streams, then
    /// closes the store. Nothing is half-written: every change is one transaction.
    pub async fn shutdown(self) {
        self.state.set_ready(false);
        self.shutdown.cancel();
        match tokio::time::timeout(DRAIN_TIMEOUT, self.http).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "HTTP server stopped with an error"),
            Ok(Err(e)) => tracing::warn!(error = %e, "HTTP server task failed"),
            Err(_) => {
                tracing::warn!("connections still open after {DRAIN_TIMEOUT:?}; closing anyway")
            }
        }
        if let Err(e) = self.housekeeping.await {
            tracing::warn!(error = %e, "housekeeping task failed");
        }
        self.state.store().close().await;
        tracing::info!("control plane stopped");
    }

    /// Runs until SIGTERM or Ctrl-C, then shuts down.
    pub async fn run_until_signal(self) {
        wait_for_signal().await;
        tracing::info!("signal received; shutting down");
        self.shutdown().await;
    }
}

async fn wait_for_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// Registers the databases the config declares (new ones, or changed ones).
async fn register_fleet(store: &Store, config: &ServerConfig) -> Result<(), DomainError> {
    if config.databases.is_empty() {
        return Ok(());
    }
    let mut tx = store.begin().await?;
    for db in &config.databases {
        fleet::upsert_database(&mut tx, db).await?;
    }
    store.commit(tx).await
}

async fn announce(store: &Store, addr: SocketAddr) -> Result<(), DomainError> {
    let mut tx = store.begin().await?;
    let message = format!("control plane started on {addr}");
    append(
        &mut tx,
        NewEvent::new("server", kinds::SERVER_STARTED, Level::Info, message),
    )
    .await?;
    store.commit(tx).await
}

/// Expires overdue approvals and forgets old idempotency records.
async fn housekeeping(store: Store, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(EXPIRY_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_prune = None::<chrono::DateTime<Utc>>;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.cancelled() => return,
        }
        let now = Utc::now();
        let prune = last_prune.is_none_or(|t| now - t > chrono::Duration::hours(1));
        if let Err(e) = housekeeping_step(&store, now, prune).await {
            tracing::warn!(error = %e, "housekeeping failed; retrying");
        } else if prune {
            last_prune = Some(now);
        }
    }
}

async fn housekeeping_step(
    store: &Store,
    now: chrono::DateTime<Utc>,
    prune: bool,
) -> Result<(), DomainError> {
    if !prune && !approvals::any_due(store.pool(), now).await? {
        return Ok(());
    }
    let mut tx = store.begin().await?;
    let expired = approvals::expire_due(&mut tx, now).await?;
    let pruned = if prune {
        idempotency::prune(&mut tx, now - IDEMPOTENCY_RETENTION).await?
    } else {
        0
    };
    if expired.is_empty() && pruned == 0 {
        // Nothing changed: do not hold the write lock for a commit.
        tx.rollback().await?;
        return Ok(());
    }
    store.commit(tx).await
}
