//! The operators: a client that starts, approves, pauses, resumes, rolls back and
//! drills through the kills, retrying each action with its key until it is answered,
//! and remembering every action answered 2xx.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fleetdeck_api::{Approval, Campaign, CampaignState};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Rng, group_ids, token};

#[derive(Debug, Clone)]
pub struct Acked {
    pub key: String,
    pub what: String,
}

/// What the client and the killer share.
pub struct Shared {
    pub base: String,
    pub http: reqwest::Client,
    pub acked: Mutex<Vec<Acked>>,
    pub stop: AtomicBool,
    /// Answers that should never happen: 422 on a retry of the same request, or a 5xx
    /// from a server that is up.
    pub surprises: Mutex<Vec<String>>,
    pub sent: AtomicU64,
    pub retried: AtomicU64,
    /// Actions answered 2xx only after at least one retry across a kill.
    pub acked_after_retry: AtomicU64,
}

impl Shared {
    pub async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Option<T> {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token("ada"))
            .send()
            .await
            .ok()?;
        if !resp.status().is_success() {
            return None;
        }
        resp.json().await.ok()
    }

    /// Sends one action with a fresh key and retries it with the same key through
    /// connection failures and 5xx, until it has an answer or the run is over.
    pub async fn act(
        &self,
        user: &str,
        path: &str,
        body: Value,
        what: String,
    ) -> Option<StatusCode> {
        let key = uuid::Uuid::new_v4().to_string();
        self.sent.fetch_add(1, Ordering::Relaxed);
        let mut attempt = 0u32;
        loop {
            let result = self
                .http
                .request(Method::POST, format!("{}{path}", self.base))
                .bearer_auth(token(user))
                .header("Idempotency-Key", &key)
                .json(&body)
                .send()
                .await;
            match result {
                Ok(resp) if !resp.status().is_server_error() => {
                    let status = resp.status();
                    let text = resp.text().await.unwrap_or_default();
                    if status.is_success() {
                        if attempt > 0 {
                            self.acked_after_retry.fetch_add(1, Ordering::Relaxed);
                        }
                        self.acked.lock().unwrap().push(Acked {
                            key: key.clone(),
                            what: what.clone(),
                        });
                    } else if status == StatusCode::UNPROCESSABLE_ENTITY {
                        self.surprise(format!("{what}: 422 on attempt {attempt}: {text}"));
                    }
                    return Some(status);
                }
                Ok(resp) => {
                    let status = resp.status();
                    // 503 is readiness during start-up; anything else is a server fault.
                    if status != StatusCode::SERVICE_UNAVAILABLE {
                        let text = resp.text().await.unwrap_or_default();
                        self.surprise(format!("{what}: {status}: {text}"));
                    }
                }
                Err(_) => {}
            }
            // A server being killed and restarted: retry with the same key.
            attempt += 1;
            self.retried.fetch_add(1, Ordering::Relaxed);
            if self.stop.load(Ordering::SeqCst) || attempt > 1000 {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn surprise(&self, s: String) {
        self.surprises.lock().unwrap().push(s);
    }
}

/// The operators: start a campaign when none is active, approve what waits, and pause,
/// resume, roll back and drill at random.
pub async fn client(shared: Arc<Shared>, groups: usize, seed: u64) {
    let mut rng = Rng(seed ^ 0x9e37_79b9_7f4a_7c15);
    let mut next_group = 0;
    while !shared.stop.load(Ordering::SeqCst) {
        let Some(campaigns) = shared.get::<Vec<Campaign>>("/v1/campaigns").await else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let active = campaigns.iter().find(|c| !c.state.is_finished()).cloned();
        match active {
            None if next_group < groups => {
                let body = json!({
                    "title": format!("crash harness group {next_group}"),
                    "target_version": "16.4",
                    "databases": group_ids(next_group),
                    "gate": {"failure_budget": 2, "bake_seconds": 20,
                             "max_replication_lag_s": 30.0, "concurrency": 2},
                });
                let what = format!("create campaign for group {next_group}");
                next_group += 1;
                shared.act("olga", "/v1/campaigns", body, what).await;
            }
            None => {}
            Some(c) => act_on(&shared, &c, &mut rng).await,
        }
        if let Some(pending) = shared.get::<Vec<Approval>>("/v1/approvals").await {
            for a in pending {
                let path = format!("/v1/approvals/{}/approve", a.id);
                let body = json!({"comment": "crash harness"});
                shared
                    .act("abe", &path, body, format!("approve {}", a.id))
                    .await;
            }
        }
        if rng.below(4) == 0 {
            let db = group_ids(rng.below(groups as u64) as usize)[rng.below(4) as usize].clone();
            let path = format!("/v1/databases/{db}/drills");
            shared
                .act("olga", &path, json!({}), format!("drill {db}"))
                .await;
        }
        tokio::time::sleep(Duration::from_millis(10 + rng.below(40))).await;
    }
}

/// A second operator asking for restore drills as fast as they are answered, so kills
/// often land while an action is in flight.
pub async fn drill_hammer(shared: Arc<Shared>, groups: usize, seed: u64) {
    let mut rng = Rng(seed ^ 0xd1b5_4a32_d192_ed03);
    while !shared.stop.load(Ordering::SeqCst) {
        let db = group_ids(rng.below(groups as u64) as usize)[rng.below(4) as usize].clone();
        let path = format!("/v1/databases/{db}/drills");
        shared
            .act("ada", &path, json!({}), format!("drill {db}"))
            .await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn act_on(shared: &Shared, c: &Campaign, rng: &mut Rng) {
    let roll = rng.below(100);
    let (verb, body) = match c.state {
        CampaignState::Paused if roll < 70 => ("resume", json!({"reason": "harness resumes"})),
        _ if roll < 4 => ("rollback", json!({"reason": "harness rolls back"})),
        CampaignState::Running | CampaignState::AwaitingApproval if roll < 20 => {
            ("pause", json!({"reason": "harness pauses"}))
        }
        _ => return,
    };
    let path = format!("/v1/campaigns/{}/{verb}", c.id);
    shared
        .act("olga", &path, body, format!("{verb} {}", c.id))
        .await;
}
