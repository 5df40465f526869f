//! The exception queue: approvals and their four-eyes decisions.
//!
//! Every state change appends an event carrying the whole approval
//! ([`Change::Approval`]) in the same transaction, so consoles update without refetching.

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};
use fleetdeck_api::{
    Approval, ApprovalKind, ApprovalState, BlastRadius, Change, Decision, EventSubject, Finding,
    Level, Verdict, kinds,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection, SqlitePool};

use super::events::{self, NewEvent};
use super::{Tx, fmt_time, parse_opt_time, parse_time, to_i64, to_u64};
use crate::DomainError;

/// An approval to raise.
#[derive(Debug, Clone)]
pub struct NewApproval {
    pub kind: ApprovalKind,
    pub subject: String,
    pub campaign_id: Option<String>,
    pub database_id: Option<String>,
    pub ring: Option<u8>,
    pub requested_by: String,
    pub reason: String,
    pub blast_radius: BlastRadius,
    pub findings: Vec<Finding>,
    pub approvals_required: u32,
    pub expires_at: DateTime<Utc>,
}

/// A decision to record, as sent by an approver.
#[derive(Debug, Clone)]
pub struct NewDecision<'a> {
    pub approver: &'a str,
    pub verdict: Verdict,
    pub comment: Option<&'a str>,
    /// The version the approver saw (`If-Match`), if they sent one.
    pub if_match: Option<u64>,
}

/// Raises an approval (state pending) and appends `approval.requested`.
pub async fn insert(
    tx: &mut Tx<'_>,
    a: NewApproval,
    correlation_id: Option<String>,
) -> Result<Approval, DomainError> {
    let num: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(num), 0) + 1 FROM approvals")
        .fetch_one(&mut **tx)
        .await?;
    let approval = Approval {
        id: format!("apr-{num}"),
        kind: a.kind,
        state: ApprovalState::Pending,
        subject: a.subject,
        campaign_id: a.campaign_id,
        database_id: a.database_id,
        ring: a.ring,
        requested_by: a.requested_by,
        reason: fleetdeck_api::text::sanitize(&a.reason).into_owned(),
        blast_radius: a.blast_radius,
        findings: a.findings,
        approvals_required: a.approvals_required.max(1),
        decisions: Vec::new(),
        created_at: super::now(),
        expires_at: a.expires_at.trunc_subsecs(6),
        decided_at: None,
        version: 1,
    };
    sqlx::query(
        "INSERT INTO approvals (id, num, kind, state, subject, campaign_id, database_id, ring, \
         requested_by, reason, blast_radius_json, findings_json, approvals_required, \
         created_at, expires_at, decided_at, version) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
    )
    .bind(&approval.id)
    .bind(num)
    .bind(approval.kind.as_str())
    .bind(approval.state.as_str())
    .bind(&approval.subject)
    .bind(&approval.campaign_id)
    .bind(&approval.database_id)
    .bind(approval.ring.map(i64::from))
    .bind(&approval.requested_by)
    .bind(&approval.reason)
    .bind(serde_json::to_string(&approval.blast_radius)?)
    .bind(serde_json::to_string(&approval.findings)?)
    .bind(i64::from(approval.approvals_required))
    .bind(fmt_time(approval.created_at))
    .bind(fmt_time(approval.expires_at))
    .bind(to_i64(approval.version))
    .execute(&mut **tx)
    .await?;
    let message = format!(
        "{} requested {} approval for {}: {}",
        approval.requested_by,
        approval.kind.as_str().replace('_', " "),
        approval.subject,
        approval.reason
    );
    append_change(
        tx,
        &approval,
        &approval.requested_by,
        kinds::APPROVAL_REQUESTED,
        Level::Warn,
        message,
        correlation_id,
    )
    .await?;
    tx.flush().await?;
    Ok(approval)
}

/// One approval with its decisions, in one query (a statement costs more in thread
/// hand-offs than in SQLite: see [`Tx::defer`]).
pub async fn get(conn: &mut SqliteConnection, id: &str) -> Result<Option<Approval>, DomainError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS}, d.approver, d.verdict, d.comment, d.at FROM approvals \
         LEFT JOIN approval_decisions d ON d.approval_id = approvals.id \
         WHERE approvals.id = ? ORDER BY d.at"
    )))
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let mut approval = from_row(first)?;
    for row in &rows {
        if row.try_get::<Option<String>, _>("approver")?.is_some() {
            approval.decisions.push(decision_from_row(row)?);
        }
    }
    Ok(Some(approval))
}

