//! Patch campaigns: a header row, one row per ring, one row per target. The runner
//! writes each target step as its own row update, so a step is durable before the
//! executor call it announces.

use fleetdeck_api::{
    Campaign, CampaignState, GateState, GateStatus, RevertOutcome, Ring, RingState, Target,
    TargetRollback, TargetState,
};
use futures_util::TryStreamExt;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection, SqlitePool};

use super::{fmt_time, parse_opt_time, parse_time, to_i64, to_u64};
use crate::DomainError;

mod unfinished;
pub use unfinished::{Unfinished, approvals_moved, busy_databases, unfinished, unfinished_ids};

/// `GET /v1/campaigns` returns at most this many, newest first.
pub const LIST_LIMIT: i64 = 100;

/// What the runner knows about a target beyond the wire type.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetMeta {
    pub database_id: String,
    /// Position of its ring in the campaign's ring list.
    pub ring_pos: usize,
    /// Its primary, when it is a replica of a primary in the same ring.
    pub primary_id: Option<String>,
    /// The patch call was announced: never patch again, only verify or revert.
    pub patch_started: bool,
}

macro_rules! state_codec {
    ($ty:ident, $parse:ident, [$($v:ident),*]) => {
        pub fn $parse(s: &str) -> $ty {
            $(if s == $ty::$v.as_str() { return $ty::$v; })*
            $ty::Unknown
        }
    };
}

state_codec!(
    CampaignState,
    parse_campaign_state,
    [
        Running,
        Paused,
        AwaitingApproval,
        Completed,
        RollingBack,
        RolledBack
    ]
);
state_codec!(
    RingState,
    parse_ring_state,
    [
        Pending,
        AwaitingApproval,
        Running,
        Baking,
        Passed,
        Failed,
        RolledBack
    ]
);
state_codec!(
    TargetState,
    parse_target_state,
    [
        Pending,
        Blocked,
        Prechecking,
        Patching,
        Verifying,
        Done,
        Failed,
        Skipped,
        RollingBack,
        RolledBack
    ]
);

fn parse_outcome(s: &str) -> RevertOutcome {
    [
        RevertOutcome::Reverting,
        RevertOutcome::Reverted,
        RevertOutcome::RevertFailed,
        RevertOutcome::NotPatched,
    ]
    .into_iter()
    .find(|o| o.as_str() == s)
    .unwrap_or(RevertOutcome::Unknown)
}

fn gate_str(s: GateState) -> &'static str {
    match s {
        GateState::Pending => "pending",
        GateState::Watching => "watching",
        GateState::Passed => "passed",
        GateState::Failed => "failed",
        GateState::Unknown => "unknown",
    }
}

fn parse_gate(s: &str) -> GateState {
    match s {
        "pending" => GateState::Pending,
        "watching" => GateState::Watching,
        "passed" => GateState::Passed,
        "failed" => GateState::Failed,
        _ => GateState::Unknown,
    }
}

fn u32_of(v: i64, what: &str) -> Result<u32, DomainError> {
    u32::try_from(v).map_err(|_| DomainError::Internal(format!("stored {what} out of range: {v}")))
}

fn u8_of(v: i64, what: &str) -> Result<u8, DomainError> {
    u8::try_from(v).map_err(|_| DomainError::Internal(format!("stored {what} out of range: {v}")))
}

fn header_from_row(row: &SqliteRow) -> Result<Campaign, DomainError> {
    let gate: String = row.try_get("gate")?;
    let rollback: Option<String> = row.try_get("rollback")?;
    let current: Option<i64> = row.try_get("current_ring")?;
    Ok(Campaign {
        id: row.try_get("id")?,
        title: row.try_get("title")?,
        target_version: row.try_get("target_version")?,
        created_by: row.try_get("created_by")?,
        created_at: parse_time(&row.try_get::<String, _>("created_at")?)?,
        updated_at: parse_time(&row.try_get::<String, _>("updated_at")?)?,
        state: parse_campaign_state(&row.try_get::<String, _>("state")?),
        paused_reason: row.try_get("paused_reason")?,
        waiting_for: row.try_get("waiting_for")?,
        on_resume: row.try_get("on_resume")?,
        gate: serde_json::from_str(&gate)?,
        current_ring: current.map(|c| u8_of(c, "current ring")).transpose()?,
        rings: Vec::new(),
        rollback: rollback.as_deref().map(serde_json::from_str).transpose()?,
        version: to_u64(row.try_get("version")?, "campaign version")?,
        change_ref: row.try_get("change_ref")?,
    })
}

