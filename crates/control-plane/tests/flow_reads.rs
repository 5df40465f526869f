//! The engine's decisions rest on what one moment of the store says: here, a bake whose
//! health check outlived a pause and a resume is judged by the bake that runs now, not
//! by the end of the one it started with.

mod flow_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::Utc;
use fleetdeck_api::{CampaignState, Database, Environment, Health, RingState};
use fleetdeck_control_plane::executor::simulated::{SimConfig, SimulatedExecutor};
use fleetdeck_control_plane::executor::{BoxFuture, DrillOutcome, ExecError, Executor, LogSink};
use fleetdeck_control_plane::workflow;
use flow_support::{Env, db, request};
use tokio::sync::{Notify, Semaphore};

/// The simulated fleet, except that one health check (the `hold_at`-th) waits until
/// the test lets it go.
struct HeldHealth {
    sim: Arc<SimulatedExecutor>,
    calls: AtomicU32,
    hold_at: u32,
    entered: Notify,
    release: Semaphore,
}

impl Executor for HeldHealth {
    fn name(&self) -> &str {
        "held-health"
    }
    fn precheck<'a>(
        &'a self,
        db: &'a Database,
        to: &'a str,
        log: LogSink,
    ) -> BoxFuture<'a, Result<(), ExecError>> {
        self.sim.precheck(db, to, log)
    }
    fn patch<'a>(
        &'a self,
        db: &'a Database,
        to: &'a str,
        log: LogSink,
    ) -> BoxFuture<'a, Result<(), ExecError>> {
        self.sim.patch(db, to, log)
    }
    fn rollback<'a>(
        &'a self,
        db: &'a Database,
        to: &'a str,
        log: LogSink,
    ) -> BoxFuture<'a, Result<(), ExecError>> {
        self.sim.rollback(db, to, log)
    }
    fn health<'a>(&'a self, db: &'a Database) -> BoxFuture<'a, Result<Health, ExecError>> {
        Box::pin(async move {
            if self.calls.fetch_add(1, Ordering::SeqCst) + 1 == self.hold_at {
                self.entered.notify_one();
                self.release.acquire().await.expect("open").forget();
            }
            self.sim.health(db).await
        })
    }
    fn actual_version<'a>(&'a self, db: &'a Database) -> BoxFuture<'a, Result<String, ExecError>> {
        self.sim.actual_version(db)
    }
    fn restore_drill<'a>(
        &'a self,
        db: &'a Database,
        log: LogSink,
    ) -> BoxFuture<'a, Result<DrillOutcome, ExecError>> {
        self.sim.restore_drill(db, log)
    }
}

#[tokio::test]
async fn a_bake_outlived_by_a_pause_and_resume_is_judged_by_the_new_bake() {
    // Health check 1 verifies the patch; check 2 is the bake's first look.
    let held = Arc::new(std::sync::OnceLock::<Arc<HeldHealth>>::new());
    let slot = Arc::clone(&held);
    let env = Env::wrapped(
        &[db("pg-dev-01", 0, Environment::Dev, 3)],
        &[],
        flow_support::settings(),
        SimConfig {
            time_scale: 10_000.0,
            ..SimConfig::default()
        },
        move |sim| {
            let h = Arc::new(HeldHealth {
                sim,
                calls: AtomicU32::new(0),
                hold_at: 2,
                entered: Notify::new(),
                release: Semaphore::new(0),
            });
            let _ = slot.set(Arc::clone(&h));
            h as Arc<dyn Executor>
        },
    )
    .await;
    let held = held.get().expect("executor built").clone();
    // A bake of 2 s at the tests' time scale.
    let mut g = flow_support::gate(1, 1);
    g.bake_seconds = 2000;
    let c = env.create(request(None, g)).await;
    tokio::time::timeout(Duration::from_secs(10), held.entered.notified())
        .await
        .expect("the bake's first health check");
    let first = env.campaign(&c.id).await;
    assert_eq!(first.rings[0].state, RingState::Baking);
    let first_end = first.rings[0].gate.bake_until.unwrap();

    // Paused and resumed after the first bake's end, while its check still runs.
    let mut tx = env.store.begin().await.unwrap();
    workflow::pause(&mut tx, "olga", &c.id, None, "a look", None)
        .await
        .unwrap();
    env.store.commit(tx).await.unwrap();
    while Utc::now() <= first_end {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut tx = env.store.begin().await.unwrap();
    workflow::resume(&mut tx, "olga", &c.id, None, None, None)
        .await
        .unwrap();
    env.store.commit(tx).await.unwrap();
    let second = env
        .wait_for(&c.id, "the bake over again", |c| {
            c.rings[0].state == RingState::Baking
                && c.rings[0].gate.bake_until.is_some_and(|u| u > first_end)
        })
        .await;
    let second_end = second.rings[0].gate.bake_until.unwrap();

    held.release.add_permits(1);
    let done = env
        .wait_for(&c.id, "completion", |c| c.state == CampaignState::Completed)
        .await;
    let passed_at = done.rings[0].finished_at.unwrap();
    assert!(
        passed_at >= second_end,
        "the ring passed at {passed_at}, before the end of the bake that ran ({second_end}): \
         its first bake's end ({first_end}) decided it"
    );
}
