//! The engine: one loop that wakes on every committed change (and on a short tick for
//! time-based work), steps each unfinished campaign, expires approvals, schedules
//! drills and, in demo mode, plays the part of the humans. Executor calls run in jobs
//! beside the loop; each job owns a claim so no target, bake, rollback or drill is ever
//! worked on twice at once.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use fleetdeck_api::CampaignState;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{bake, demo, health, rollback, runner, scheduler, target};
use crate::DomainError;
use crate::config::HealthPolicy;
use crate::executor::Executor;
use crate::store::{Store, approvals, campaigns};

/// How the engine behaves; [`Default`] is a real fleet at real speed.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// Durations the engine waits (bake time, retry back-off) are divided by this; the
    /// demo runs at 60 or more so a campaign moves within a minute.
    pub time_scale: f64,
    /// Restore-drill interval by tier (1, 2, 3), for databases that do not set their own.
    pub drill_policy_days: [u32; 3],
    /// The scheduler keeps at most this many drills running.
    pub max_concurrent_drills: usize,
    /// Recovery objectives by tier (1, 2, 3), recorded with each drill it judges.
    pub recovery_objectives: [crate::config::RecoveryObjectives; 3],
    /// How long a requested approval stays pending before it expires (not scaled:
    /// people decide in real time).
    pub approval_ttl: Duration,
    /// How the fleet's health is polled; `None` polls nothing (health is then only
    /// observed by campaigns: after a patch, during a bake, in a rollback's repair).
    pub health: Option<HealthPolicy>,
    /// Demo mode: keep a campaign going and play operator and approvers.
    pub demo: Option<demo::DemoSettings>,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            time_scale: 1.0,
            drill_policy_days: [7, 14, 30],
            max_concurrent_drills: 2,
            recovery_objectives: Default::default(),
            approval_ttl: Duration::from_secs(4 * 3600),
            health: None,
            demo: None,
        }
    }
}

impl EngineSettings {
    /// The drill interval for a tier (tiers past 3 use the tier-3 policy).
    pub fn policy_days(&self, tier: u8) -> u32 {
        let i = usize::from(tier.clamp(1, 3)) - 1;
        self.drill_policy_days[i]
    }

    /// A tier's recovery objectives (tiers past 3 use tier 3's).
    pub fn objectives(&self, tier: u8) -> crate::config::RecoveryObjectives {
        self.recovery_objectives[usize::from(tier.clamp(1, 3)) - 1]
    }

    pub(crate) fn scaled(&self, d: Duration) -> Duration {
        super::plan::scaled(d, self.time_scale)
    }
}

/// Work the loop hands to a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Job {
    /// Run a target: from precheck when `fresh`, else re-verify (never re-patch).
    Target {
        campaign_id: String,
        database_id: String,
        fresh: bool,
    },
    /// Watch a baking ring until it passes or fails.
    Bake { campaign_id: String },
    /// Carry a rollback through its remaining stages.
    Rollback { campaign_id: String },
    /// Run one queued restore drill.
    Drill { drill_id: String },
}

impl Job {
    pub(crate) fn key(&self) -> String {
        match self {
            Job::Target {
                campaign_id,
                database_id,
                ..
            } => target_key(campaign_id, database_id),
            Job::Bake { campaign_id } => format!("bake/{campaign_id}"),
            Job::Rollback { campaign_id } => format!("rollback/{campaign_id}"),
            Job::Drill { drill_id } => format!("drill/{drill_id}"),
        }
    }
}

pub(crate) fn target_key(campaign_id: &str, database_id: &str) -> String {
    format!("target/{campaign_id}/{database_id}")
}

/// What every part of the engine shares.
pub(crate) struct Shared {
    pub store: Store,
    pub executor: Arc<dyn Executor>,
    pub settings: EngineSettings,
    busy: Mutex<HashSet<String>>,
    cancel: CancellationToken,
}

