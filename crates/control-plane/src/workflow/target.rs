//! One target through precheck → patch → verify. Each step is committed before its
//! executor call starts and its outcome after it ends, so a stopped engine leaves a
//! record that says exactly what may have happened: a target in `patching` or
//! `verifying` is re-verified on restart, never patched a second time.

use chrono::Utc;
use fleetdeck_api::{CampaignState, Database, Level, TargetState, kinds};

use super::engine::Shared;
use super::health::{self, Observer};
use super::logs::{LogTo, with_log};
use super::plan;
use super::record::{self, Actor};
use crate::DomainError;
use crate::store::events::NewEvent;
use crate::store::{campaigns, fleet};

/// What a step does to the target row, besides its state.
pub(crate) enum Mark {
    None,
    /// The patch call comes next: count the attempt and remember it was made.
    PatchStarted,
    /// The target failed: the ring's gate counts it.
    Failed,
}

/// Moves the target to `state` with `message`, appending `event`. Reads and writes only
/// this target's row (and the campaign's header and rings), never the campaign's other
/// targets: a step's cost does not grow with the campaign.
pub(crate) async fn transition(
    shared: &Shared,
    campaign_id: &str,
    database_id: &str,
    state: TargetState,
    message: Option<String>,
    mark: Mark,
    event: NewEvent,
) -> Result<(), DomainError> {
    let mut tx = shared.store.begin().await?;
    let mut c = record::load_target(&mut tx, campaign_id, database_id).await?;
    let (pos, i) = record::find_target(&c, database_id).ok_or_else(|| {
        DomainError::Internal(format!(
            "campaign {campaign_id} has no target {database_id}"
        ))
    })?;
    let t = &mut c.rings[pos].targets[i];
    t.state = state;
    t.message = message;
    let mut with_rings = false;
    match mark {
        Mark::None => {}
        Mark::PatchStarted => {
            t.attempts += 1;
            campaigns::mark_patch_started(&mut tx, campaign_id, database_id).await?;
        }
        Mark::Failed => {
            t.finished_at = Some(Utc::now());
            c.rings[pos].gate.failures += 1;
            with_rings = true;
        }
    }
    record::save_target(&mut tx, &mut c, pos, database_id, with_rings, event).await?;
    shared.store.commit(tx).await
}

struct Ctx<'a> {
    shared: &'a Shared,
    campaign_id: &'a str,
    db: Database,
    to_version: String,
    actor: Actor,
    log: LogTo,
}

impl Ctx<'_> {
    async fn go(
        &self,
        state: TargetState,
        message: Option<String>,
        mark: Mark,
        level: Level,
        text: String,
    ) -> Result<(), DomainError> {
        let ev = self.actor.event(kinds::TARGET_STATE, level, text);
        transition(
            self.shared,
            self.campaign_id,
            &self.db.id,
            state,
            message,
            mark,
            ev,
        )
        .await
    }

    async fn fail(&self, why: String) -> Result<(), DomainError> {
        let text = format!("{}: {why}", self.db.id);
        self.go(
            TargetState::Failed,
            Some(why),
            Mark::Failed,
            Level::Error,
            text,
        )
        .await
    }
}

/// Runs one target: from its precheck when `fresh`, else only its verification.
pub(crate) async fn run(
    shared: &Shared,
    campaign_id: &str,
    database_id: &str,
    fresh: bool,
) -> Result<(), DomainError> {
    let (c, db) = {
        let mut conn = shared.store.pool().acquire().await?;
        let c = campaigns::load_with_target(&mut conn, campaign_id, database_id).await?;
        let db = fleet::get(&mut conn, database_id).await?;
        (c, db)
    };
    let Some(c) = c else { return Ok(()) };
    let Some((pos, i)) = record::find_target(&c, database_id) else {
        return Ok(());
    };
    let target = c.rings[pos].targets[i].clone();
    let correlation = Some(format!(
        "{campaign_id}/{database_id}/{}",
        target.attempts + 1
    ));
    let Some(db) = db else {
        let ctx_actor = Actor::new("runner", correlation);
        let ev = ctx_actor.event(
            kinds::TARGET_STATE,
            Level::Error,
            format!("{database_id}: no longer in the inventory"),
        );
        transition(
            shared,
            campaign_id,
            database_id,
            TargetState::Failed,
            Some("no longer in the inventory".into()),
            Mark::Failed,
            ev,
        )
        .await?;
        return Ok(());
    };
    let ctx = Ctx {
        shared,
        campaign_id,
        to_version: target.to_version.clone(),
        actor: Actor::new("runner", correlation.clone()),
        log: LogTo {
            subject: record::subject(&c, Some(pos), Some(database_id)),
            correlation,
        },
        db,
    };
    let expected: &[TargetState] = if fresh {
        &[TargetState::Prechecking]
    } else {
        &[TargetState::Patching, TargetState::Verifying]
    };
    if !expected.contains(&target.state) {
        // Someone else moved it on since the job was handed out.
        return Ok(());
    }
    if fresh {
        let ex = &shared.executor;
        let pre = with_log(shared, &ctx.log, |log| {
            ex.precheck(&ctx.db, &ctx.to_version, log)
        })
        .await;
        if let Err(e) = pre {
            return ctx.fail(format!("precheck failed: {e}")).await;
        }
        if shared.stopping() {
            // Still `prechecking`: the next engine queues it again.
            return Ok(());
        }
        let now = campaigns_state(shared, campaign_id).await?;
        if now == Some(CampaignState::RollingBack) {
            let text = format!("{}: not patched: the campaign is rolling back", ctx.db.id);
            return ctx
                .go(
                    TargetState::Pending,
                    Some("not patched: rollback requested".into()),
                    Mark::None,
                    Level::Info,
                    text,
                )
                .await;
        }
        let text = format!(
            "{}: patching {} → {} (attempt {})",
            ctx.db.id,
            target.from_version,
            ctx.to_version,
            target.attempts + 1
        );
        ctx.go(
            TargetState::Patching,
            None,
            Mark::PatchStarted,
            Level::Info,
            text,
        )
        .await?;
        let patched = with_log(shared, &ctx.log, |log| {
            ex.patch(&ctx.db, &ctx.to_version, log)
        })
        .await;
        if let Err(e) = patched {
            let why = if e.timed_out {
                format!("patch timed out: {e}")
            } else {
                format!("patch failed: {e}")
            };
            return ctx.fail(why).await;
        }
    }
    verify(&ctx, fresh).await
}

