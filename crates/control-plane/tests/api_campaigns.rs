//! Fleet, campaign, drill, evidence, snapshot and event endpoints over a declared fleet
//! (`--config`) on the simulated executor.

mod common;

use fleetdeck_api::{
    Campaign, CampaignState, Database, DatabaseDetail, Drill, DrillState, EventsPage, Evidence,
    Snapshot, kinds,
};
use reqwest::StatusCode;
use serde_json::json;

async fn events(ts: &common::TestServer) -> EventsPage {
    ts.get("/v1/events?after=0").by("vic").send().await.json()
}

async fn count_kind(ts: &common::TestServer, kind: &str) -> usize {
    events(ts)
        .await
        .events
        .iter()
        .filter(|e| e.kind == kind)
        .count()
}

async fn create(ts: &common::TestServer, key: &str) -> common::Answer {
    ts.post("/v1/campaigns")
        .key(key)
        .by("olga")
        .json(&json!({"title": "postgres 16.4", "target_version": "16.4"}))
        .send()
        .await
}

#[tokio::test]
async fn fleet_inventory_and_evidence() {
    let ts = common::start_with_fleet().await;
    let dbs: Vec<Database> = ts.get("/v1/databases").by("vic").send().await.json();
    assert_eq!(dbs.len(), 5);
    let one = ts.get("/v1/databases/pg-prod-01-r1").by("vic").send().await;
    assert_eq!(one.status, StatusCode::OK);
    let detail: DatabaseDetail = one.json();
    assert_eq!(detail.database.primary_id.as_deref(), Some("pg-prod-01"));
    assert_eq!(
        one.etag(),
        Some(fleetdeck_api::etag(detail.database.version))
    );
    let missing = ts.get("/v1/databases/pg-nope").by("vic").send().await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    missing.problem();
    let evidence: Vec<Evidence> = ts.get("/v1/evidence").by("vic").send().await.json();
    assert_eq!(evidence.len(), 5);
}

#[tokio::test]
async fn drills_start_now() {
    let ts = common::start_with_fleet().await;
    // The scheduler drills never-drilled databases too, in id order two at a time:
    // pg-stg-01 sorts last, so it is still free when this request arrives.
    let started = ts
        .post("/v1/databases/pg-stg-01/drills")
        .by("olga")
        .send()
        .await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.body);
    let drill: Drill = started.json();
    assert_eq!(drill.database_id, "pg-stg-01");
    assert_eq!(drill.state, DrillState::Running);
    assert_eq!(drill.requested_by, "olga");
    let by_olga = events(&ts)
        .await
        .events
        .into_iter()
        .filter(|e| e.kind == kinds::DRILL_STARTED && e.actor == "olga")
        .count();
    assert_eq!(by_olga, 1);
    let unknown = ts
        .post("/v1/databases/pg-nope/drills")
        .by("olga")
        .send()
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let extra = ts
        .post("/v1/databases/pg-dev-02/drills")
        .by("olga")
        .json(&json!({"now": true}))
        .send()
        .await;
    assert_eq!(extra.status, StatusCode::BAD_REQUEST);
    assert!(extra.problem().detail.contains("unknown field `now`"));
}