impl Shared {
    /// The engine is shutting down: jobs stop at their next safe point (after a commit,
    /// before the next executor call that changes something).
    pub(crate) fn stopping(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Resolves when the engine starts shutting down.
    pub(crate) async fn shutting_down(&self) {
        self.cancel.cancelled().await;
    }

    pub(crate) fn is_busy(&self, key: &str) -> bool {
        self.busy.lock().map(|b| b.contains(key)).unwrap_or(true)
    }

    fn claim(self: &Arc<Self>, key: String) -> Option<Claim> {
        let mut busy = self.busy.lock().ok()?;
        busy.insert(key.clone()).then(|| Claim {
            shared: Arc::clone(self),
            key,
        })
    }
}

/// Held by a job while it runs; dropping it frees the key.
struct Claim {
    shared: Arc<Shared>,
    key: String,
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Ok(mut busy) = self.shared.busy.lock() {
            busy.remove(&self.key);
        }
    }
}

/// The running engine. Dropping it without [`Engine::shutdown`] aborts its loop at the
/// next await point, which the design survives like a crash.
pub struct Engine {
    cancel: CancellationToken,
    handle: Option<tokio::task::JoinHandle<()>>,
}

/// How often the loop looks at the clock when nothing is committed.
const TICK: Duration = Duration::from_millis(250);
/// The least time between the starts of two passes.
const MIN_PASS_GAP: Duration = Duration::from_millis(50);
/// How often approvals are checked for expiry.
const EXPIRY_EVERY: Duration = Duration::from_secs(1);
/// How often the drill scheduler looks for stale evidence.
const DRILL_SCAN_EVERY: Duration = Duration::from_secs(2);
/// How long shutdown waits for jobs to reach their next commit before aborting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

impl Engine {
    /// Starts the engine. Campaigns that were running or rolling back when the last
    /// engine stopped continue where they were: targets caught mid-patch are re-verified.
    pub fn start(store: Store, executor: Arc<dyn Executor>, settings: EngineSettings) -> Engine {
        let cancel = CancellationToken::new();
        let shared = Arc::new(Shared {
            store,
            executor,
            settings,
            busy: Mutex::new(HashSet::new()),
            cancel: cancel.clone(),
        });
        let handle = tokio::spawn(run(shared, cancel.clone()));
        Engine {
            cancel,
            handle: Some(handle),
        }
    }

    /// Stops dispatching, lets jobs reach a safe point (their next commit), then stops.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        let Some(handle) = self.handle.take() else {
            return;
        };
        if let Err(e) = handle.await
            && e.is_panic()
        {
            tracing::error!("workflow engine panicked: {e}");
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Some(h) = &self.handle {
            h.abort();
        }
    }
}

struct Timers {
    expiry: Instant,
    drills: Instant,
    demo: Instant,
}

async fn run(shared: Arc<Shared>, cancel: CancellationToken) {
    let mut wake: watch::Receiver<u64> = shared.store.subscribe();
    let mut jobs: JoinSet<()> = JoinSet::new();
    let long_ago = Instant::now()
        .checked_sub(Duration::from_secs(3600))
        .unwrap_or_else(Instant::now);
    let mut timers = Timers {
        expiry: long_ago,
        drills: long_ago,
        demo: long_ago,
    };
    // Beside the loop, not a job: it claims nothing and is stopped by the same token.
    // Dropped with this task (an aborted engine), the set aborts it too.
    let mut poller: JoinSet<()> = JoinSet::new();
    if let Some(policy) = shared.settings.health.clone() {
        poller.spawn(health::poll(Arc::clone(&shared), policy, cancel.clone()));
    }
    loop {
        let started = Instant::now();
        // Whatever is committed from here on wakes the next pass.
        wake.mark_unchanged();
        while let Some(done) = jobs.try_join_next() {
            report_panic(done);
        }
        if let Err(e) = pass(&shared, &mut jobs, &mut timers).await {
            tracing::warn!("workflow engine: {e}");
        }
        // Commits come in bursts (a target step, its output lines): passes are spaced
        // so one pass sees a whole burst, and a busy fleet does not spin the loop.
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(MIN_PASS_GAP.saturating_sub(started.elapsed())) => {}
        }
        tokio::select! {
            _ = cancel.cancelled() => break,
            r = wake.changed() => {
                if r.is_err() {
                    tokio::time::sleep(TICK).await;
                }
            }
            _ = tokio::time::sleep(TICK) => {}
            Some(done) = jobs.join_next(), if !jobs.is_empty() => report_panic(done),
        }
    }
    // Jobs commit before and after every executor call, so stopping one between its
    // commits is safe; waiting a little lets most reach their end.
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while jobs.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            "workflow engine: {} jobs still running after {:?}; stopping them (they resume at the next start)",
            jobs.len(),
            SHUTDOWN_GRACE
        );
        jobs.abort_all();
        while jobs.join_next().await.is_some() {}
    }
    while let Some(done) = poller.join_next().await {
        report_panic(done);
    }
}

