//! Health from the facts: the declared role against `pg_is_in_recovery()`, a replica's
//! lag, a primary's streams to its declared replicas, connections against
//! `max_connections`.

use chrono::Utc;
use fleetdeck_api::{Database, DbRole, Health, HealthStatus, ReplicaStream};

use super::probe::Probe;
use crate::config::postgres::DeclaredReplica;

/// Connections at or past this share of `max_connections` degrade the database: new
/// clients are about to be refused.
const CONNECTIONS_DEGRADED: f64 = 0.95;

/// What a probe that answered says about `db`'s health.
pub fn judge(db: &Database, replicas: &[DeclaredReplica], p: &Probe, check_ms: f64) -> Health {
    let mut findings = Vec::new();
    let mut degraded = false;
    if let Some(finding) = role_finding(db, p) {
        findings.push(finding);
        degraded = true;
    }
    let mut replication_lag_s = None;
    if let Some(r) = &p.replica {
        replication_lag_s = r.lag_s;
        if r.replay_paused {
            findings.push("WAL replay is paused (pg_wal_replay_pause)".to_string());
        }
        if r.receiver.as_deref() != Some("streaming") && db.role == DbRole::Replica {
            findings.push(match &r.receiver {
                Some(s) => format!("the WAL receiver is {s}, not streaming from its primary"),
                None => "no WAL receiver: not streaming from its primary".to_string(),
            });
            degraded = true;
        }
    }
    let streams = if p.in_recovery {
        Vec::new()
    } else {
        replica_streams(replicas, p)
    };
    for s in &streams {
        if s.state != "streaming" {
            degraded = true;
            findings.push(if s.state == "missing" {
                format!(
                    "replica {} is not connected (no '{}' in pg_stat_replication)",
                    s.database_id,
                    replicas
                        .iter()
                        .find(|r| r.id == s.database_id)
                        .map_or(s.database_id.as_str(), |r| r.replication_name.as_str())
                )
            } else {
                format!("replica {} is {}, not streaming", s.database_id, s.state)
            });
        }
    }
    if p.max_connections > 0
        && f64::from(p.connections) >= f64::from(p.max_connections) * CONNECTIONS_DEGRADED
    {
        degraded = true;
        // No figures in the words: a finding that changed at every poll would be an
        // event at every poll. The figures are in the health record itself.
        findings.push(format!(
            "connections near max_connections ({:.0} % or more in use)",
            CONNECTIONS_DEGRADED * 100.0
        ));
    }
    Health {
        status: if degraded {
            HealthStatus::Degraded
        } else {
            HealthStatus::Healthy
        },
        replication_lag_s,
        connections: p.connections,
        latency_ms: round1(p.latency_ms),
        checked_at: Some(Utc::now()),
        findings,
        check_ms: Some(round1(check_ms)),
        max_connections: Some(p.max_connections),
        replicas: streams,
        ..Health::default()
    }
}

/// The health of a server that could not be asked.
pub fn unreachable(why: String, check_ms: f64) -> Health {
    Health {
        status: HealthStatus::Down,
        checked_at: Some(Utc::now()),
        findings: vec![why],
        check_ms: Some(round1(check_ms)),
        ..Health::default()
    }
}

/// The health of a server that answered but refused us (authentication, permissions):
/// it is up, but its health is not known.
pub fn refused(why: String, check_ms: f64) -> Health {
    Health {
        status: HealthStatus::Unknown,
        ..unreachable(why, check_ms)
    }
}

/// The declared role against the server's: a mismatch means a failover (or a restore)
/// happened outside the inventory.
pub fn role_finding(db: &Database, p: &Probe) -> Option<String> {
    match (db.role, p.in_recovery) {
        (DbRole::Replica, false) => Some(format!(
            "declared a replica{}, but the server is not in recovery: it was promoted (a failover happened behind the inventory's back)",
            db.primary_id
                .as_deref()
                .map(|p| format!(" of {p}"))
                .unwrap_or_default()
        )),
        (DbRole::Primary, true) => Some(
            "declared a primary, but the server is in recovery (a replica): a failover happened behind the inventory's back"
                .to_string(),
        ),
        _ => None,
    }
}

