//! The campaign runner's approvals end to end on a real SQLite file with the simulated
//! executor: ring promotions (two approvers for tier 1, rejected, expired) and policy
//! exceptions for stale restore evidence.

mod flow_support;

use fleetdeck_api::{
    ApprovalKind, ApprovalState, CampaignState, Environment, RingState, TargetState, Verdict, kinds,
};
use fleetdeck_control_plane::store::approvals;
use fleetdeck_control_plane::workflow;
use flow_support::{Env, db, dev_and_staging, gate, pos, replica, request};

#[tokio::test]
async fn prod_promotion_waits_for_two_approvals_for_tier_one() {
    let p = db("pg-prod-01", 2, Environment::Prod, 1);
    let mut fleet = dev_and_staging();
    fleet.push(replica("pg-prod-01-r1", &p));
    fleet.push(p);
    let env = Env::new(&fleet, &[]).await;
    let c = env.create(request(None, gate(2, 2))).await;
    let waiting = env
        .wait_for(&c.id, "promotion request", |c| {
            c.state == CampaignState::AwaitingApproval
        })
        .await;
    assert_eq!(waiting.current_ring, Some(2));
    assert_eq!(waiting.rings[1].state, RingState::Passed);
    let ring = &waiting.rings[2];
    assert_eq!(ring.state, RingState::AwaitingApproval);
    let id = ring.approval_id.clone().unwrap();
    assert!(waiting.waiting_for.as_deref().unwrap().contains(&id));
    let a = {
        let mut conn = env.store.pool().acquire().await.unwrap();
        approvals::get(&mut conn, &id).await.unwrap().unwrap()
    };
    assert_eq!(a.kind, ApprovalKind::RingPromotion);
    assert_eq!(a.requested_by, "olga");
    assert_eq!(a.approvals_required, 2);
    assert_eq!(
        (
            a.blast_radius.databases,
            a.blast_radius.prod,
            a.blast_radius.tier1
        ),
        (2, 2, 2)
    );
    assert!(a.findings.iter().any(|f| f.code == "tier1-prod"));
    assert_eq!(env.sim.precheck_calls("pg-prod-01-r1"), 0);

    env.decide(&id, "alice", Verdict::Approve).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let still = env.campaign(&c.id).await;
    assert_eq!(
        still.state,
        CampaignState::AwaitingApproval,
        "one of two is not enough"
    );
    assert!(still.waiting_for.as_deref().unwrap().contains("1 of 2"));
    env.decide(&id, "bob", Verdict::Approve).await;
    let done = env
        .wait_for(&c.id, "completion", |c| c.state == CampaignState::Completed)
        .await;
    assert!(
        done.rings[2]
            .targets
            .iter()
            .all(|t| t.state == TargetState::Done)
    );
    let ev = env.events().await;
    let started = pos(&ev, "prod ring started", |e| {
        e.kind == kinds::CAMPAIGN_RING_STARTED && e.subject.ring == Some(2)
    });
    assert!(ev[started].message.contains("approved by alice, bob"));
}

#[tokio::test]
async fn a_rejected_promotion_pauses_and_resume_asks_again() {
    let mut fleet = dev_and_staging();
    fleet.truncate(2);
    fleet.push(db("pg-prod-05", 1, Environment::Prod, 2));
    let env = Env::new(&fleet, &[]).await;
    let c = env.create(request(None, gate(2, 2))).await;
    let waiting = env
        .wait_for(&c.id, "promotion", |c| {
            c.state == CampaignState::AwaitingApproval
        })
        .await;
    let first = waiting.rings[1].approval_id.clone().unwrap();
    env.decide(&first, "alice", Verdict::Reject).await;
    let paused = env
        .wait_for(&c.id, "pause", |c| c.state == CampaignState::Paused)
        .await;
    assert!(
        paused
            .paused_reason
            .as_deref()
            .unwrap()
            .contains("rejected by alice")
    );
    let mut tx = env.store.begin().await.unwrap();
    workflow::resume(&mut tx, "olga", &c.id, None, None, None)
        .await
        .unwrap();
    env.store.commit(tx).await.unwrap();
    let again = env
        .wait_for(&c.id, "a new request", |c| {
            c.state == CampaignState::AwaitingApproval
                && c.rings[1].approval_id.as_deref() != Some(first.as_str())
        })
        .await;
    let second = again.rings[1].approval_id.clone().unwrap();
    env.decide(&second, "alice", Verdict::Approve).await;
    env.wait_for(&c.id, "completion", |c| c.state == CampaignState::Completed)
        .await;
}