/// Approvals in `state` (every approval when `None`), newest first.
pub async fn list(
    pool: &SqlitePool,
    state: Option<ApprovalState>,
) -> Result<Vec<Approval>, DomainError> {
    // One read transaction: approvals and their decisions as of one moment.
    let mut tx = pool.begin().await?;
    list_in(&mut tx, state).await
}

/// [`list`] on a given connection, for reads that must be consistent with others.
pub async fn list_in(
    conn: &mut SqliteConnection,
    state: Option<ApprovalState>,
) -> Result<Vec<Approval>, DomainError> {
    let rows = match state {
        Some(s) => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM approvals WHERE state = ? ORDER BY num DESC"
            )))
            .bind(s.as_str())
            .fetch_all(&mut *conn)
            .await?
        }
        None => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM approvals ORDER BY num DESC"
            )))
            .fetch_all(&mut *conn)
            .await?
        }
    };
    let mut out = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    // One query for every decision rather than one per approval.
    let all: Vec<(String, Decision)> = sqlx::query(
        "SELECT approval_id, approver, verdict, comment, at FROM approval_decisions ORDER BY at",
    )
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("approval_id")?, decision_from_row(r)?)))
    .collect::<Result<_, DomainError>>()?;
    let mut by_approval: HashMap<String, Vec<Decision>> = HashMap::new();
    for (id, d) in all {
        by_approval.entry(id).or_default().push(d);
    }
    for a in &mut out {
        a.decisions = by_approval.remove(&a.id).unwrap_or_default();
    }
    Ok(out)
}

/// Whether any pending approval is past its expiry (a cheap read before taking the
/// write lock).
pub async fn any_due(pool: &SqlitePool, now: DateTime<Utc>) -> Result<bool, DomainError> {
    let due: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM approvals WHERE state = 'pending' AND expires_at <= ? LIMIT 1",
    )
    .bind(fmt_time(now))
    .fetch_optional(pool)
    .await?;
    Ok(due.is_some())
}

/// Pending approvals past their expiry become expired, each with an event.
pub async fn expire_due(tx: &mut Tx<'_>, now: DateTime<Utc>) -> Result<Vec<Approval>, DomainError> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM approvals WHERE state = 'pending' AND expires_at <= ? ORDER BY num",
    )
    .bind(fmt_time(now))
    .fetch_all(&mut **tx)
    .await?;
    let mut expired = Vec::with_capacity(ids.len());
    for id in ids {
        let ended = end_pending(tx, &id, now, "scheduler", None, |a| {
            format!(
                "approval {} for {} expired with {} of {} approvals",
                a.id,
                a.subject,
                a.approvals_so_far(),
                a.approvals_required
            )
        })
        .await?;
        expired.extend(ended);
    }
    Ok(expired)
}

/// Withdraws the pending approvals of a campaign that has finished (`why` says how):
/// nobody needs to decide them any more. API v1 has no "withdrawn" state, so they
/// become `expired` (no longer decidable, no decision taken), each with an
/// `approval.expired` event whose message says it was withdrawn and why. In the
/// caller's transaction, so the campaign's end and the withdrawals commit together.
pub async fn withdraw_for_campaign(
    tx: &mut Tx<'_>,
    campaign_id: &str,
    why: &str,
    actor: &str,
    correlation_id: Option<String>,
) -> Result<Vec<Approval>, DomainError> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM approvals WHERE campaign_id = ? AND state = 'pending' ORDER BY num",
    )
    .bind(campaign_id)
    .fetch_all(&mut **tx)
    .await?;
    let now = super::now();
    let mut withdrawn = Vec::with_capacity(ids.len());
    for id in ids {
        let ended = end_pending(tx, &id, now, actor, correlation_id.clone(), |a| {
            format!(
                "approval {} for {} withdrawn ({} of {} approvals): {why}; it needs no decision any more",
                a.id,
                a.subject,
                a.approvals_so_far(),
                a.approvals_required
            )
        })
        .await?;
        withdrawn.extend(ended);
    }
    Ok(withdrawn)
}