/// Each declared replica's stream, as the primary sees it (the best row when a name
/// appears twice).
pub fn replica_streams(replicas: &[DeclaredReplica], p: &Probe) -> Vec<ReplicaStream> {
    replicas
        .iter()
        .map(|r| {
            let rows = p
                .streams
                .iter()
                .filter(|s| s.application_name == r.replication_name);
            let best = rows.max_by_key(|s| s.state == "streaming");
            ReplicaStream {
                database_id: r.id.clone(),
                state: best.map_or("missing".to_string(), |s| {
                    fleetdeck_api::text::sanitize_line(&s.state).into_owned()
                }),
                replay_lag_bytes: best.and_then(|s| s.replay_lag_bytes),
            }
        })
        .collect()
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::super::probe::{ReplicaFacts, StreamRow};
    use super::*;

    fn db(role: DbRole) -> Database {
        let mut d = crate::demo::fleet::generate(1, 1, Utc::now())
            .databases
            .remove(0);
        d.id = "pg-a".into();
        d.role = role;
        d.primary_id = (role == DbRole::Replica).then(|| "pg-p".to_string());
        d
    }

    fn declared() -> Vec<DeclaredReplica> {
        vec![DeclaredReplica {
            id: "pg-r".into(),
            replication_name: "pg-r".into(),
        }]
    }

    fn primary_probe(state: &str) -> Probe {
        Probe {
            max_connections: 100,
            connections: 3,
            streams: vec![StreamRow {
                application_name: "pg-r".into(),
                state: state.into(),
                replay_lag_bytes: Some(128),
                replay_lag_s: None,
            }],
            ..Probe::default()
        }
    }

    #[test]
    fn a_primary_with_its_replica_streaming_is_healthy_with_the_lag_in_bytes() {
        let h = judge(
            &db(DbRole::Primary),
            &declared(),
            &primary_probe("streaming"),
            4.0,
        );
        assert_eq!(h.status, HealthStatus::Healthy, "{:?}", h.findings);
        assert_eq!(h.replicas[0].replay_lag_bytes, Some(128));
        assert_eq!(h.max_connections, Some(100));
    }

    #[test]
    fn a_missing_or_catching_up_replica_degrades_its_primary() {
        let mut p = primary_probe("streaming");
        p.streams.clear();
        let h = judge(&db(DbRole::Primary), &declared(), &p, 4.0);
        assert_eq!(h.status, HealthStatus::Degraded);
        assert!(
            h.findings[0].contains("pg-r is not connected"),
            "{:?}",
            h.findings
        );
        let h = judge(
            &db(DbRole::Primary),
            &declared(),
            &primary_probe("catchup"),
            4.0,
        );
        assert!(h.findings[0].contains("catchup"), "{:?}", h.findings);
    }

    #[test]
    fn a_role_other_than_the_declared_one_degrades_with_the_finding() {
        let promoted = Probe {
            in_recovery: false,
            ..Probe::default()
        };
        let h = judge(&db(DbRole::Replica), &[], &promoted, 1.0);
        assert_eq!(h.status, HealthStatus::Degraded);
        assert!(h.findings[0].contains("promoted"), "{:?}", h.findings);
        let demoted = Probe {
            in_recovery: true,
            replica: Some(ReplicaFacts {
                lag_s: Some(0.0),
                replay_paused: false,
                receiver: Some("streaming".into()),
            }),
            ..Probe::default()
        };
        let h = judge(&db(DbRole::Primary), &[], &demoted, 1.0);
        assert!(h.findings[0].contains("is in recovery"), "{:?}", h.findings);
    }

    #[test]
    fn nearly_all_connections_in_use_degrades() {
        let p = Probe {
            max_connections: 40,
            connections: 38,
            ..Probe::default()
        };
        let h = judge(&db(DbRole::Primary), &[], &p, 1.0);
        assert_eq!(h.status, HealthStatus::Degraded);
        assert_eq!(
            h.findings,
            vec!["connections near max_connections (95 % or more in use)".to_string()]
        );
        assert_eq!((h.connections, h.max_connections), (38, Some(40)));
    }
}
