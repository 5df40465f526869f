//! The bake: after a ring's last target, the patched databases must stay healthy and
//! within the replication-lag limit for the bake time before the ring passes.

use std::time::Duration;

use chrono::Utc;
use fleetdeck_api::{Campaign, CampaignState, GateState, Level, RingState, TargetState, kinds};

use super::engine::Shared;
use super::health::{self, Observer};
use super::plan;
use super::record;
use super::runner::{complete, fail_gate, runner};
use crate::DomainError;
use crate::store::{campaigns, fleet};

/// How often a baking ring's health is checked (at least).
const BAKE_CHECKS: u32 = 5;

/// Watches a baking ring: its patched targets must stay healthy and within the lag
/// limit until the bake ends; then the ring passes and the campaign moves on.
pub(crate) async fn bake(shared: &Shared, campaign_id: &str) -> Result<(), DomainError> {
    // Health is looked at every (scaled) minute, and at least BAKE_CHECKS times a bake.
    let minute = shared.settings.scaled(Duration::from_secs(60));
    loop {
        if shared.stopping() {
            return Ok(());
        }
        let c = {
            let mut conn = shared.store.pool().acquire().await?;
            campaigns::load(&mut conn, campaign_id).await?
        };
        let Some(c) = c else { return Ok(()) };
        let pos = record::current_pos(&c);
        let Some(ring) = c.rings.get(pos) else {
            return Ok(());
        };
        if c.state != CampaignState::Running || ring.state != RingState::Baking {
            return Ok(());
        }
        let until = ring.gate.bake_until.unwrap_or_else(Utc::now);
        let problem = check_ring_health(shared, &c, pos).await?;
        let mut tx = shared.store.begin().await?;
        let mut c = record::load(&mut tx, campaign_id).await?;
        if c.state != CampaignState::Running || c.rings[pos].state != RingState::Baking {
            return Ok(());
        }
        if let Some(reason) = problem {
            fail_gate(&mut tx, &mut c, pos, reason).await?;
            return shared.store.commit(tx).await;
        }
        if Utc::now() >= until {
            let ring = &mut c.rings[pos];
            ring.state = RingState::Passed;
            ring.gate.state = GateState::Passed;
            ring.gate.bake_until = None;
            ring.finished_at = Some(Utc::now());
            let msg = format!("{}: ring {} passed its health gate", c.id, ring.index);
            let passed = runner()
                .event(kinds::CAMPAIGN_RING_PASSED, Level::Info, msg)
                .subject(record::subject(&c, Some(pos), None));
            if pos + 1 < c.rings.len() {
                record::set_current(&mut c, pos + 1);
                record::save_campaign(&mut tx, &mut c, passed).await?;
            } else {
                record::save_campaign(&mut tx, &mut c, passed).await?;
                complete(&mut tx, &mut c).await?;
            }
            return shared.store.commit(tx).await;
        }
        drop(tx);
        let left = (until - Utc::now()).to_std().unwrap_or_default();
        let bake = shared
            .settings
            .scaled(Duration::from_secs(c.gate.bake_seconds));
        let every = minute
            .min(bake / BAKE_CHECKS)
            .max(Duration::from_millis(50));
        tokio::time::sleep(every.min(left)).await;
    }
}

/// The first health problem among the ring's patched targets, if any.
async fn check_ring_health(
    shared: &Shared,
    c: &Campaign,
    pos: usize,
) -> Result<Option<String>, DomainError> {
    for t in c.rings[pos]
        .targets
        .iter()
        .filter(|t| t.state == TargetState::Done)
    {
        let db = {
            let mut conn = shared.store.pool().acquire().await?;
            fleet::get(&mut conn, &t.database_id).await?
        };
        let Some(db) = db else { continue };
        match health::observe(shared, &db, Observer::Bake, None).await {
            Ok(h) => {
                if let Some(p) = plan::health_problem(&db.id, &h, &c.gate) {
                    return Ok(Some(format!("during the bake, {p}")));
                }
            }
            Err(e) => {
                return Ok(Some(format!(
                    "during the bake, health check of {} failed: {e}",
                    db.id
                )));
            }
        }
    }
    Ok(None)
}
