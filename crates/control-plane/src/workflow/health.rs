//! Health: the one way the control plane looks at a database's health, and the poller
//! that looks at every database on an interval.
//!
//! Whoever asks (the poller, a patch's verification, a bake, a rollback's repair), the
//! answer is recorded as the database's one health record before the asker acts on
//! it, so the inventory (Fleet pane, `GET /v1/databases/{id}`, the snapshot, the event
//! stream) shows what the gates saw.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use fleetdeck_api::{Database, Health, HealthStatus};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::engine::Shared;
use crate::DomainError;
use crate::config::HealthPolicy;
use crate::executor::ExecError;
use crate::store::fleet;

/// Who looked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Observer {
    Poller,
    PatchVerification,
    Bake,
    Repair,
}

impl Observer {
    fn label(self) -> &'static str {
        match self {
            Observer::Poller => "poller",
            Observer::PatchVerification => "patch verification",
            Observer::Bake => "bake",
            Observer::Repair => "rollback repair",
        }
    }

    /// The actor of the events the observation causes.
    fn actor(self) -> &'static str {
        match self {
            Observer::Poller => "poller",
            _ => "runner",
        }
    }
}

/// Asks the executor for `db`'s health and records the answer as its health (a check
/// that failed as `unknown`, with why). Returns the executor's answer for the caller to
/// judge, as recorded.
pub(crate) async fn observe(
    shared: &Shared,
    db: &Database,
    by: Observer,
    timeout: Option<Duration>,
) -> Result<Health, ExecError> {
    let (answer, seen) = look(shared, db, by, timeout).await;
    if let Err(e) = record(shared, &db.id, seen.clone(), by).await {
        tracing::warn!(database = %db.id, error = %e, "recording a health observation failed");
    }
    answer.map(|_| seen)
}

/// Asks the executor; returns its answer and the health to record from it. `timeout`:
/// a check not answered by then counts as the server down.
async fn look(
    shared: &Shared,
    db: &Database,
    by: Observer,
    timeout: Option<Duration>,
) -> (Result<Health, ExecError>, Health) {
    let asked = shared.executor.health(db);
    let answer = match timeout {
        None => asked.await,
        Some(limit) => match tokio::time::timeout(limit, asked).await {
            Ok(answer) => answer,
            Err(_) => Ok(Health {
                status: HealthStatus::Down,
                findings: vec![format!(
                    "no answer to the health check within {} s",
                    limit.as_secs_f64()
                )],
                check_ms: Some(limit.as_secs_f64() * 1000.0),
                ..Health::default()
            }),
        },
    };
    let mut seen = match &answer {
        Ok(h) => h.clone(),
        Err(e) => Health {
            status: HealthStatus::Unknown,
            findings: vec![format!("the health check failed: {e}")],
            ..Health::default()
        },
    };
    seen.checked_at.get_or_insert_with(Utc::now);
    seen.checked_by = Some(by.label().to_string());
    (answer, seen)
}

async fn record(
    shared: &Shared,
    id: &str,
    health: Health,
    by: Observer,
) -> Result<(), DomainError> {
    let mut tx = shared.store.begin().await?;
    fleet::record_health(&mut tx, id, health, by.actor()).await?;
    shared.store.commit(tx).await
}

/// Checks every database about once per interval until `cancel`: each round spreads
/// the fleet over the interval (each check moved by the policy's jitter), runs at most
/// `max_concurrent` checks at once, and never two of one database. A database whose
/// last reading is older than three intervals is first marked unknown.
pub(crate) async fn poll(shared: Arc<Shared>, policy: HealthPolicy, cancel: CancellationToken) {
    let limit = Arc::new(Semaphore::new(policy.max_concurrent.max(1)));
    let running: Arc<Mutex<HashSet<String>>> = Arc::default();
    // Dropped on return, which aborts the checks still running and the writer.
    let mut checks: JoinSet<()> = JoinSet::new();
    let (readings, to_write) = mpsc::channel(WRITE_BATCH * 4);
    checks.spawn(write_batches(Arc::clone(&shared), to_write));
    loop {
        let round = Instant::now();
        match round_of(&shared, &policy).await {
            Ok(dbs) => {
                let n = dbs.len();
                let mut planned: Vec<(Duration, Database)> = dbs
                    .into_iter()
                    .enumerate()
                    .map(|(i, db)| (offset(i, n, &policy), db))
                    .collect();
                planned.sort_by_key(|(at, _)| *at);
                for (at, db) in planned {
                    tokio::select! {
                        () = cancel.cancelled() => return,
                        () = tokio::time::sleep_until(round + at) => {}
                    }
                    while checks.try_join_next().is_some() {}
                    let permit = tokio::select! {
                        () = cancel.cancelled() => return,
                        p = Arc::clone(&limit).acquire_owned() => match p {
                            Ok(p) => p,
                            Err(_) => return,
                        },
                    };
                    let Some(claim) = Running::claim(&running, &db.id) else {
                        continue;
                    };
                    let shared = Arc::clone(&shared);
                    let readings = readings.clone();
                    let timeout = policy.timeout;
                    checks.spawn(async move {
                        let _permit = permit;
                        let _claim = claim;
                        // Recorded by the writer; the poller itself judges nothing.
                        let (_, seen) = look(&shared, &db, Observer::Poller, Some(timeout)).await;
                        let _ = readings.send((db.id, seen)).await;
                    });
                }
            }
            Err(e) => tracing::warn!(error = %e, "health poller: cannot read the fleet"),
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep_until(round + policy.interval) => {}
        }
    }
}

