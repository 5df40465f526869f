//! The database detail shows each health reading with its age and who took it, what
//! the check found, a primary's streams, and a database that has gone unchecked as
//! unknown since its last reading, never with that reading's figures.

mod ui_support;

use crossterm::event::KeyCode;
use fleetdeck_api::*;
use fleetdeck_console::{App, Msg};
use ui_support::*;

const W: u16 = 160;
const H: u16 = 48;

/// The detail of pg-prod-p1 (the row the Fleet pane selects first).
fn detail() -> App {
    let mut app = app(W, H);
    typed(&mut app, "3");
    key(&mut app, KeyCode::Enter);
    assert!(screen(&app, W, H).contains("Database pg-prod-p1"));
    app
}

fn p1() -> Database {
    databases()
        .into_iter()
        .find(|d| d.id == "pg-prod-p1")
        .unwrap()
}

fn changed(app: &mut App, seq: u64, db: Database) {
    app.update(Msg::Server(Box::new(event(
        seq,
        Level::Warn,
        kinds::DATABASE_HEALTH,
        "pg-prod-p1 health",
        Some(Change::Database {
            database: Box::new(db),
        }),
    ))));
}

fn health_rows(app: &App) -> Vec<String> {
    screen(app, W, H)
        .lines()
        .filter(|l| {
            ["Health", "Findings", "Replicas"]
                .iter()
                .any(|k| l.contains(&format!("┃ {k}")))
        })
        .map(|l| {
            l.trim_matches(|c| c == '"' || c == '┃' || c == ' ')
                .to_string()
        })
        .collect()
}

#[test]
fn a_reading_shows_its_age_who_took_it_and_what_it_found() {
    let mut app = detail();
    let mut db = p1();
    db.health = Health {
        status: HealthStatus::Degraded,
        connections: 12,
        max_connections: Some(100),
        latency_ms: 0.8,
        checked_at: Some(t0() - chrono::Duration::seconds(12)),
        checked_by: Some("poller".into()),
        check_ms: Some(4.2),
        findings: vec![
            "replica pg-prod-r1 is not connected (no 'pg-prod-r1' in pg_stat_replication)".into(),
        ],
        replicas: vec![ReplicaStream {
            database_id: "pg-prod-r1".into(),
            state: "missing".into(),
            replay_lag_bytes: None,
        }],
        ..Health::default()
    };
    changed(&mut app, 6, db);
    assert_eq!(
        health_rows(&app),
        vec![
            "Health        ▲ degraded · 12 of 100 connections · 0.8 ms · checked 12s ago by poller in 4 ms",
            "Findings      replica pg-prod-r1 is not connected (no 'pg-prod-r1' in pg_stat_replication)",
            "Replicas      pg-prod-r1 missing",
        ]
    );
}

#[test]
fn an_unchecked_database_is_unknown_since_its_last_reading() {
    let mut app = detail();
    let mut db = p1();
    let last = t0() - mins(4);
    db.health = Health {
        status: HealthStatus::Unknown,
        checked_at: Some(last),
        since: Some(last),
        checked_by: Some("poller".into()),
        findings: vec!["not checked for three health intervals (90 s)".into()],
        ..Health::default()
    };
    changed(&mut app, 6, db);
    let rows = health_rows(&app);
    assert!(
        rows[0].starts_with("Health        ? unknown since 4m ago · checked 4m ago by poller"),
        "{rows:?}"
    );
    assert!(!rows[0].contains("connections"), "{rows:?}");
}

#[test]
fn the_newer_of_the_live_row_and_the_fetched_copy_is_shown() {
    let mut app = detail();
    let mut fetched = p1();
    fetched.health.checked_at = Some(t0() - chrono::Duration::seconds(1));
    fetched.health.checked_by = Some("bake".into());
    fetched.health.connections = 7;
    let evidence = evidences()
        .into_iter()
        .find(|e| e.database_id == "pg-prod-p1")
        .unwrap();
    app.update(Msg::DatabaseLoaded(Ok(Box::new(DatabaseDetail {
        database: fetched,
        evidence,
        drills: Vec::new(),
    }))));
    let rows = health_rows(&app);
    assert!(
        rows[0].contains("7 connections · 3.2 ms · checked 1s ago by bake"),
        "{rows:?}"
    );
}
