//! What one database says about itself: the facts health, precheck and the checks after
//! a patch are judged from. Every query here needs no more than `pg_monitor`.

use std::time::Instant;

use sqlx::Row;
use sqlx::postgres::PgConnection;

/// The facts, as read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Probe {
    /// `pg_is_in_recovery()`: the server is a replica (or restoring).
    pub in_recovery: bool,
    /// `server_version`, whole (`15.10 (Debian 15.10-1.pgdg120+1)`).
    pub server_version: String,
    pub max_connections: u32,
    /// Client connections open now.
    pub connections: u32,
    /// Round trip of the first query, in milliseconds.
    pub latency_ms: f64,
    /// When in recovery: how far behind its replay is.
    pub replica: Option<ReplicaFacts>,
    /// When not in recovery: the WAL senders to its replicas.
    pub streams: Vec<StreamRow>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReplicaFacts {
    /// 0 when everything received is replayed, else `now()` minus the commit time of
    /// the last replayed transaction; `None` when nothing was replayed yet.
    pub lag_s: Option<f64>,
    pub replay_paused: bool,
    /// `pg_stat_wal_receiver.status`, `None` when no WAL receiver runs.
    pub receiver: Option<String>,
}

/// One row of `pg_stat_replication`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StreamRow {
    pub application_name: String,
    pub state: String,
    /// Bytes between the primary's current WAL position and the replica's replay.
    pub replay_lag_bytes: Option<u64>,
    /// `replay_lag` in seconds (`None` when the replica has caught up and is idle).
    pub replay_lag_s: Option<f64>,
}

impl Probe {
    /// The numeric part of `server_version` (`15.10`).
    pub fn version(&self) -> String {
        numeric_version(&self.server_version)
    }
}

/// The leading `digits.digits...` of a version string.
pub fn numeric_version(v: &str) -> String {
    v.trim()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect::<String>()
        .trim_end_matches('.')
        .to_string()
}

/// Reads the facts in a few round trips.
pub async fn probe(conn: &mut PgConnection) -> Result<Probe, sqlx::Error> {
    let started = Instant::now();
    let row = sqlx::query(
        "SELECT pg_is_in_recovery(), current_setting('server_version'), \
         current_setting('max_connections')::int4, \
         (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int4",
    )
    .fetch_one(&mut *conn)
    .await?;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let in_recovery: bool = row.try_get(0)?;
    let mut p = Probe {
        in_recovery,
        server_version: row.try_get(1)?,
        max_connections: u32::try_from(row.try_get::<i32, _>(2)?).unwrap_or(0),
        connections: u32::try_from(row.try_get::<i32, _>(3)?).unwrap_or(0),
        latency_ms,
        ..Probe::default()
    };
    if in_recovery {
        let row = sqlx::query(
            "SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0::float8 \
             ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END, \
             pg_is_wal_replay_paused(), \
             (SELECT status FROM pg_stat_wal_receiver LIMIT 1)",
        )
        .fetch_one(&mut *conn)
        .await?;
        p.replica = Some(ReplicaFacts {
            lag_s: row.try_get::<Option<f64>, _>(0)?.map(|l| l.max(0.0)),
            replay_paused: row.try_get(1)?,
            receiver: row.try_get(2)?,
        });
    } else {
        let rows = sqlx::query(
            "SELECT coalesce(application_name, ''), coalesce(state, ''), \
             pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float8, \
             extract(epoch FROM replay_lag)::float8 \
             FROM pg_stat_replication",
        )
        .fetch_all(&mut *conn)
        .await?;
        for row in rows {
            p.streams.push(StreamRow {
                application_name: row.try_get(0)?,
                state: row.try_get(1)?,
                replay_lag_bytes: row.try_get::<Option<f64>, _>(2)?.map(|b| b.max(0.0) as u64),
                replay_lag_s: row.try_get(3)?,
            });
        }
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_numeric_part_of_a_version_is_kept() {
        assert_eq!(numeric_version("15.10 (Debian 15.10-1.pgdg120+1)"), "15.10");
        assert_eq!(numeric_version("16beta2"), "16");
        assert_eq!(numeric_version("17.2"), "17.2");
        assert_eq!(numeric_version("devel"), "");
    }
}
