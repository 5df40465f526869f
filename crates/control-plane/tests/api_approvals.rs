//! The exception queue over HTTP: four eyes, N-of-M, expiry, If-Match, idempotency and
//! the request bounds, against a real server and SQLite file.

mod common;

use chrono::Duration;
use fleetdeck_api::limits::{MAX_BODY_BYTES, MAX_REASON_CHARS};
use fleetdeck_api::{Approval, ApprovalState, EventsPage, Verdict, kinds};
use reqwest::StatusCode;
use serde_json::json;

fn approve_path(id: &str) -> String {
    format!("/v1/approvals/{id}/approve")
}

fn reject_path(id: &str) -> String {
    format!("/v1/approvals/{id}/reject")
}

async fn events_of_kind(ts: &common::TestServer, kind: &str) -> usize {
    let page: EventsPage = ts.get("/v1/events?after=0").by("vic").send().await.json();
    page.events.iter().filter(|e| e.kind == kind).count()
}

#[tokio::test]
async fn four_eyes_and_n_of_m() {
    let ts = common::start().await;
    let a = ts.raise_approval("ann", 2, Duration::hours(1)).await;

    // The requester cannot decide their own request.
    let own = ts.post(&approve_path(&a.id)).by("ann").send().await;
    assert_eq!(own.status, StatusCode::FORBIDDEN);
    assert!(own.problem().detail.contains("four eyes"), "{}", own.body);

    // First of two approvals: still pending.
    let first = ts
        .post(&approve_path(&a.id))
        .by("abe")
        .json(&json!({"comment": "checked the drill plan"}))
        .send()
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let after_first: Approval = first.json();
    assert_eq!(after_first.state, ApprovalState::Pending);
    assert_eq!(after_first.approvals_so_far(), 1);
    assert_eq!(first.etag(), Some(fleetdeck_api::etag(after_first.version)));

    // Each approver counts once.
    let twice = ts.post(&approve_path(&a.id)).by("abe").send().await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert!(twice.problem().detail.contains("already decided"));

    // The second distinct approver makes it approved.
    let second = ts.post(&approve_path(&a.id)).by("ada").send().await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    let done: Approval = second.json();
    assert_eq!(done.state, ApprovalState::Approved);
    assert_eq!(done.decisions.len(), 2);
    assert!(done.decided_at.is_some());

    // Decided approvals cannot be decided again, and say why.
    let late = ts
        .post(&reject_path(&a.id))
        .by("olga")
        .json(&json!({"comment": "too late"}))
        .send()
        .await;
    assert_eq!(
        late.status,
        StatusCode::FORBIDDEN,
        "operators do not decide"
    );
    let late = ts
        .post(&reject_path(&a.id))
        .by("ada")
        .json(&json!({"comment": "too late"}))
        .send()
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert!(late.problem().detail.contains("approved, not pending"));

    assert_eq!(events_of_kind(&ts, kinds::APPROVAL_REQUESTED).await, 1);
    assert_eq!(events_of_kind(&ts, kinds::APPROVAL_DECIDED).await, 2);
    assert_eq!(events_of_kind(&ts, kinds::APPROVAL_APPROVED).await, 1);

    let listed: Vec<Approval> = ts
        .get("/v1/approvals?state=approved")
        .by("vic")
        .send()
        .await
        .json();
    assert_eq!(
        listed,
        vec![done],
        "an answer is what a later read gives back"
    );
    let pending: Vec<Approval> = ts.get("/v1/approvals").by("vic").send().await.json();
    assert!(pending.is_empty());
}

