//! A large snapshot decoded on two threads.
//!
//! Decoding is most of what the console does between the last byte of a snapshot and
//! its first frame (about 90 ms for the 14 MB of 10k databases on one core). The
//! evidence and the rest are about the same size, so one thread decodes the evidence
//! and skips the rest while another does the opposite; skipping is several times
//! faster than decoding. Both read the whole answer, so each checks all of it, and any
//! answer one `Snapshot` decode would refuse is refused.

use chrono::{DateTime, Utc};
use fleetdeck_api::{Approval, Campaign, Database, Event, Evidence, Seq, Snapshot};
use serde::Deserialize;
use serde::de::IgnoredAny;

/// Below this an answer is decoded on one thread: a second would cost more than it saves.
const TWO_THREADS_FROM: usize = 256 * 1024;

/// [`Snapshot`] without its evidence, which is checked and skipped.
#[derive(Deserialize)]
struct AllButEvidence {
    server_time: DateTime<Utc>,
    last_seq: Seq,
    databases: Vec<Database>,
    campaigns: Vec<Campaign>,
    #[allow(dead_code)]
    evidence: IgnoredAny,
    approvals: Vec<Approval>,
    events: Vec<Event>,
}

/// The evidence of a [`Snapshot`]; every other field is skipped.
#[derive(Deserialize)]
struct OnlyEvidence {
    evidence: Vec<Evidence>,
}

/// Decodes a snapshot as `serde_json::from_slice::<Snapshot>` would.
pub fn decode(bytes: &[u8]) -> Result<Snapshot, serde_json::Error> {
    if bytes.len() < TWO_THREADS_FROM {
        return serde_json::from_slice(bytes);
    }
    decode_on_two_threads(bytes)
}

