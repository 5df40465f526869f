//! Crash safety: the real `fleetdeck serve` is killed with SIGKILL at random moments while
//! campaigns run and a client keeps acting on them (create, approve, pause, resume, roll
//! back, drill), each action with an `Idempotency-Key` and retried with that same key
//! until it gets an answer. The server is restarted on the same state file each time.
//! After every kill: `PRAGMA integrity_check` is ok and no database was patched or rolled
//! back twice (the simulated executor's durable call log). After every restart: every
//! action that got a 2xx is in the event log, the event sequence is contiguous, and every
//! campaign, ring and target is in a state the workflow can be in.
//!
//! `FLEETDECK_CRASH_KILLS` sets the number of kills (10 by default; the documented full
//! run is 50), `FLEETDECK_CRASH_SEED` the seed of the random moments and actions.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fleetdeck_api::{Approval, Campaign, CampaignState, RingState, TargetState};
use fleetdeck_control_plane::auth::hash_token;
use fleetdeck_control_plane::executor::simulated::read_call_log;
use fleetdeck_control_plane::store::Store;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_fleetdeck");
/// Databases per campaign: two dev (ring 0), one staging (ring 1), one tier-2 prod
/// primary (ring 2, so every campaign also waits for a promotion approval). Each group
/// is patched by one campaign only, so "patched twice" is a plain count per database.
const GROUP: [(&str, &str, u8, u8); 4] = [
    ("dev-a", "dev", 3, 0),
    ("dev-b", "dev", 3, 0),
    ("stg", "staging", 2, 1),
    ("prod", "prod", 2, 2),
];
/// Simulated seconds per real second: a patch takes a fraction of a second and a
/// campaign a second or two, so kills land in every phase.
const TIME_SCALE: f64 = 200.0;
/// How long the server may take to answer `/readyz` after a (re)start.
const READY_WITHIN: Duration = Duration::from_secs(20);

/// A small deterministic generator (xorshift), so a failing run can be repeated by seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn token(user: &str) -> String {
    format!("crash-harness-token-{user}")
}

/// The fleet and executor configuration, with the call log in `dir`.
fn config(groups: usize, call_log: &Path) -> String {
    let mut text = format!(
        "[executor]\nkind = \"simulated\"\nseed = 11\ntime_scale = {TIME_SCALE}\ncall_log = \"{}\"\n\n\
         [drills]\nmax_concurrent = 4\n",
        call_log.display()
    );
    for g in 0..groups {
        for (suffix, env, tier, ring) in GROUP {
            text.push_str(&format!(
                "\n[[database]]\nid = \"pg-{g:03}-{suffix}\"\nengine = \"postgres\"\n\
                 engine_version = \"16.3\"\nenvironment = \"{env}\"\ntier = {tier}\n\
                 region = \"eu-west-1\"\nowner_team = \"team-{g}\"\nrole = \"primary\"\n\
                 ring = {ring}\nhost = \"pg-{g:03}-{suffix}.db.internal\"\n\
                 backup = {{ schedule = \"daily 02:00\", retention_days = 14 }}\n"
            ));
        }
    }
    text
}

fn group_ids(g: usize) -> Vec<String> {
    GROUP
        .iter()
        .map(|(suffix, ..)| format!("pg-{g:03}-{suffix}"))
        .collect()
}

/// `fleetdeck serve` as a child process on a fixed port, stderr appended to a log file.
struct Server {
    dir: PathBuf,
    addr: SocketAddr,
    child: Option<Child>,
}