async fn campaigns_state(shared: &Shared, id: &str) -> Result<Option<CampaignState>, DomainError> {
    let mut conn = shared.store.pool().acquire().await?;
    campaigns::state(&mut conn, id).await
}

/// Checks the version and health after a patch; on success records the database as
/// patched.
async fn verify(ctx: &Ctx<'_>, fresh: bool) -> Result<(), DomainError> {
    let text = if fresh {
        format!("{}: verifying version and health", ctx.db.id)
    } else {
        format!(
            "{}: re-verifying after an interrupted run (not patched again)",
            ctx.db.id
        )
    };
    ctx.go(TargetState::Verifying, None, Mark::None, Level::Info, text)
        .await?;
    let ex = &ctx.shared.executor;
    let actual = match ex.actual_version(&ctx.db).await {
        Ok(v) => v,
        Err(e) => {
            return ctx
                .fail(format!("verification failed: cannot read the version: {e}"))
                .await;
        }
    };
    if actual != ctx.to_version {
        let why = if fresh {
            format!(
                "verification failed: runs {actual}, expected {}",
                ctx.to_version
            )
        } else {
            // The patch call may or may not have reached the database; patching again
            // could apply it twice, so a person decides.
            format!(
                "interrupted during its patch and runs {actual}, not {}: not patched again; \
                 patch it by hand or roll the campaign back",
                ctx.to_version
            )
        };
        return ctx.fail(why).await;
    }
    let health = match health::observe(ctx.shared, &ctx.db, Observer::PatchVerification, None).await
    {
        Ok(h) => h,
        Err(e) => {
            return ctx
                .fail(format!("verification failed: health check: {e}"))
                .await;
        }
    };
    // Lag right after a patch is a replica catching up: the bake judges it.
    if let Some(p) = plan::status_problem(&ctx.db.id, &health) {
        return ctx.fail(format!("unhealthy after the patch: {p}")).await;
    }
    // The target and the inventory change together.
    let mut tx = ctx.shared.store.begin().await?;
    let mut c = record::load_target(&mut tx, ctx.campaign_id, &ctx.db.id).await?;
    let Some((pos, i)) = record::find_target(&c, &ctx.db.id) else {
        return Ok(());
    };
    let t = &mut c.rings[pos].targets[i];
    t.state = TargetState::Done;
    t.finished_at = Some(Utc::now());
    t.message = None;
    let ev = ctx.actor.event(
        kinds::TARGET_STATE,
        Level::Info,
        format!("{}: done, runs {actual} and is healthy", ctx.db.id),
    );
    record::save_target(&mut tx, &mut c, pos, &ctx.db.id, false, ev).await?;
    if let Some(mut db) = fleet::get(&mut tx, &ctx.db.id).await? {
        let from = std::mem::replace(&mut db.engine_version, actual.clone());
        db.last_patched_at = Some(Utc::now());
        let ev = ctx.actor.event(
            kinds::DATABASE_PATCHED,
            Level::Info,
            format!("{} patched {from} → {actual} by {}", db.id, ctx.campaign_id),
        );
        fleet::save(&mut tx, db, ev).await?;
    }
    ctx.shared.store.commit(tx).await
}
