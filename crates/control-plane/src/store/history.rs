//! How long past campaigns took: what a plan's estimate is made from.

use sqlx::{Row, SqliteConnection};

use super::parse_time;
use crate::DomainError;

/// Finished targets and passed rings the estimate looks back at, newest first.
const SAMPLES: i64 = 500;

/// Seconds each recently finished target took, from its dispatch to its end.
pub async fn target_seconds(conn: &mut SqliteConnection) -> Result<Vec<f64>, DomainError> {
    let rows = sqlx::query(
        "SELECT started_at, finished_at FROM campaign_targets WHERE state = 'done' \
         AND started_at IS NOT NULL AND finished_at IS NOT NULL \
         ORDER BY finished_at DESC LIMIT ?",
    )
    .bind(SAMPLES)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let start = parse_time(&r.try_get::<String, _>("started_at")?)?;
            let end = parse_time(&r.try_get::<String, _>("finished_at")?)?;
            Ok((end - start).as_seconds_f64().max(0.0))
        })
        .collect()
}

/// For recently passed rings: (seconds from the ring's last target to its end, the
/// campaign's gate as JSON). The first is the bake as it ran, the second says how long
/// it was meant to be.
pub async fn bakes(conn: &mut SqliteConnection) -> Result<Vec<(f64, String)>, DomainError> {
    let rows = sqlx::query(
        "SELECT r.finished_at, c.gate, (SELECT max(t.finished_at) FROM campaign_targets t \
         WHERE t.campaign_id = r.campaign_id AND t.idx = r.idx) AS last_target \
         FROM campaign_rings r JOIN campaigns c ON c.id = r.campaign_id \
         WHERE r.state = 'passed' AND r.finished_at IS NOT NULL \
         ORDER BY r.finished_at DESC LIMIT ?",
    )
    .bind(SAMPLES)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::new();
    for r in &rows {
        let Some(last) = r.try_get::<Option<String>, _>("last_target")? else {
            continue;
        };
        let end = parse_time(&r.try_get::<String, _>("finished_at")?)?;
        let seconds = (end - parse_time(&last)?).as_seconds_f64().max(0.0);
        out.push((seconds, r.try_get("gate")?));
    }
    Ok(out)
}
