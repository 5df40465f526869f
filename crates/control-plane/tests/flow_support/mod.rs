//! Shared setup for the workflow tests: a real SQLite file in a temp dir, a small
//! declared fleet, the simulated executor, and the engine under test.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use fleetdeck_api::{
    ApprovalState, BackupPolicy, Campaign, CreateCampaign, Database, DbRole, Drill, DrillState,
    Environment, Event, GateSettings, Health, Verdict,
};
use fleetdeck_control_plane::executor::Executor;
use fleetdeck_control_plane::executor::simulated::{SimConfig, SimulatedExecutor};
use fleetdeck_control_plane::store::{Store, approvals, campaigns, events, fleet};
use fleetdeck_control_plane::workflow::{self, Engine, EngineSettings};

pub struct Env {
    pub dir: tempfile::TempDir,
    pub store: Store,
    pub sim: Arc<SimulatedExecutor>,
    pub engine: Option<Engine>,
}

pub fn db(id: &str, ring: u8, env: Environment, tier: u8) -> Database {
    Database {
        id: id.into(),
        engine: "postgres".into(),
        engine_version: "16.2".into(),
        environment: env,
        tier,
        region: "eu-west-1".into(),
        owner_team: "payments".into(),
        role: DbRole::Primary,
        primary_id: None,
        ring,
        host: format!("{id}.db.internal"),
        tags: vec![],
        health: Health::default(),
        last_patched_at: None,
        backup_policy: BackupPolicy {
            schedule: "daily 02:00".into(),
            retention_days: 14,
        },
        drill_interval_days: 7,
        version: 1,
    }
}

pub fn replica(id: &str, of: &Database) -> Database {
    Database {
        role: DbRole::Replica,
        primary_id: Some(of.id.clone()),
        ..db(id, of.ring, of.environment, of.tier)
    }
}

/// A successful drill `days_ago` days ago.
pub fn good_drill(db: &str, days_ago: i64) -> Drill {
    let at = Utc::now() - chrono::Duration::days(days_ago);
    Drill {
        id: format!("drl-seed-{db}"),
        database_id: db.into(),
        state: DrillState::Succeeded,
        requested_by: "scheduler".into(),
        started_at: at - chrono::Duration::minutes(20),
        finished_at: Some(at),
        backup_id: Some(format!("bk-{db}")),
        recovery_point: Some(at - chrono::Duration::minutes(25)),
        restore_seconds: Some(1200.0),
        checksum_ok: Some(true),
        output: "restored".into(),
        proof: None,
    }
}

/// Two dev databases (ring 0) and a staging primary with its replica (ring 1).
pub fn dev_and_staging() -> Vec<fleetdeck_api::Database> {
    let s1 = db("pg-stg-01", 1, Environment::Staging, 2);
    vec![
        db("pg-dev-01", 0, Environment::Dev, 3),
        db("pg-dev-02", 0, Environment::Dev, 3),
        replica("pg-stg-01-r1", &s1),
        s1,
    ]
}

/// Engine settings for tests: a bake of 300 s takes 0.3 s; the scheduler stays idle
/// unless a test asks for drills.
pub fn settings() -> EngineSettings {
    EngineSettings {
        time_scale: 1000.0,
        max_concurrent_drills: 0,
        ..EngineSettings::default()
    }
}

impl Env {
    /// A store seeded with `dbs`, each with fresh evidence unless listed in `no_drill`.
    pub async fn new(dbs: &[Database], no_drill: &[&str]) -> Env {
        let fast = SimConfig {
            time_scale: 10_000.0,
            ..SimConfig::default()
        };
        Env::with(dbs, no_drill, settings(), fast).await
    }

    pub async fn with(
        dbs: &[Database],
        no_drill: &[&str],
        settings: EngineSettings,
        sim: SimConfig,
    ) -> Env {
        Env::wrapped(dbs, no_drill, settings, sim, |sim| sim).await
    }