/// Readings recorded in one transaction, at most.
const WRITE_BATCH: usize = 256;
/// How long the writer gathers readings before it records them.
const WRITE_WINDOW: Duration = Duration::from_millis(200);

/// Records the poller's readings in batches: a big fleet's polling is a few
/// transactions a second, not one per database.
async fn write_batches(shared: Arc<Shared>, mut readings: mpsc::Receiver<(String, Health)>) {
    while let Some(first) = readings.recv().await {
        let mut batch = vec![first];
        let until = Instant::now() + WRITE_WINDOW;
        while batch.len() < WRITE_BATCH {
            match tokio::time::timeout_at(until, readings.recv()).await {
                Ok(Some(reading)) => batch.push(reading),
                _ => break,
            }
        }
        if let Err(e) = record_batch(&shared, batch).await {
            tracing::warn!(error = %e, "health poller: recording readings failed");
        }
    }
}

async fn record_batch(shared: &Shared, batch: Vec<(String, Health)>) -> Result<(), DomainError> {
    let mut tx = shared.store.begin().await?;
    for (id, health) in batch {
        fleet::record_health(&mut tx, &id, health, Observer::Poller.actor()).await?;
    }
    shared.store.commit(tx).await
}

/// The fleet for one round, after marking unknown the databases whose reading is too
/// old to stand for their health.
async fn round_of(shared: &Shared, policy: &HealthPolicy) -> Result<Vec<Database>, DomainError> {
    let dbs = fleet::list_databases(shared.store.pool()).await?;
    let stale_after = policy.stale_after();
    let before =
        Utc::now() - chrono::Duration::from_std(stale_after).unwrap_or(chrono::Duration::MAX);
    let stale: Vec<&Database> = dbs
        .iter()
        .filter(|d| {
            d.health.status != HealthStatus::Unknown
                && d.health.checked_at.is_some_and(|at| at < before)
        })
        .collect();
    if !stale.is_empty() {
        let why = format!(
            "not checked for three health intervals ({} s)",
            stale_after.as_secs()
        );
        let mut tx = shared.store.begin().await?;
        for db in stale {
            fleet::expire_health(&mut tx, &db.id, before, Observer::Poller.actor(), &why).await?;
        }
        shared.store.commit(tx).await?;
    }
    Ok(dbs)
}

/// When, within a round, the `i`-th of `n` databases is checked: spread evenly, moved
/// by up to the jitter either way, kept within the round.
fn offset(i: usize, n: usize, policy: &HealthPolicy) -> Duration {
    let interval = policy.interval.as_secs_f64();
    let even = interval * i as f64 / n.max(1) as f64;
    let jitter = (fastrand::f64() * 2.0 - 1.0) * policy.jitter * interval;
    Duration::from_secs_f64((even + jitter).clamp(0.0, interval * 0.999))
}

/// A database with a check in flight; the next round skips it until it ends.
struct Running {
    set: Arc<Mutex<HashSet<String>>>,
    id: String,
}

impl Running {
    fn claim(set: &Arc<Mutex<HashSet<String>>>, id: &str) -> Option<Running> {
        let mut running = set.lock().ok()?;
        running.insert(id.to_string()).then(|| Running {
            set: Arc::clone(set),
            id: id.to_string(),
        })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(mut running) = self.set.lock() {
            running.remove(&self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_spreads_the_fleet_over_the_interval() {
        let policy = HealthPolicy {
            interval: Duration::from_secs(30),
            jitter: 0.0,
            ..HealthPolicy::default()
        };
        let at: Vec<f64> = (0..3)
            .map(|i| offset(i, 3, &policy).as_secs_f64())
            .collect();
        assert_eq!(at, vec![0.0, 10.0, 20.0]);
        let jittered = HealthPolicy {
            jitter: 0.5,
            ..policy
        };
        for i in 0..100 {
            let o = offset(i, 100, &jittered);
            assert!(o < Duration::from_secs(30), "{o:?}");
        }
    }
}
