//! The JSON path must give a client exactly the evidence the struct path gives.

use chrono::{Duration, TimeZone};
use fleetdeck_api::{Database, DrillState};

use super::*;
use crate::demo::fleet::generate;
use crate::store::drills::all_evidence;
use crate::store::testing::temp_store;
use crate::store::{Store, fleet};

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).unwrap() + Duration::microseconds(123_456)
}

fn drill(id: &str, db: &Database, state: DrillState, day: u32) -> Drill {
    let finished = state != DrillState::Running;
    Drill {
        id: id.into(),
        database_id: db.id.clone(),
        state,
        requested_by: "scheduler".into(),
        started_at: at(day, 1),
        finished_at: finished.then(|| at(day, 2)),
        backup_id: Some(format!("bk-{id}")),
        recovery_point: Some(at(day, 0)),
        restore_seconds: finished.then_some(812.5),
        checksum_ok: finished.then_some(state == DrillState::Succeeded),
        output: "restored\nverified".into(),
        proof: None,
    }
}

/// Seeds `dbs` with `drills` and returns the evidence both ways as a client reads it:
/// the struct path's serialised by serde, the JSON path's as written. (Not the struct
/// path's values themselves: serde_json's default float parsing is not exact to the
/// last bit, for either path's text.)
async fn both_ways(dbs: &[Database], drills: &[Drill]) -> (Vec<Evidence>, Vec<Evidence>) {
    let (_dir, store): (_, Store) = temp_store().await;
    let mut tx = store.begin().await.unwrap();
    fleet::seed(&mut tx, dbs, drills).await.unwrap();
    store.commit(tx).await.unwrap();
    let now = at(20, 12);
    let mut conn = store.pool().acquire().await.unwrap();
    let structs = all_evidence(&mut conn, now).await.unwrap();
    let databases = fleet::all(&mut conn).await.unwrap();
    let mut docs = Vec::new();
    let mut json = b"[".to_vec();
    for_each_database_json(&mut conn, now, |doc, e| {
        docs.push(serde_json::from_str::<Database>(doc)?);
        if json.len() > 1 {
            json.push(b',');
        }
        e.write_to(&mut json)
    })
    .await
    .unwrap();
    json.push(b']');
    // The documents are the databases (and below, in the order of the evidence).
    assert_eq!(docs, databases);
    let text = String::from_utf8(json).unwrap();
    let decoded: Vec<Evidence> =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let ids = |e: &Evidence| e.database_id.clone();
    assert_eq!(
        decoded.iter().map(ids).collect::<Vec<_>>(),
        docs.iter().map(|d| d.id.clone()).collect::<Vec<_>>()
    );
    (client_read(&structs), decoded)
}

fn client_read(evidence: &[Evidence]) -> Vec<Evidence> {
    serde_json::from_str(&serde_json::to_string(evidence).unwrap()).unwrap()
}

