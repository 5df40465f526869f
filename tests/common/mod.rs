//! A real control plane for the console's tests: `server::start` on a loopback port with
//! a real SQLite file in a temp dir, a small declared fleet on the simulated executor,
//! one token per user, and the console's own [`Client`] to talk to it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use chrono::Utc;
use fleetdeck_api::{
    Approval, ApprovalKind, BlastRadius, Campaign, Event, GateSettings, Role, limits,
};
use fleetdeck_console::client::Client;
use fleetdeck_control_plane::auth::{TokenEntry, hash_token};
use fleetdeck_control_plane::server::{self, RunningServer, ServeOptions, TokenSource};
use fleetdeck_control_plane::store::approvals::{self, NewApproval};

/// The users every test server knows.
pub const USERS: &[(&str, &[Role])] = &[
    ("vic", &[Role::Viewer]),
    ("olga", &[Role::Operator]),
    ("ann", &[Role::Operator, Role::Approver]),
    ("abe", &[Role::Approver]),
];

pub fn token(user: &str) -> String {
    format!("console-test-token-{user}")
}

pub struct Fixture {
    pub server: Option<RunningServer>,
    pub addr: SocketAddr,
    pub base: String,
    pub dir: tempfile::TempDir,
}

/// Two dev databases (ring 0), a staging one (ring 1), a tier-1 prod primary with its
/// replica (ring 2); the simulated executor at a thousand times real speed.
pub fn fleet_config() -> String {
    let mut text =
        String::from("[executor]\nkind = \"simulated\"\nseed = 7\ntime_scale = 1000.0\n");
    let dbs = [
        ("pg-dev-01", "dev", 3, 0, "primary", None),
        ("pg-dev-02", "dev", 3, 0, "primary", None),
        ("pg-stg-01", "staging", 2, 1, "primary", None),
        ("pg-prod-01", "prod", 1, 2, "primary", None),
        ("pg-prod-01-r1", "prod", 1, 2, "replica", Some("pg-prod-01")),
    ];
    for (id, env, tier, ring, role, primary) in dbs {
        text.push_str(&format!(
            "\n[[database]]\nid = \"{id}\"\nengine = \"postgres\"\nengine_version = \"16.3\"\n\
             environment = \"{env}\"\ntier = {tier}\nregion = \"eu-west-1\"\nowner_team = \"payments\"\n\
             role = \"{role}\"\nring = {ring}\nhost = \"{id}.db.internal\"\n\
             backup = {{ schedule = \"daily 02:00\", retention_days = 14 }}\n"
        ));
        if let Some(p) = primary {
            text.push_str(&format!("primary_id = \"{p}\"\n"));
        }
    }
    text
}

fn options(dir: &tempfile::TempDir, listen: SocketAddr) -> ServeOptions {
    let entries = USERS
        .iter()
        .map(|(user, roles)| TokenEntry {
            sha256_hex: hash_token(&token(user)),
            user: (*user).to_string(),
            roles: roles.to_vec(),
        })
        .collect();
    ServeOptions {
        listen,
        state: dir.path().join("state.db"),
        tokens: TokenSource::Entries(entries),
        config: Some(dir.path().join("fleet.toml")),
        demo: None,
    }
}

impl Fixture {
    pub async fn start() -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("fleet.toml"), fleet_config()).expect("write config");
        let server = server::start(options(&dir, "127.0.0.1:0".parse().unwrap()))
            .await
            .expect("server starts");
        let addr = server.local_addr();
        Fixture {
            server: Some(server),
            addr,
            base: format!("http://{addr}"),
            dir,
        }
    }

    pub fn client(&self, user: &str) -> Client {
        Client::new(&self.base, &token(user)).expect("client")
    }

    pub async fn stop(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await;
        }
    }

    /// Starts the server again on the same state file and the same port.
    pub async fn restart(&mut self) {
        self.stop().await;
        let mut last_err = None;
        for _ in 0..50 {
            match server::start(options(&self.dir, self.addr)).await {
                Ok(s) => {
                    self.server = Some(s);
                    return;
                }
                Err(e) => {
                    last_err = Some(e);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        panic!("server did not restart on {}: {last_err:?}", self.addr);
    }

    /// Starts a new server on the same port with its state file deleted: the same address,
    /// a different history (a reset, or a restore from an older copy).
    pub async fn restart_fresh(&mut self) {
        self.stop().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(self.dir.path().join(format!("state.db{suffix}")));
        }
        self.restart().await;
    }

    /// Raises a pending approval as `requester` (the runner does this in production).
    pub async fn raise_approval(&self, requester: &str, required: u32) -> Approval {
        let store = self.server.as_ref().expect("running").store();
        let mut tx = store.begin().await.unwrap();
        let a = approvals::insert(
            &mut tx,
            NewApproval {
                kind: ApprovalKind::PolicyException,
                subject: "pg-prod-01 · stale evidence".into(),
                campaign_id: None,
                database_id: Some("pg-prod-01".into()),
                ring: Some(2),
                requested_by: requester.into(),
                reason: "restore evidence is 40 days old".into(),
                blast_radius: BlastRadius {
                    databases: 1,
                    prod: 1,
                    tier1: u32::from(required > 1),
                },
                findings: Vec::new(),
                approvals_required: required,
                expires_at: Utc::now() + chrono::Duration::hours(1),
            },
            None,
        )
        .await
        .unwrap();
        store.commit(tx).await.unwrap();
        a
    }

    /// Starts a campaign over the whole fleet as `user`, with a bake long enough that
    /// it is still running while a test acts on it.
    pub async fn create_campaign(&self, user: &str) -> Campaign {
        let body = serde_json::json!({
            "title": "postgres 16.4",
            "target_version": "16.4",
            "gate": GateSettings { bake_seconds: 3600, ..GateSettings::default() },
        });
        let resp = reqwest::Client::new()
            .post(format!("{}/v1/campaigns", self.base))
            .bearer_auth(token(user))
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(&body)
            .send()
            .await
            .expect("create campaign");
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert!(status.is_success(), "create campaign: {status} {text}");
        serde_json::from_str(&text).expect("campaign json")
    }

    pub async fn campaign(&self, id: &str) -> Campaign {
        self.get_json(&format!("/v1/campaigns/{id}")).await
    }

    pub async fn approval(&self, id: &str) -> Approval {
        let all: Vec<Approval> = self.get_json("/v1/approvals?state=all").await;
        all.into_iter()
            .find(|a| a.id == id)
            .unwrap_or_else(|| panic!("no approval {id}"))
    }

    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        let resp = reqwest::Client::new()
            .get(format!("{}{path}", self.base))
            .bearer_auth(token("vic"))
            .send()
            .await
            .expect("GET");
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert!(status.is_success(), "GET {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {path}: {e}: {text}"))
    }

    /// Every event the server holds after `after`, oldest first.
    pub async fn events_after(&self, after: u64) -> Vec<Event> {
        let client = self.client("vic");
        let mut out = Vec::new();
        let mut last = after;
        loop {
            let page = client
                .events_after(last, limits::MAX_EVENTS_PAGE)
                .await
                .expect("events");
            if page.events.is_empty() {
                return out;
            }
            last = page.events.last().unwrap().seq;
            out.extend(page.events);
        }
    }
}

/// Polls `check` until it is true or `timeout` passes.
pub async fn eventually<F, Fut>(timeout: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out after {timeout:?} waiting for {what}");
}
