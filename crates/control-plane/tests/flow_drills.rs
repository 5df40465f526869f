//! The restore-drill scheduler and drills started by hand.

mod flow_support;

use std::collections::HashSet;
use std::time::Duration;

use fleetdeck_api::{Change, DrillState, Environment, Freshness, kinds};
use fleetdeck_control_plane::DomainError;
use fleetdeck_control_plane::executor::simulated::SimConfig;
use fleetdeck_control_plane::store::drills;
use fleetdeck_control_plane::workflow::{self, EngineSettings};
use flow_support::{Env, db, good_drill, settings};

async fn wait_until<F: std::future::Future<Output = bool>>(what: &str, f: impl Fn() -> F) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !f().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_scheduler_drills_the_stalest_first_one_at_a_time() {
    let fleet = vec![
        db("pg-a-never", 0, Environment::Dev, 3),
        db("pg-b-stale", 0, Environment::Dev, 3),
        db("pg-c-aging", 0, Environment::Dev, 3),
        db("pg-d-fresh", 0, Environment::Dev, 3),
    ];
    let env = Env::with(
        &fleet,
        &["pg-a-never", "pg-b-stale", "pg-c-aging"],
        EngineSettings {
            max_concurrent_drills: 1,
            ..settings()
        },
        SimConfig {
            time_scale: 10_000.0,
            ..SimConfig::default()
        },
    )
    .await;
    let mut tx = env.store.begin().await.unwrap();
    drills::insert(&mut tx, &good_drill("pg-b-stale", 12))
        .await
        .unwrap();
    drills::insert(&mut tx, &good_drill("pg-c-aging", 6))
        .await
        .unwrap();
    env.store.commit(tx).await.unwrap();

    let pool = env.store.pool().clone();
    wait_until("every database fresh", || {
        let pool = pool.clone();
        async move {
            let ev = drills::list_evidence(&pool, chrono::Utc::now())
                .await
                .unwrap();
            ev.iter().all(|e| e.freshness == Freshness::Fresh)
        }
    })
    .await;
    let events = env.events().await;
    let started: Vec<String> = events
        .iter()
        .filter(|e| e.kind == kinds::DRILL_STARTED)
        .filter_map(|e| e.subject.database_id.clone())
        .collect();
    assert_eq!(started, ["pg-a-never", "pg-b-stale", "pg-c-aging"]);
    // One at a time: each drill finishes before the next starts.
    let mut running = HashSet::new();
    for e in &events {
        match e.kind.as_str() {
            kinds::DRILL_STARTED => {
                running.insert(e.subject.drill_id.clone());
                assert_eq!(running.len(), 1, "more than one drill at once");
            }
            kinds::DRILL_FINISHED => {
                running.remove(&e.subject.drill_id);
            }
            _ => {}
        }
    }
    let detail = drills::database_detail(env.store.pool(), "pg-a-never", chrono::Utc::now())
        .await
        .unwrap()
        .unwrap();
    let d = &detail.drills[0];
    assert_eq!(d.state, DrillState::Succeeded);
    assert_eq!(d.requested_by, "scheduler");
    assert!(d.backup_id.is_some() && d.recovery_point.is_some());
    assert!(d.restore_seconds.unwrap() > 0.0);
    assert_eq!(d.checksum_ok, Some(true));
    assert!(!d.output.is_empty());
    assert_eq!(detail.evidence.freshness, Freshness::Fresh);
    assert_eq!(
        env.sim.drill_calls("pg-d-fresh"),
        0,
        "fresh evidence is left alone"
    );
    // The finished event carries the new evidence.
    let finished = events
        .iter()
        .find(|e| {
            e.kind == kinds::DRILL_FINISHED
                && e.subject.database_id.as_deref() == Some("pg-a-never")
        })
        .unwrap();
    match &finished.change {
        Some(Change::Evidence { evidence }) => assert_eq!(evidence.freshness, Freshness::Fresh),
        other => panic!("unexpected change {other:?}"),
    }
}

#[tokio::test]
async fn a_drill_started_by_hand_runs_and_a_failed_one_is_evidence_too() {
    let fleet = vec![
        db("pg-e-01", 0, Environment::Prod, 1),
        db("pg-e-02", 0, Environment::Prod, 1),
    ];
    let env = Env::new(&fleet, &[]).await;
    env.sim.update_config(|c| {
        c.drill_fails.insert("pg-e-02".into());
    });
    let mut tx = env.store.begin().await.unwrap();
    let d1 = workflow::start_drill(&mut tx, "olga", "pg-e-01", Some("req-d".into()))
        .await
        .unwrap();
    assert_eq!(d1.state, DrillState::Running);
    let err = workflow::start_drill(&mut tx, "olga", "pg-e-01", None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, DomainError::Conflict(ref m) if m.contains(&d1.id)),
        "{err}"
    );
    let err = workflow::start_drill(&mut tx, "olga", "pg-nope", None)
        .await
        .unwrap_err();
    assert!(matches!(err, DomainError::NotFound(_)));
    let d2 = workflow::start_drill(&mut tx, "olga", "pg-e-02", None)
        .await
        .unwrap();
    env.store.commit(tx).await.unwrap();

    let pool = env.store.pool().clone();
    let ids = [d1.id.clone(), d2.id.clone()];
    wait_until("both drills finished", || {
        let pool = pool.clone();
        let ids = ids.clone();
        async move {
            let mut conn = pool.acquire().await.unwrap();
            let mut done = true;
            for id in &ids {
                let d = drills::get(&mut conn, id).await.unwrap().unwrap();
                done &= d.state != DrillState::Running;
            }
            done
        }
    })
    .await;
    let ev = drills::list_evidence(env.store.pool(), chrono::Utc::now())
        .await
        .unwrap();
    let by = |id: &str| ev.iter().find(|e| e.database_id == id).unwrap().clone();
    assert_eq!(by("pg-e-01").freshness, Freshness::Fresh);
    assert_eq!(by("pg-e-01").latest.unwrap().requested_by, "olga");
    let failed = by("pg-e-02");
    assert_eq!(failed.freshness, Freshness::Failed);
    assert_eq!(failed.latest.as_ref().unwrap().checksum_ok, Some(false));
    assert!(
        failed.last_good.is_some(),
        "the older good drill is still known"
    );
    let events = env.events().await;
    assert!(events.iter().any(|e| e.kind == kinds::DRILL_STARTED
        && e.correlation_id.as_deref() == Some("req-d")));
    assert!(events.iter().any(|e| e.kind == kinds::EXECUTOR_OUTPUT
        && e.subject.drill_id.as_deref() == Some(d1.id.as_str())));
}