#[tokio::test]
async fn drills_in_every_shape_decode_to_the_struct_paths_evidence() {
    let dbs = generate(12, 7, at(20, 0)).databases;
    let db = |i: usize| &dbs[i];
    let drills = vec![
        // dbs[0]: no drills at all. dbs[1]: only a running drill.
        drill("r1", db(1), DrillState::Running, 10),
        // dbs[2]: a success, then a failure (failed; last good is the older one).
        drill("g2", db(2), DrillState::Succeeded, 5),
        drill("f2", db(2), DrillState::Failed, 6),
        // dbs[3]: a success with every optional field null (last good counts from its start).
        Drill {
            finished_at: None,
            backup_id: None,
            recovery_point: None,
            restore_seconds: None,
            checksum_ok: None,
            ..drill("n3", db(3), DrillState::Succeeded, 18)
        },
        // dbs[4]: text a JSON writer must escape, and text it must not mangle.
        Drill {
            requested_by:
                "ops \"night\" \\ shift\n\t\u{1}\u{1f}\u{7f} \u{1b}[31mred ünïcødé 🚀 \u{2028}"
                    .into(),
            backup_id: Some("bk/'quote'\r\n".into()),
            ..drill("e4", db(4), DrillState::Succeeded, 19)
        },
        // dbs[5]: a failure only, a checksum that failed, awkward numbers.
        Drill {
            restore_seconds: Some(0.1 + 0.2),
            checksum_ok: Some(false),
            ..drill("f5", db(5), DrillState::Failed, 3)
        },
        // dbs[6]: running after a success (aging); dbs[7]: a success long ago (stale).
        Drill {
            restore_seconds: Some(1e-7),
            ..drill("g6", db(6), DrillState::Succeeded, 1)
        },
        drill("r6", db(6), DrillState::Running, 19),
        Drill {
            started_at: at(1, 1) - Duration::days(400),
            finished_at: Some(at(1, 2) - Duration::days(400)),
            restore_seconds: Some(123_456_789.123_456_79),
            ..drill("g7", db(7), DrillState::Succeeded, 1)
        },
        // dbs[8]: a state this build does not know; two drills started at the same moment
        // (the id breaks the tie).
        drill("u8", db(8), DrillState::Unknown, 12),
        Drill {
            restore_seconds: Some(1e20),
            ..drill("a8", db(8), DrillState::Succeeded, 12)
        },
        Drill {
            restore_seconds: Some(f64::MAX),
            ..drill("b8", db(8), DrillState::Succeeded, 12)
        },
        // dbs[9]: a whole number of seconds and the smallest positive one.
        Drill {
            restore_seconds: Some(600.0),
            ..drill("w9", db(9), DrillState::Succeeded, 8)
        },
        Drill {
            restore_seconds: Some(f64::MIN_POSITIVE),
            ..drill("x9", db(9), DrillState::Failed, 9)
        },
        // dbs[10]: a drill with its proof: fleet-wide, without its checks.
        Drill {
            proof: Some(fleetdeck_api::DrillProof {
                backup_label: Some("20260310-010000F".into()),
                recovery_target: Some("restore point \"fd-1\" at 0/3000090".into()),
                recovery_lsn: Some("0/30000C8".into()),
                timeline: Some(2),
                last_replay_at: Some(at(10, 0)),
                rto_objective_s: Some(600.0),
                rpo_objective_s: None,
                checks: vec![fleetdeck_api::DrillCheck {
                    name: "pg_amcheck".into(),
                    passed: true,
                    detail: "2 databases".into(),
                }],
            }),
            ..drill("p10", db(10), DrillState::Succeeded, 10)
        },
    ];
    let (structs, decoded) = both_ways(&dbs, &drills).await;
    assert_eq!(structs.len(), 12);
    let proof = shown_proof(&structs, &dbs[10].id);
    assert_eq!(proof.timeline, Some(2));
    assert!(
        proof.checks.is_empty(),
        "fleet-wide evidence leaves the checks out"
    );
    let shown = |i: usize| {
        &structs[structs
            .iter()
            .position(|e| e.database_id == dbs[i].id)
            .unwrap()]
    };
    assert_eq!(shown(0).freshness, Freshness::Never);
    assert_eq!(shown(2).freshness, Freshness::Failed);
    assert_eq!(shown(3).freshness, Freshness::Fresh);
    assert_eq!(shown(7).freshness, Freshness::Stale);
    assert_eq!(shown(8).latest.as_ref().unwrap().state, DrillState::Unknown);
    assert!(
        shown(4)
            .latest
            .as_ref()
            .unwrap()
            .requested_by
            .contains('🚀')
    );
    assert_eq!(decoded, structs);
}

fn shown_proof(evidence: &[Evidence], id: &str) -> fleetdeck_api::DrillProof {
    let ev = evidence.iter().find(|e| e.database_id == id).unwrap();
    ev.latest.as_ref().unwrap().proof.clone().unwrap()
}

#[tokio::test]
async fn a_generated_fleet_decodes_to_the_struct_paths_evidence() {
    let fleet = generate(300, 11, at(20, 0));
    assert!(fleet.drills.len() > 300);
    let (structs, decoded) = both_ways(&fleet.databases, &fleet.drills).await;
    assert_eq!(structs.len(), 300);
    assert_eq!(decoded, structs);
}

/// Infinity is stored as SQLite's infinity but cannot be JSON: both paths send null.
#[tokio::test]
async fn an_infinite_restore_time_is_null_as_serde_writes_it() {
    let dbs = generate(1, 3, at(20, 0)).databases;
    let inf = Drill {
        restore_seconds: Some(f64::INFINITY),
        ..drill("i", &dbs[0], DrillState::Succeeded, 19)
    };
    let (structs, decoded) = both_ways(&dbs, &[inf]).await;
    assert_eq!(decoded, structs);
    assert_eq!(decoded[0].latest.as_ref().unwrap().restore_seconds, None);
}