fn decode_on_two_threads(bytes: &[u8]) -> Result<Snapshot, serde_json::Error> {
    // The parts are named here so that a field added to the wire type is a compile
    // error until both halves know of it.
    #[allow(dead_code)]
    fn every_field_is_decoded(s: Snapshot) {
        let Snapshot {
            server_time: _,
            last_seq: _,
            databases: _,
            campaigns: _,
            evidence: _,
            approvals: _,
            events: _,
        } = s;
    }
    std::thread::scope(|scope| {
        let evidence = std::thread::Builder::new()
            .name("snapshot-evidence".into())
            .spawn_scoped(scope, || {
                let started = std::time::Instant::now();
                let evidence = serde_json::from_slice::<OnlyEvidence>(bytes);
                (evidence, started.elapsed().as_millis())
            });
        let started = std::time::Instant::now();
        let rest = serde_json::from_slice::<AllButEvidence>(bytes);
        let rest_ms = started.elapsed().as_millis();
        let (evidence, evidence_ms) = match evidence {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            // No thread to be had: the same work on this one.
            Err(_) => (serde_json::from_slice::<OnlyEvidence>(bytes), 0),
        };
        // The evidence takes longer (a finer split was tried: it gained nothing here).
        tracing::debug!(rest_ms, evidence_ms, "snapshot decoded on two threads");
        let rest = rest?;
        Ok(Snapshot {
            server_time: rest.server_time,
            last_seq: rest.last_seq,
            databases: rest.databases,
            campaigns: rest.campaigns,
            evidence: evidence?.evidence,
            approvals: rest.approvals,
            events: rest.events,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATABASE: &str = r#"{"id": "DB", "engine": "mysql", "engine_version": "8.0.39", "environment": "dev", "tier": 3, "region": "ap-southeast-1", "owner_team": "data \"platform\" ]}", "role": "primary", "primary_id": null, "ring": 0, "host": "h.internal", "tags": ["[", "\\"], "health": {"status": "healthy", "replication_lag_s": null, "connections": 42, "latency_ms": 4.5, "checked_at": "2026-11-22T04:40:14.863759642Z"}, "last_patched_at": null, "backup_policy": {"schedule": "daily 03:30", "retention_days": 7}, "drill_interval_days": 30, "version": 1, "added_later": {"evidence": []}}"#;
    const EVIDENCE: &str = r#"{"database_id": "DB", "freshness": "failed", "interval_days": 30, "last_good_at": "2026-10-18T05:08:47.263759Z", "latest": {"id": "4692ae6a", "database_id": "DB", "state": "failed", "requested_by": "scheduler", "started_at": "2026-11-12T16:20:51.863759Z", "finished_at": "2026-11-12T16:27:30.363759Z", "backup_id": "bk-1", "recovery_point": "2026-11-12T16:15:29.863759Z", "restore_seconds": 398.5, "checksum_ok": false}, "last_good": {"id": "2d66474d", "database_id": "DB", "state": "succeeded", "requested_by": "sched\u00fcler", "started_at": "2026-10-18T05:05:03.863759Z", "finished_at": "2026-10-18T05:08:47.263759Z", "backup_id": null, "recovery_point": null, "restore_seconds": 223.4, "checksum_ok": true}, "judged_at": "2026-11-22T04:58:38.775120869Z"}"#;
    const EVENT: &str = r#"{"seq": 1, "at": "2026-11-22T04:40:24.678079Z", "actor": "config", "kind": "database.registered", "level": "info", "subject": {}, "message": "fleet seeded", "correlation_id": null}"#;

    /// A snapshot of `n` databases with the fields in `order`, as a server might write it.
    fn snapshot(n: usize, order: &[&str]) -> String {
        let items = |one: &str| {
            let all: Vec<String> = (0..n)
                .map(|i| one.replace("\"DB\"", &format!("\"db-{i:05}\"")))
                .collect();
            format!("[{}]", all.join(",\n"))
        };
        let fields: Vec<String> = order
            .iter()
            .map(|&name| {
                let value = match name {
                    "server_time" => "\"2026-11-22T05:00:00Z\"".to_string(),
                    "last_seq" => "7".to_string(),
                    "databases" => items(DATABASE),
                    "evidence" => items(EVIDENCE),
                    "events" => format!("[{EVENT}]"),
                    "campaigns" | "approvals" => "[]".to_string(),
                    other => format!("{{\"{other}\": [1, 2]}}"),
                };
                format!("\"{name}\" : {value}")
            })
            .collect();
        format!(" {{ {} }} ", fields.join(" ,\n "))
    }

    const WIRE: [&str; 7] = [
        "server_time",
        "last_seq",
        "databases",
        "campaigns",
        "evidence",
        "approvals",
        "events",
    ];

    #[test]
    fn two_threads_decode_what_one_decode_gives() {
        let mut shuffled = WIRE.to_vec();
        shuffled.reverse();
        shuffled.insert(3, "a_field_from_a_newer_server");
        for order in [WIRE.to_vec(), shuffled] {
            let text = snapshot(600, &order);
            assert!(text.len() > TWO_THREADS_FROM);
            let one: Snapshot = serde_json::from_str(&text).unwrap();
            let two = decode(text.as_bytes()).unwrap();
            assert_eq!(two, one);
            assert_eq!(two.databases.len(), 600);
            assert_eq!(two.evidence[599].database_id, "db-00599");
            assert_eq!(two.events.len(), 1);
        }
    }

    #[test]
    fn what_one_decode_refuses_two_threads_refuse() {
        let good = snapshot(600, &WIRE);
        let without_evidence: Vec<&str> =
            WIRE.iter().copied().filter(|&f| f != "evidence").collect();
        let broken_evidence = good.replacen("\"freshness\": \"failed\"", "\"freshness\": 3", 1);
        let cut = &good[..good.len() - 10];
        let doubled = format!(
            "{} , \"evidence\": [] }}",
            &good.trim_end()[..good.trim_end().len() - 1]
        );
        let bad = [
            snapshot(600, &without_evidence),
            broken_evidence,
            cut.to_string(),
            good.replacen("\"tier\": 3", "\"tier\": 300", 1),
            doubled,
            format!("{good} trailing"),
        ];
        for text in bad {
            assert!(text.len() > TWO_THREADS_FROM);
            assert!(serde_json::from_str::<Snapshot>(&text).is_err());
            assert!(decode(text.as_bytes()).is_err());
        }
    }
}
