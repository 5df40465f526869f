//! Rollback through its four stages, and an engine stopped mid-ring and started again on
//! the same SQLite file.

mod flow_support;

use std::time::Duration;

use fleetdeck_api::{
    CampaignState, Change, Environment, RingState, RollbackStage, TargetState, kinds,
};
use fleetdeck_control_plane::executor::simulated::SimConfig;
use fleetdeck_control_plane::store::Store;
use fleetdeck_control_plane::workflow::{self, Engine};
use flow_support::{Env, db, gate, pos, replica, request, settings};

#[tokio::test]
async fn rollback_runs_four_stages_and_reports_every_mismatch() {
    let s = db("pg-stg-01", 1, Environment::Staging, 2);
    let p = db("pg-prod-01", 2, Environment::Prod, 1);
    let fleet = vec![
        db("pg-dev-01", 0, Environment::Dev, 3),
        db("pg-dev-02", 0, Environment::Dev, 3),
        replica("pg-stg-01-r1", &s),
        s,
        p,
    ];
    let env = Env::new(&fleet, &[]).await;
    env.sim.update_config(|c| {
        c.fail_rollback.insert("pg-dev-02".into());
    });
    let c = env.create(request(None, gate(2, 2))).await;
    // Rings 0 and 1 are patched; the prod ring waits for its promotion.
    let waiting = env
        .wait_for(&c.id, "promotion", |c| {
            c.state == CampaignState::AwaitingApproval
        })
        .await;
    let mut tx = env.store.begin().await.unwrap();
    let rb = workflow::rollback(
        &mut tx,
        "olga",
        &c.id,
        Some(waiting.version),
        "latency regression in staging",
        Some("req-rb".into()),
    )
    .await
    .unwrap();
    env.store.commit(tx).await.unwrap();
    assert_eq!(rb.state, CampaignState::RollingBack);
    assert_eq!(rb.rollback.as_ref().unwrap().stage, RollbackStage::Disable);

    let done = env
        .wait_for(&c.id, "rolled back", |c| {
            c.state == CampaignState::RolledBack
        })
        .await;
    let status = done.rollback.clone().unwrap();
    assert_eq!(status.stage, RollbackStage::Done);
    assert_eq!(status.requested_by, "olga");
    assert!(status.finished_at.is_some());
    assert_eq!(status.mismatches.len(), 1, "{:?}", status.mismatches);
    let m = &status.mismatches[0];
    assert_eq!(
        (
            m.database_id.as_str(),
            m.declared_version.as_str(),
            m.actual_version.as_str()
        ),
        ("pg-dev-02", "16.2", "16.3")
    );
    let t = |id: &str| {
        done.rings
            .iter()
            .flat_map(|r| &r.targets)
            .find(|t| t.database_id == id)
            .unwrap()
            .clone()
    };
    for id in ["pg-dev-01", "pg-stg-01", "pg-stg-01-r1"] {
        assert_eq!(t(id).state, TargetState::RolledBack, "{id}");
        assert_eq!(env.sim.rollback_calls(id), 1, "{id}");
        assert_eq!(env.database(id).await.engine_version, "16.2", "{id}");
    }
    assert_eq!(t("pg-dev-02").state, TargetState::Failed);
    assert!(
        t("pg-dev-02")
            .message
            .unwrap()
            .starts_with("rollback failed")
    );
    assert_eq!(t("pg-prod-01").state, TargetState::Skipped);
    assert!(t("pg-prod-01").message.unwrap().contains("rolled back"));
    assert_eq!(
        env.sim.rollback_calls("pg-prod-01"),
        0,
        "never patched, never reverted"
    );
    assert_eq!(done.rings[0].state, RingState::RolledBack);
    assert_eq!(done.rings[1].state, RingState::RolledBack);

    let ev = env.events().await;
    let stage = |word: &'static str| {
        move |e: &fleetdeck_api::Event| {
            e.kind == kinds::CAMPAIGN_ROLLBACK_STAGE && e.message.contains(word)
        }
    };
    let requested = pos(&ev, "requested", |e| {
        e.kind == kinds::CAMPAIGN_ROLLBACK_REQUESTED
    });
    assert_eq!(ev[requested].correlation_id.as_deref(), Some("req-rb"));
    assert!(ev[requested].message.contains("latency regression"));
    let disable = pos(&ev, "disable", stage("stage 1/4 disable"));
    let revert = pos(&ev, "revert", stage("stage 2/4 revert"));
    let repair = pos(&ev, "repair", stage("stage 3/4 repair"));
    let reconcile = pos(&ev, "reconcile", stage("stage 4/4 reconcile"));
    let report = pos(&ev, "report", stage("reconcile report"));
    let finished = pos(&ev, "rolled back", |e| {
        e.kind == kinds::CAMPAIGN_ROLLED_BACK
    });
    assert!(requested < disable && disable < revert && revert < repair);
    assert!(repair < reconcile && reconcile < report && report < finished);
    assert!(
        ev[report]
            .message
            .contains("pg-dev-02 declared 16.2 actual 16.3")
    );
    // Reverse ring order: ring 1 (primary, then its replica) before ring 0.
    let reverting: Vec<String> = ev
        .iter()
        .filter(|e| e.kind == kinds::TARGET_STATE)
        .filter_map(|e| match &e.change {
            Some(Change::Target { target, .. }) if target.state == TargetState::RollingBack => {
                Some(target.database_id.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(reverting[..2], ["pg-stg-01", "pg-stg-01-r1"]);
    let mut ring0 = reverting[2..].to_vec();
    ring0.sort();
    assert_eq!(ring0, ["pg-dev-01", "pg-dev-02"]);
}

#[tokio::test]
async fn a_restarted_engine_resumes_without_patching_anything_twice() {
    let fleet: Vec<_> = (1..=8)
        .map(|i| db(&format!("pg-dev-{i:02}"), 0, Environment::Dev, 3))
        .collect();
    // Patches take 0.25–0.75 s, so the engine can be stopped in the middle of one.
    let slow = SimConfig {
        time_scale: 100.0,
        ..SimConfig::default()
    };
    let mut env = Env::with(&fleet, &[], settings(), slow).await;
    let c = env.create(request(None, gate(3, 3))).await;
    let mid = env
        .wait_for(&c.id, "a target mid-patch", |c| {
            c.rings[0]
                .targets
                .iter()
                .any(|t| t.state == TargetState::Patching)
        })
        .await;
    // The crash: the engine and its jobs stop between two commits.
    drop(env.engine.take());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let frozen = env.campaign(&c.id).await;
    assert!(frozen.version >= mid.version);
    let interrupted: Vec<String> = frozen.rings[0]
        .targets
        .iter()
        .filter(|t| t.state == TargetState::Patching)
        .map(|t| t.database_id.clone())
        .collect();
    assert!(!interrupted.is_empty());
    // The fleet finished those patches on its own while the control plane was down.
    for id in &interrupted {
        env.sim.force_version(id, "16.3");
    }

    let store = Store::open(&env.state_path()).await.unwrap();
    let engine = Engine::start(store, env.sim.clone(), settings());
    let done = env
        .wait_for(&c.id, "completion after restart", |c| {
            c.state == CampaignState::Completed
        })
        .await;
    engine.shutdown().await;
    for t in &done.rings[0].targets {
        assert_eq!(t.state, TargetState::Done, "{}", t.database_id);
        assert_eq!(
            env.sim.patch_calls(&t.database_id),
            1,
            "{} patched twice",
            t.database_id
        );
        assert_eq!(t.attempts, 1);
    }
    let ev = env.events().await;
    for id in &interrupted {
        assert!(
            ev.iter().any(|e| e.kind == kinds::TARGET_STATE
                && e.subject.database_id.as_deref() == Some(id.as_str())
                && e.message.contains("re-verifying")),
            "{id} was re-verified"
        );
    }
}

#[tokio::test]
async fn an_engine_shut_down_cleanly_continues_a_rollback_after_restart() {
    let fleet: Vec<_> = (1..=4)
        .map(|i| db(&format!("pg-dev-{i:02}"), 0, Environment::Dev, 3))
        .collect();
    // Reverts take 0.4–1.2 s, two at a time.
    let slow = SimConfig {
        time_scale: 50.0,
        ..SimConfig::default()
    };
    let mut env = Env::with(&fleet, &[], settings(), slow).await;
    let c = env.create(request(None, gate(2, 4))).await;
    let baking = env
        .wait_for(&c.id, "ring 0 baking", |c| {
            c.rings[0].state == RingState::Baking
        })
        .await;
    let mut tx = env.store.begin().await.unwrap();
    workflow::rollback(&mut tx, "olga", &c.id, Some(baking.version), "abort", None)
        .await
        .unwrap();
    env.store.commit(tx).await.unwrap();
    env.wait_for(&c.id, "revert under way", |c| {
        c.rings[0]
            .targets
            .iter()
            .any(|t| t.state == TargetState::RolledBack)
    })
    .await;
    // A clean shutdown lets the targets being reverted finish and starts no others.
    env.stop().await;
    let frozen = env.campaign(&c.id).await;
    assert_eq!(frozen.state, CampaignState::RollingBack);
    assert!(
        frozen.rings[0]
            .targets
            .iter()
            .any(|t| t.state != TargetState::RolledBack),
        "the rollback was stopped part-way"
    );
    let store = Store::open(&env.state_path()).await.unwrap();
    let engine = Engine::start(store, env.sim.clone(), settings());
    let done = env
        .wait_for(&c.id, "rolled back", |c| {
            c.state == CampaignState::RolledBack
        })
        .await;
    engine.shutdown().await;
    assert!(done.rollback.unwrap().mismatches.is_empty());
    for t in &done.rings[0].targets {
        assert_eq!(t.state, TargetState::RolledBack);
        assert_eq!(
            env.sim.rollback_calls(&t.database_id),
            1,
            "{}",
            t.database_id
        );
    }
}

#[tokio::test]
async fn a_patch_cut_short_by_a_crash_is_reported_not_repeated() {
    let fleet: Vec<_> = (1..=3)
        .map(|i| db(&format!("pg-dev-{i:02}"), 0, Environment::Dev, 3))
        .collect();
    let slow = SimConfig {
        time_scale: 100.0,
        ..SimConfig::default()
    };
    let mut env = Env::with(&fleet, &[], settings(), slow).await;
    let c = env.create(request(None, gate(1, 3))).await;
    let mid = env
        .wait_for(&c.id, "a target mid-patch", |c| {
            c.rings[0]
                .targets
                .iter()
                .any(|t| t.state == TargetState::Patching)
        })
        .await;
    drop(env.engine.take());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let cut = env.campaign(&c.id).await.rings[0]
        .targets
        .iter()
        .find(|t| t.state == TargetState::Patching)
        .map(|t| t.database_id.clone())
        .expect("still patching when the engine died");
    assert!(mid.version <= env.campaign(&c.id).await.version);

    let store = Store::open(&env.state_path()).await.unwrap();
    let engine = Engine::start(store, env.sim.clone(), settings());
    let done = env
        .wait_for(&c.id, "completion", |c| c.state == CampaignState::Completed)
        .await;
    engine.shutdown().await;
    let t = done.rings[0]
        .targets
        .iter()
        .find(|t| t.database_id == cut)
        .unwrap();
    assert_eq!(t.state, TargetState::Failed);
    assert!(
        t.message.as_deref().unwrap().contains("not patched again"),
        "{t:?}"
    );
    for t in &done.rings[0].targets {
        assert_eq!(env.sim.patch_calls(&t.database_id), 1, "{}", t.database_id);
    }
}