#[tokio::test]
async fn create_is_idempotent_and_campaigns_carry_etags() {
    let ts = common::start_with_fleet().await;
    let key = uuid::Uuid::new_v4().to_string();
    let first = create(&ts, &key).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let again = create(&ts, &key).await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.body, first.body);
    let all: Vec<Campaign> = ts.get("/v1/campaigns").by("vic").send().await.json();
    assert_eq!(all.len(), 1, "one effect for two deliveries");
    assert_eq!(count_kind(&ts, kinds::CAMPAIGN_CREATED).await, 1);

    let c: Campaign = first.json();
    assert_eq!(c.created_by, "olga");
    assert_eq!(c.target_count(), 5);
    let got = ts
        .get(&format!("/v1/campaigns/{}", c.id))
        .by("vic")
        .send()
        .await;
    assert_eq!(got.status, StatusCode::OK);
    let now: Campaign = got.json();
    assert_eq!(got.etag(), Some(fleetdeck_api::etag(now.version)));

    let missing = ts.get("/v1/campaigns/cmp-999").by("vic").send().await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    let long_title = ts
        .post("/v1/campaigns")
        .by("olga")
        .json(&json!({"title": "t".repeat(500), "target_version": "16.4"}))
        .send()
        .await;
    assert_eq!(long_title.status, StatusCode::BAD_REQUEST);
    let no_body = ts.post("/v1/campaigns").by("olga").send().await;
    assert_eq!(no_body.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn pause_resume_rollback_with_reasons_and_if_match() {
    let ts = common::start_with_fleet().await;
    let c: Campaign = create(&ts, &uuid::Uuid::new_v4().to_string()).await.json();
    let path = |verb: &str| format!("/v1/campaigns/{}/{verb}", c.id);

    // A version the client never saw: refused, and nothing changes.
    let stale = ts
        .post(&path("pause"))
        .by("olga")
        .if_match(&fleetdeck_api::etag(c.version + 1000))
        .json(&json!({"reason": "checking"}))
        .send()
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert!(
        stale
            .problem()
            .detail
            .contains("has changed since you saw it")
    );
    assert_eq!(count_kind(&ts, kinds::CAMPAIGN_PAUSED).await, 0);

    let no_reason = ts
        .post(&path("pause"))
        .by("olga")
        .json(&json!({}))
        .send()
        .await;
    assert_eq!(no_reason.status, StatusCode::BAD_REQUEST);
    assert!(no_reason.problem().detail.contains("'reason' is required"));

    let paused = ts
        .post(&path("pause"))
        .by("olga")
        .json(&json!({"reason": "dashboard looks odd"}))
        .send()
        .await;
    assert_eq!(paused.status, StatusCode::OK, "{}", paused.body);
    let p: Campaign = paused.json();
    assert_eq!(p.state, CampaignState::Paused);
    assert!(p.paused_reason.unwrap().contains("dashboard looks odd"));
    assert_eq!(count_kind(&ts, kinds::CAMPAIGN_PAUSED).await, 1);

    let resumed = ts.post(&path("resume")).by("ada").send().await;
    assert_eq!(resumed.status, StatusCode::OK, "{}", resumed.body);
    assert_ne!(resumed.json::<Campaign>().state, CampaignState::Paused);
    let twice = ts.post(&path("resume")).by("ada").send().await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.body);
    twice.problem();

    let no_reason = ts.post(&path("rollback")).by("olga").send().await;
    assert_eq!(no_reason.status, StatusCode::BAD_REQUEST);
    let rolled = ts
        .post(&path("rollback"))
        .by("olga")
        .json(&json!({"reason": "error rate up"}))
        .send()
        .await;
    assert_eq!(rolled.status, StatusCode::OK, "{}", rolled.body);
    let r: Campaign = rolled.json();
    assert!(matches!(
        r.state,
        CampaignState::RollingBack | CampaignState::RolledBack
    ));
    assert_eq!(r.rollback.unwrap().reason, "error rate up");
    let late = ts
        .post(&path("pause"))
        .by("olga")
        .json(&json!({"reason": "x"}))
        .send()
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT);

    // Every answered action is in the audit trail with its actor and correlation id.
    let log = events(&ts).await;
    let rb = log
        .events
        .iter()
        .find(|e| e.kind == kinds::CAMPAIGN_ROLLBACK_REQUESTED)
        .expect("rollback event");
    assert_eq!(rb.actor, "olga");
    assert!(
        rb.correlation_id
            .as_deref()
            .is_some_and(|c| c.starts_with("req-"))
    );
}

#[tokio::test]
async fn snapshot_and_event_pages_agree() {
    let ts = common::start_with_fleet().await;
    create(&ts, &uuid::Uuid::new_v4().to_string()).await;
    let snap: Snapshot = ts.get("/v1/snapshot").by("vic").send().await.json();
    assert_eq!(snap.databases.len(), 5);
    assert_eq!(snap.campaigns.len(), 1);
    assert_eq!(snap.evidence.len(), 5);
    assert_eq!(snap.events.last().map(|e| e.seq), Some(snap.last_seq));
    let seqs: Vec<u64> = snap.events.iter().map(|e| e.seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "contiguous: {seqs:?}"
    );

    let page: EventsPage = ts
        .get("/v1/events?after=0&limit=2")
        .by("vic")
        .send()
        .await
        .json();
    assert_eq!(
        page.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert!(page.last_seq >= snap.last_seq);
    let next: EventsPage = ts
        .get("/v1/events?after=2&limit=1")
        .by("vic")
        .send()
        .await
        .json();
    assert_eq!(next.events[0].seq, 3);
}

#[tokio::test]
async fn a_partial_gate_takes_the_documented_defaults_for_the_rest() {
    let ts = common::start_with_fleet().await;
    let a = ts
        .post("/v1/campaigns")
        .by("olga")
        .json(&json!({
            "title": "postgres 16.4",
            "target_version": "16.4",
            "gate": {"bake_seconds": 5}
        }))
        .send()
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let c: Campaign = a.json();
    assert_eq!(
        c.gate,
        fleetdeck_api::GateSettings {
            failure_budget: 3,
            bake_seconds: 5,
            max_replication_lag_s: 30.0,
            concurrency: 4,
        },
        "docs/control-plane.md: failure_budget 3, max_replication_lag_s 30, concurrency 4"
    );
    // An unknown gate setting is still refused, naming it.
    let bad = ts
        .post("/v1/campaigns")
        .by("olga")
        .json(&json!({
            "title": "postgres 16.4",
            "target_version": "16.4",
            "gate": {"bake_secs": 5}
        }))
        .send()
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert!(bad.problem().detail.contains("bake_secs"), "{}", bad.body);
}
