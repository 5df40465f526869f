//! The built-in precheck: what must hold before a team's patch command restarts a
//! server. Reachable (the caller connected); the role as declared; replication within
//! the lag limit; no transaction open past the limit and no prepared transaction (a
//! restart would hang on the one or lose the other's work); and, for a patch, a target
//! not older than what runs now.

use std::cmp::Ordering;

use fleetdeck_api::Database;
use sqlx::Row;
use sqlx::postgres::PgConnection;

use super::connect::describe;
use super::health::{replica_streams, role_finding};
use super::probe::{Probe, numeric_version};
use crate::config::postgres::{DeclaredReplica, PostgresLimits};

/// What the precheck found wrong; empty when the database may be patched.
pub async fn problems(
    conn: &mut PgConnection,
    db: &Database,
    replicas: &[DeclaredReplica],
    limits: &PostgresLimits,
    probe: &Probe,
    target: Option<&str>,
) -> Vec<String> {
    let mut out = Vec::new();
    out.extend(role_finding(db, probe));
    out.extend(replication_problems(
        replicas,
        probe,
        limits.max_replication_lag_s,
    ));
    match transaction_problems(conn, limits).await {
        Ok(p) => out.extend(p),
        Err(e) => out.push(format!(
            "cannot read the open transactions: {}",
            describe(&e)
        )),
    }
    if let Some(target) = target {
        out.extend(version_problem(&probe.version(), target));
    }
    out
}

/// A replica must stream and replay within `max_lag_s`; a primary's declared replicas
/// must all be streaming within it.
pub fn replication_problems(
    replicas: &[DeclaredReplica],
    p: &Probe,
    max_lag_s: f64,
) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(r) = &p.replica {
        if r.receiver.as_deref() != Some("streaming") {
            out.push("the server is not streaming WAL from its primary".to_string());
        }
        match r.lag_s {
            Some(lag) if lag > max_lag_s => out.push(format!(
                "replication lag {lag:.1}s exceeds the {max_lag_s:.1}s limit"
            )),
            _ => {}
        }
        return out;
    }
    for s in replica_streams(replicas, p) {
        if s.state != "streaming" {
            out.push(format!(
                "replica {} is {}, not streaming",
                s.database_id, s.state
            ));
            continue;
        }
        let name = replicas
            .iter()
            .find(|r| r.id == s.database_id)
            .map(|r| r.replication_name.as_str());
        let lag = p
            .streams
            .iter()
            .filter(|row| Some(row.application_name.as_str()) == name && row.state == "streaming")
            .filter_map(|row| row.replay_lag_s)
            .fold(0.0, f64::max);
        if lag > max_lag_s {
            out.push(format!(
                "replica {} replays {lag:.1}s behind, past the {max_lag_s:.1}s limit",
                s.database_id
            ));
        }
    }
    out
}

async fn transaction_problems(
    conn: &mut PgConnection,
    limits: &PostgresLimits,
) -> Result<Vec<String>, sqlx::Error> {
    let mut out = Vec::new();
    let limit = limits.max_transaction_age.as_secs_f64();
    let rows = sqlx::query(
        "SELECT pid, coalesce(usename, ''), coalesce(datname, ''), \
         extract(epoch FROM now() - xact_start)::float8 \
         FROM pg_stat_activity \
         WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid() \
         AND backend_type = 'client backend' AND now() - xact_start > make_interval(secs => $1) \
         ORDER BY xact_start",
    )
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    if let Some(oldest) = rows.first() {
        let pid: i32 = oldest.try_get(0)?;
        let user: String = oldest.try_get(1)?;
        let datname: String = oldest.try_get(2)?;
        let age: f64 = oldest.try_get(3)?;
        out.push(format!(
            "{} transaction(s) open longer than {limit:.0}s; the oldest: pid {pid}, user {}, database {}, open {age:.0}s",
            rows.len(),
            fleetdeck_api::text::sanitize_line(&user),
            fleetdeck_api::text::sanitize_line(&datname),
        ));
    }
    let row = sqlx::query("SELECT count(*)::int8, min(gid) FROM pg_prepared_xacts")
        .fetch_one(&mut *conn)
        .await?;
    let prepared: i64 = row.try_get(0)?;
    if prepared > 0 {
        let gid: Option<String> = row.try_get(1)?;
        out.push(format!(
            "{prepared} prepared transaction(s) (e.g. '{}'): commit or roll them back first",
            fleetdeck_api::text::sanitize_line(gid.as_deref().unwrap_or(""))
        ));
    }
    Ok(out)
}

/// A patch must not go to an older version than the server runs.
pub fn version_problem(running: &str, target: &str) -> Option<String> {
    let wanted = numeric_version(target);
    if wanted.is_empty() || wanted != target.trim() {
        return Some(format!(
            "the target '{}' is not a PostgreSQL version number",
            fleetdeck_api::text::sanitize_line(target)
        ));
    }
    match compare_versions(&wanted, running) {
        Ordering::Less => Some(format!(
            "the target {wanted} is older than the {running} the server runs now (going back is a rollback)"
        )),
        _ => None,
    }
}

/// Compares dotted version numbers part by part (`15.10` is newer than `15.9`).
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let parts = |v: &str| -> Vec<u64> { v.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    let (a, b) = (parts(a), parts(b));
    let n = a.len().max(b.len());
    (0..n)
        .map(|i| a.get(i).unwrap_or(&0).cmp(b.get(i).unwrap_or(&0)))
        .find(|o| *o != Ordering::Equal)
        .unwrap_or(Ordering::Equal)
}

#[cfg(test)]
mod tests {
    use super::super::probe::{ReplicaFacts, StreamRow};
    use super::*;

    #[test]
    fn versions_compare_by_number() {
        assert_eq!(compare_versions("15.10", "15.9"), Ordering::Greater);
        assert_eq!(compare_versions("16", "16.0"), Ordering::Equal);
        assert!(version_problem("15.10", "15.9").unwrap().contains("older"));
        assert_eq!(version_problem("15.10", "15.10"), None);
        assert_eq!(version_problem("15.10", "16.1"), None);
        assert!(
            version_problem("15.10", "latest")
                .unwrap()
                .contains("not a PostgreSQL version")
        );
    }

    #[test]
    fn a_lagging_replica_fails_the_precheck_with_its_lag() {
        let p = Probe {
            in_recovery: true,
            replica: Some(ReplicaFacts {
                lag_s: Some(12.5),
                replay_paused: true,
                receiver: Some("streaming".into()),
            }),
            ..Probe::default()
        };
        assert_eq!(
            replication_problems(&[], &p, 5.0),
            vec!["replication lag 12.5s exceeds the 5.0s limit".to_string()]
        );
        assert!(replication_problems(&[], &p, 30.0).is_empty());
    }

    #[test]
    fn a_primary_needs_each_declared_replica_streaming_within_the_limit() {
        let declared = vec![DeclaredReplica {
            id: "pg-r".into(),
            replication_name: "walrcv-r".into(),
        }];
        let mut p = Probe::default();
        assert_eq!(
            replication_problems(&declared, &p, 5.0),
            vec!["replica pg-r is missing, not streaming".to_string()]
        );
        p.streams.push(StreamRow {
            application_name: "walrcv-r".into(),
            state: "streaming".into(),
            replay_lag_bytes: Some(10),
            replay_lag_s: Some(9.0),
        });
        assert!(replication_problems(&declared, &p, 5.0)[0].contains("9.0s behind"));
        assert!(replication_problems(&declared, &p, 10.0).is_empty());
    }
}