fn ring_from_row(row: &SqliteRow) -> Result<Ring, DomainError> {
    Ok(Ring {
        index: u8_of(row.try_get("ring")?, "ring")?,
        state: parse_ring_state(&row.try_get::<String, _>("state")?),
        contains_prod: row.try_get("contains_prod")?,
        gate: GateStatus {
            state: parse_gate(&row.try_get::<String, _>("gate_state")?),
            failures: u32_of(row.try_get("failures")?, "gate failures")?,
            bake_until: parse_opt_time(row.try_get("bake_until")?)?,
            reason: row.try_get("gate_reason")?,
        },
        approval_id: row.try_get("approval_id")?,
        started_at: parse_opt_time(row.try_get("started_at")?)?,
        finished_at: parse_opt_time(row.try_get("finished_at")?)?,
        targets: Vec::new(),
    })
}

fn target_from_row(row: &SqliteRow) -> Result<Target, DomainError> {
    let patch_state: Option<String> = row.try_get("rollback_patch_state")?;
    let outcome: Option<String> = row.try_get("rollback_outcome")?;
    let rollback = match (patch_state, outcome) {
        (Some(p), Some(o)) => Some(TargetRollback {
            patch_state: parse_target_state(&p),
            outcome: parse_outcome(&o),
        }),
        _ => None,
    };
    Ok(Target {
        database_id: row.try_get("database_id")?,
        state: parse_target_state(&row.try_get::<String, _>("state")?),
        from_version: row.try_get("from_version")?,
        to_version: row.try_get("to_version")?,
        attempts: u32_of(row.try_get("attempts")?, "attempts")?,
        started_at: parse_opt_time(row.try_get("started_at")?)?,
        finished_at: parse_opt_time(row.try_get("finished_at")?)?,
        message: row.try_get("message")?,
        approval_id: row.try_get("approval_id")?,
        rollback,
    })
}

