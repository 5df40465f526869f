//! A real control plane for API tests: `server::start` on an ephemeral loopback port,
//! a real SQLite file in a temp dir, one token per role, and reqwest as the client.
#![allow(dead_code)]

use std::path::PathBuf;

use chrono::{Duration, Utc};
use fleetdeck_api::{Approval, ApprovalKind, BlastRadius, Problem, Role};
use fleetdeck_control_plane::auth::{TokenEntry, hash_token};
use fleetdeck_control_plane::server::{self, RunningServer, ServeOptions, TokenSource};
use fleetdeck_control_plane::store::approvals::{self, NewApproval};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The users every test server knows, with their roles.
pub const USERS: &[(&str, &[Role])] = &[
    ("vic", &[Role::Viewer]),
    ("olga", &[Role::Operator]),
    ("ann", &[Role::Approver]),
    ("abe", &[Role::Approver]),
    ("ada", &[Role::Admin]),
];

/// The token of a known user (deterministic: the test knows it, the server only its hash).
pub fn token(user: &str) -> String {
    format!("test-token-for-{user}")
}

pub struct TestServer {
    pub server: Option<RunningServer>,
    pub base: String,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
}

/// Options beyond the defaults.
#[derive(Default)]
pub struct Setup {
    /// Text of a config file to pass with `--config`.
    pub config: Option<String>,
}

pub async fn start() -> TestServer {
    start_with(Setup::default()).await
}

pub async fn start_with(setup: Setup) -> TestServer {
    let dir = tempfile::tempdir().expect("temp dir");
    if let Some(text) = setup.config {
        std::fs::write(config_path(&dir), text).expect("write config");
    }
    let server = serve(&dir).await;
    let base = format!("http://{}", server.local_addr());
    TestServer {
        server: Some(server),
        base,
        client: reqwest::Client::new(),
        dir,
    }
}

/// Where [`start_with`] writes the config it was given.
fn config_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("fleet.toml")
}

/// A control plane on the state and config in `dir`.
async fn serve(dir: &tempfile::TempDir) -> RunningServer {
    let config = Some(config_path(dir)).filter(|p| p.exists());
    let entries = USERS
        .iter()
        .map(|(user, roles)| TokenEntry {
            sha256_hex: hash_token(&token(user)),
            user: (*user).to_string(),
            roles: roles.to_vec(),
        })
        .collect();
    server::start(ServeOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        state: state_path(dir),
        tokens: TokenSource::Entries(entries),
        config,
        demo: None,
    })
    .await
    .expect("server starts")
}

pub fn state_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("state.db")
}

/// An answer, with its body already read.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("{e}: body was {} {}", self.status, self.body))
    }

    pub fn value(&self) -> Value {
        self.json()
    }

    /// The problem detail of an error answer, checking its content type.
    pub fn problem(&self) -> Problem {
        let ct = self
            .headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert_eq!(ct, "application/problem+json", "body: {}", self.body);
        let p: Problem = self.json();
        assert_eq!(p.status, self.status.as_u16());
        p
    }

    pub fn etag(&self) -> Option<String> {
        self.headers
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
}

/// A request under construction.
pub struct Req<'a> {
    ts: &'a TestServer,
    method: Method,
    path: String,
    user: Option<String>,
    raw_token: Option<String>,
    key: Option<String>,
    if_match: Option<String>,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn get(&self, path: &str) -> Req<'_> {
        self.req(Method::GET, path)
    }

    /// A POST with a fresh Idempotency-Key.
    pub fn post(&self, path: &str) -> Req<'_> {
        self.req(Method::POST, path)
            .key(&uuid::Uuid::new_v4().to_string())
    }

    pub fn req(&self, method: Method, path: &str) -> Req<'_> {
        Req {
            ts: self,
            method,
            path: path.to_string(),
            user: None,
            raw_token: None,
            key: None,
            if_match: None,
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn store(&self) -> &fleetdeck_control_plane::store::Store {
        self.server.as_ref().expect("server running").store()
    }

    /// Raises an approval as `requester` (the runner does this in production).
    pub async fn raise_approval(&self, requester: &str, required: u32, ttl: Duration) -> Approval {
        let store = self.store();
        let mut tx = store.begin().await.unwrap();
        let a = approvals::insert(
            &mut tx,
            NewApproval {
                kind: ApprovalKind::PolicyException,
                subject: "pg-test-01 · stale evidence".into(),
                campaign_id: None,
                database_id: Some("pg-test-01".into()),
                ring: Some(1),
                requested_by: requester.into(),
                reason: "restore evidence is 40 days old".into(),
                blast_radius: BlastRadius {
                    databases: 1,
                    prod: 1,
                    tier1: u32::from(required > 1),
                },
                findings: Vec::new(),
                approvals_required: required,
                expires_at: Utc::now() + ttl,
            },
            None,
        )
        .await
        .unwrap();
        store.commit(tx).await.unwrap();
        a
    }

    /// The event log from the start (its first 5,000 events), as a viewer reads it.
    pub async fn all_events(&self) -> Vec<fleetdeck_api::Event> {
        let page: fleetdeck_api::EventsPage = self
            .get("/v1/events?after=0&limit=5000")
            .by("vic")
            .send()
            .await
            .json();
        page.events
    }

    /// Starts a control plane again on the same state file and config (after
    /// [`TestServer::stop`]).
    pub async fn restart(&mut self) {
        let server = serve(&self.dir).await;
        self.base = format!("http://{}", server.local_addr());
        self.server = Some(server);
    }

    pub async fn stop(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await;
        }
    }
}

impl Req<'_> {
    pub fn by(mut self, user: &str) -> Self {
        self.user = Some(user.to_string());
        self
    }

    /// Sends this exact Authorization header value.
    pub fn authorization(mut self, value: &str) -> Self {
        self.raw_token = Some(value.to_string());
        self
    }

    pub fn key(mut self, key: &str) -> Self {
        self.key = Some(key.to_string());
        self
    }

    pub fn no_key(mut self) -> Self {
        self.key = None;
        self
    }

    pub fn if_match(mut self, v: &str) -> Self {
        self.if_match = Some(v.to_string());
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn json(mut self, v: &Value) -> Self {
        self.body = Some(serde_json::to_vec(v).unwrap());
        self
    }

    pub fn raw(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    pub async fn send(self) -> Answer {
        let mut rb = self.ts.client.request(self.method, self.ts.url(&self.path));
        if let Some(u) = &self.user {
            rb = rb.bearer_auth(token(u));
        }
        if let Some(t) = &self.raw_token {
            rb = rb.header(reqwest::header::AUTHORIZATION, t);
        }
        if let Some(k) = &self.key {
            rb = rb.header("Idempotency-Key", k);
        }
        if let Some(m) = &self.if_match {
            rb = rb.header(reqwest::header::IF_MATCH, m);
        }
        for (name, value) in &self.headers {
            rb = rb.header(name.as_str(), value.as_str());
        }
        if let Some(b) = self.body {
            rb = rb
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(b);
        }
        let resp = rb.send().await.expect("request sent");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.text().await.expect("body read");
        Answer {
            status,
            headers,
            body,
        }
    }
}

/// A small declared fleet on the simulated executor, fast enough that engine steps take
/// milliseconds: two dev databases (ring 0), a staging one (ring 1), a tier-1 prod
/// primary with its replica (ring 2).
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

/// A server with [`fleet_config`].
pub async fn start_with_fleet() -> TestServer {
    start_with(Setup {
        config: Some(fleet_config()),
    })
    .await
}
