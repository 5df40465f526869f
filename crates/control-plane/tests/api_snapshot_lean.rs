//! The lean snapshot: every database and its evidence, with evidence drills that leave
//! their output out, streamed into the body; the output stays one request away in the
//! database's detail. A real server on a loopback port and a real SQLite file.

mod common;

use chrono::{Duration, Utc};
use fleetdeck_api::{Database, DatabaseDetail, Drill, DrillState, Evidence, Freshness, Snapshot};
use fleetdeck_control_plane::store::fleet;
use reqwest::StatusCode;
use serde_json::Value;

/// Enough databases that the body spans several chunks of the server's writer.
const DATABASES: usize = 1500;

fn output_of(db: &str, what: &str) -> String {
    format!("restore of {db} into an isolated host\nbackup bk-{db}\n{what}\n")
}

fn drill(db: &Database, id: &str, state: DrillState, days_ago: i64, output: String) -> Drill {
    let started = Utc::now() - Duration::days(days_ago);
    Drill {
        id: id.to_string(),
        database_id: db.id.clone(),
        state,
        requested_by: "scheduler".into(),
        started_at: started,
        finished_at: Some(started + Duration::minutes(12)),
        backup_id: Some(format!("bk-{}", db.id)),
        recovery_point: Some(started - Duration::hours(1)),
        restore_seconds: Some(700.0),
        checksum_ok: Some(state == DrillState::Succeeded),
        output,
        proof: None,
    }
}

/// Every database gets a good drill two days ago; every other one a failed drill since
/// (failed evidence is retried only after an hour, fresh evidence not at all, so the
/// drill scheduler leaves this fleet alone while the test reads it). The first database
/// has two drills started at the same instant: the later id counts as the newer.
fn history(dbs: &[Database]) -> Vec<Drill> {
    let mut drills = Vec::new();
    for (i, db) in dbs.iter().enumerate() {
        let good = drill(
            db,
            &format!("dr-{i}-good"),
            DrillState::Succeeded,
            2,
            output_of(&db.id, "checksums verified"),
        );
        if i == 0 {
            let tie = Drill {
                id: format!("dr-{i}-hood"),
                state: DrillState::Failed,
                checksum_ok: Some(false),
                output: output_of(&db.id, "CHECKSUM MISMATCH"),
                ..good.clone()
            };
            drills.push(tie);
        } else if i % 2 == 0 {
            drills.push(drill(
                db,
                &format!("dr-{i}-bad"),
                DrillState::Failed,
                1,
                output_of(&db.id, "CHECKSUM MISMATCH"),
            ));
        }
        drills.push(good);
    }
    drills
}

async fn seeded() -> (common::TestServer, Vec<Drill>) {
    let ts = common::start().await;
    let dbs = fleetdeck_control_plane::demo::generate(DATABASES, 11, Utc::now()).databases;
    let drills = history(&dbs);
    let store = ts.store();
    let mut tx = store.begin().await.unwrap();
    fleet::seed(&mut tx, &dbs, &drills).await.unwrap();
    store.commit(tx).await.unwrap();
    (ts, drills)
}