    /// [`Env::with`], the engine calling the executor `wrap` makes around the simulated
    /// one (a test's hooks between the engine and the fleet).
    pub async fn wrapped(
        dbs: &[Database],
        no_drill: &[&str],
        settings: EngineSettings,
        sim: SimConfig,
        wrap: impl FnOnce(Arc<SimulatedExecutor>) -> Arc<dyn Executor>,
    ) -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("state.db"))
            .await
            .expect("store");
        let drills: Vec<Drill> = dbs
            .iter()
            .filter(|d| !no_drill.contains(&d.id.as_str()))
            .map(|d| good_drill(&d.id, 1))
            .collect();
        let mut tx = store.begin().await.unwrap();
        fleet::seed(&mut tx, dbs, &drills).await.unwrap();
        store.commit(tx).await.unwrap();
        let sim = Arc::new(SimulatedExecutor::new(sim));
        let engine = Engine::start(store.clone(), wrap(sim.clone()), settings);
        Env {
            dir,
            store,
            sim,
            engine: Some(engine),
        }
    }

    pub async fn create(&self, req: CreateCampaign) -> Campaign {
        let mut tx = self.store.begin().await.unwrap();
        let c = workflow::create_campaign(&mut tx, "olga", &req, Some("req-1".into()))
            .await
            .expect("campaign created");
        self.store.commit(tx).await.unwrap();
        c
    }

    pub async fn campaign(&self, id: &str) -> Campaign {
        campaigns::get_campaign(self.store.pool(), id)
            .await
            .unwrap()
            .expect("campaign exists")
    }

    /// Polls until `pred` holds for the campaign (10 s at most), returning it.
    pub async fn wait_for(
        &self,
        id: &str,
        what: &str,
        pred: impl Fn(&Campaign) -> bool,
    ) -> Campaign {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let c = self.campaign(id).await;
            if pred(&c) {
                return c;
            }
            if tokio::time::Instant::now() > deadline {
                let log: Vec<String> = self
                    .events()
                    .await
                    .iter()
                    .map(|e| format!("{} {} {}", e.seq, e.kind, e.message))
                    .collect();
                panic!(
                    "timed out waiting for {what}; campaign is {:?} ({:?})\n{}",
                    c.state,
                    c.paused_reason,
                    log.join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn events(&self) -> Vec<Event> {
        events::after(self.store.pool(), 0, 100_000).await.unwrap()
    }

    pub async fn decide(&self, approval_id: &str, who: &str, verdict: Verdict) {
        let mut tx = self.store.begin().await.unwrap();
        approvals::decide(
            &mut tx,
            approval_id,
            approvals::NewDecision {
                approver: who,
                verdict,
                comment: Some("looked at it"),
                if_match: None,
            },
            Utc::now(),
            None,
        )
        .await
        .expect("decision recorded");
        self.store.commit(tx).await.unwrap();
    }

    pub async fn approval_state(&self, id: &str) -> ApprovalState {
        let mut conn = self.store.pool().acquire().await.unwrap();
        approvals::get(&mut conn, id).await.unwrap().unwrap().state
    }

    pub async fn database(&self, id: &str) -> Database {
        fleet::get_database(self.store.pool(), id)
            .await
            .unwrap()
            .unwrap()
    }

    pub fn state_path(&self) -> std::path::PathBuf {
        self.dir.path().join("state.db")
    }

    pub async fn stop(&mut self) {
        if let Some(e) = self.engine.take() {
            e.shutdown().await;
        }
    }
}

pub fn request(rings: Option<Vec<u8>>, gate: GateSettings) -> CreateCampaign {
    CreateCampaign {
        title: "postgres 16.3 minor".into(),
        target_version: "16.3".into(),
        databases: None,
        rings,
        gate: Some(gate),
        ..CreateCampaign::default()
    }
}

pub fn gate(concurrency: u32, failure_budget: u32) -> GateSettings {
    GateSettings {
        failure_budget,
        bake_seconds: 300,
        max_replication_lag_s: 30.0,
        concurrency,
    }
}

/// Index of the first event matching `pred`, for ordering assertions.
pub fn pos(events: &[Event], what: &str, pred: impl Fn(&Event) -> bool) -> usize {
    events
        .iter()
        .position(pred)
        .unwrap_or_else(|| panic!("no event: {what}"))
}
