//! The campaign runner end to end on a real SQLite file with the simulated executor:
//! ring by ring, dispatch order and concurrency, gates and bakes, and the operator
//! actions' refusals. Approvals and exceptions: `flow_approvals.rs`.

mod flow_support;

use std::collections::HashSet;

use fleetdeck_api::{CampaignState, Change, Environment, RingState, TargetState, kinds};
use fleetdeck_control_plane::DomainError;
use fleetdeck_control_plane::workflow;
use flow_support::{Env, db, dev_and_staging, gate, pos, replica, request};

#[tokio::test]
async fn campaign_runs_ring_by_ring_to_completion() {
    let fleet = dev_and_staging();
    let env = Env::new(&fleet, &[]).await;
    let c = env.create(request(None, gate(2, 2))).await;
    assert_eq!(c.id, "cmp-1");
    assert_eq!(c.rings.iter().map(|r| r.index).collect::<Vec<_>>(), [0, 1]);
    let done = env
        .wait_for(&c.id, "completion", |c| c.state == CampaignState::Completed)
        .await;
    for r in &done.rings {
        assert_eq!(r.state, RingState::Passed, "ring {}", r.index);
        for t in &r.targets {
            assert_eq!(t.state, TargetState::Done, "{}", t.database_id);
            assert_eq!(t.attempts, 1);
            assert_eq!(env.sim.patch_calls(&t.database_id), 1);
        }
    }
    for d in &fleet {
        let now = env.database(&d.id).await;
        assert_eq!(now.engine_version, "16.3");
        assert!(now.last_patched_at.is_some());
    }
    let ev = env.events().await;
    let ring_ev = |kind: &str, ring: u8| {
        let kind = kind.to_string();
        move |e: &fleetdeck_api::Event| e.kind == kind && e.subject.ring == Some(ring)
    };
    let passed0 = pos(
        &ev,
        "ring 0 passed",
        ring_ev(kinds::CAMPAIGN_RING_PASSED, 0),
    );
    let baking0 = pos(
        &ev,
        "ring 0 baking",
        ring_ev(kinds::CAMPAIGN_RING_BAKING, 0),
    );
    let started1 = pos(
        &ev,
        "ring 1 started",
        ring_ev(kinds::CAMPAIGN_RING_STARTED, 1),
    );
    let first_ring1_target = pos(&ev, "ring 1 target", |e| {
        e.kind == kinds::TARGET_STATE && e.subject.ring == Some(1)
    });
    assert!(baking0 < passed0 && passed0 < started1 && started1 < first_ring1_target);
    pos(&ev, "completed", |e| e.kind == kinds::CAMPAIGN_COMPLETED);
    // Executor output reached the log, attributed to its target.
    assert!(ev.iter().any(|e| e.kind == kinds::EXECUTOR_OUTPUT
        && e.subject.database_id.as_deref() == Some("pg-dev-01")));
    // Target events carry the target and a campaign version that only grows.
    let versions: Vec<u64> = ev
        .iter()
        .filter_map(|e| match &e.change {
            Some(Change::Target {
                campaign_version, ..
            }) => Some(*campaign_version),
            _ => None,
        })
        .collect();
    assert!(versions.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(done.version, env.campaign(&c.id).await.version);
}

#[tokio::test]
async fn replicas_go_before_their_primary_within_the_concurrency_limit() {
    let p = db("pg-stg-10", 0, Environment::Staging, 2);
    let fleet = vec![
        replica("pg-stg-10-r1", &p),
        replica("pg-stg-10-r2", &p),
        replica("pg-stg-10-r3", &p),
        p.clone(),
        db("pg-stg-11", 0, Environment::Staging, 2),
        db("pg-stg-12", 0, Environment::Staging, 2),
    ];
    let env = Env::new(&fleet, &[]).await;
    let c = env.create(request(None, gate(2, 1))).await;
    env.wait_for(&c.id, "completion", |c| c.state == CampaignState::Completed)
        .await;
    // Replay target states from the log: never more than 2 in flight, and the primary
    // starts only after every replica is done.
    let mut in_flight: HashSet<String> = HashSet::new();
    let mut done: HashSet<String> = HashSet::new();
    let mut max = 0;
    for e in env.events().await {
        let Some(Change::Target { target, .. }) = e.change else {
            continue;
        };
        if target.state.is_in_flight() {
            if target.database_id == p.id && !in_flight.contains(&p.id) {
                for r in ["pg-stg-10-r1", "pg-stg-10-r2", "pg-stg-10-r3"] {
                    assert!(done.contains(r), "primary started before {r} was done");
                }
            }
            in_flight.insert(target.database_id.clone());
        } else {
            in_flight.remove(&target.database_id);
        }
        if target.state == TargetState::Done {
            done.insert(target.database_id.clone());
        }
        max = max.max(in_flight.len());
    }
    assert_eq!(max, 2, "the concurrency limit is used and respected");
    assert_eq!(done.len(), 6);
}

#[tokio::test]
async fn failed_gate_pauses_the_campaign_with_the_reason() {
    let fleet = dev_and_staging();
    let env = Env::new(&fleet, &[]).await;
    env.sim.update_config(|c| {
        c.fail_patch.insert("pg-dev-01".into());
        c.fail_precheck.insert("pg-dev-02".into());
    });
    let c = env.create(request(None, gate(1, 2))).await;
    let paused = env
        .wait_for(&c.id, "auto-pause", |c| c.state == CampaignState::Paused)
        .await;
    let reason = paused.paused_reason.clone().unwrap();
    assert!(reason.contains("ring 0 health gate failed"), "{reason}");
    assert!(reason.contains("failure budget of 2"), "{reason}");
    assert!(reason.contains("pg-dev-01 (patch failed"), "{reason}");
    assert!(reason.contains("pg-dev-02 (precheck failed"), "{reason}");
    assert_eq!(paused.rings[0].state, RingState::Failed);
    assert_eq!(paused.rings[0].gate.failures, 2);
    assert_eq!(
        paused.rings[1].state,
        RingState::Pending,
        "ring 1 never entered"
    );
    let ev = env.events().await;
    let failed = pos(&ev, "gate failed", |e| {
        e.kind == kinds::CAMPAIGN_GATE_FAILED
    });
    let auto = pos(&ev, "paused", |e| e.kind == kinds::CAMPAIGN_PAUSED);
    assert!(failed < auto);
    assert_eq!(ev[auto].actor, "runner");
    assert_eq!(
        env.sim.precheck_calls("pg-stg-01"),
        0,
        "nothing dispatched after the pause"
    );

    // Resuming restarts the gate (failed targets stay failed) and the campaign goes on.
    let mut tx = env.store.begin().await.unwrap();
    workflow::resume(
        &mut tx,
        "olga",
        &c.id,
        Some(paused.version),
        Some("known issue"),
        None,
    )
    .await
    .unwrap();
    env.store.commit(tx).await.unwrap();
    let done = env
        .wait_for(&c.id, "completion", |c| c.state == CampaignState::Completed)
        .await;
    assert_eq!(
        done.rings[0]
            .targets
            .iter()
            .filter(|t| t.state == TargetState::Failed)
            .count(),
        2
    );
    assert_eq!(
        env.sim.patch_calls("pg-dev-01"),
        1,
        "a failed target is not retried"
    );
}

#[tokio::test]
async fn a_pause_during_the_bake_makes_the_bake_start_over() {
    let fleet = dev_and_staging();
    let env = Env::new(&fleet, &[]).await;
    let slow_bake = fleetdeck_api::GateSettings {
        bake_seconds: 2000,
        ..gate(2, 2)
    };
    let c = env.create(request(Some(vec![0]), slow_bake)).await;
    let baking = env
        .wait_for(&c.id, "baking", |c| c.rings[0].state == RingState::Baking)
        .await;
    let first_until = baking.rings[0].gate.bake_until.unwrap();
    let mut tx = env.store.begin().await.unwrap();
    let paused = workflow::pause(&mut tx, "olga", &c.id, None, "watching a dashboard", None)
        .await
        .unwrap();
    env.store.commit(tx).await.unwrap();
    assert_eq!(
        paused.paused_reason.as_deref(),
        Some("paused by olga: watching a dashboard")
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(env.campaign(&c.id).await.rings[0].state, RingState::Baking);
    let mut tx = env.store.begin().await.unwrap();
    let resumed = workflow::resume(&mut tx, "olga", &c.id, None, None, None)
        .await
        .unwrap();
    env.store.commit(tx).await.unwrap();
    assert_eq!(resumed.state, CampaignState::Running);
    let again = env
        .wait_for(&c.id, "a new bake", |c| {
            c.rings[0].gate.bake_until.is_some_and(|u| u > first_until)
        })
        .await;
    assert_eq!(again.rings[0].state, RingState::Baking);
    env.wait_for(&c.id, "completion", |c| c.state == CampaignState::Completed)
        .await;
    let bakes = env
        .events()
        .await
        .iter()
        .filter(|e| e.kind == kinds::CAMPAIGN_RING_BAKING)
        .count();
    assert_eq!(bakes, 2);
}

#[tokio::test]
async fn a_health_problem_during_the_bake_fails_the_gate() {
    let fleet = dev_and_staging();
    let env = Env::new(&fleet, &[]).await;
    // A bake of 3000 s takes 3 s here: time enough to change the fleet mid-bake.
    let c = env
        .create(request(
            None,
            fleetdeck_api::GateSettings {
                bake_seconds: 3000,
                ..gate(2, 5)
            },
        ))
        .await;
    // Healthy when verified, degraded once the ring bakes.
    env.wait_for(&c.id, "ring 0 baking", |c| {
        c.rings[0].state == RingState::Baking
    })
    .await;
    env.sim.update_config(|cfg| {
        cfg.degrade_after_patch.insert("pg-dev-02".into());
    });
    let paused = env
        .wait_for(&c.id, "auto-pause", |c| c.state == CampaignState::Paused)
        .await;
    let reason = paused.rings[0].gate.reason.clone().unwrap();
    assert!(
        reason.contains("during the bake, pg-dev-02 is degraded"),
        "{reason}"
    );
}

#[tokio::test]
async fn replication_lag_is_judged_by_the_bake_not_the_verification() {
    let fleet = dev_and_staging();
    // Lag drains over 600 simulated seconds: 6 s here, longer than the whole test.
    let env = Env::with(
        &fleet,
        &[],
        flow_support::settings(),
        fleetdeck_control_plane::executor::simulated::SimConfig {
            time_scale: 100.0,
            ..Default::default()
        },
    )
    .await;
    env.sim.update_config(|c| {
        c.lag_after_patch.insert("pg-stg-01-r1".into(), 95.0);
    });
    let c = env.create(request(Some(vec![1]), gate(2, 2))).await;
    let paused = env
        .wait_for(&c.id, "auto-pause", |c| c.state == CampaignState::Paused)
        .await;
    let ring = &paused.rings[0];
    assert!(
        ring.targets.iter().all(|t| t.state == TargetState::Done),
        "{ring:?}"
    );
    let reason = ring.gate.reason.clone().unwrap();
    assert!(reason.contains("pg-stg-01-r1 replication lag"), "{reason}");
    assert!(reason.contains("exceeds the 30.0s limit"), "{reason}");
}

#[tokio::test]
async fn actions_refuse_bad_input_stale_versions_and_wrong_states() {
    let fleet = dev_and_staging();
    let env = Env::new(&fleet, &[]).await;
    let c = env.create(request(Some(vec![1]), gate(1, 1))).await;
    assert_eq!(c.target_count(), 2);
    assert_eq!(
        c.current_ring,
        Some(1),
        "the fleet's ring number, not a position"
    );
    let mut tx = env.store.begin().await.unwrap();
    let err = workflow::pause(&mut tx, "olga", &c.id, None, "  ", None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, DomainError::Invalid(ref m) if m.contains("reason")),
        "{err}"
    );
    let long = "x".repeat(fleetdeck_api::limits::MAX_REASON_CHARS + 1);
    assert!(matches!(
        workflow::rollback(&mut tx, "olga", &c.id, None, &long, None).await,
        Err(DomainError::Invalid(_))
    ));
    let err = workflow::pause(&mut tx, "olga", &c.id, Some(c.version + 7), "why", None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, DomainError::PreconditionFailed { .. }),
        "{err}"
    );
    let err = workflow::resume(&mut tx, "olga", &c.id, None, None, None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, DomainError::Conflict(ref m) if m.contains("is running")),
        "{err}"
    );
    let err = workflow::pause(&mut tx, "olga", "cmp-99", None, "why", None)
        .await
        .unwrap_err();
    assert!(matches!(err, DomainError::NotFound(_)));
    // A database already in an unfinished campaign cannot join another.
    let err = workflow::create_campaign(&mut tx, "olga", &request(None, gate(1, 1)), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, DomainError::Conflict(ref m) if m.contains("cmp-1")),
        "{err}"
    );
    let mut bad = request(None, gate(0, 1));
    bad.rings = Some(vec![0]);
    assert!(matches!(
        workflow::create_campaign(&mut tx, "olga", &bad, None).await,
        Err(DomainError::Invalid(_))
    ));
    drop(tx);
    let done = env
        .wait_for(&c.id, "completion", |c| c.state == CampaignState::Completed)
        .await;
    let mut tx = env.store.begin().await.unwrap();
    let err = workflow::resume(&mut tx, "olga", &c.id, None, None, None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, DomainError::Conflict(ref m) if m.contains("completed")),
        "{err}"
    );
    let err = workflow::rollback(&mut tx, "olga", &c.id, Some(done.version), "late", None)
        .await
        .unwrap_err();
    assert!(matches!(err, DomainError::Conflict(_)));
}