/// Moves pending approval `id` to expired with an `approval.expired` event saying
/// `message`; `None` when it is gone or no longer pending.
async fn end_pending(
    tx: &mut Tx<'_>,
    id: &str,
    now: DateTime<Utc>,
    actor: &str,
    correlation_id: Option<String>,
    message: impl FnOnce(&Approval) -> String,
) -> Result<Option<Approval>, DomainError> {
    let Some(mut a) = get(tx, id).await? else {
        return Ok(None);
    };
    if a.state != ApprovalState::Pending {
        return Ok(None);
    }
    a.state = ApprovalState::Expired;
    a.decided_at = Some(now);
    a.version += 1;
    update_state(tx, &a);
    let message = message(&a);
    append_change(
        tx,
        &a,
        actor,
        kinds::APPROVAL_EXPIRED,
        Level::Warn,
        message,
        correlation_id,
    )
    .await?;
    tx.flush().await?;
    Ok(Some(a))
}

/// Records one decision, enforcing the rules every approval keeps: only pending and
/// unexpired approvals are decided; nobody decides their own request; each approver
/// counts once; `If-Match` must name the current version. Approved once the approvals
/// reach the number required; rejected by any rejection.
///
/// Its writes are left deferred (see [`Tx::defer`]): they go to SQLite with the
/// action's release or the transaction's commit, or an explicit [`Tx::flush`].
pub async fn decide(
    tx: &mut Tx<'_>,
    id: &str,
    d: NewDecision<'_>,
    now: DateTime<Utc>,
    correlation_id: Option<String>,
) -> Result<Approval, DomainError> {
    let mut a = get(tx, id)
        .await?
        .ok_or_else(|| DomainError::NotFound(format!("no approval with id '{id}'")))?;
    if let Some(seen) = d.if_match
        && seen != a.version
    {
        return Err(DomainError::PreconditionFailed {
            what: format!("approval {id}"),
            seen,
            current: a.version,
        });
    }
    if a.state == ApprovalState::Pending && a.expires_at <= now {
        return Err(DomainError::Conflict(format!(
            "approval {id} expired at {}; it can no longer be decided",
            fmt_time(a.expires_at)
        )));
    }
    if a.state != ApprovalState::Pending {
        return Err(DomainError::Conflict(format!(
            "approval {id} is {}, not pending; it can no longer be decided",
            a.state.as_str()
        )));
    }
    if a.requested_by == d.approver {
        return Err(DomainError::Forbidden(format!(
            "approval {id} was requested by you; nobody decides their own request (four eyes)"
        )));
    }
    if a.decisions.iter().any(|x| x.approver == d.approver) {
        return Err(DomainError::Conflict(format!(
            "you have already decided approval {id}; each approver counts once"
        )));
    }
    let decision = Decision {
        approver: d.approver.to_string(),
        verdict: d.verdict,
        comment: d
            .comment
            .map(|c| fleetdeck_api::text::sanitize(c).into_owned()),
        at: now,
    };
    tx.defer(
        "INSERT INTO approval_decisions (approval_id, approver, verdict, comment, at) \
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(decision.approver.as_str())
    .bind(verdict_str(decision.verdict))
    .bind(decision.comment.as_deref())
    .bind(fmt_time(now));
    a.decisions.push(decision);
    a.state = match d.verdict {
        Verdict::Reject => ApprovalState::Rejected,
        _ if a.approvals_so_far() >= a.approvals_required => ApprovalState::Approved,
        _ => ApprovalState::Pending,
    };
    if a.state != ApprovalState::Pending {
        a.decided_at = Some(now);
    }
    a.version += 1;
    update_state(tx, &a);

    let verb = if d.verdict == Verdict::Reject {
        "rejected"
    } else {
        "approved"
    };
    let comment = d.comment.map(|c| format!(": {c}")).unwrap_or_default();
    let message = format!(
        "{} {verb} {} ({} of {} approvals){comment}",
        d.approver,
        a.id,
        a.approvals_so_far(),
        a.approvals_required
    );
    append_change(
        tx,
        &a,
        d.approver,
        kinds::APPROVAL_DECIDED,
        Level::Info,
        message,
        correlation_id.clone(),
    )
    .await?;
    let outcome = match a.state {
        ApprovalState::Approved => Some((kinds::APPROVAL_APPROVED, "approved", Level::Info)),
        ApprovalState::Rejected => Some((kinds::APPROVAL_REJECTED, "rejected", Level::Warn)),
        _ => None,
    };
    if let Some((kind, word, level)) = outcome {
        let message = format!("approval {} for {} is {word}", a.id, a.subject);
        append_change(tx, &a, d.approver, kind, level, message, correlation_id).await?;
    }
    Ok(a)
}

async fn append_change(
    tx: &mut Tx<'_>,
    a: &Approval,
    actor: &str,
    kind: &str,
    level: Level,
    message: String,
    correlation_id: Option<String>,
) -> Result<(), DomainError> {
    let subject = EventSubject {
        campaign_id: a.campaign_id.clone(),
        database_id: a.database_id.clone(),
        approval_id: Some(a.id.clone()),
        drill_id: None,
        ring: a.ring,
    };
    let ev = NewEvent::new(actor, kind, level, message)
        .subject(subject)
        .change(Change::Approval {
            approval: Box::new(a.clone()),
        })
        .correlation(correlation_id);
    events::defer_append(tx, ev).await?;
    Ok(())
}

/// Deferred (see [`Tx::defer`]).
fn update_state(tx: &mut Tx<'_>, a: &Approval) {
    tx.defer("UPDATE approvals SET state = ?, decided_at = ?, version = ? WHERE id = ?")
        .bind(a.state.as_str())
        .bind(a.decided_at.map(fmt_time))
        .bind(to_i64(a.version))
        .bind(a.id.as_str());
}

const COLUMNS: &str = "id, kind, state, subject, campaign_id, database_id, ring, requested_by, \
                       reason, blast_radius_json, findings_json, approvals_required, created_at, \
                       expires_at, decided_at, version";

fn verdict_str(v: Verdict) -> &'static str {
    match v {
        Verdict::Approve => "approve",
        Verdict::Reject => "reject",
        Verdict::Unknown => "unknown",
    }
}