/// Evidence as a fleet-wide list shows it: drills without output, judged at a fixed time.
fn lean(mut e: Evidence) -> Evidence {
    for d in [&mut e.latest, &mut e.last_good].into_iter().flatten() {
        d.output.clear();
    }
    e.judged_at = chrono::DateTime::UNIX_EPOCH;
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_snapshot_carries_every_database_and_lean_evidence() {
    let (ts, drills) = seeded().await;
    let answer = ts.get("/v1/snapshot").by("vic").send().await;
    assert_eq!(answer.status, StatusCode::OK);
    let ct = answer.headers.get(reqwest::header::CONTENT_TYPE).unwrap();
    assert_eq!(ct, "application/json");
    assert!(
        answer.body.len() > 512 * 1024,
        "{} bytes: too small to span several chunks",
        answer.body.len()
    );
    assert!(
        !answer.body.contains("checksums verified") && !answer.body.contains("CHECKSUM"),
        "drill output in the snapshot"
    );
    let raw = answer.value();
    for e in raw["evidence"].as_array().unwrap() {
        for which in ["latest", "last_good"] {
            assert!(e[which].get("output").is_none(), "{which} of {e}");
        }
    }
    let snap: Snapshot = answer.json();

    // The same databases, in the same order, as the inventory endpoint.
    let dbs: Vec<Database> = ts.get("/v1/databases").by("vic").send().await.json();
    assert_eq!(snap.databases, dbs);
    assert_eq!(snap.databases.len(), DATABASES);
    let ids: Vec<&str> = snap
        .evidence
        .iter()
        .map(|e| e.database_id.as_str())
        .collect();
    let db_ids: Vec<&str> = dbs.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, db_ids, "evidence follows the inventory order");

    // What each database's evidence says, from the seeded history.
    for e in &snap.evidence {
        let latest = e.latest.as_ref().expect("every database has drills");
        let good = e
            .last_good
            .as_ref()
            .expect("every database has a good drill");
        assert!(good.id.ends_with("-good"), "{}", good.id);
        assert_eq!(good.state, DrillState::Succeeded);
        assert_eq!(
            e.last_good_at, good.finished_at,
            "{}: the good drill's finish",
            e.database_id
        );
        if latest.state == DrillState::Failed {
            assert_eq!(e.freshness, Freshness::Failed, "{}", e.database_id);
        } else {
            assert_eq!(latest.id, good.id);
            assert_eq!(e.freshness, Freshness::Fresh, "{}", e.database_id);
        }
    }
    let failed = snap
        .evidence
        .iter()
        .filter(|e| e.freshness == Freshness::Failed)
        .count();
    assert_eq!(failed, DATABASES.div_ceil(2));
    let tie = snap
        .evidence
        .iter()
        .find(|e| e.latest.as_ref().is_some_and(|d| d.id == "dr-0-hood"))
        .expect("of two drills started at once, the later id is the newest");
    assert_eq!(tie.freshness, Freshness::Failed);

    // The list endpoint is as lean and says the same.
    let listed: Vec<Evidence> = ts.get("/v1/evidence").by("vic").send().await.json();
    assert_eq!(
        listed.into_iter().map(lean).collect::<Vec<_>>(),
        snap.evidence.iter().cloned().map(lean).collect::<Vec<_>>()
    );
    assert!(drills.iter().all(|d| !d.output.is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drill_output_is_one_request_away_in_the_database_detail() {
    let (ts, drills) = seeded().await;
    let snap: Snapshot = ts.get("/v1/snapshot").by("vic").send().await.json();
    // A sample across the fleet, the tie included.
    for e in snap.evidence.iter().step_by(97).chain(
        snap.evidence
            .iter()
            .filter(|e| e.latest.as_ref().is_some_and(|d| d.id == "dr-0-hood")),
    ) {
        let path = format!("/v1/databases/{}", e.database_id);
        let detail: DatabaseDetail = ts.get(&path).by("vic").send().await.json();
        // The detail's evidence is the snapshot's, with the output.
        assert_eq!(lean(detail.evidence.clone()), lean(e.clone()));
        let latest = detail.evidence.latest.as_ref().unwrap();
        let seeded = drills.iter().find(|d| d.id == latest.id).unwrap();
        assert_eq!(latest.output, seeded.output);
        assert_eq!(
            detail.drills.first().map(|d| d.output.as_str()),
            Some(seeded.output.as_str()),
            "the newest drill of the history, with its output"
        );
        assert!(detail.drills.iter().all(|d| !d.output.is_empty()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_snapshot_holds_the_small_parts_and_stays_consistent_with_the_log() {
    let (ts, _) = seeded().await;
    let approval = ts.raise_approval("olga", 1, Duration::hours(1)).await;
    let snap: Snapshot = ts.get("/v1/snapshot").by("vic").send().await.json();
    assert_eq!(
        snap.approvals.iter().map(|a| &a.id).collect::<Vec<_>>(),
        vec![&approval.id]
    );
    assert!(!snap.events.is_empty());
    assert_eq!(snap.events.last().map(|e| e.seq), Some(snap.last_seq));
    assert!(snap.campaigns.is_empty());
    // A viewer reads it; no token is refused.
    let refused = ts.get("/v1/snapshot").send().await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let _: Value = refused.value();
}
