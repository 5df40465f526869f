//! Group commit seen from the API: many mutating actions sent at once (so the server
//! may put any of them in one transaction) are each answered for themselves, each with
//! its own audit event and idempotency record, actions that fail change nothing and
//! take no other action down, and the event log stays contiguous. The assertions hold
//! whichever actions end up sharing a commit, so nothing here depends on timing.

mod common;

use std::collections::HashMap;

use chrono::Duration;
use common::Answer;
use fleetdeck_api::{Approval, ApprovalState, Event, kinds};
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::json;

const APPROVALS: usize = 24;

/// What one request was meant to do.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Intent {
    /// Approve a pending approval: 200.
    Approve,
    /// Approve with a stale `If-Match`: 412, nothing stored.
    Stale,
    /// Approve an approval that does not exist: 404, nothing stored.
    Missing,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_actions_are_each_answered_with_their_own_event_record_and_failures() {
    let ts = common::start().await;
    let mut ids = Vec::new();
    for _ in 0..APPROVALS {
        ids.push(ts.raise_approval("olga", 1, Duration::hours(1)).await.id);
    }
    let before = ts.all_events().await;

    // Every third approval gets a stale If-Match first (it fails), then the real
    // approval; a few requests name approvals that do not exist.
    let mut plan: Vec<(Intent, String, String)> = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        if i % 3 == 0 {
            plan.push((Intent::Stale, id.clone(), uuid::Uuid::new_v4().to_string()));
        }
        plan.push((
            Intent::Approve,
            id.clone(),
            uuid::Uuid::new_v4().to_string(),
        ));
        if i % 8 == 0 {
            let missing = format!("apr-missing-{i}");
            plan.push((Intent::Missing, missing, uuid::Uuid::new_v4().to_string()));
        }
    }
    let send = |intent: Intent, id: &str, key: &str| {
        let req = ts
            .post(&format!("/v1/approvals/{id}/approve"))
            .key(key)
            .by("ann")
            .json(&json!({ "comment": format!("ok {key}") }));
        let req = if intent == Intent::Stale {
            req.if_match("\"99\"")
        } else {
            req
        };
        req.send()
    };
    let answers: Vec<Answer> =
        join_all(plan.iter().map(|(intent, id, key)| send(*intent, id, key))).await;

    let mut fails_of: HashMap<&str, StatusCode> = HashMap::new();
    for ((intent, id, key), answer) in plan.iter().zip(&answers) {
        let expected = match intent {
            Intent::Approve => StatusCode::OK,
            Intent::Stale => StatusCode::PRECONDITION_FAILED,
            Intent::Missing => StatusCode::NOT_FOUND,
        };
        assert_eq!(answer.status, expected, "{intent:?} {id}: {}", answer.body);
        if *intent == Intent::Approve {
            let a: Approval = answer.json();
            assert_eq!(
                (a.id.as_str(), a.state),
                (id.as_str(), ApprovalState::Approved)
            );
        } else {
            answer.problem();
            fails_of.insert(key.as_str(), expected);
        }
    }

    // Each successful action's events (decided, then approved) carry that request's
    // correlation id, in one run of the log; the failed ones left none; the log is
    // contiguous from the first event on.
    let events = ts.all_events().await;
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=events.len() as u64).collect::<Vec<_>>());
    // A refused action leaves only its audit record (written a moment after the answer;
    // `api_refusals.rs`).
    for e in &events {
        if let Some(key) = e
            .correlation_id
            .as_deref()
            .and_then(|c| c.strip_prefix("req-"))
            && fails_of.get(key) == Some(&StatusCode::PRECONDITION_FAILED)
        {
            assert_eq!(e.kind, kinds::ACTION_REFUSED, "{e:?}");
        }
    }
    let events = outcomes(events);
    let new = &events[before.len()..];
    let approved: Vec<&(Intent, String, String)> = plan
        .iter()
        .filter(|(intent, _, _)| *intent == Intent::Approve)
        .collect();
    assert_eq!(new.len(), 2 * approved.len(), "two events per success");
    for (_, id, key) in &approved {
        let correlation = format!("req-{key}");
        let mine: Vec<&Event> = new
            .iter()
            .filter(|e| e.correlation_id.as_deref() == Some(correlation.as_str()))
            .collect();
        let seen: Vec<&str> = mine.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            seen,
            [kinds::APPROVAL_DECIDED, kinds::APPROVAL_APPROVED],
            "the events of {key}"
        );
        assert_eq!(
            mine[1].seq,
            mine[0].seq + 1,
            "one action's events are adjacent"
        );
        assert!(
            mine.iter()
                .all(|e| e.subject.approval_id.as_deref() == Some(id.as_str()))
        );
    }

    // Each success has its own idempotency record: a retry gets the first answer back
    // and changes nothing. A failed action stored nothing: its retry is judged afresh.
    for ((intent, id, key), first) in plan.iter().zip(&answers) {
        let retry = send(*intent, id, key).await;
        if *intent == Intent::Approve {
            assert_eq!((retry.status, &retry.body), (first.status, &first.body));
        } else {
            assert_eq!(retry.status, fails_of[key.as_str()], "{}", retry.body);
        }
    }
    assert_eq!(
        outcomes(ts.all_events().await).len(),
        events.len(),
        "retries add nothing"
    );
}

/// The events that are the actions' effects, without the audit of refused ones.
fn outcomes(events: Vec<Event>) -> Vec<Event> {
    events
        .into_iter()
        .filter(|e| e.kind != kinds::ACTION_REFUSED)
        .collect()
}