fn decision_from_row(r: &SqliteRow) -> Result<Decision, DomainError> {
    let verdict = match r.try_get::<String, _>("verdict")?.as_str() {
        "approve" => Verdict::Approve,
        "reject" => Verdict::Reject,
        _ => Verdict::Unknown,
    };
    Ok(Decision {
        approver: r.try_get("approver")?,
        verdict,
        comment: r.try_get("comment")?,
        at: parse_time(&r.try_get::<String, _>("at")?)?,
    })
}

fn from_row(r: &SqliteRow) -> Result<Approval, DomainError> {
    let kind = match r.try_get::<String, _>("kind")?.as_str() {
        "ring_promotion" => ApprovalKind::RingPromotion,
        "policy_exception" => ApprovalKind::PolicyException,
        _ => ApprovalKind::Unknown,
    };
    let state = ApprovalState::parse_filter(&r.try_get::<String, _>("state")?)
        .ok()
        .flatten()
        .unwrap_or(ApprovalState::Unknown);
    let ring: Option<i64> = r.try_get("ring")?;
    let required: i64 = r.try_get("approvals_required")?;
    Ok(Approval {
        id: r.try_get("id")?,
        kind,
        state,
        subject: r.try_get("subject")?,
        campaign_id: r.try_get("campaign_id")?,
        database_id: r.try_get("database_id")?,
        ring: ring.and_then(|v| u8::try_from(v).ok()),
        requested_by: r.try_get("requested_by")?,
        reason: r.try_get("reason")?,
        blast_radius: serde_json::from_str(&r.try_get::<String, _>("blast_radius_json")?)?,
        findings: serde_json::from_str(&r.try_get::<String, _>("findings_json")?)?,
        approvals_required: u32::try_from(required).unwrap_or(1),
        decisions: Vec::new(),
        created_at: parse_time(&r.try_get::<String, _>("created_at")?)?,
        expires_at: parse_time(&r.try_get::<String, _>("expires_at")?)?,
        decided_at: parse_opt_time(r.try_get("decided_at")?)?,
        version: to_u64(r.try_get("version")?, "approval version")?,
    })
}
