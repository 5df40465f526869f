//! Refused actions in the audit trail: a 403 and a 412 are `action.refused` events with
//! the actor, the action, the subject, the reason and the peer address; a flood of
//! refusals is counted into a bounded number of events, none lost from the count.

mod common;

use std::time::{Duration, Instant};

use chrono::Duration as Ttl;
use fleetdeck_api::{Event, GateSettings, kinds};
use fleetdeck_control_plane::http::refusals::{FIRSTS_PER_WINDOW, WINDOW};
use fleetdeck_control_plane::store::{Store, events};
use reqwest::StatusCode;
use serde_json::json;

fn refused(events: &[Event]) -> Vec<&Event> {
    events
        .iter()
        .filter(|e| e.kind == kinds::ACTION_REFUSED)
        .collect()
}

#[tokio::test]
async fn a_403_and_a_412_are_audit_events_with_actor_action_subject_reason_and_peer() {
    let ts = common::start_with_fleet().await;
    let c = ts
        .post("/v1/campaigns")
        .by("olga")
        .json(&json!({
            "title": "pg 16.4",
            "target_version": "16.4",
            "gate": GateSettings { bake_seconds: 3600, ..GateSettings::default() },
        }))
        .send()
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
    let campaign = c.value()["id"].as_str().unwrap().to_string();

    // A viewer may not pause: 403.
    let forbidden = ts
        .post(&format!("/v1/campaigns/{campaign}/pause"))
        .by("vic")
        .json(&json!({"reason": "looks wrong"}))
        .send()
        .await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);

    // An approver who saw an old version: 412.
    let a = ts.raise_approval("olga", 1, Ttl::hours(1)).await;
    let stale = ts
        .post(&format!("/v1/approvals/{}/approve", a.id))
        .by("ann")
        .if_match(&format!("\"{}\"", a.version + 5))
        .json(&json!({}))
        .send()
        .await;
    assert_eq!(
        stale.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        stale.body
    );
    let why_412 = stale.problem().detail;

    // Written a moment after the answer, which never waits for it.
    let deadline = Instant::now() + Duration::from_secs(20);
    let events = loop {
        let events = ts.all_events().await;
        if refused(&events).len() >= 2 || Instant::now() > deadline {
            break events;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let audit = refused(&events);
    assert_eq!(audit.len(), 2, "{audit:#?}");

    let e = audit[0];
    assert_eq!(e.actor, "vic");
    assert_eq!(e.subject.campaign_id.as_deref(), Some(campaign.as_str()));
    assert!(
        e.message.contains("vic asked to pause")
            && e.message.contains("from 127.0.0.1:")
            && e.message.contains("403")
            && e.message.contains("this action needs operator or admin"),
        "{}",
        e.message
    );
    assert!(
        e.correlation_id
            .as_deref()
            .is_some_and(|c| c.starts_with("req-"))
    );

    let e = audit[1];
    assert_eq!(e.actor, "ann");
    assert_eq!(e.subject.approval_id.as_deref(), Some(a.id.as_str()));
    assert!(
        e.message.contains("ann asked to approve")
            && e.message.contains("from 127.0.0.1:")
            && e.message.contains("412 Precondition")
            && e.message.contains(&why_412),
        "{}",
        e.message
    );
    // The refusal changed nothing else: the approval is still pending, undecided.
    let after: Vec<fleetdeck_api::Approval> = ts
        .get("/v1/approvals?state=pending")
        .by("vic")
        .send()
        .await
        .json();
    assert!(after.iter().any(|x| x.id == a.id && x.decisions.is_empty()));
}

/// The number in "refused N more times" or "N more refused actions".
fn counted(e: &Event) -> u64 {
    let m = &e.message;
    if let Some(rest) = m.strip_prefix("refused ")
        && let Some((n, _)) = rest.split_once(" more times")
    {
        return n.parse().unwrap();
    }
    if let Some((n, _)) = m.split_once(" more refused actions") {
        return n.parse().unwrap();
    }
    1
}

#[tokio::test]
async fn a_flood_of_refusals_is_a_bounded_number_of_events_that_count_every_one() {
    let mut ts = common::start_with_fleet().await;
    let started = Instant::now();
    // 1000 refusals of one caller, action and subject, then 200 on as many subjects.
    let same: Vec<String> = (0..1000).map(|_| "cmp-flood".to_string()).collect();
    let many: Vec<String> = (0..200).map(|i| format!("cmp-{i:03}")).collect();
    for chunk in same.chunks(50).chain(many.chunks(50)) {
        let sends = chunk.iter().map(|id| {
            ts.post(&format!("/v1/campaigns/{id}/pause"))
                .by("vic")
                .json(&json!({"reason": "flood"}))
                .send()
        });
        for answer in futures_util::future::join_all(sends).await {
            assert_eq!(answer.status, StatusCode::FORBIDDEN);
        }
    }
    // The shutdown writes the summary of the last window.
    let state = common::state_path(&ts.dir);
    ts.stop().await;
    let windows = started.elapsed().as_secs() / WINDOW.as_secs() + 2;
    let store = Store::open(&state).await.unwrap();
    let all = events::after(store.pool(), 0, 100_000).await.unwrap();
    store.close().await;

    let audit = refused(&all);
    let total: u64 = audit.iter().map(|e| counted(e)).sum();
    assert_eq!(total, 1200, "every refusal is counted once");
    let bound = windows as usize * (2 * FIRSTS_PER_WINDOW + 1);
    assert!(
        audit.len() <= bound,
        "{} events for 1200 refusals in {windows} windows (bound {bound})",
        audit.len()
    );
    // The flood on one subject is one event and its count, not a thousand lines.
    let flood: Vec<_> = audit
        .iter()
        .filter(|e| e.subject.campaign_id.as_deref() == Some("cmp-flood"))
        .collect();
    assert!(flood.len() <= 2 * windows as usize, "{}", flood.len());
    assert!(
        flood
            .iter()
            .any(|e| e.message.contains("more times") && e.message.contains("vic asked to pause")),
        "{flood:#?}"
    );
    assert!(
        audit
            .iter()
            .any(|e| e.message.contains("more refused actions")),
        "the subjects beyond the window's room are counted together"
    );
}
