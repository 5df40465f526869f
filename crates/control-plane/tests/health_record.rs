//! The health the inventory shows is the health the gates saw (issue 10, item 8): what
//! a bake and a rollback's repair stage observe is recorded as the database's health,
//! with when and by whom it was checked, so `GET /v1/databases/{id}` and the snapshot
//! never contradict a gate. The poller is kept out of the way (one check at start, the
//! next an hour later) so only the campaign's own observations can update the record.
//!
//! Also: a reading too old to stand for a database's health (the control plane was
//! stopped for longer than three intervals) is shown as unknown since it was taken,
//! never as its last good value.

mod common;
mod pg_support;

use std::path::Path;
use std::time::Duration;

use fleetdeck_api::{CampaignState, HealthStatus, RingState, RollbackStage, kinds};
use pg_support::PgServer;
use serde_json::json;

/// The team's tooling: healthy unless `state/STATUS-ID` names another status.
const SCRIPT: &str = r#"#!/bin/sh
op=$1; id=$2; from=$3; to=$4
state="$PWD/state"
case "$op" in
  patch|rollback) echo "$to" > "$state/version-$id" ;;
  health)
    for s in down degraded; do
      if [ -e "$state/$s-$id" ]; then echo "{\"status\": \"$s\"}"; exit 0; fi
    done
    echo '{"status": "healthy", "connections": 5, "latency_ms": 1.5}' ;;
  version) if [ -e "$state/version-$id" ]; then cat "$state/version-$id"; else echo "$from"; fi ;;
  drill) echo '{"backup_id": "bk-1", "recovery_point": "2026-11-21T20:00:00Z", "checksum_ok": true}' ;;
esac
"#;

fn config(scripts: &Path, health: &str) -> String {
    let mut text = format!(
        "[executor]\nkind = \"command\"\nworking_dir = \"{}\"\n",
        scripts.display()
    );
    for op in ["patch", "rollback", "health", "version", "drill"] {
        text.push_str(&format!(
            "[executor.{op}]\ncommand = \"sh ./op.sh {op} {{id}} {{from_version}} {{to_version}}\"\ntimeout_seconds = 20\n"
        ));
    }
    text.push_str(health);
    text.push_str(
        "\n[[database]]\nid = \"pg-b\"\nengine = \"postgres\"\nengine_version = \"16.3\"\n\
         environment = \"dev\"\ntier = 3\nregion = \"eu-west-1\"\nowner_team = \"payments\"\n\
         ring = 0\nhost = \"pg-b.db.internal\"\n\
         backup = { schedule = \"daily 02:00\", retention_days = 7 }\n",
    );
    text
}

fn scripts() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("op.sh"), SCRIPT).unwrap();
    std::fs::create_dir(dir.path().join("state")).unwrap();
    dir
}

/// One check at start, the next an hour later.
const QUIET_POLLER: &str = "[health]\ninterval_seconds = 3600\njitter_percent = 0\n";

async fn inventory(pg: &PgServer) -> (fleetdeck_api::Health, fleetdeck_api::Health) {
    (pg.health("pg-b").await, pg.in_snapshot("pg-b").await.health)
}

