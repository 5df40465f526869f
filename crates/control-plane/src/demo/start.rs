//! Starting a demo control plane. The generated fleet is seeded into an empty store
//! before the server answers; the demo's workflows (the engine, with the simulated
//! executor scripted over the fleet) start only once the first console has its
//! snapshot and a moment to draw it. Started at once, the demo's first passes (a new
//! campaign over thousands of databases, an evidence scan of the whole fleet) ran on
//! the same two cores as the first snapshot and the console decoding it, and doubled
//! the time to the first frame (docs/performance.md, 7).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::middleware::Next;
use chrono::Utc;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::DomainError;
use crate::executor::simulated::{SimConfig, SimulatedExecutor};
use crate::server::DemoOptions;
use crate::store::{Store, fleet};
use crate::workflow::{Engine, EngineSettings};

/// The demo's executor, as the server announces it.
pub const EXECUTOR: &str = "simulated";
/// The workflows start this long after the first snapshot is served...
const SETTLE: Duration = Duration::from_millis(750);
/// ...or this long after the server is ready, if no console asks for one.
const UNWATCHED: Duration = Duration::from_secs(5);

/// Seeds the generated fleet and its drill history into an empty store; a restarted
/// demo keeps its fleet and history.
pub async fn seed(store: &Store, demo: &DemoOptions) -> Result<(), DomainError> {
    if fleet::count(store.pool()).await? > 0 {
        return Ok(());
    }
    let generated = super::generate(demo.fleet_size, demo.seed, Utc::now());
    let mut tx = store.begin().await?;
    fleet::seed(&mut tx, &generated.databases, &generated.drills).await?;
    store.commit(tx).await
}

/// Learns when the first snapshot has been served.
#[derive(Clone, Default)]
pub struct FirstConsole(Arc<Notify>);

impl FirstConsole {
    /// `app`, telling this when it answers `GET /v1/snapshot` with success.
    pub fn watch(&self, app: Router) -> Router {
        let seen = self.0.clone();
        app.layer(axum::middleware::from_fn(
            move |req: Request, next: Next| {
                let seen = seen.clone();
                async move {
                    let snapshot = req.uri().path() == "/v1/snapshot";
                    let response = next.run(req).await;
                    if snapshot && response.status().is_success() {
                        seen.notify_one();
                    }
                    response
                }
            },
        ))
    }
}

/// Starts the demo's engine once the first console has its data (see the module
/// comment); `None` when the server stops first or the fleet cannot be read.
pub async fn engine_when_watched(
    store: Store,
    demo: DemoOptions,
    settings: EngineSettings,
    first: FirstConsole,
    stop: CancellationToken,
) -> Option<Engine> {
    let wait = async {
        tokio::select! {
            () = first.0.notified() => tokio::time::sleep(SETTLE).await,
            () = tokio::time::sleep(UNWATCHED) => {}
        }
    };
    tokio::select! {
        () = wait => {}
        () = stop.cancelled() => return None,
    }
    let databases = match fleet::list_databases(store.pool()).await {
        Ok(dbs) => dbs,
        Err(e) => {
            tracing::error!(error = %e, "the demo's workflows cannot start: the fleet is unreadable");
            return None;
        }
    };
    let sim = SimConfig::scripted(demo.seed, demo.time_scale, &databases);
    tracing::info!(databases = databases.len(), "demo workflows starting");
    Some(Engine::start(
        store,
        Arc::new(SimulatedExecutor::new(sim)),
        settings,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::Executor;

    #[test]
    fn the_announced_executor_is_the_one_that_runs() {
        let sim = SimulatedExecutor::new(SimConfig::default());
        assert_eq!(sim.name(), EXECUTOR);
    }
}