fn report_panic(done: Result<(), tokio::task::JoinError>) {
    if let Err(e) = done
        && e.is_panic()
    {
        tracing::error!("workflow job panicked: {e}");
    }
}

/// One look at everything.
async fn pass(
    shared: &Arc<Shared>,
    jobs: &mut JoinSet<()>,
    timers: &mut Timers,
) -> Result<(), DomainError> {
    let now = Instant::now();
    if now.duration_since(timers.expiry) >= EXPIRY_EVERY {
        timers.expiry = now;
        let mut tx = shared.store.begin().await?;
        let expired = approvals::expire_due(&mut tx, Utc::now()).await?;
        shared.store.commit(tx).await?;
        if !expired.is_empty() {
            tracing::info!("{} approvals expired", expired.len());
        }
    }
    let unfinished = {
        let mut conn = shared.store.pool().acquire().await?;
        campaigns::unfinished(&mut conn).await?
    };
    for c in unfinished {
        // A paused campaign only needs a step to recover targets a stopped engine left,
        // or to say again what resuming will do once one of its approvals moved.
        if c.state == CampaignState::Paused && c.in_flight == 0 && !c.approvals_moved {
            continue;
        }
        match runner::step(shared, &c.id).await {
            Ok(new) => new.into_iter().for_each(|j| spawn(shared, jobs, j)),
            Err(e) => tracing::warn!("campaign {}: {e}", c.id),
        }
    }
    let scan = now.duration_since(timers.drills) >= DRILL_SCAN_EVERY;
    if scan {
        timers.drills = now;
    }
    for j in scheduler::step(shared, scan).await? {
        spawn(shared, jobs, j);
    }
    if let Some(demo) = &shared.settings.demo
        && now.duration_since(timers.demo) >= demo::TICK
    {
        timers.demo = now;
        if let Err(e) = demo::step(shared, demo).await {
            tracing::warn!("demo driver: {e}");
        }
    }
    Ok(())
}

fn spawn(shared: &Arc<Shared>, jobs: &mut JoinSet<()>, job: Job) {
    let Some(claim) = shared.claim(job.key()) else {
        return;
    };
    let shared = Arc::clone(shared);
    jobs.spawn(async move {
        let key = claim.key.clone();
        let result = match &job {
            Job::Target {
                campaign_id,
                database_id,
                fresh,
            } => target::run(&shared, campaign_id, database_id, *fresh).await,
            Job::Bake { campaign_id } => bake::bake(&shared, campaign_id).await,
            Job::Rollback { campaign_id } => rollback::run(&shared, campaign_id).await,
            Job::Drill { drill_id } => scheduler::run_drill(&shared, drill_id).await,
        };
        if let Err(e) = result {
            tracing::warn!("{key}: {e}");
        }
        drop(claim);
    });
}
