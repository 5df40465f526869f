//! Races on a real server: many approvers deciding one approval at once, pause, resume
//! and rollback of one campaign at once, and one Idempotency-Key sent many times at once.
//! Each test checks that the outcome is one a serial order of the same requests could
//! produce, and that the event log says which request won.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use chrono::Duration as ChronoDuration;
use common::{Answer, TestServer, fleet_config, state_path, token};
use fleetdeck_api::{Approval, ApprovalState, Campaign, CampaignState, Role, kinds};
use fleetdeck_control_plane::auth::{TokenEntry, hash_token};
use fleetdeck_control_plane::server::{self, ServeOptions, TokenSource};
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::json;

const APPROVERS: usize = 8;
const REQUESTS_PER_APPROVER: usize = 8;

fn approver(i: usize) -> String {
    format!("approver-{i}")
}

/// A real server over [`fleet_config`] whose users are the common ones plus eight
/// approvers.
async fn start() -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("fleet.toml");
    std::fs::write(&config, fleet_config()).unwrap();
    let mut users: Vec<(String, Vec<Role>)> = common::USERS
        .iter()
        .map(|(u, r)| ((*u).to_string(), r.to_vec()))
        .collect();
    users.extend((0..APPROVERS).map(|i| (approver(i), vec![Role::Approver])));
    let entries = users
        .into_iter()
        .map(|(user, roles)| TokenEntry {
            sha256_hex: hash_token(&token(&user)),
            user,
            roles,
        })
        .collect();
    let server = server::start(ServeOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        state: state_path(&dir),
        tokens: TokenSource::Entries(entries),
        config: Some(config),
        demo: None,
    })
    .await
    .expect("server starts");
    TestServer {
        base: format!("http://{}", server.local_addr()),
        server: Some(server),
        client: reqwest::Client::new(),
        dir,
    }
}

