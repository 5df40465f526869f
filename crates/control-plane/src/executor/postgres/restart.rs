//! After a team's patch or rollback command: the server must accept connections again
//! (within the restart timeout), then run the expected version in its declared role,
//! with its replication back. A wrong version or role is final at once; replication is
//! waited for, since replicas reconnect on their own schedule.

use std::time::Duration;

use fleetdeck_api::Database;
use tokio::time::Instant;

use super::PostgresExecutor;
use super::connect::{close, connect, describe, is_unreachable};
use super::health::role_finding;
use super::precheck::{compare_versions, replication_problems};
use super::probe::probe;
use crate::executor::{ExecError, LogSink};

/// Time between two attempts while the server comes back.
const RETRY: Duration = Duration::from_millis(500);

/// Waits until `db` is back on `expected_version` (see the module comment).
pub async fn settle(
    ex: &PostgresExecutor,
    db: &Database,
    operation: &str,
    expected_version: &str,
    log: &LogSink,
) -> Result<(), ExecError> {
    let limits = &ex.config.limits;
    let started = Instant::now();
    let deadline = started + limits.restart_timeout;
    let connection = ex.config.connection_for(db);
    let replicas = ex.replicas_of(db);
    let mut announced_wait = false;
    let mut last;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let attempt = connect(&connection, limits.connect_timeout.min(left.max(RETRY))).await;
        last = match attempt {
            Err(e) if e.unreachable => e.message,
            Err(e) => return Err(ExecError::new(format!("after the {operation}: {e}"))),
            Ok(mut conn) => {
                let facts = probe(&mut conn).await;
                close(conn).await;
                match facts {
                    Err(e) if is_unreachable(&e) => describe(&e),
                    Err(e) => {
                        return Err(ExecError::new(format!(
                            "after the {operation}: the server answered but cannot be checked: {}",
                            describe(&e)
                        )));
                    }
                    Ok(p) => {
                        let running = p.version();
                        if compare_versions(&running, expected_version) != std::cmp::Ordering::Equal
                        {
                            return Err(ExecError::new(format!(
                                "the {operation} command succeeded, but the server runs {running}, not {expected_version}"
                            )));
                        }
                        if let Some(role) = role_finding(db, &p) {
                            return Err(ExecError::new(format!("after the {operation}: {role}")));
                        }
                        let waiting = replication_problems(&replicas, &p, f64::INFINITY);
                        if waiting.is_empty() {
                            log.info(format!(
                                "{}: accepts connections, runs {running} as a {}, replication streaming ({:.1}s after the command)",
                                db.id,
                                db.role.as_str(),
                                started.elapsed().as_secs_f64()
                            ));
                            return Ok(());
                        }
                        waiting.join("; ")
                    }
                }
            }
        };
        if !announced_wait {
            announced_wait = true;
            log.info(format!(
                "{}: waiting up to {}s for the server to be back: {last}",
                db.id,
                limits.restart_timeout.as_secs()
            ));
        }
        if Instant::now() + RETRY >= deadline {
            return Err(ExecError::timeout(format!(
                "after the {operation}: not back within {}s: {last}",
                limits.restart_timeout.as_secs()
            )));
        }
        tokio::time::sleep(RETRY).await;
    }
}
