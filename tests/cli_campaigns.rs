//! `fleetdeck plan`, `apply` and `get campaign` on campaign files against a real control
//! plane: applying one file twice starts one campaign, a refused plan exits 3 with every
//! reason, and a reviewed `--plan-hash` is refused (exit 3, showing what changed) once
//! a drill has failed in between.

mod cli_support;
mod common;

use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use cli_support::Home;
use fleetdeck_api::{Campaign, CampaignState, Drill, DrillState, Freshness};
use fleetdeck_control_plane::store::drills;

fn write_file(home: &Home, name: &str, text: &str) -> PathBuf {
    let path = home.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Waits until the scheduler has drilled the whole fleet once: from then on its
/// evidence, and so a plan, only changes when a test changes it.
async fn settled_evidence(fx: &common::Fixture) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let ev = fx.client("vic").evidence().await.expect("evidence");
        let settled = ev.iter().all(|e| {
            e.freshness == Freshness::Fresh
                && e.latest
                    .as_ref()
                    .is_none_or(|d| d.state != DrillState::Running)
        });
        if settled {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the fleet's evidence never settled: {ev:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applying_one_file_twice_starts_one_campaign() {
    let fx = common::Fixture::start().await;
    let home = Home::new();
    // Fresh evidence: no target waits for an exception, so --wait sees it complete.
    settled_evidence(&fx).await;
    let file = write_file(
        &home,
        "dev.toml",
        "# Reviewed in PR 42.\ntitle = \"postgres 16.4 on dev\"\ntarget_version = \"16.4\"\n\
         rings = [0]\nchange_ref = \"PR-42\"\n\n[gate]\nbake_seconds = 1\nconcurrency = 1\n",
    );
    let file = file.to_str().unwrap();

    let plan = home.as_user(&fx.base, "vic", &["plan", file]).await;
    let text = &plan.ok().stdout;
    assert!(text.contains("can start now"), "{text}");
    assert!(text.contains("(change PR-42)"), "{text}");
    assert!(text.contains("pauses at the 3rd failed target"), "{text}");
    let rows: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("RING "))
        .collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert!(
        rows[1].contains("pg-dev-01") && rows[1].contains("16.3"),
        "{text}"
    );
    let json = home
        .as_user(&fx.base, "vic", &["plan", file, "-o", "json"])
        .await;
    let json = json.ok().json();
    assert_eq!(json["can_start"], true);
    assert_eq!(json["rings"][0]["targets"][1]["database_id"], "pg-dev-02");

    let first = home
        .as_user(
            &fx.base,
            "olga",
            &["apply", file, "--wait", "--timeout", "60s"],
        )
        .await;
    let out = &first.ok().stdout;
    let id = out
        .split_whitespace()
        .skip_while(|w| *w != "campaign")
        .nth(1)
        .expect("campaign id")
        .to_string();
    assert!(out.contains(&format!("{id}: completed")), "{out}");
    // CI runs the job again: the same campaign answers, nothing new starts.
    let again = home
        .as_user(&fx.base, "olga", &["apply", file, "-o", "json"])
        .await;
    let again: Campaign = serde_json::from_value(again.ok().json()).unwrap();
    assert_eq!(again.id, id);
    assert_eq!(again.state, CampaignState::Completed, "as it is now");
    let all: Vec<Campaign> = fx.get_json("/v1/campaigns").await;
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0].change_ref.as_deref(), Some("PR-42"));
    assert_eq!(all[0].state, CampaignState::Completed);

    let shown = home
        .as_user(&fx.base, "vic", &["get", "campaign", &id])
        .await;
    let text = &shown.ok().stdout;
    assert!(text.contains("change     PR-42"), "{text}");
    let rows: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("RING "))
        .collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert!(
        rows[1].starts_with("0 ") && rows[1].contains(" done "),
        "{text}"
    );
    let json = home
        .as_user(&fx.base, "vic", &["get", "campaign", &id, "-o", "json"])
        .await;
    assert_eq!(json.ok().json()["id"], id.as_str());
    let no_id = home.as_user(&fx.base, "vic", &["get", "campaign"]).await;
    assert_eq!(no_id.code, 2, "{no_id:#?}");

    // A viewer, and a read-only invocation, start nothing.
    let viewer = home.as_user(&fx.base, "vic", &["apply", file]).await;
    assert_eq!(viewer.code, 3, "{viewer:#?}");
    let readonly = home
        .as_user(&fx.base, "olga", &["apply", file, "--readonly"])
        .await;
    assert_eq!(readonly.code, 3, "{readonly:#?}");
    assert!(readonly.error_line().contains("--readonly is set"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_plan_exits_3_with_every_reason() {
    let fx = common::Fixture::start().await;
    let home = Home::new();
    let file = write_file(
        &home,
        "bad.toml",
        "title = \"down\"\ntarget_version = \"16.2\"\ndatabases = [\"pg-nope\", \"pg-dev-01\"]\n",
    );
    let plan = home
        .as_user(&fx.base, "vic", &["plan", file.to_str().unwrap()])
        .await;
    assert_eq!(plan.code, 3, "{plan:#?}");
    let line = plan.error_line();
    assert!(line.contains("would be refused (2 reason(s))"), "{line}");
    assert!(line.contains("unknown database 'pg-nope'"), "{line}");
    assert!(
        line.contains("pg-dev-01 runs 16.3, newer than 16.2"),
        "{line}"
    );
    assert!(plan.stdout.contains("refused:\n  - "), "{}", plan.stdout);
    let typo = write_file(
        &home,
        "typo.toml",
        "title = \"t\"\ntarget_version = \"1\"\nrigns = [1]\n",
    );
    let typo = home
        .as_user(&fx.base, "vic", &["plan", typo.to_str().unwrap()])
        .await;
    assert_eq!(typo.code, 2, "{typo:#?}");
    assert!(typo.error_line().contains("rigns"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewed_plan_hash_is_refused_once_a_drill_fails_in_between() {
    let fx = common::Fixture::start().await;
    let home = Home::new();
    settled_evidence(&fx).await;
    let file = write_file(
        &home,
        "prod.toml",
        "title = \"postgres 16.4 on prod\"\ntarget_version = \"16.4\"\nrings = [2]\n",
    );
    let file = file.to_str().unwrap();
    let reviewed = home
        .as_user(&fx.base, "olga", &["plan", file, "-o", "json"])
        .await;
    let reviewed = reviewed.ok().json();
    let hash = reviewed["plan_hash"].as_str().unwrap().to_string();
    assert!(reviewed["rings"][0]["targets"][1].get("blocked").is_none());

    // The primary's restore drill fails after the review. Its end lies in the future,
    // so the scheduler does not retry it while the test runs.
    {
        let store = fx.server.as_ref().unwrap().store();
        let mut tx = store.begin().await.unwrap();
        let now = Utc::now();
        let failed = Drill {
            id: "drl-failed-after-review".into(),
            database_id: "pg-prod-01".into(),
            state: DrillState::Failed,
            requested_by: "scheduler".into(),
            started_at: now,
            finished_at: Some(now + chrono::Duration::hours(1)),
            backup_id: Some("bk-1".into()),
            recovery_point: Some(now),
            restore_seconds: Some(10.0),
            checksum_ok: Some(false),
            output: "checksums do not match".into(),
            proof: None,
        };
        drills::insert(&mut tx, &failed).await.unwrap();
        store.commit(tx).await.unwrap();
    }

    let refused = home
        .as_user(&fx.base, "olga", &["apply", file, "--plan-hash", &hash])
        .await;
    assert_eq!(refused.code, 3, "{refused:#?}");
    let line = refused.error_line();
    assert!(
        line.contains("the plan has changed since it was reviewed"),
        "{line}"
    );
    assert!(
        line.contains("pg-prod-01 is now blocked: latest restore drill failed"),
        "{line}"
    );
    let none: Vec<Campaign> = fx.get_json("/v1/campaigns").await;
    assert!(none.is_empty(), "nothing started: {none:#?}");

    // Reviewed again, the new plan applies.
    let current = home
        .as_user(&fx.base, "olga", &["plan", file, "-o", "json"])
        .await;
    let current = current.ok().json();
    let new_hash = current["plan_hash"].as_str().unwrap();
    assert_ne!(new_hash, hash);
    let applied = home
        .as_user(&fx.base, "olga", &["apply", file, "--plan-hash", new_hash])
        .await;
    assert!(applied.ok().stdout.contains("2 target(s) in 1 ring(s)"));
}
