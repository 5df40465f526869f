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
use crate::config::{self, ExecutorConfig, ServerConfig};
use crate::demo::{self, start::FirstConsole};
use crate::executor;
use crate::http::{self, AppState, Feed, TokenTable};
use crate::store::events::{NewEvent, append};
use crate::store::lock::{BY_CONSOLE, BY_SERVE, Holder, StateLock};
use crate::store::{Store, fleet, idempotency};
use crate::tls::Transport;
use crate::workflow::{DemoSettings, Engine, EngineSettings};

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

/// How often old idempotency records are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
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
    https: bool,
    housekeeping: JoinHandle<()>,
    refusals: JoinHandle<()>,
    engine: EngineTask,
    /// Held until the store is closed (see [`crate::store::lock`]).
    lock: StateLock,
}

/// How the workflow engine starts.
enum Workflows {
    /// At once, on this executor.
    Now(std::sync::Arc<dyn executor::Executor>),
    /// With the demo's simulated executor, once a console watches.
    Demo(DemoOptions),
}

/// The workflow engine: started, or starting once the demo has a console (its task is
/// aborted, and a started engine with it, if the server is dropped without shutdown).
struct EngineTask(Option<JoinHandle<Option<Engine>>>);

impl EngineTask {
    /// Stops the engine if it started; call after cancelling the server's token, which
    /// stops one still waiting to start.
    async fn shutdown(mut self) {
        let Some(task) = self.0.take() else {
            return;
        };
        match task.await {
            Ok(Some(engine)) => engine.shutdown().await,
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "workflow engine start failed"),
        }
    }
}

impl Drop for EngineTask {
    fn drop(&mut self) {
        if let Some(task) = &self.0 {
            task.abort();
        }
    }
}

/// Starts the control plane over plain HTTP (loopback only; see [`start_with_transport`]).
pub async fn start(opts: ServeOptions) -> Result<RunningServer, StartError> {
    start_with_transport(opts, Transport::default()).await
}

/// Starts the control plane and returns once it is ready (`/readyz` answers 200): HTTPS
/// when `transport` has TLS files, else plain HTTP, refused beyond loopback unless
/// `transport.insecure_listen`.
///
/// Tokens, config and TLS files are read, the state file's lock taken (see
/// [`crate::store::lock`]) and the address bound before the state file is opened, so a
/// malformed input, a state file in use or a busy port leaves the state untouched.
pub async fn start_with_transport(
    opts: ServeOptions,
    transport: Transport,
) -> Result<RunningServer, StartError> {
    let inputs = Inputs::read(&opts, &transport)?;
    let lock = StateLock::try_acquire(&opts.state).map_err(|e| StartError(e.to_string()))?;
    launch(opts, inputs, lock, BY_SERVE, None).await
}

/// Starts the control plane of a console over plain loopback HTTP with the state file's
/// lock already held (the console took it to learn whether another console holds it).
/// `note` is said in the start event (why this console started it).
pub async fn start_locked(
    opts: ServeOptions,
    lock: StateLock,
    note: Option<String>,
) -> Result<RunningServer, StartError> {
    let inputs = Inputs::read(&opts, &Transport::default())?;
    launch(opts, inputs, lock, BY_CONSOLE, note).await
}

/// What is read and checked before anything is written.
struct Inputs {
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    entries: Vec<TokenEntry>,
    config: ServerConfig,
}

impl Inputs {
    fn read(opts: &ServeOptions, transport: &Transport) -> Result<Inputs, StartError> {
        transport.check_listen(opts.listen).map_err(StartError)?;
        let acceptor = transport.acceptor().map_err(StartError)?;
        let entries = match &opts.tokens {
            TokenSource::File(path) => load_token_file(path).map_err(StartError)?,
            TokenSource::Entries(e) => e.clone(),
        };
        if entries.is_empty() {
            tracing::warn!("no tokens configured: every API request will be refused with 401");
        }
        let config = match &opts.config {
            Some(path) => config::load(path).map_err(|e| StartError(e.to_string()))?,
            None => ServerConfig::default(),
        };
        Ok(Inputs {
            acceptor,
            entries,
            config,
        })
    }
}

