//! A pause is the brake and works on the first press. On a real demo control plane (a
//! loopback port, a real SQLite file, the demo's engine and people at work), the busiest
//! campaign is paused and resumed fifty times in a row, each request sent once with the
//! version the operator last saw, after the campaign's targets moved that version on:
//! every pause and every resume succeeds on that first send. A resume after the
//! campaign was paused anew is still refused (412, naming the current version).

use std::time::{Duration, Instant};

use fleetdeck_api::{Campaign, CampaignState, Problem, Role, Snapshot, etag};
use fleetdeck_control_plane::auth::{TokenEntry, hash_token};
use fleetdeck_control_plane::server::{
    self, DemoOptions, RunningServer, ServeOptions, TokenSource,
};
use reqwest::StatusCode;
use serde_json::json;

const TOKEN: &str = "brake-test-operator";
const OTHER: &str = "brake-test-other-operator";
const ROUNDS: usize = 50;

async fn demo(dir: &tempfile::TempDir) -> (RunningServer, String) {
    let entry = |token: &str, user: &str| TokenEntry {
        sha256_hex: hash_token(token),
        user: user.into(),
        roles: vec![Role::Operator],
    };
    let server = server::start(ServeOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        state: dir.path().join("state.db"),
        tokens: TokenSource::Entries(vec![entry(TOKEN, "olga"), entry(OTHER, "otto")]),
        config: None,
        demo: Some(DemoOptions {
            fleet_size: 240,
            seed: 3,
            // The console's demo speed: targets move the version several times a second.
            time_scale: 60.0,
        }),
    })
    .await
    .expect("the demo starts");
    let base = format!("http://{}", server.local_addr());
    (server, base)
}

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("GET");
        assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
        resp.json().await.expect("json")
    }

    async fn campaign(&self, id: &str) -> Campaign {
        self.get(&format!("/v1/campaigns/{id}")).await
    }

    /// One request, sent once: its status and body.
    async fn act(&self, token: &str, id: &str, verb: &str, seen: u64) -> (StatusCode, String) {
        let resp = self
            .http
            .post(format!("{}/v1/campaigns/{id}/{verb}", self.base))
            .bearer_auth(token)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .header("If-Match", etag(seen))
            .json(&json!({"reason": format!("brake test: {verb}")}))
            .send()
            .await
            .expect("POST");
        (resp.status(), resp.text().await.unwrap_or_default())
    }

    /// Waits (at most `within`) until the campaign's version is past `seen`: something
    /// moved under the operator's feet. True when it did.
    async fn moved_past(&self, id: &str, seen: u64, within: Duration) -> bool {
        let until = Instant::now() + within;
        while Instant::now() < until {
            if self.campaign(id).await.version > seen {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }
}

/// The unfinished campaign with the most targets, once the demo has started one.
async fn busiest(api: &Api) -> Campaign {
    let until = Instant::now() + Duration::from_secs(90);
    loop {
        let all: Vec<Campaign> = api.get("/v1/campaigns").await;
        if let Some(c) = all
            .into_iter()
            .filter(|c| c.state.can_pause())
            .max_by_key(Campaign::target_count)
        {
            return c;
        }
        assert!(
            Instant::now() < until,
            "the demo started no campaign in time"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_busiest_demo_campaign_pauses_and_resumes_fifty_times_each_on_the_first_send() {
    let dir = tempfile::tempdir().unwrap();
    let (server, base) = demo(&dir).await;
    let api = Api {
        base,
        http: reqwest::Client::new(),
    };
    // The demo's workflows start once a console has its first snapshot.
    let _: Snapshot = api.get("/v1/snapshot").await;
    let c = busiest(&api).await;
    let id = c.id.clone();
    let mut seen = c.version;
    let (mut pauses_on_moved, mut resumes_on_moved, mut gate_pauses) = (0, 0, 0);
    let mut round = 0;
    while round < ROUNDS {
        // The operator saw `seen`; the campaign's targets move on before they press.
        pauses_on_moved += usize::from(api.moved_past(&id, seen, Duration::from_secs(3)).await);
        let (status, body) = api.act(TOKEN, &id, "pause", seen).await;
        if status == StatusCode::CONFLICT {
            // Not a lost race: the campaign could not be paused, because its own gate
            // paused it first. Carry it on, as its operator would, and press again.
            let now = api.campaign(&id).await;
            let by_gate = now.state == CampaignState::Paused
                && !now
                    .paused_reason
                    .as_deref()
                    .is_some_and(|r| r.starts_with("paused by "));
            assert!(by_gate, "round {round}: pause refused: {body} ({now:?})");
            gate_pauses += 1;
            assert!(gate_pauses <= 10, "the gate paused it {gate_pauses} times");
            let (status, body) = api.act(TOKEN, &id, "resume", now.version).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            seen = serde_json::from_str::<Campaign>(&body).unwrap().version;
            continue;
        }
        assert_eq!(
            status,
            StatusCode::OK,
            "round {round}: the pause with version {seen} was refused: {body}"
        );
        let paused: Campaign = serde_json::from_str(&body).unwrap();
        assert_eq!(paused.state, CampaignState::Paused, "round {round}");
        // Targets in flight finish after the pause and move the version again.
        seen = paused.version;
        resumes_on_moved +=
            usize::from(api.moved_past(&id, seen, Duration::from_millis(1500)).await);
        let (status, body) = api.act(TOKEN, &id, "resume", seen).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "round {round}: the resume with version {seen} was refused: {body}"
        );
        let resumed: Campaign = serde_json::from_str(&body).unwrap();
        assert!(
            resumed.state.can_pause(),
            "round {round}: {:?}",
            resumed.state
        );
        seen = resumed.version;
        round += 1;
    }
    // The race was run, not dodged: most sends carried a version already passed.
    assert!(
        pauses_on_moved >= ROUNDS / 2,
        "only {pauses_on_moved} of {ROUNDS} pauses were sent on a moved campaign"
    );
    assert!(
        resumes_on_moved > 0,
        "no resume was sent after in-flight targets moved the version"
    );

    // What a resume still guards: the pause the operator saw. Someone else resumes
    // and pauses again; a resume based on the first pause is refused, naming the
    // version the campaign has now.
    let (_, body) = api.act(TOKEN, &id, "pause", seen).await;
    let first_pause: Campaign = serde_json::from_str(&body).unwrap();
    let (status, _) = api.act(OTHER, &id, "resume", first_pause.version).await;
    assert_eq!(status, StatusCode::OK);
    let now = api.campaign(&id).await.version;
    let (status, body) = api.act(OTHER, &id, "pause", now).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = api.act(TOKEN, &id, "resume", first_pause.version).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{body}");
    let problem: Problem = serde_json::from_str(&body).unwrap();
    let current = api.campaign(&id).await.version;
    assert!(
        problem
            .current_version
            .is_some_and(|v| v > first_pause.version && v <= current),
        "{problem:?}"
    );
    assert_eq!(api.campaign(&id).await.state, CampaignState::Paused);
    server.shutdown().await;
}
