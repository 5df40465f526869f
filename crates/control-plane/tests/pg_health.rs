//! Live fleet health on real PostgreSQL servers: the poller follows a server that is
//! stopped and started again, the inventory (a database's detail, the snapshot, the
//! event log) and a campaign's gate say the same thing at every step, and a declared
//! replica that was promoted behind the inventory's back is `degraded` with that
//! finding.

mod common;
mod pg_support;

use chrono::Utc;
use fleetdeck_api::{CampaignState, Change, HealthStatus, RingState, kinds};
use fleetdeck_pg_harness::{Cluster, skipped};
use pg_support::{Declared, PgServer, config, server_version};
use serde_json::json;

/// The poller's interval in these tests.
const INTERVAL_S: u64 = 3;

fn health_section() -> String {
    format!("[health]\ninterval_seconds = {INTERVAL_S}\njitter_percent = 0\ntimeout_seconds = 2\n")
}

/// The inventory's two views of `id` agree on its status, and it is `status`.
async fn inventory_says(pg: &PgServer, id: &str, status: HealthStatus) {
    let detail = pg.health(id).await;
    let snap = pg.in_snapshot(id).await.health;
    assert_eq!(detail.status, status, "GET /v1/databases/{id}: {detail:?}");
    assert_eq!(snap.status, status, "snapshot: {snap:?}");
}

#[tokio::test]
async fn the_poller_follows_a_stopped_server_and_the_inventory_agrees_with_the_gate() {
    if skipped() {
        return;
    }
    let cluster = Cluster::start_new();
    let version = server_version(&cluster);
    let db = Declared {
        id: "pg-b",
        cluster: &cluster,
        ring: 0,
        primary: None,
        connection: "",
    };
    let pg = PgServer::start(config(&[db], "", "", &health_section())).await;

    // Polled from the start: no campaign has touched it.
    let first = pg.health_becomes("pg-b", HealthStatus::Healthy).await;
    assert_eq!(first.checked_by.as_deref(), Some("poller"));
    assert!(
        first.check_ms.is_some() && first.max_connections == Some(40),
        "{first:?}"
    );
    inventory_says(&pg, "pg-b", HealthStatus::Healthy).await;

    // A campaign reaches its bake; the server stops during it.
    let c = pg
        .create_campaign(
            &version,
            &[0],
            json!({"failure_budget": 1, "bake_seconds": 30, "max_replication_lag_s": 30.0, "concurrency": 1}),
        )
        .await;
    pg.until("ring 0 to bake", || async {
        pg.approve_pending().await;
        let c = pg.campaign(&c.id).await;
        (c.rings[0].state == RingState::Baking).then_some(())
    })
    .await;
    inventory_says(&pg, "pg-b", HealthStatus::Healthy).await;
    cluster.stop();
    let stopped = Utc::now();

    let down = pg.health_becomes("pg-b", HealthStatus::Down).await;
    // `since`: the first reading that saw it down (later ones only renew the figures).
    let since = down.since.expect("since");
    assert!(
        since >= stopped && since <= down.checked_at.expect("checked_at"),
        "{down:?}"
    );
    let seen_after = since - stopped;
    assert!(
        seen_after <= chrono::Duration::seconds(2 * INTERVAL_S as i64),
        "down seen {seen_after} after the stop; the poller checks every {INTERVAL_S} s"
    );
    assert!(
        down.findings.iter().any(|f| f.contains("cannot connect")),
        "{down:?}"
    );

    // The gate saw the same: the campaign paused on it, and the inventory says down.
    let paused = pg.campaign_becomes(&c.id, CampaignState::Paused).await;
    let reason = paused.paused_reason.unwrap_or_default();
    assert!(reason.contains("pg-b is down"), "{reason}");
    inventory_says(&pg, "pg-b", HealthStatus::Down).await;
    let events = pg.ts.all_events().await;
    let went_down = events
        .iter()
        .find(|e| e.kind == kinds::DATABASE_HEALTH && e.message.starts_with("pg-b is down"))
        .expect("a database.health event for the stop");
    assert!(
        went_down.message.contains("(was healthy)"),
        "{}",
        went_down.message
    );
    match &went_down.change {
        Some(Change::Database { database }) => {
            assert_eq!(database.health.status, HealthStatus::Down)
        }
        other => panic!("the event carries the database: {other:?}"),
    }

    // Back: healthy again within two intervals, everywhere.
    cluster.start();
    let started = Utc::now();
    let up = pg.health_becomes("pg-b", HealthStatus::Healthy).await;
    let seen_after = up.since.expect("since") - started;
    assert!(
        seen_after <= chrono::Duration::seconds(2 * INTERVAL_S as i64),
        "healthy seen {seen_after} after the start"
    );
    inventory_says(&pg, "pg-b", HealthStatus::Healthy).await;
    let events = pg.ts.all_events().await;
    assert!(
        events
            .iter()
            .any(|e| e.kind == kinds::DATABASE_HEALTH
                && e.message == "pg-b is healthy again (was down)"),
        "{:?}",
        events.iter().map(|e| &e.message).collect::<Vec<_>>()
    );
    // Figures alone are not events: a handful of status changes, not one per poll.
    let health_events = events
        .iter()
        .filter(|e| e.kind == kinds::DATABASE_HEALTH)
        .count();
    assert!(health_events <= 5, "{health_events} health events");
}

#[tokio::test]
async fn a_promoted_replica_is_degraded_with_the_role_finding() {
    if skipped() {
        return;
    }
    let primary = Cluster::start_new();
    let replica = primary.replica_with(&["cluster_name = 'pg-r'".to_string()]);
    let dbs = [
        Declared {
            id: "pg-p",
            cluster: &primary,
            ring: 1,
            primary: None,
            connection: "",
        },
        Declared {
            id: "pg-r",
            cluster: &replica,
            ring: 0,
            primary: Some("pg-p"),
            connection: "",
        },
    ];
    let pg = PgServer::start(config(&dbs, "", "", &health_section())).await;
    let p = pg.health_becomes("pg-p", HealthStatus::Healthy).await;
    assert_eq!(p.replicas.len(), 1, "{p:?}");
    assert_eq!(p.replicas[0].state, "streaming");
    let r = pg.health_becomes("pg-r", HealthStatus::Healthy).await;
    assert_eq!(
        r.replication_lag_s,
        Some(0.0),
        "an idle primary is no lag: {r:?}"
    );

    replica.sql("postgres", "SELECT pg_promote()");

    let r = pg.health_becomes("pg-r", HealthStatus::Degraded).await;
    assert!(
        r.findings
            .iter()
            .any(|f| f.contains("declared a replica of pg-p") && f.contains("promoted")),
        "{r:?}"
    );
    inventory_says(&pg, "pg-r", HealthStatus::Degraded).await;
    // Its primary lost the stream.
    let p = pg.health_becomes("pg-p", HealthStatus::Degraded).await;
    assert!(
        p.findings
            .iter()
            .any(|f| f.contains("replica pg-r is not connected")),
        "{p:?}"
    );
    let events = pg.ts.all_events().await;
    assert!(
        events.iter().any(|e| e.kind == kinds::DATABASE_HEALTH
            && e.message
                .starts_with("pg-r is degraded: declared a replica")),
        "{:?}",
        events.iter().map(|e| &e.message).collect::<Vec<_>>()
    );
}
