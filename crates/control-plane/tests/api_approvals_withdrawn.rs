//! A finished campaign's pending approvals are withdrawn with it: a ring promotion still
//! waiting when the campaign is rolled back leaves the queue in the transaction that
//! finishes the campaign (API v1 has no "withdrawn" state: it becomes `expired`, with
//! an `approval.expired` event saying it was withdrawn and why), and can no longer be
//! decided.

mod common;

use std::time::{Duration, Instant};

use common::TestServer;
use fleetdeck_api::{Approval, ApprovalState, Campaign, CampaignState, Event, kinds};
use reqwest::StatusCode;
use serde_json::json;

/// Generous: the engine takes milliseconds per step on the simulated executor; the
/// bound only keeps a broken build from hanging.
const WITHIN: Duration = Duration::from_secs(60);

async fn approvals_of(ts: &TestServer, campaign: &str, state: &str) -> Vec<Approval> {
    let all: Vec<Approval> = ts
        .get(&format!("/v1/approvals?state={state}"))
        .by("vic")
        .send()
        .await
        .json();
    all.into_iter()
        .filter(|a| a.campaign_id.as_deref() == Some(campaign))
        .collect()
}

async fn campaign(ts: &TestServer, id: &str) -> Campaign {
    ts.get(&format!("/v1/campaigns/{id}"))
        .by("vic")
        .send()
        .await
        .json()
}

/// Polls until `done` holds (the engine works on its own; the API is all we watch).
async fn until<T, F, Fut>(what: &str, mut read: F, done: impl Fn(&T) -> bool) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let start = Instant::now();
    loop {
        let value = read().await;
        if done(&value) {
            return value;
        }
        assert!(start.elapsed() < WITHIN, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_back_withdraws_the_campaigns_pending_approvals() {
    let ts = common::start_with_fleet().await;
    let c: Campaign = ts
        .post("/v1/campaigns")
        .by("olga")
        .json(&json!({"title": "postgres 16.4", "target_version": "16.4"}))
        .send()
        .await
        .json();
    // The dev databases were never restore-drilled: each waits for a policy exception.
    let pending = until(
        "the exception requests",
        || approvals_of(&ts, &c.id, "pending"),
        |a| !a.is_empty(),
    )
    .await;

    let rolled = ts
        .post(&format!("/v1/campaigns/{}/rollback", c.id))
        .by("olga")
        .json(&json!({"reason": "error rate up"}))
        .send()
        .await;
    assert_eq!(rolled.status, StatusCode::OK, "{}", rolled.body);
    until(
        "the rollback to finish",
        || campaign(&ts, &c.id),
        |c| c.state == CampaignState::RolledBack,
    )
    .await;

    assert!(approvals_of(&ts, &c.id, "pending").await.is_empty());
    let ended = approvals_of(&ts, &c.id, "expired").await;
    for p in &pending {
        let a = ended
            .iter()
            .find(|a| a.id == p.id)
            .unwrap_or_else(|| panic!("{} is not expired: {ended:?}", p.id));
        assert_eq!(a.state, ApprovalState::Expired);
        assert_eq!(a.version, p.version + 1);
        assert!(a.decisions.is_empty() && a.decided_at.is_some());
    }

    // The withdrawals' events follow the campaign's end, in the same commit (adjacent
    // sequence numbers), and say what happened.
    let log = ts.all_events().await;
    let end = log
        .iter()
        .find(|e| e.kind == kinds::CAMPAIGN_ROLLED_BACK)
        .expect("the rolled-back event");
    let withdrawal: Vec<&Event> = log
        .iter()
        .filter(|e| e.kind == kinds::APPROVAL_EXPIRED)
        .collect();
    let seqs: Vec<u64> = withdrawal.iter().map(|e| e.seq).collect();
    let n = withdrawal.len() as u64;
    assert_eq!(seqs, (end.seq + 1..=end.seq + n).collect::<Vec<_>>());
    let said = format!("{} is rolled back", c.id);
    for p in &pending {
        let ev = withdrawal
            .iter()
            .find(|e| e.subject.approval_id.as_deref() == Some(p.id.as_str()))
            .unwrap_or_else(|| panic!("no withdrawal event for {}", p.id));
        assert!(
            ev.message.contains("withdrawn") && ev.message.contains(&said),
            "{}",
            ev.message
        );
    }

    // Nobody can decide them any more.
    let late = ts
        .post(&format!("/v1/approvals/{}/approve", pending[0].id))
        .by("ann")
        .json(&json!({"comment": "too late"}))
        .send()
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.body);
    assert!(late.problem().detail.contains("expired"));
}
