//! Recovery objectives: a drill that succeeds but misses its tier's RTO or RPO is
//! flagged, and patching on it is a policy exception, as on stale evidence.

mod flow_support;

use std::time::Duration;

use fleetdeck_api::{ApprovalKind, DrillState, Environment, Level, TargetState, kinds};
use fleetdeck_control_plane::config::RecoveryObjectives;
use fleetdeck_control_plane::executor::simulated::SimConfig;
use fleetdeck_control_plane::store::{approvals, drills};
use fleetdeck_control_plane::workflow::{self, EngineSettings};
use flow_support::{Env, db, gate, request, settings};

/// Tier 3 must restore within a minute: the simulated fleet's tier-3 restores take 90
/// to 490 seconds. Its RPO of a day is met (the simulated point lags minutes).
fn strict_tier3() -> EngineSettings {
    let tier3 = RecoveryObjectives {
        rto: Some(Duration::from_secs(60)),
        rpo: Some(Duration::from_secs(24 * 3600)),
    };
    EngineSettings {
        recovery_objectives: [
            RecoveryObjectives::default(),
            RecoveryObjectives::default(),
            tier3,
        ],
        ..settings()
    }
}

#[tokio::test]
async fn a_drill_that_misses_its_rto_is_flagged_and_blocks_patching() {
    let fleet = vec![
        db("pg-slow", 0, Environment::Dev, 3),
        db("pg-quick", 0, Environment::Dev, 2),
    ];
    let sim = SimConfig {
        time_scale: 10_000.0,
        ..SimConfig::default()
    };
    let env = Env::with(&fleet, &["pg-slow", "pg-quick"], strict_tier3(), sim).await;
    let mut tx = env.store.begin().await.unwrap();
    let slow = workflow::start_drill(&mut tx, "olga", "pg-slow", None)
        .await
        .unwrap();
    let quick = workflow::start_drill(&mut tx, "olga", "pg-quick", None)
        .await
        .unwrap();
    env.store.commit(tx).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let mut conn = env.store.pool().acquire().await.unwrap();
        let a = drills::get(&mut conn, &slow.id).await.unwrap().unwrap();
        let b = drills::get(&mut conn, &quick.id).await.unwrap().unwrap();
        if a.state != DrillState::Running && b.state != DrillState::Running {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "drills did not finish"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ev = drills::list_evidence(env.store.pool(), chrono::Utc::now())
        .await
        .unwrap();
    let by = |id: &str| ev.iter().find(|e| e.database_id == id).unwrap().clone();
    let slow_ev = by("pg-slow");
    let d = slow_ev.last_good.as_ref().expect("the drill succeeded");
    let proof = d.proof.as_ref().expect("the objectives are recorded");
    assert_eq!(proof.rto_objective_s, Some(60.0));
    assert!(d.restore_seconds.unwrap() > 60.0);
    let missed = slow_ev.missed_objectives();
    assert_eq!(missed.len(), 1, "{missed:?}");
    assert!(missed[0].starts_with("RTO missed"), "{missed:?}");
    assert!(slow_ev.needs_exception());
    // Tier 2 has no objectives: nothing judged, nothing recorded.
    let quick_ev = by("pg-quick");
    assert!(quick_ev.missed_objectives().is_empty());
    assert_eq!(quick_ev.last_good.as_ref().unwrap().proof, None);
    assert!(!quick_ev.needs_exception());
    let events = env.events().await;
    let finished = events
        .iter()
        .find(|e| {
            e.kind == kinds::DRILL_FINISHED && e.subject.database_id.as_deref() == Some("pg-slow")
        })
        .unwrap();
    assert_eq!(finished.level, Level::Warn);
    assert!(
        finished.message.contains("RTO missed"),
        "{}",
        finished.message
    );

    let c = env.create(request(None, gate(2, 2))).await;
    let blocked = env
        .wait_for(&c.id, "the slow database blocked", |c| {
            c.rings[0]
                .targets
                .iter()
                .any(|t| t.database_id == "pg-slow" && t.state == TargetState::Blocked)
        })
        .await;
    let t = blocked.rings[0]
        .targets
        .iter()
        .find(|t| t.database_id == "pg-slow")
        .unwrap();
    let message = t.message.as_deref().unwrap();
    assert!(
        message.contains("missed its recovery objectives"),
        "{message}"
    );
    let mut conn = env.store.pool().acquire().await.unwrap();
    let a = approvals::get(&mut conn, t.approval_id.as_deref().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.kind, ApprovalKind::PolicyException);
    assert_eq!(a.findings[0].code, "evidence-objective-missed");
    let quick_target = blocked.rings[0]
        .targets
        .iter()
        .find(|t| t.database_id == "pg-quick")
        .unwrap();
    assert_ne!(quick_target.state, TargetState::Blocked);
}
