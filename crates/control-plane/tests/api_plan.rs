//! `POST /v1/campaigns/plan` on the real server, and `POST /v1/campaigns` refusing what
//! its plan refuses: every reason at once, and a pinned `plan_hash` that no longer
//! matches.

mod common;

use fleetdeck_api::{Campaign, CampaignPlan};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn plan(ts: &common::TestServer, user: &str, body: &Value) -> common::Answer {
    ts.req(Method::POST, "/v1/campaigns/plan")
        .by(user)
        .json(body)
        .send()
        .await
}

#[tokio::test]
async fn any_reader_plans_without_a_key_and_nothing_changes() {
    let ts = common::start_with_fleet().await;
    let before = ts.all_events().await.len();
    let body = json!({"title": "postgres 16.4", "target_version": "16.4", "change_ref": "PR-7"});
    let answer = plan(&ts, "vic", &body).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let p: CampaignPlan = answer.json();
    assert!(p.can_start, "{:?}", p.refusals);
    assert_eq!(p.change_ref.as_deref(), Some("PR-7"));
    assert_eq!(p.target_count(), 5);
    assert_eq!(
        p.rings.iter().map(|r| r.index).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    assert_eq!(
        p.rings[2]
            .targets
            .iter()
            .map(|t| t.database_id.as_str())
            .collect::<Vec<_>>(),
        ["pg-prod-01-r1", "pg-prod-01"],
        "the replica goes before its primary"
    );
    assert_eq!(p.rings[2].promotion.as_ref().unwrap().approvals_required, 2);
    // A plan is not an action: no campaign, and the log only moved by the scheduler's
    // drills, never by a campaign event.
    let campaigns: Vec<Campaign> = ts.get("/v1/campaigns").by("vic").send().await.json();
    assert!(campaigns.is_empty());
    let events = ts.all_events().await;
    assert!(
        events[before..]
            .iter()
            .all(|e| !e.kind.starts_with("campaign.")),
        "{:?}",
        &events[before..]
    );
    let anonymous = ts
        .req(Method::POST, "/v1/campaigns/plan")
        .json(&body)
        .send()
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let typo = plan(
        &ts,
        "vic",
        &json!({"title": "t", "target_version": "1", "rigns": [1]}),
    )
    .await;
    assert_eq!(typo.status, StatusCode::BAD_REQUEST);
    assert!(typo.problem().detail.contains("rigns"));
}

#[tokio::test]
async fn every_reason_to_refuse_is_listed_at_once() {
    let ts = common::start_with_fleet().await;
    // pg-prod-01 waits for its promotion in another campaign.
    let busy = ts
        .post("/v1/campaigns")
        .by("olga")
        .json(&json!({"title": "first", "target_version": "16.4", "databases": ["pg-prod-01"]}))
        .send()
        .await;
    assert_eq!(busy.status, StatusCode::CREATED, "{}", busy.body);
    let busy: Campaign = busy.json();

    let body = json!({
        "title": "  ",
        "target_version": "16.2",
        "databases": ["pg-nope", "pg-prod-01", "pg-dev-01"],
        "gate": {"failure_budget": 1, "bake_seconds": 60, "max_replication_lag_s": 5.0, "concurrency": 0},
    });
    let p: CampaignPlan = plan(&ts, "vic", &body).await.json();
    assert!(!p.can_start);
    let codes: Vec<(&str, Option<&str>)> = p
        .refusals
        .iter()
        .map(|r| (r.code.as_str(), r.database_id.as_deref()))
        .collect();
    assert_eq!(
        codes,
        [
            ("invalid", None),
            ("invalid", None),
            ("unknown-database", Some("pg-nope")),
            ("downgrade", Some("pg-dev-01")),
            ("downgrade", Some("pg-prod-01")),
            ("busy", Some("pg-prod-01")),
        ]
    );
    assert!(p.refusals[0].message.contains("title"));
    assert!(p.refusals[1].message.contains("concurrency"));
    assert!(p.refusals[5].message.contains(&busy.id));

    // The create refuses the same body with every one of those reasons.
    let created = ts.post("/v1/campaigns").by("olga").json(&body).send().await;
    assert_eq!(created.status, StatusCode::BAD_REQUEST);
    let detail = created.problem().detail;
    for r in &p.refusals {
        assert!(detail.contains(&r.message), "{detail} lacks {}", r.message);
    }

    let empty = json!({
        "title": "nothing",
        "target_version": "16.4",
        "tags": ["no-such-tag"],
        "exclude": ["pg-ghost"],
    });
    let p: CampaignPlan = plan(&ts, "vic", &empty).await.json();
    let codes: Vec<&str> = p.refusals.iter().map(|r| r.code.as_str()).collect();
    assert_eq!(codes, ["unknown-database", "empty-selection"]);
    assert!(p.rings.is_empty());
}

#[tokio::test]
async fn a_pinned_plan_that_changed_is_refused_with_the_difference() {
    let ts = common::start_with_fleet().await;
    let body = json!({"title": "prod", "target_version": "16.4", "rings": [2]});
    let reviewed: CampaignPlan = plan(&ts, "olga", &body).await.json();
    assert!(reviewed.can_start);
    // Meanwhile another campaign takes pg-prod-01.
    let other = ts
        .post("/v1/campaigns")
        .by("olga")
        .json(&json!({"title": "first", "target_version": "16.4", "databases": ["pg-prod-01"]}))
        .send()
        .await;
    assert_eq!(other.status, StatusCode::CREATED, "{}", other.body);
    let mut pinned = body.clone();
    pinned["plan_hash"] = json!(reviewed.plan_hash);
    let refused = ts
        .post("/v1/campaigns")
        .by("olga")
        .json(&pinned)
        .send()
        .await;
    assert_eq!(refused.status, StatusCode::PRECONDITION_FAILED);
    let detail = refused.problem().detail;
    assert!(
        detail.contains("the plan has changed since it was reviewed"),
        "{detail}"
    );
    assert!(detail.contains(&reviewed.plan_hash), "{detail}");
    assert!(
        detail.contains("now refused: database pg-prod-01 is already in unfinished campaign"),
        "{detail}"
    );
    let campaigns: Vec<Campaign> = ts.get("/v1/campaigns").by("vic").send().await.json();
    assert_eq!(campaigns.len(), 1, "nothing started");
    assert_eq!(campaigns[0].change_ref, None);
}