/// The next campaign number (ids are `cmp-<num>`).
pub async fn next_num(conn: &mut SqliteConnection) -> Result<i64, DomainError> {
    Ok(
        sqlx::query_scalar("SELECT COALESCE(MAX(num), 0) + 1 FROM campaigns")
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// Stores a new campaign with its rings and targets.
pub async fn insert(
    conn: &mut SqliteConnection,
    num: i64,
    c: &Campaign,
    metas: &[TargetMeta],
) -> Result<(), DomainError> {
    sqlx::query(
        "INSERT INTO campaigns (id, num, title, target_version, created_by, created_at, updated_at, \
         state, paused_reason, waiting_for, gate, current_ring, rollback, version, change_ref) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, NULL, NULL, ?, ?)",
    )
    .bind(&c.id)
    .bind(num)
    .bind(&c.title)
    .bind(&c.target_version)
    .bind(&c.created_by)
    .bind(fmt_time(c.created_at))
    .bind(fmt_time(c.updated_at))
    .bind(c.state.as_str())
    .bind(serde_json::to_string(&c.gate)?)
    .bind(to_i64(c.version))
    .bind(&c.change_ref)
    .execute(&mut *conn)
    .await?;
    save_header(conn, c).await?;
    // By id once: a fleet-wide campaign has as many metas as targets.
    let metas: std::collections::HashMap<&str, &TargetMeta> =
        metas.iter().map(|m| (m.database_id.as_str(), m)).collect();
    for (pos, ring) in c.rings.iter().enumerate() {
        sqlx::query(
            "INSERT INTO campaign_rings (campaign_id, idx, ring, state, contains_prod, gate_state, \
             failures) VALUES (?, ?, ?, ?, ?, ?, 0)",
        )
        .bind(&c.id)
        .bind(pos as i64)
        .bind(i64::from(ring.index))
        .bind(ring.state.as_str())
        .bind(ring.contains_prod)
        .bind(gate_str(ring.gate.state))
        .execute(&mut *conn)
        .await?;
        save_ring(conn, &c.id, pos, ring).await?;
        for (position, t) in ring.targets.iter().enumerate() {
            let meta = metas.get(t.database_id.as_str());
            sqlx::query(
                "INSERT INTO campaign_targets (campaign_id, idx, position, database_id, primary_id, \
                 state, from_version, to_version, attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)",
            )
            .bind(&c.id)
            .bind(pos as i64)
            .bind(position as i64)
            .bind(&t.database_id)
            .bind(meta.and_then(|m| m.primary_id.as_deref()))
            .bind(t.state.as_str())
            .bind(&t.from_version)
            .bind(&t.to_version)
            .execute(&mut *conn)
            .await?;
            save_target(conn, &c.id, t).await?;
        }
    }
    Ok(())
}

/// Writes the campaign's own fields (not its rings or targets). A new state or pause
/// reason also records this version as the campaign's state version (SQLite's `SET`
/// compares against the row as it was before the update).
pub async fn save_header(conn: &mut SqliteConnection, c: &Campaign) -> Result<(), DomainError> {
    sqlx::query(
        "UPDATE campaigns SET updated_at = ?, state = ?, paused_reason = ?, waiting_for = ?, \
         on_resume = ?, current_ring = ?, rollback = ?, version = ?, \
         state_version = CASE WHEN state = ? AND paused_reason IS ? THEN state_version ELSE ? END \
         WHERE id = ?",
    )
    .bind(fmt_time(c.updated_at))
    .bind(c.state.as_str())
    .bind(&c.paused_reason)
    .bind(&c.waiting_for)
    .bind(&c.on_resume)
    .bind(c.current_ring.map(i64::from))
    .bind(c.rollback.as_ref().map(serde_json::to_string).transpose()?)
    .bind(to_i64(c.version))
    .bind(c.state.as_str())
    .bind(&c.paused_reason)
    .bind(to_i64(c.version))
    .bind(&c.id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes one ring's fields (not its targets).
pub async fn save_ring(
    conn: &mut SqliteConnection,
    campaign_id: &str,
    pos: usize,
    r: &Ring,
) -> Result<(), DomainError> {
    sqlx::query(
        "UPDATE campaign_rings SET state = ?, gate_state = ?, failures = ?, bake_until = ?, \
         gate_reason = ?, approval_id = ?, started_at = ?, finished_at = ? \
         WHERE campaign_id = ? AND idx = ?",
    )
    .bind(r.state.as_str())
    .bind(gate_str(r.gate.state))
    .bind(i64::from(r.gate.failures))
    .bind(r.gate.bake_until.map(fmt_time))
    .bind(&r.gate.reason)
    .bind(&r.approval_id)
    .bind(r.started_at.map(fmt_time))
    .bind(r.finished_at.map(fmt_time))
    .bind(campaign_id)
    .bind(pos as i64)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes one target's fields.
pub async fn save_target(
    conn: &mut SqliteConnection,
    campaign_id: &str,
    t: &Target,
) -> Result<(), DomainError> {
    sqlx::query(
        "UPDATE campaign_targets SET state = ?, attempts = ?, started_at = ?, finished_at = ?, \
         message = ?, approval_id = ?, rollback_patch_state = ?, rollback_outcome = ? \
         WHERE campaign_id = ? AND database_id = ?",
    )
    .bind(t.state.as_str())
    .bind(i64::from(t.attempts))
    .bind(t.started_at.map(fmt_time))
    .bind(t.finished_at.map(fmt_time))
    .bind(&t.message)
    .bind(&t.approval_id)
    .bind(t.rollback.map(|r| r.patch_state.as_str()))
    .bind(t.rollback.map(|r| r.outcome.as_str()))
    .bind(campaign_id)
    .bind(&t.database_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records that the patch call for a target is about to be made.
pub async fn mark_patch_started(
    conn: &mut SqliteConnection,
    campaign_id: &str,
    database_id: &str,
) -> Result<(), DomainError> {
    sqlx::query(
        "UPDATE campaign_targets SET patch_started = 1 WHERE campaign_id = ? AND database_id = ?",
    )
    .bind(campaign_id)
    .bind(database_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One campaign with its rings and targets.
pub async fn load(conn: &mut SqliteConnection, id: &str) -> Result<Option<Campaign>, DomainError> {
    let Some(mut c) = load_rings(conn, id).await? else {
        return Ok(None);
    };
    let targets =
        sqlx::query("SELECT * FROM campaign_targets WHERE campaign_id = ? ORDER BY idx, position")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
    for row in &targets {
        place_target(&mut c, row)?;
    }
    Ok(Some(c))
}

/// One campaign with its rings, but of its targets only the one patching `database_id`
/// (in its ring): what a single target step reads and writes. A step then costs the same
/// in a campaign of ten targets as in one over the whole fleet.
pub async fn load_with_target(
    conn: &mut SqliteConnection,
    id: &str,
    database_id: &str,
) -> Result<Option<Campaign>, DomainError> {
    let Some(mut c) = load_rings(conn, id).await? else {
        return Ok(None);
    };
    let row =
        sqlx::query("SELECT * FROM campaign_targets WHERE campaign_id = ? AND database_id = ?")
            .bind(id)
            .bind(database_id)
            .fetch_optional(&mut *conn)
            .await?;
    if let Some(row) = row {
        place_target(&mut c, &row)?;
    }
    Ok(Some(c))
}

/// A campaign's state alone, without reading its rings or targets.
pub async fn state(
    conn: &mut SqliteConnection,
    id: &str,
) -> Result<Option<CampaignState>, DomainError> {
    let state: Option<String> = sqlx::query_scalar("SELECT state FROM campaigns WHERE id = ?")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(state.as_deref().map(parse_campaign_state))
}

/// The campaign's header and rings, with no targets.
async fn load_rings(
    conn: &mut SqliteConnection,
    id: &str,
) -> Result<Option<Campaign>, DomainError> {
    let Some(row) = sqlx::query("SELECT * FROM campaigns WHERE id = ?")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let mut c = header_from_row(&row)?;
    let rings = sqlx::query("SELECT * FROM campaign_rings WHERE campaign_id = ? ORDER BY idx")
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    c.rings = rings.iter().map(ring_from_row).collect::<Result<_, _>>()?;
    Ok(Some(c))
}

/// Appends a target row to its ring of `c`.
fn place_target(c: &mut Campaign, row: &SqliteRow) -> Result<(), DomainError> {
    let pos: i64 = row.try_get("idx")?;
    let ring = usize::try_from(pos)
        .ok()
        .and_then(|p| c.rings.get_mut(p))
        .ok_or_else(|| {
            DomainError::Internal(format!("campaign {}: target in unknown ring {pos}", c.id))
        })?;
    ring.targets.push(target_from_row(row)?);
    Ok(())
}

/// What the runner knows about each target of a campaign, in dispatch order.
pub async fn load_meta(
    conn: &mut SqliteConnection,
    id: &str,
) -> Result<Vec<TargetMeta>, DomainError> {
    let rows = sqlx::query(
        "SELECT database_id, idx, primary_id, patch_started FROM campaign_targets \
         WHERE campaign_id = ? ORDER BY idx, position",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(TargetMeta {
                database_id: r.try_get("database_id")?,
                ring_pos: usize::try_from(r.try_get::<i64, _>("idx")?).unwrap_or(usize::MAX),
                primary_id: r.try_get("primary_id")?,
                patch_started: r.try_get("patch_started")?,
            })
        })
        .collect()
}

/// The newest campaigns with their rings and targets, newest first.
///
/// Reads that take several statements run in one read transaction: outside one, each
/// statement sees its own moment, and a commit between them (a rollback reverting a
/// passed ring's targets) would show a campaign that never existed.
pub async fn list_campaigns(pool: &SqlitePool) -> Result<Vec<Campaign>, DomainError> {
    let mut tx = pool.begin().await?;
    recent(&mut tx).await
}

/// [`list_campaigns`] on a given connection (inside a transaction): three queries in
/// all (headers, rings, targets), whatever the number of campaigns.
pub async fn recent(conn: &mut SqliteConnection) -> Result<Vec<Campaign>, DomainError> {
    const NEWEST: &str = "SELECT id FROM campaigns ORDER BY num DESC LIMIT ?1";
    let headers = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT * FROM campaigns WHERE id IN ({NEWEST}) ORDER BY num DESC"
    )))
    .bind(LIST_LIMIT)
    .fetch_all(&mut *conn)
    .await?;
    let mut out: Vec<Campaign> = headers
        .iter()
        .map(header_from_row)
        .collect::<Result<_, _>>()?;
    let by_id: std::collections::HashMap<String, usize> = out
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.clone(), i))
        .collect();
    let rings = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT * FROM campaign_rings WHERE campaign_id IN ({NEWEST}) ORDER BY campaign_id, idx"
    )))
    .bind(LIST_LIMIT)
    .fetch_all(&mut *conn)
    .await?;
    for row in &rings {
        let id: String = row.try_get("campaign_id")?;
        if let Some(&i) = by_id.get(&id) {
            out[i].rings.push(ring_from_row(row)?);
        }
    }
    let mut targets = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT * FROM campaign_targets WHERE campaign_id IN ({NEWEST}) \
         ORDER BY campaign_id, idx, position"
    )))
    .bind(LIST_LIMIT)
    .fetch(&mut *conn);
    while let Some(row) = targets.try_next().await? {
        let id: String = row.try_get("campaign_id")?;
        if let Some(&i) = by_id.get(&id) {
            place_target(&mut out[i], &row)?;
        }
    }
    Ok(out)
}