async fn launch(
    opts: ServeOptions,
    inputs: Inputs,
    mut lock: StateLock,
    by: &str,
    note: Option<String>,
) -> Result<RunningServer, StartError> {
    let Inputs {
        acceptor,
        entries,
        config,
    } = inputs;
    let listener = TcpListener::bind(opts.listen)
        .await
        .map_err(|e| StartError(format!("cannot listen on {}: {e}", opts.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError(format!("cannot listen on {}: {e}", opts.listen)))?;
    let previous = lock.previous().cloned();

    let started = std::time::Instant::now();
    let store = Store::open(&opts.state).await?;
    let opened = started.elapsed();
    register_fleet(&store, &config).await?;
    // A real fleet's executor is built now; the demo's once a console watches.
    let workflows = match opts.demo {
        Some(demo) => {
            demo::start::seed(&store, &demo).await?;
            Workflows::Demo(demo)
        }
        None => Workflows::Now(executor::build(&config.executor)),
    };
    let fleet_ready = started.elapsed();
    let executor_name = match &workflows {
        Workflows::Now(executor) => executor.name(),
        Workflows::Demo(_) => demo::start::EXECUTOR,
    };
    announce(
        &store,
        addr,
        executor_name,
        previous.as_ref(),
        note.as_deref(),
    )
    .await?;
    let unfinished = crate::workflow::note_unfinished_drills(&store).await?;
    if unfinished > 0 {
        tracing::info!(
            unfinished,
            "restore drills left unfinished run again from the beginning"
        );
    }

    let shutdown = CancellationToken::new();
    let feed = Feed::start(store.clone(), shutdown.clone()).await?;
    let state = AppState::new(
        store.clone(),
        feed,
        TokenTable::new(entries),
        shutdown.clone(),
    );
    let first_console = FirstConsole::default();
    let app = match &workflows {
        Workflows::Demo(_) => first_console.watch(http::router(state.clone())),
        Workflows::Now(_) => http::router(state.clone()),
    };
    let https = acceptor.is_some();
    let http = match acceptor {
        Some(acceptor) => {
            tokio::spawn(crate::tls::serve(listener, acceptor, app, shutdown.clone()))
        }
        None => tokio::spawn(
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown.clone().cancelled_owned())
            .into_future(),
        ),
    };
    let housekeeping = tokio::spawn(housekeeping(store.clone(), shutdown.clone()));
    let refusals = tokio::spawn(state.refusal_summaries());
    let settings = engine_settings(&config);
    let engine = EngineTask(Some(match workflows {
        Workflows::Now(executor) => {
            let engine = Engine::start(store, executor, settings);
            tokio::spawn(async move { Some(engine) })
        }
        Workflows::Demo(demo) => {
            let settings = EngineSettings {
                time_scale: demo.time_scale,
                demo: Some(DemoSettings::default()),
                ..settings
            };
            tokio::spawn(demo::start::engine_when_watched(
                store,
                demo,
                settings,
                first_console,
                shutdown.clone(),
            ))
        }
    }));
    // Listening and ready: a refused second process can now be told who holds the file.
    // (The lock is what keeps a second one out; without the record it is only told less.)
    if let Err(e) = lock.record(&Holder::this_process(addr.to_string(), by)) {
        tracing::warn!(lock = %lock.path().display(), error = %e, "cannot say in the lock file who holds it");
    }
    state.set_ready(true);
    tracing::info!(
        %addr,
        https,
        store_ms = opened.as_millis(),
        fleet_ms = (fleet_ready - opened).as_millis(),
        ready_ms = started.elapsed().as_millis(),
        "control plane ready"
    );
    Ok(RunningServer {
        addr,
        state,
        shutdown,
        http,
        https,
        housekeeping,
        refusals,
        engine,
        lock,
    })
}

impl RunningServer {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://ADDR` or `http://ADDR`.
    pub fn base_url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The store, for tests and tools that inspect state directly.
    pub fn store(&self) -> &Store {
        self.state.store()
    }

    /// Stops accepting requests, lets answered ones finish, closes event streams, brings
    /// the engine to a safe point, then closes the store. Every change is one
    /// transaction, so nothing is half-written.
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
        // Requests have stopped: the refusals counted so far are summarised.
        if let Err(e) = self.refusals.await {
            tracing::warn!(error = %e, "refusal summaries task failed");
        }
        self.state.flush_refusals().await;
        // In-flight executor work reaches its next commit; nothing is half-written.
        self.engine.shutdown().await;
        if let Err(e) = self.housekeeping.await {
            tracing::warn!(error = %e, "housekeeping task failed");
        }
        self.state.store().close().await;
        self.lock.release();
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

/// The engine's settings from the config file.
fn engine_settings(config: &ServerConfig) -> EngineSettings {
    let time_scale = match &config.executor {
        ExecutorConfig::Simulated(s) => s.time_scale,
        ExecutorConfig::Command(_) | ExecutorConfig::Postgres(_) => 1.0,
    };
    let d = &config.drills;
    EngineSettings {
        time_scale,
        drill_policy_days: [d.tier1_days, d.tier2_days, d.tier3_days],
        max_concurrent_drills: usize::try_from(d.max_concurrent).unwrap_or(usize::MAX),
        recovery_objectives: d.objectives,
        approval_ttl: config.approvals.ttl,
        health: Some(config.health.clone()),
        demo: None,
    }
}

async fn announce(
    store: &Store,
    addr: SocketAddr,
    executor: &str,
    previous: Option<&Holder>,
    note: Option<&str>,
) -> Result<(), DomainError> {
    let mut tx = store.begin().await?;
    // Why it was started comes first: a log line narrower than the message keeps it.
    let mut message = note.map_or_else(String::new, |n| format!("{n}: "));
    message.push_str(&format!(
        "control plane started on {addr} (executor: {executor}, pid {})",
        std::process::id()
    ));
    if let Some(p) = previous {
        message.push_str(&format!(
            "; the previous one on this state file, {p}, stopped without shutting down"
        ));
    }
    append(
        &mut tx,
        NewEvent::new("server", kinds::SERVER_STARTED, Level::Info, message),
    )
    .await?;
    store.commit(tx).await
}

/// Forgets old idempotency records, hourly. (The engine expires approvals: it also
/// has to react to them.)
async fn housekeeping(store: Store, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(PRUNE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.cancelled() => return,
        }
        if let Err(e) = prune_idempotency(&store).await {
            tracing::warn!(error = %e, "pruning idempotency records failed; will retry");
        }
    }
}

async fn prune_idempotency(store: &Store) -> Result<(), DomainError> {
    let mut tx = store.begin().await?;
    let pruned = idempotency::prune(&mut tx, Utc::now() - IDEMPOTENCY_RETENTION).await?;
    if pruned == 0 {
        tx.rollback().await?;
        return Ok(());
    }
    store.commit(tx).await
}
