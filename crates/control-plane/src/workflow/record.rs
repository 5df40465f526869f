//! Writing campaign changes: every save bumps the campaign's version and appends the
//! event carrying the new state, in the caller's transaction.

use chrono::Utc;
use fleetdeck_api::{Campaign, Change, EventSubject, Level};

use crate::DomainError;
use crate::store::Tx;
use crate::store::events::{NewEvent, append};
use crate::store::{approvals, campaigns};

/// Who is acting and which request or workflow step the events belong to.
#[derive(Debug, Clone)]
pub struct Actor {
    pub name: String,
    pub correlation: Option<String>,
}

impl Actor {
    pub fn new(name: impl Into<String>, correlation: Option<String>) -> Actor {
        Actor {
            name: name.into(),
            correlation,
        }
    }

    pub fn event(&self, kind: &str, level: Level, message: impl Into<String>) -> NewEvent {
        NewEvent::new(self.name.clone(), kind, level, message).correlation(self.correlation.clone())
    }
}

/// The subject of an event about a campaign, optionally one ring (by position) and one
/// database.
pub fn subject(c: &Campaign, ring_pos: Option<usize>, database_id: Option<&str>) -> EventSubject {
    EventSubject {
        campaign_id: Some(c.id.clone()),
        ring: ring_pos.and_then(|p| c.rings.get(p)).map(|r| r.index),
        database_id: database_id.map(str::to_string),
        ..EventSubject::default()
    }
}

fn bump(c: &mut Campaign) {
    c.version += 1;
    c.updated_at = Utc::now();
}

/// Saves the campaign's header and rings (not targets) and appends `ev` carrying the
/// whole campaign. `ev`'s subject is filled in when it has none. A campaign saved in a
/// finished state (completed, rolled back) has its pending approvals withdrawn in the
/// same transaction: a ring promotion or policy exception of a campaign that is over
/// needs nobody's decision.
pub async fn save_campaign(
    tx: &mut Tx<'_>,
    c: &mut Campaign,
    ev: NewEvent,
) -> Result<(), DomainError> {
    bump(c);
    campaigns::save_header(tx, c).await?;
    for (pos, ring) in c.rings.iter().enumerate() {
        campaigns::save_ring(tx, &c.id, pos, ring).await?;
    }
    let ev = if ev.subject == EventSubject::default() {
        let s = subject(c, None, None);
        ev.subject(s)
    } else {
        ev
    };
    let (actor, correlation) = (ev.actor.clone(), ev.correlation_id.clone());
    append(
        tx,
        ev.change(Change::Campaign {
            campaign: Box::new(c.clone()),
        }),
    )
    .await?;
    if c.state.is_finished() {
        let state = c.state.as_str().replace('_', " ");
        let why = format!("campaign {} is {state}", c.id);
        approvals::withdraw_for_campaign(tx, &c.id, &why, &actor, correlation).await?;
    }
    Ok(())
}

/// Saves one target (and the campaign header, for its version) and appends `ev`
/// carrying the target. Rings are saved too when `with_rings`, for gate counters.
pub async fn save_target(
    tx: &mut Tx<'_>,
    c: &mut Campaign,
    ring_pos: usize,
    database_id: &str,
    with_rings: bool,
    ev: NewEvent,
) -> Result<(), DomainError> {
    bump(c);
    campaigns::save_header(tx, c).await?;
    if with_rings {
        campaigns::save_ring(tx, &c.id, ring_pos, &c.rings[ring_pos]).await?;
    }
    let target = c.rings[ring_pos]
        .targets
        .iter()
        .find(|t| t.database_id == database_id)
        .cloned()
        .ok_or_else(|| {
            DomainError::Internal(format!("campaign {}: no target {database_id}", c.id))
        })?;
    campaigns::save_target(tx, &c.id, &target).await?;
    let s = subject(c, Some(ring_pos), Some(database_id));
    append(
        tx,
        ev.subject(s).change(Change::Target {
            campaign_id: c.id.clone(),
            ring: c.rings[ring_pos].index,
            target: Box::new(target),
            campaign_version: c.version,
        }),
    )
    .await?;
    Ok(())
}

/// Finds a target by database id: (ring position, index in the ring).
pub fn find_target(c: &Campaign, database_id: &str) -> Option<(usize, usize)> {
    c.rings.iter().enumerate().find_map(|(p, r)| {
        r.targets
            .iter()
            .position(|t| t.database_id == database_id)
            .map(|i| (p, i))
    })
}

/// Loads a campaign inside a transaction, or says it does not exist.
pub async fn load(tx: &mut Tx<'_>, id: &str) -> Result<Campaign, DomainError> {
    campaigns::load(tx, id).await?.ok_or_else(|| {
        DomainError::NotFound(format!(
            "no campaign with id '{}'",
            fleetdeck_api::text::sanitize_line(id)
        ))
    })
}

/// Loads a campaign inside a transaction with only the target of `database_id` (see
/// [`campaigns::load_with_target`]), or says the campaign does not exist.
pub async fn load_target(
    tx: &mut Tx<'_>,
    id: &str,
    database_id: &str,
) -> Result<Campaign, DomainError> {
    campaigns::load_with_target(tx, id, database_id)
        .await?
        .ok_or_else(|| {
            DomainError::NotFound(format!(
                "no campaign with id '{}'",
                fleetdeck_api::text::sanitize_line(id)
            ))
        })
}

/// Position in `c.rings` of the ring being worked on. `current_ring` holds the fleet's
/// ring number (what a console shows as "ring 3"), not the position.
pub fn current_pos(c: &Campaign) -> usize {
    c.current_ring
        .and_then(|n| c.rings.iter().position(|r| r.index == n))
        .unwrap_or(0)
}

/// Makes the ring at `pos` the one being worked on.
pub fn set_current(c: &mut Campaign, pos: usize) {
    c.current_ring = c.rings.get(pos).map(|r| r.index);
}