#[tokio::test]
async fn what_the_bake_and_the_repair_see_is_the_health_the_inventory_shows() {
    let dir = scripts();
    let pg = PgServer::start(config(dir.path(), QUIET_POLLER)).await;
    pg.health_becomes("pg-b", HealthStatus::Healthy).await;
    let c = pg
        .create_campaign(
            "16.4",
            &[0],
            json!({"failure_budget": 1, "bake_seconds": 20, "max_replication_lag_s": 30.0, "concurrency": 1}),
        )
        .await;
    pg.until("ring 0 to bake", || async {
        pg.approve_pending().await;
        let c = pg.campaign(&c.id).await;
        (c.rings[0].state == RingState::Baking).then_some(())
    })
    .await;
    let verified = pg.health("pg-b").await;
    assert_eq!(verified.status, HealthStatus::Healthy);
    assert!(
        matches!(
            verified.checked_by.as_deref(),
            Some("patch verification" | "bake")
        ),
        "{verified:?}"
    );

    // The server goes down during the bake: the gate pauses the campaign...
    std::fs::write(dir.path().join("state/down-pg-b"), "").unwrap();
    let paused = pg.campaign_becomes(&c.id, CampaignState::Paused).await;
    let reason = paused.paused_reason.clone().unwrap_or_default();
    assert!(reason.contains("pg-b is down"), "{reason}");
    // ...and the inventory says what the gate saw, checked when the gate checked.
    let (detail, snap) = inventory(&pg).await;
    assert_eq!(detail.status, HealthStatus::Down, "{detail:?}");
    assert_eq!(snap.status, HealthStatus::Down, "{snap:?}");
    assert_eq!(detail.checked_by.as_deref(), Some("bake"));
    assert!(detail.checked_at > verified.checked_at, "{detail:?}");

    // The rollback's repair stage finds it degraded: recorded too.
    std::fs::remove_file(dir.path().join("state/down-pg-b")).unwrap();
    std::fs::write(dir.path().join("state/degraded-pg-b"), "").unwrap();
    let answer = pg
        .ts
        .post(&format!("/v1/campaigns/{}/rollback", c.id))
        .by("olga")
        .if_match(&fleetdeck_api::etag(paused.version))
        .json(&json!({"reason": "pg-b went down during the bake"}))
        .send()
        .await;
    assert!(
        answer.status.is_success(),
        "{} {}",
        answer.status,
        answer.body
    );
    let rolled = pg.campaign_becomes(&c.id, CampaignState::RolledBack).await;
    assert_eq!(
        rolled.rollback.expect("rollback").stage,
        RollbackStage::Done
    );
    let (detail, snap) = inventory(&pg).await;
    assert_eq!(detail.status, HealthStatus::Degraded, "{detail:?}");
    assert_eq!(snap.status, HealthStatus::Degraded, "{snap:?}");
    assert_eq!(detail.checked_by.as_deref(), Some("rollback repair"));

    let events = pg.ts.all_events().await;
    let health: Vec<&str> = events
        .iter()
        .filter(|e| e.kind == kinds::DATABASE_HEALTH)
        .map(|e| e.message.as_str())
        .collect();
    assert_eq!(
        health,
        vec![
            "pg-b is healthy",
            "pg-b is down (was healthy)",
            "pg-b is degraded (was down)"
        ]
    );
}

#[tokio::test]
async fn a_reading_older_than_three_intervals_is_unknown_since_it_was_taken() {
    let dir = scripts();
    let mut pg = PgServer::start(config(
        dir.path(),
        "[health]\ninterval_seconds = 1\njitter_percent = 0\n",
    ))
    .await;
    let good = pg.health_becomes("pg-b", HealthStatus::Healthy).await;
    pg.ts.stop().await;
    // The control plane is away for longer than three intervals.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    // Back, on the same state file: its first look marks the old reading unknown, then
    // a fresh check makes it healthy again.
    pg.ts.restart().await;
    let events = pg
        .until(
            "the stale reading to be marked unknown and renewed",
            || async {
                let events = pg.ts.all_events().await;
                let renewed = events
                    .iter()
                    .any(|e| e.message == "pg-b is healthy again (was unknown)");
                renewed.then_some(events)
            },
        )
        .await;
    let unknown = events
        .iter()
        .find(|e| {
            e.kind == kinds::DATABASE_HEALTH && e.message.starts_with("pg-b health is unknown")
        })
        .expect("an event marking the old reading unknown");
    assert!(
        unknown
            .message
            .contains("not checked for three health intervals (3 s)"),
        "{}",
        unknown.message
    );
    match &unknown.change {
        Some(fleetdeck_api::Change::Database { database }) => {
            let h = &database.health;
            assert_eq!(h.status, HealthStatus::Unknown);
            // Unknown since the last reading, whose figures it no longer shows.
            assert!(
                h.since >= good.checked_at && h.since == h.checked_at,
                "{h:?}"
            );
            assert_eq!((h.connections, h.latency_ms), (0, 0.0), "{h:?}");
        }
        other => panic!("the event carries the database: {other:?}"),
    }
}