#[tokio::test]
async fn reject_needs_a_comment_and_ends_the_approval() {
    let ts = common::start().await;
    let a = ts.raise_approval("olga", 2, Duration::hours(1)).await;

    let bare = ts.post(&reject_path(&a.id)).by("ann").send().await;
    assert_eq!(bare.status, StatusCode::BAD_REQUEST);
    assert!(bare.problem().detail.contains("'comment' is required"));

    let too_long = ts
        .post(&reject_path(&a.id))
        .by("ann")
        .json(&json!({"comment": "x".repeat(MAX_REASON_CHARS + 1)}))
        .send()
        .await;
    assert_eq!(too_long.status, StatusCode::BAD_REQUEST);
    assert!(too_long.problem().detail.contains("limit"));

    let rejected = ts
        .post(&reject_path(&a.id))
        .by("ann")
        .json(&json!({"comment": "the drill failed twice this week"}))
        .send()
        .await;
    assert_eq!(rejected.status, StatusCode::OK, "{}", rejected.body);
    let r: Approval = rejected.json();
    assert_eq!(r.state, ApprovalState::Rejected);
    assert_eq!(r.decisions[0].verdict, Verdict::Reject);
    assert_eq!(events_of_kind(&ts, kinds::APPROVAL_REJECTED).await, 1);
}

#[tokio::test]
async fn expired_approvals_cannot_be_decided() {
    let ts = common::start().await;
    let a = ts
        .raise_approval("olga", 1, Duration::milliseconds(200))
        .await;
    // The housekeeper expires it within about a second.
    let mut state = ApprovalState::Pending;
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let all: Vec<Approval> = ts
            .get("/v1/approvals?state=expired")
            .by("vic")
            .send()
            .await
            .json();
        if let Some(found) = all.iter().find(|x| x.id == a.id) {
            state = found.state;
            break;
        }
    }
    assert_eq!(state, ApprovalState::Expired);
    assert_eq!(events_of_kind(&ts, kinds::APPROVAL_EXPIRED).await, 1);
    let late = ts.post(&approve_path(&a.id)).by("ann").send().await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert!(late.problem().detail.contains("expired"));
}

#[tokio::test]
async fn if_match_refuses_stale_versions_and_changes_nothing() {
    let ts = common::start().await;
    let a = ts.raise_approval("olga", 2, Duration::hours(1)).await;
    let stale = fleetdeck_api::etag(a.version + 5);
    let refused = ts
        .post(&approve_path(&a.id))
        .by("ann")
        .if_match(&stale)
        .send()
        .await;
    assert_eq!(refused.status, StatusCode::PRECONDITION_FAILED);
    assert!(
        refused
            .problem()
            .detail
            .contains("has changed since you saw it")
    );
    let all: Vec<Approval> = ts.get("/v1/approvals").by("vic").send().await.json();
    assert_eq!(all[0].version, a.version);
    assert!(all[0].decisions.is_empty());
    assert_eq!(events_of_kind(&ts, kinds::APPROVAL_DECIDED).await, 0);

    let current = fleetdeck_api::etag(a.version);
    let ok = ts
        .post(&approve_path(&a.id))
        .by("ann")
        .if_match(&current)
        .send()
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);

    let garbage = ts
        .post(&approve_path(&a.id))
        .by("abe")
        .if_match("yesterday")
        .send()
        .await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn idempotent_replay_key_reuse_and_missing_key() {
    let ts = common::start().await;
    let a = ts.raise_approval("olga", 2, Duration::hours(1)).await;
    let key = uuid::Uuid::new_v4().to_string();
    let body = json!({"comment": "looks fine"});

    let first = ts
        .post(&approve_path(&a.id))
        .key(&key)
        .by("ann")
        .json(&body)
        .send()
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let again = ts
        .post(&approve_path(&a.id))
        .key(&key)
        .by("ann")
        .json(&body)
        .send()
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(
        again.body, first.body,
        "a replay answers exactly the first response"
    );
    assert_eq!(again.etag(), first.etag());
    assert_eq!(
        events_of_kind(&ts, kinds::APPROVAL_DECIDED).await,
        1,
        "one effect"
    );

    // Same key, another request: refused.
    let other = ts
        .post(&approve_path(&a.id))
        .key(&key)
        .by("ann")
        .json(&json!({"comment": "something else"}))
        .send()
        .await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(other.problem().detail.contains("different request"));

    // Same key and body from someone else: another request, not a replay of ann's answer.
    let stranger = ts
        .post(&approve_path(&a.id))
        .key(&key)
        .by("abe")
        .json(&body)
        .send()
        .await;
    assert_eq!(stranger.status, StatusCode::UNPROCESSABLE_ENTITY);

    let missing = ts
        .post(&approve_path(&a.id))
        .no_key()
        .by("abe")
        .send()
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert!(missing.problem().detail.contains("Idempotency-Key"));
    let not_uuid = ts
        .post(&approve_path(&a.id))
        .key("abc")
        .by("abe")
        .send()
        .await;
    assert_eq!(not_uuid.status, StatusCode::BAD_REQUEST);
    assert_eq!(events_of_kind(&ts, kinds::APPROVAL_DECIDED).await, 1);
}