fn statuses<'a>(answers: impl Iterator<Item = &'a Answer>) -> HashMap<u16, usize> {
    let mut m = HashMap::new();
    for a in answers {
        *m.entry(a.status.as_u16()).or_insert(0) += 1;
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_approvals_count_exactly_two() {
    let ts = start().await;
    let a = ts.raise_approval("olga", 2, ChronoDuration::hours(1)).await;
    let path = format!("/v1/approvals/{}/approve", a.id);
    let requests = (0..APPROVERS * REQUESTS_PER_APPROVER).map(|n| {
        let user = approver(n % APPROVERS);
        let path = path.clone();
        let ts = &ts;
        async move {
            let answer = ts
                .post(&path)
                .by(&user)
                .json(&json!({"comment": format!("go ({n})")}))
                .send()
                .await;
            (user, answer)
        }
    });
    let answers: Vec<(String, Answer)> = join_all(requests).await;

    let ok: Vec<&(String, Answer)> = answers
        .iter()
        .filter(|(_, a)| a.status == StatusCode::OK)
        .collect();
    assert_eq!(
        ok.len(),
        2,
        "exactly two decisions count: {:?}",
        statuses(answers.iter().map(|(_, a)| a))
    );
    assert_ne!(ok[0].0, ok[1].0, "two different approvers");
    for (user, answer) in &answers {
        if answer.status == StatusCode::OK {
            continue;
        }
        assert_eq!(
            answer.status,
            StatusCode::CONFLICT,
            "{user}: {}",
            answer.body
        );
        let detail = answer.problem().detail;
        assert!(
            detail.contains("not pending") || detail.contains("already decided"),
            "a 409 says why: {detail}"
        );
    }

    let after: Approval = ts
        .get("/v1/approvals?state=all")
        .by("vic")
        .send()
        .await
        .json::<Vec<Approval>>()
        .into_iter()
        .find(|x| x.id == a.id)
        .unwrap();
    assert_eq!(after.state, ApprovalState::Approved);
    assert_eq!(after.decisions.len(), 2);

    let events = ts.all_events().await;
    let about = |kind: &str| {
        events
            .iter()
            .filter(|e| e.kind == kind && e.subject.approval_id.as_deref() == Some(&a.id))
            .count()
    };
    assert_eq!(
        about(kinds::APPROVAL_DECIDED),
        2,
        "one event per counted decision"
    );
    assert_eq!(about(kinds::APPROVAL_APPROVED), 1, "the state changed once");
}

/// A campaign over the prod ring only: it waits for its promotion approval, where pause
/// and rollback are allowed and resume is not, and nothing moves under the test.
async fn waiting_campaign(ts: &TestServer, round: usize) -> Campaign {
    let created = ts
        .post("/v1/campaigns")
        .by("olga")
        .json(&json!({
            "title": format!("race round {round}"),
            "target_version": "16.4",
            "databases": ["pg-prod-01", "pg-prod-01-r1"],
        }))
        .send()
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let c: Campaign = created.json();
    poll_campaign(ts, &c.id, |c| c.state == CampaignState::AwaitingApproval).await
}

async fn poll_campaign(ts: &TestServer, id: &str, done: impl Fn(&Campaign) -> bool) -> Campaign {
    for _ in 0..500 {
        let c: Campaign = ts
            .get(&format!("/v1/campaigns/{id}"))
            .by("vic")
            .send()
            .await
            .json();
        if done(&c) {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("campaign {id} did not reach the awaited state");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pause_resume_and_rollback_at_once_end_as_some_serial_order() {
    let ts = start().await;
    for round in 0..6 {
        let c = waiting_campaign(&ts, round).await;
        let keys: Vec<String> = (0..3).map(|_| uuid::Uuid::new_v4().to_string()).collect();
        let verbs = ["pause", "resume", "rollback"];
        let sends = verbs.iter().zip(&keys).map(|(verb, key)| {
            let ts = &ts;
            let path = format!("/v1/campaigns/{}/{verb}", c.id);
            async move {
                ts.post(&path)
                    .key(key)
                    .by("olga")
                    .json(&json!({"reason": format!("race {verb}")}))
                    .send()
                    .await
            }
        });
        let answers = join_all(sends).await;
        let won: Vec<&str> = verbs
            .iter()
            .zip(&answers)
            .filter(|(_, a)| a.status == StatusCode::OK)
            .map(|(v, _)| *v)
            .collect();
        for (verb, a) in verbs.iter().zip(&answers) {
            if a.status != StatusCode::OK {
                assert_eq!(a.status, StatusCode::CONFLICT, "{verb}: {}", a.body);
                assert!(!a.problem().detail.is_empty());
            }
        }
        // From "awaiting approval", rollback is always allowed; pause only before it;
        // resume only between pause and rollback.
        let serial = [
            vec!["rollback"],
            vec!["pause", "rollback"],
            vec!["pause", "resume", "rollback"],
        ];
        assert!(
            serial.contains(&won),
            "round {round}: {won:?} is no serial order"
        );
        // The log names the winners, in an order that serial order gives.
        let events = ts.all_events().await;
        let order: Vec<&str> = events
            .iter()
            // A loser's refusal is audited under the same correlation id: only effects count.
            .filter(|e| e.kind != kinds::ACTION_REFUSED)
            .filter_map(|e| {
                let corr = e.correlation_id.as_deref()?;
                let i = keys.iter().position(|k| corr == format!("req-{k}"))?;
                Some(verbs[i])
            })
            .fold(Vec::new(), |mut acc, v| {
                if acc.last() != Some(&v) {
                    acc.push(v);
                }
                acc
            });
        assert_eq!(order, won, "round {round}: the log says who won, in order");
        let end = poll_campaign(&ts, &c.id, |c| c.state == CampaignState::RolledBack).await;
        assert_eq!(end.state, CampaignState::RolledBack);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_key_sent_concurrently_has_one_effect() {
    let ts = start().await;
    let key = uuid::Uuid::new_v4().to_string();
    let body = json!({"title": "once", "target_version": "16.4", "databases": ["pg-dev-01"]});
    let send = || {
        ts.post("/v1/campaigns")
            .key(&key)
            .by("olga")
            .json(&body)
            .send()
    };

    // Hold the store's write lock: the first copy to register the key waits for it
    // inside its transaction, so every other copy arrives while it runs.
    let held = ts.store().begin().await.unwrap();
    let copies: Vec<_> = (0..16)
        .map(|_| {
            let request = ts
                .client
                .post(ts.url("/v1/campaigns"))
                .bearer_auth(token("olga"))
                .header("Idempotency-Key", &key)
                .json(&body);
            tokio::spawn(async move {
                let r = request.send().await.expect("sent");
                (r.status(), r.text().await.unwrap())
            })
        })
        .collect();
    // Fifteen copies are refused at once while one waits for the lock.
    for _ in 0..500 {
        if copies.iter().filter(|h| h.is_finished()).count() >= 15 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        copies.iter().filter(|h| h.is_finished()).count(),
        15,
        "one copy waits for the lock, the others are answered"
    );
    held.rollback().await.unwrap();
    let mut answers = Vec::new();
    for h in copies {
        let answer = tokio::time::timeout(Duration::from_secs(20), h)
            .await
            .expect("every copy answers once the lock is free")
            .unwrap();
        answers.push(answer);
    }
    let created: Vec<&(StatusCode, String)> = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .collect();
    assert_eq!(created.len(), 1, "one copy did the work: {answers:?}");
    for (status, text) in &answers {
        if *status != StatusCode::CREATED {
            assert_eq!(*status, StatusCode::CONFLICT, "{text}");
            assert!(text.contains("still being processed"), "{text}");
        }
    }

    // After it answered, the key gives the stored answer, body and all.
    let again = send().await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.body, created[0].1, "the stored answer is replayed");

    // Free-running copies: each is the stored answer or "still being processed".
    let more = join_all((0..16).map(|_| send())).await;
    for a in &more {
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        assert_eq!(a.body, created[0].1);
    }
    let campaigns: Vec<Campaign> = ts.get("/v1/campaigns").by("vic").send().await.json();
    assert_eq!(campaigns.len(), 1, "one effect");
    let creations = ts
        .all_events()
        .await
        .iter()
        .filter(|e| e.kind == kinds::CAMPAIGN_CREATED)
        .count();
    assert_eq!(creations, 1, "one campaign.created event");
}