impl Server {
    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("serve.log"))
            .unwrap();
        let child = Command::new(BIN)
            .arg("serve")
            .arg("--listen")
            .arg(self.addr.to_string())
            .arg("--state")
            .arg(self.state())
            .arg("--tokens")
            .arg(self.dir.join("tokens"))
            .arg("--config")
            .arg(self.dir.join("fleet.toml"))
            .env("FLEETDECK_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("fleetdeck serve starts");
        self.child = Some(child);
    }

    fn state(&self) -> PathBuf {
        self.dir.join("state.db")
    }

    /// SIGKILL: no shutdown path runs.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL sent");
            child.wait().expect("killed server reaped");
        }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("serve.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Polls `/readyz` until it answers 200; panics with the log if the process exits or
    /// the time runs out.
    async fn wait_ready(&mut self, http: &reqwest::Client) {
        let deadline = Instant::now() + READY_WITHIN;
        let url = format!("http://{}/readyz", self.addr);
        loop {
            if let Ok(r) = http.get(&url).send().await
                && r.status() == StatusCode::OK
            {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("server exited with {status}:\n{}", self.log_tail());
            }
            assert!(
                Instant::now() < deadline,
                "server not ready within {READY_WITHIN:?}:\n{}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An action that was answered 2xx: its key must be in the log as `req-<key>`.
#[derive(Debug, Clone)]
struct Acked {
    key: String,
    what: String,
}

/// What the client and the killer share.
struct Shared {
    base: String,
    http: reqwest::Client,
    acked: Mutex<Vec<Acked>>,
    stop: AtomicBool,
    /// Answers that should never happen: 422 on a retry of the same request, or a 5xx
    /// from a server that is up.
    surprises: Mutex<Vec<String>>,
    sent: AtomicU64,
    retried: AtomicU64,
    /// Actions answered 2xx only after at least one retry across a kill.
    acked_after_retry: AtomicU64,
}

impl Shared {
    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Option<T> {
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
    async fn act(&self, user: &str, path: &str, body: Value, what: String) -> Option<StatusCode> {
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
async fn client(shared: Arc<Shared>, groups: usize, seed: u64) {
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
async fn drill_hammer(shared: Arc<Shared>, groups: usize, seed: u64) {
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

#[derive(Deserialize)]
struct SeqOnly {
    seq: u64,
    correlation_id: Option<String>,
}

#[derive(Deserialize)]
struct Page {
    events: Vec<SeqOnly>,
    last_seq: u64,
}

/// Reads the whole log; checks it is contiguous from 1; returns its correlation ids.
async fn read_log(shared: &Shared) -> (u64, HashSet<String>) {
    let mut after = 0u64;
    let mut corr = HashSet::new();
    for _ in 0..100_000 {
        let page: Page = shared
            .get(&format!("/v1/events?after={after}&limit=5000"))
            .await
            .expect("events readable after a restart");
        if page.events.is_empty() {
            assert_eq!(after, page.last_seq, "the log ends before last_seq");
            return (after, corr);
        }
        for e in page.events {
            assert_eq!(e.seq, after + 1, "event sequence has a gap or a repeat");
            after = e.seq;
            corr.extend(e.correlation_id);
        }
    }
    panic!("event log did not end");
}

/// Problems with one campaign's states, as sentences.
fn campaign_problems(c: &Campaign) -> Vec<String> {
    let mut p = Vec::new();
    let id = &c.id;
    if c.state == CampaignState::Unknown {
        p.push(format!("{id}: unknown state"));
    }
    if c.state == CampaignState::Paused && c.paused_reason.is_none() {
        p.push(format!("{id}: paused without a reason"));
    }
    if matches!(
        c.state,
        CampaignState::RollingBack | CampaignState::RolledBack
    ) && c.rollback.is_none()
    {
        p.push(format!(
            "{id}: {} without rollback status",
            c.state.as_str()
        ));
    }
    let active = c
        .rings
        .iter()
        .filter(|r| {
            matches!(
                r.state,
                RingState::Running | RingState::Baking | RingState::AwaitingApproval
            )
        })
        .count();
    if active > 1 {
        p.push(format!("{id}: {active} rings active at once"));
    }
    if c.state == CampaignState::Completed && c.rings.iter().any(|r| r.state != RingState::Passed) {
        p.push(format!("{id}: completed with a ring not passed"));
    }
    let forward = matches!(
        c.state,
        CampaignState::Running | CampaignState::Paused | CampaignState::AwaitingApproval
    );
    for r in &c.rings {
        if r.state == RingState::Unknown {
            p.push(format!("{id} ring {}: unknown state", r.index));
        }
        for t in &r.targets {
            let what = format!("{id} ring {} {}", r.index, t.database_id);
            if t.state == TargetState::Unknown {
                p.push(format!("{what}: unknown state"));
            }
            if c.state.is_finished() && (t.state.is_in_flight() || t.state == TargetState::Blocked)
            {
                p.push(format!(
                    "{what}: {} in a finished campaign",
                    t.state.as_str()
                ));
            }
            // (A rollback reverts the targets of passed rings in place.)
            if (forward || c.state == CampaignState::Completed)
                && r.state == RingState::Passed
                && !t.state.is_terminal()
            {
                p.push(format!("{what}: {} in a passed ring", t.state.as_str()));
            }
            if forward && r.state == RingState::Pending && t.state != TargetState::Pending {
                p.push(format!("{what}: {} in a pending ring", t.state.as_str()));
            }
            if t.state == TargetState::Done && t.finished_at.is_none() {
                p.push(format!("{what}: done without a finish time"));
            }
        }
    }
    p
}

/// After a kill, before the restart: the file is sound and no database was patched or
/// rolled back twice.
async fn check_offline(state: &Path, call_log: &Path) -> HashMap<(String, String), u32> {
    let store = Store::open(state)
        .await
        .expect("state file opens after SIGKILL");
    let integrity = store.integrity_check().await.expect("integrity_check runs");
    store.close().await;
    assert_eq!(integrity, vec!["ok".to_string()], "PRAGMA integrity_check");
    let calls = read_call_log(call_log).unwrap_or_default();
    for ((op, db), n) in &calls {
        if op == "patch" || op == "rollback" {
            assert!(*n <= 1, "{db}: {op} called {n} times");
        }
    }
    calls
}

/// After a restart: every acknowledged action is in the log and every state is valid.
async fn check_online(shared: &Shared) -> (usize, usize, u64) {
    let acked: Vec<Acked> = shared.acked.lock().unwrap().clone();
    let (last_seq, corr) = read_log(shared).await;
    let missing: Vec<String> = acked
        .iter()
        .filter(|a| !corr.contains(&format!("req-{}", a.key)))
        .map(|a| format!("{} (key {})", a.what, a.key))
        .collect();
    assert!(
        missing.is_empty(),
        "actions answered 2xx but not in the event log: {missing:?}"
    );
    let campaigns: Vec<Campaign> = shared
        .get("/v1/campaigns")
        .await
        .expect("campaigns readable");
    let problems: Vec<String> = campaigns.iter().flat_map(campaign_problems).collect();
    assert!(problems.is_empty(), "invalid states: {problems:#?}");
    (acked.len(), acked.len() - missing.len(), last_seq)
}

fn write_tokens(dir: &Path) {
    let mut text = String::from("# crash harness tokens\n");
    for (user, role) in [("olga", "operator"), ("abe", "approver"), ("ada", "admin")] {
        text.push_str(&format!("{} {user} {role}\n", hash_token(&token(user))));
    }
    let path = dir.join("tokens");
    std::fs::write(&path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_loses_no_answered_action_and_patches_nothing_twice() {
    let kills = env_number("FLEETDECK_CRASH_KILLS", 10);
    let seed = env_number("FLEETDECK_CRASH_SEED", 0x5eed_c0de) | 1;
    let groups = (kills as usize).max(4) * 2;
    let dir = tempfile::tempdir().unwrap();
    let call_log = dir.path().join("calls.log");
    std::fs::write(dir.path().join("fleet.toml"), config(groups, &call_log)).unwrap();
    write_tokens(dir.path());
    let addr: SocketAddr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut server = Server {
        dir: dir.path().to_path_buf(),
        addr,
        child: None,
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    server.spawn();
    server.wait_ready(&http).await;

    let shared = Arc::new(Shared {
        base: format!("http://{addr}"),
        http: http.clone(),
        acked: Mutex::default(),
        stop: AtomicBool::new(false),
        surprises: Mutex::default(),
        sent: AtomicU64::new(0),
        retried: AtomicU64::new(0),
        acked_after_retry: AtomicU64::new(0),
    });
    let worker = tokio::spawn(client(Arc::clone(&shared), groups, seed));
    let hammer = tokio::spawn(drill_hammer(Arc::clone(&shared), groups, seed));

    let started = Instant::now();
    let mut rng = Rng(seed);
    let mut last = (0, 0, 0);
    let mut calls = HashMap::new();
    for _ in 0..kills {
        // A random moment of the campaign's life (not a synchronisation).
        tokio::time::sleep(Duration::from_millis(150 + rng.below(1200))).await;
        server.kill();
        calls = check_offline(&server.state(), &call_log).await;
        server.spawn();
        server.wait_ready(&http).await;
        last = check_online(&shared).await;
    }
    shared.stop.store(true, Ordering::SeqCst);
    tokio::time::timeout(Duration::from_secs(30), worker)
        .await
        .expect("client stops")
        .expect("client did not panic");
    tokio::time::timeout(Duration::from_secs(30), hammer)
        .await
        .expect("drill client stops")
        .expect("drill client did not panic");
    let (acked, found, last_seq) = check_online(&shared).await;
    assert!(acked >= last.0);

    let surprises = shared.surprises.lock().unwrap().clone();
    assert!(surprises.is_empty(), "unexpected answers: {surprises:#?}");
    let patches: u32 = calls
        .iter()
        .filter(|((op, _), _)| op == "patch")
        .map(|(_, n)| n)
        .sum();
    let campaigns: Vec<Campaign> = shared.get("/v1/campaigns").await.unwrap();
    let finished = campaigns.iter().filter(|c| c.state.is_finished()).count();
    let summary = format!(
        "crash harness: kills {kills}, actions sent {}, retries {}, actions acknowledged {acked} ({} after a retry), \
         actions found in the log {found}, events {last_seq}, campaigns {} ({finished} finished), \
         patch calls {patches}, seed {seed}, {:.1} s",
        shared.sent.load(Ordering::Relaxed),
        shared.retried.load(Ordering::Relaxed),
        shared.acked_after_retry.load(Ordering::Relaxed),
        campaigns.len(),
        started.elapsed().as_secs_f64(),
    );
    println!("{summary}");
    eprintln!("{summary}");
    assert!(
        acked > kills as usize,
        "the client got too few answers: {summary}"
    );
    assert!(patches > 0, "no target was ever patched: {summary}");
    assert_eq!(acked, found);
}