#[tokio::test]
async fn bodies_are_bounded_and_strict() {
    let ts = common::start().await;
    let a = ts.raise_approval("olga", 1, Duration::hours(1)).await;

    let unknown = ts
        .post(&approve_path(&a.id))
        .by("ann")
        .json(&json!({"comment": "ok", "force": true}))
        .send()
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(
        unknown.problem().detail.contains("unknown field `force`"),
        "{}",
        unknown.body
    );

    let syntax = ts
        .post(&approve_path(&a.id))
        .by("ann")
        .raw("{\"comment\":")
        .send()
        .await;
    assert_eq!(syntax.status, StatusCode::BAD_REQUEST);
    assert!(syntax.problem().detail.contains("invalid JSON"));

    let huge = format!("{{\"comment\":\"{}\"}}", "y".repeat(MAX_BODY_BYTES + 10));
    let big = ts
        .post(&approve_path(&a.id))
        .by("ann")
        .raw(huge)
        .send()
        .await;
    assert_eq!(big.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(big.problem().detail.contains(&MAX_BODY_BYTES.to_string()));

    let nowhere = ts
        .post("/v1/approvals/apr-999/approve")
        .by("ann")
        .send()
        .await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
    assert!(nowhere.problem().detail.contains("apr-999"));

    // Nothing above had an effect.
    let pending: Vec<Approval> = ts.get("/v1/approvals").by("vic").send().await.json();
    assert!(pending[0].decisions.is_empty());
}

#[tokio::test]
async fn bad_state_filter_is_refused() {
    let ts = common::start().await;
    let bad = ts.get("/v1/approvals?state=maybe").by("vic").send().await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.problem().detail.contains("unknown approval state"));
    let all = ts.get("/v1/approvals?state=all").by("vic").send().await;
    assert_eq!(all.status, StatusCode::OK);
}

#[tokio::test]
async fn the_same_key_while_the_first_is_still_running_is_409() {
    let ts = common::start().await;
    let a = ts.raise_approval("olga", 2, Duration::hours(1)).await;
    let key = uuid::Uuid::new_v4().to_string();
    // Hold the store's write lock so the first request waits inside its transaction.
    let blocker = ts.store().begin().await.unwrap();
    let first = tokio::spawn(
        ts.client
            .post(ts.url(&approve_path(&a.id)))
            .bearer_auth(common::token("ann"))
            .header("Idempotency-Key", &key)
            .send(),
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let second = ts
        .post(&approve_path(&a.id))
        .key(&key)
        .by("ann")
        .send()
        .await;
    assert_eq!(second.status, StatusCode::CONFLICT);
    assert!(second.problem().detail.contains("still being processed"));
    drop(blocker);
    let first = first.await.unwrap().unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    // Once answered, the key replays.
    let third = ts
        .post(&approve_path(&a.id))
        .key(&key)
        .by("ann")
        .send()
        .await;
    assert_eq!(third.status, StatusCode::OK);
    assert_eq!(events_of_kind(&ts, kinds::APPROVAL_DECIDED).await, 1);
}
