//! The demo driver keeps a generated fleet busy: campaigns start, approvals are given by
//! the demo's approvers, paused campaigns carry on, and a new campaign follows the last.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use fleetdeck_api::{ApprovalState, CampaignState, kinds};
use fleetdeck_control_plane::executor::simulated::{SimConfig, SimulatedExecutor};
use fleetdeck_control_plane::store::{Store, approvals, campaigns, events, fleet};
use fleetdeck_control_plane::workflow::{DemoSettings, Engine, EngineSettings};

#[tokio::test]
async fn the_demo_never_goes_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("demo.db")).await.unwrap();
    let generated = fleetdeck_control_plane::demo::generate(60, 7, Utc::now());
    let mut tx = store.begin().await.unwrap();
    fleet::seed(&mut tx, &generated.databases, &generated.drills)
        .await
        .unwrap();
    store.commit(tx).await.unwrap();
    let sim = SimConfig::scripted(7, 5_000.0, &generated.databases);
    let engine = Engine::start(
        store.clone(),
        Arc::new(SimulatedExecutor::new(sim)),
        EngineSettings {
            time_scale: 5_000.0,
            max_concurrent_drills: 2,
            demo: Some(DemoSettings {
                think_time: Duration::from_millis(300),
                ..DemoSettings::default()
            }),
            ..EngineSettings::default()
        },
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    loop {
        let all = campaigns::list_campaigns(store.pool()).await.unwrap();
        let finished = all.iter().filter(|c| c.state.is_finished()).count();
        if finished >= 2 && all.len() > finished {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the demo stalled: {:?}",
            all.iter()
                .map(|c| (
                    c.id.clone(),
                    c.state,
                    c.paused_reason.clone(),
                    c.waiting_for.clone()
                ))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    engine.shutdown().await;
    let log = events::after(store.pool(), 0, 1_000_000).await.unwrap();
    let approved = approvals::list(store.pool(), Some(ApprovalState::Approved))
        .await
        .unwrap();
    assert!(
        approved
            .iter()
            .flat_map(|a| &a.decisions)
            .all(|d| d.approver.starts_with("demo-approver")),
    );
    assert!(
        !approved.is_empty(),
        "the demo's approvers decided something"
    );
    assert!(
        log.iter()
            .any(|e| e.kind == kinds::CAMPAIGN_AWAITING_APPROVAL)
    );
    assert!(log.iter().any(|e| e.kind == kinds::DRILL_FINISHED));
    assert!(
        log.iter()
            .any(|e| e.kind == kinds::CAMPAIGN_CREATED && e.actor == "demo-operator")
    );
    let all = campaigns::list_campaigns(store.pool()).await.unwrap();
    assert!(
        all.iter()
            .any(|c| c.state == CampaignState::Completed || c.state == CampaignState::RolledBack)
    );
}