/// A campaign with its rings but none of their targets: what a look at its state,
/// reasons and version needs, at the same cost whatever the campaign's size.
pub async fn get_header(pool: &SqlitePool, id: &str) -> Result<Option<Campaign>, DomainError> {
    let mut tx = pool.begin().await?;
    load_rings(&mut tx, id).await
}

/// One campaign, read in one transaction (see [`list_campaigns`]).
pub async fn get_campaign(pool: &SqlitePool, id: &str) -> Result<Option<Campaign>, DomainError> {
    let mut tx = pool.begin().await?;
    load(&mut tx, id).await
}

/// One campaign and what the runner knows about its targets, read in one transaction:
/// a decision that takes targets' states from one and their `patch_started` from the
/// other must see both at the same moment.
pub async fn get_with_meta(
    pool: &SqlitePool,
    id: &str,
) -> Result<Option<(Campaign, Vec<TargetMeta>)>, DomainError> {
    let mut tx = pool.begin().await?;
    let Some(c) = load(&mut tx, id).await? else {
        return Ok(None);
    };
    let meta = load_meta(&mut tx, id).await?;
    Ok(Some((c, meta)))
}

/// The version at which the campaign's state or pause reason last changed (see
/// `save_header`); `None` when there is no such campaign.
pub async fn state_version(
    conn: &mut SqliteConnection,
    id: &str,
) -> Result<Option<u64>, DomainError> {
    let v: Option<i64> = sqlx::query_scalar("SELECT state_version FROM campaigns WHERE id = ?")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    v.map(|v| to_u64(v, "campaign state version")).transpose()
}
