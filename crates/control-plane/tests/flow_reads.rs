//! The engine's decisions rest on what one moment of the store says, re-checked when an
//! executor call came between the read and the write: a bake whose health check outlived
//! a pause and a resume is judged by the bake that runs now; a reconcile that found a
//! version mismatch corrects the database as stored when it writes, keeping a change
//! committed while it looked.

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

/// The simulated fleet, except that one call (the `hold_at`-th of `op`) waits until the
/// test lets it go.
struct Held {
    sim: Arc<SimulatedExecutor>,
    op: &'static str,
    hold_at: u32,
    calls: AtomicU32,
    entered: Notify,
    release: Semaphore,
}

impl Held {
    async fn maybe_hold(&self, op: &str) {
        if op == self.op && self.calls.fetch_add(1, Ordering::SeqCst) + 1 == self.hold_at {
            self.entered.notify_one();
            self.release.acquire().await.expect("open").forget();
        }
    }
}

/// An engine over `fleet` whose `hold_at`-th `op` call waits for the test.
async fn held_env(fleet: &[Database], op: &'static str, hold_at: u32) -> (Env, Arc<Held>) {
    let held = Arc::new(std::sync::OnceLock::<Arc<Held>>::new());
    let slot = Arc::clone(&held);
    let env = Env::wrapped(
        fleet,
        &[],
        flow_support::settings(),
        SimConfig {
            time_scale: 10_000.0,
            ..SimConfig::default()
        },
        move |sim| {
            let h = Arc::new(Held {
                sim,
                op,
                hold_at,
                calls: AtomicU32::new(0),
                entered: Notify::new(),
                release: Semaphore::new(0),
            });
            let _ = slot.set(Arc::clone(&h));
            h as Arc<dyn Executor>
        },
    )
    .await;
    let held = held.get().expect("executor built").clone();
    (env, held)
}

impl Held {
    async fn wait_entered(&self, what: &str) {
        tokio::time::timeout(Duration::from_secs(10), self.entered.notified())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
    }
}

impl Executor for Held {
    fn name(&self) -> &str {
        "held"
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
            self.maybe_hold("health").await;
            self.sim.health(db).await
        })
    }
    fn actual_version<'a>(&'a self, db: &'a Database) -> BoxFuture<'a, Result<String, ExecError>> {
        Box::pin(async move {
            self.maybe_hold("actual_version").await;
            self.sim.actual_version(db).await
        })
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
    let (env, held) = held_env(&[db("pg-dev-01", 0, Environment::Dev, 3)], "health", 2).await;
    // A bake of 2 s at the tests' time scale.
    let mut g = flow_support::gate(1, 1);
    g.bake_seconds = 2000;
    let c = env.create(request(None, g)).await;
    held.wait_entered("the bake's first health check").await;
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

#[tokio::test]
async fn reconcile_corrects_the_inventory_as_it_is_stored_when_it_writes() {
    // Version read 1 verifies the patch; read 2 is the reconcile's.
    let (env, held) = held_env(
        &[db("pg-dev-01", 0, Environment::Dev, 3)],
        "actual_version",
        2,
    )
    .await;
    env.sim.update_config(|c| {
        c.fail_rollback.insert("pg-dev-01".into());
    });
    // A long bake holds the ring open for the rollback.
    let mut g = flow_support::gate(1, 1);
    g.bake_seconds = 600_000;
    let c = env.create(request(None, g)).await;
    let baking = env
        .wait_for(&c.id, "the bake", |c| c.rings[0].state == RingState::Baking)
        .await;
    let mut tx = env.store.begin().await.unwrap();
    workflow::rollback(&mut tx, "olga", &c.id, Some(baking.version), "undo", None)
        .await
        .unwrap();
    env.store.commit(tx).await.unwrap();
    held.wait_entered("the reconcile's version read").await;
    // The configuration changes the database while the reconcile looks at it.
    let mut tx = env.store.begin().await.unwrap();
    let moved = Database {
        owner_team: "platform".into(),
        ..env.database("pg-dev-01").await
    };
    fleetdeck_control_plane::store::fleet::upsert_database(&mut tx, &moved)
        .await
        .unwrap();
    env.store.commit(tx).await.unwrap();
    held.release.add_permits(1);
    let done = env
        .wait_for(&c.id, "rolled back", |c| {
            c.state == CampaignState::RolledBack
        })
        .await;
    assert_eq!(done.rollback.unwrap().mismatches.len(), 1);
    let db = env.database("pg-dev-01").await;
    assert_eq!(db.engine_version, "16.3", "corrected to what runs");
    assert_eq!(
        db.owner_team, "platform",
        "the change committed during the reconcile's version read is kept"
    );
}
