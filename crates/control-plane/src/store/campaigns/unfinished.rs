//! What the engine's pass and a new campaign ask about unfinished campaigns: which
//! there are, what each is doing, and which databases they hold.

use fleetdeck_api::CampaignState;
use sqlx::{Row, SqliteConnection};

use super::{parse_campaign_state, u32_of};
use crate::DomainError;

/// Ids of campaigns that are not finished, oldest first.
pub async fn unfinished_ids(conn: &mut SqliteConnection) -> Result<Vec<String>, DomainError> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM campaigns WHERE state NOT IN ('completed', 'rolled_back') ORDER BY num",
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// An unfinished campaign as the engine's pass sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Unfinished {
    pub id: String,
    pub state: CampaignState,
    /// Targets in flight (prechecking, patching, verifying, rolling back).
    pub in_flight: u32,
    /// Paused, and one of its approvals was decided or expired after its last change:
    /// what resuming will do must be said again.
    pub approvals_moved: bool,
}

/// Unfinished campaigns, oldest first, in one statement.
pub async fn unfinished(conn: &mut SqliteConnection) -> Result<Vec<Unfinished>, DomainError> {
    // Times are fixed-width RFC 3339 text: they compare as text.
    let rows = sqlx::query(
        "SELECT c.id, c.state, (SELECT count(*) FROM campaign_targets t WHERE t.campaign_id = c.id \
         AND t.state IN ('prechecking', 'patching', 'verifying', 'rolling_back')) AS in_flight, \
         c.state = 'paused' AND EXISTS (SELECT 1 FROM approvals a WHERE a.campaign_id = c.id \
         AND a.decided_at > c.updated_at) AS approvals_moved \
         FROM campaigns c WHERE c.state NOT IN ('completed', 'rolled_back') ORDER BY c.num",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Unfinished {
                id: r.try_get("id")?,
                state: parse_campaign_state(&r.try_get::<String, _>("state")?),
                in_flight: u32_of(r.try_get("in_flight")?, "targets in flight")?,
                approvals_moved: r.try_get("approvals_moved")?,
            })
        })
        .collect()
}

/// Every (database, campaign) pair of the unfinished campaigns.
pub async fn busy_databases(
    conn: &mut SqliteConnection,
) -> Result<Vec<(String, String)>, DomainError> {
    let rows = sqlx::query(
        "SELECT t.database_id, t.campaign_id FROM campaign_targets t JOIN campaigns c \
         ON c.id = t.campaign_id WHERE c.state NOT IN ('completed', 'rolled_back')",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("database_id")?, r.try_get("campaign_id")?)))
        .collect()
}

/// Whether paused campaign `id` had one of its approvals decided or expired after its
/// last change (see [`Unfinished::approvals_moved`]).
pub async fn approvals_moved(conn: &mut SqliteConnection, id: &str) -> Result<bool, DomainError> {
    let moved: Option<bool> = sqlx::query_scalar(
        "SELECT c.state = 'paused' AND EXISTS (SELECT 1 FROM approvals a \
         WHERE a.campaign_id = c.id AND a.decided_at > c.updated_at) FROM campaigns c WHERE c.id = ?",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(moved.unwrap_or(false))
}