#[tokio::test]
async fn an_expired_promotion_pauses_with_the_reason_until_resumed() {
    let mut fleet = dev_and_staging();
    fleet.truncate(1);
    fleet.push(db("pg-prod-07", 1, Environment::Prod, 3));
    let env = Env::with(
        &fleet,
        &[],
        fleetdeck_control_plane::workflow::EngineSettings {
            approval_ttl: std::time::Duration::from_millis(1500),
            ..flow_support::settings()
        },
        fleetdeck_control_plane::executor::simulated::SimConfig {
            time_scale: 10_000.0,
            ..Default::default()
        },
    )
    .await;
    let c = env.create(request(None, gate(1, 1))).await;
    let waiting = env
        .wait_for(&c.id, "promotion", |c| {
            c.state == CampaignState::AwaitingApproval
        })
        .await;
    let first = waiting.rings[1].approval_id.clone().unwrap();
    let paused = env
        .wait_for(&c.id, "pause on expiry", |c| {
            c.state == CampaignState::Paused
        })
        .await;
    assert_eq!(env.approval_state(&first).await, ApprovalState::Expired);
    let reason = paused.paused_reason.clone().unwrap();
    assert!(
        reason.contains(&format!("ring promotion {first} expired")),
        "{reason}"
    );
    assert!(reason.contains("resume to request it again"), "{reason}");
    assert_eq!(
        paused.waiting_for, None,
        "the expired promotion is not waited for"
    );
    assert_eq!(
        paused.on_resume.as_deref(),
        Some(format!("requests the ring 1 promotion again ({first} expired)").as_str())
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        env.campaign(&c.id).await.state,
        CampaignState::Paused,
        "stays paused"
    );

    let mut tx = env.store.begin().await.unwrap();
    workflow::resume(&mut tx, "olga", &c.id, None, Some("back from lunch"), None)
        .await
        .unwrap();
    env.store.commit(tx).await.unwrap();
    let again = env
        .wait_for(&c.id, "a new request", |c| {
            c.rings[1]
                .approval_id
                .as_deref()
                .is_some_and(|id| id != first)
        })
        .await;
    env.decide(
        again.rings[1].approval_id.as_deref().unwrap(),
        "alice",
        Verdict::Approve,
    )
    .await;
    env.wait_for(&c.id, "completion", |c| c.state == CampaignState::Completed)
        .await;
}

#[tokio::test]
async fn stale_evidence_blocks_until_an_exception_is_decided() {
    let fleet = dev_and_staging();
    // pg-dev-01 has never been drilled; pg-dev-02's last drill is 10 days old (policy 7).
    let env = Env::new(&fleet, &["pg-dev-01", "pg-dev-02"]).await;
    {
        let mut tx = env.store.begin().await.unwrap();
        let old = flow_support::good_drill("pg-dev-02", 10);
        fleetdeck_control_plane::store::drills::insert(&mut tx, &old)
            .await
            .unwrap();
        env.store.commit(tx).await.unwrap();
    }
    let c = env.create(request(None, gate(2, 2))).await;
    let blocked = env
        .wait_for(&c.id, "two blocked targets", |c| {
            c.rings[0]
                .targets
                .iter()
                .filter(|t| t.state == TargetState::Blocked)
                .count()
                == 2
        })
        .await;
    let t = |id: &str| {
        blocked.rings[0]
            .targets
            .iter()
            .find(|t| t.database_id == id)
            .unwrap()
            .clone()
    };
    let never = t("pg-dev-01");
    let stale = t("pg-dev-02");
    assert!(
        never
            .message
            .as_deref()
            .unwrap()
            .contains("never restore-drilled")
    );
    assert!(stale.message.as_deref().unwrap().contains("stale"));
    assert!(
        blocked
            .waiting_for
            .as_deref()
            .unwrap()
            .contains("policy exceptions")
    );
    let a = {
        let mut conn = env.store.pool().acquire().await.unwrap();
        approvals::get(&mut conn, stale.approval_id.as_deref().unwrap())
            .await
            .unwrap()
            .unwrap()
    };
    assert_eq!(a.kind, ApprovalKind::PolicyException);
    assert_eq!(a.database_id.as_deref(), Some("pg-dev-02"));
    assert_eq!(a.requested_by, "olga");
    assert_eq!(a.approvals_required, 1);
    assert_eq!(env.sim.precheck_calls("pg-dev-02"), 0);

    env.decide(
        stale.approval_id.as_deref().unwrap(),
        "alice",
        Verdict::Approve,
    )
    .await;
    env.decide(
        never.approval_id.as_deref().unwrap(),
        "alice",
        Verdict::Reject,
    )
    .await;
    let done = env
        .wait_for(&c.id, "completion", |c| c.state == CampaignState::Completed)
        .await;
    let t = |id: &str| {
        done.rings[0]
            .targets
            .iter()
            .find(|t| t.database_id == id)
            .unwrap()
            .clone()
    };
    assert_eq!(t("pg-dev-02").state, TargetState::Done);
    assert_eq!(t("pg-dev-01").state, TargetState::Skipped);
    assert_eq!(env.sim.patch_calls("pg-dev-01"), 0);
    assert_eq!(env.database("pg-dev-01").await.engine_version, "16.2");
    assert_eq!(
        env.approval_state(never.approval_id.as_deref().unwrap())
            .await,
        ApprovalState::Rejected
    );
}
