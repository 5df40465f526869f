//! How each pane orders its rows. Every comparator ends on the id so the order is
//! total and an item can be found again by binary search.

use std::cmp::Ordering;

use fleetdeck_api::{
    Approval, Campaign, CampaignState, Database, Evidence, Freshness, HealthStatus,
};

use super::indexes::Keyed;

/// A database with the evidence freshness the Fleet pane shows (and may sort by).
#[derive(Debug, Clone, PartialEq)]
pub struct DbRow {
    pub db: Database,
    pub freshness: Option<Freshness>,
}

impl Keyed for DbRow {
    fn key(&self) -> &str {
        &self.db.id
    }
}

impl Keyed for Campaign {
    fn key(&self) -> &str {
        &self.id
    }
}

impl Keyed for Evidence {
    fn key(&self) -> &str {
        &self.database_id
    }
}

impl Keyed for Approval {
    fn key(&self) -> &str {
        &self.id
    }
}

/// The Fleet pane's sortable columns, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FleetColumn {
    Id,
    Engine,
    Env,
    Tier,
    Ring,
    Role,
    Health,
    Evidence,
}

impl FleetColumn {
    pub const ALL: [FleetColumn; 8] = [
        FleetColumn::Id,
        FleetColumn::Engine,
        FleetColumn::Env,
        FleetColumn::Tier,
        FleetColumn::Ring,
        FleetColumn::Role,
        FleetColumn::Health,
        FleetColumn::Evidence,
    ];

    /// The column's name in `:sort`, matching its heading.
    pub fn word(self) -> &'static str {
        match self {
            FleetColumn::Id => "database",
            FleetColumn::Engine => "engine",
            FleetColumn::Env => "env",
            FleetColumn::Tier => "tier",
            FleetColumn::Ring => "ring",
            FleetColumn::Role => "role",
            FleetColumn::Health => "health",
            FleetColumn::Evidence => "evidence",
        }
    }

    pub fn parse(word: &str) -> Option<FleetColumn> {
        FleetColumn::ALL.into_iter().find(|c| c.word() == word)
    }

    pub fn next(self) -> FleetColumn {
        let i = FleetColumn::ALL
            .iter()
            .position(|c| *c == self)
            .unwrap_or(0);
        FleetColumn::ALL[(i + 1) % FleetColumn::ALL.len()]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FleetSort {
    pub column: FleetColumn,
    pub descending: bool,
}

impl Default for FleetSort {
    fn default() -> Self {
        FleetSort {
            column: FleetColumn::Id,
            descending: false,
        }
    }
}

/// Worst first: down, degraded, unknown, healthy.
pub fn health_rank(s: HealthStatus) -> u8 {
    match s {
        HealthStatus::Down => 0,
        HealthStatus::Degraded => 1,
        HealthStatus::Unknown | HealthStatus::Unrecognised => 2,
        HealthStatus::Healthy => 3,
    }
}

pub fn fleet(sort: &FleetSort, a: &DbRow, b: &DbRow) -> Ordering {
    let (x, y) = (&a.db, &b.db);
    let by_column = match sort.column {
        FleetColumn::Id => Ordering::Equal,
        FleetColumn::Engine => (&x.engine, &x.engine_version).cmp(&(&y.engine, &y.engine_version)),
        FleetColumn::Env => x.environment.cmp(&y.environment),
        FleetColumn::Tier => x.tier.cmp(&y.tier),
        FleetColumn::Ring => x.ring.cmp(&y.ring),
        FleetColumn::Role => x.role.cmp(&y.role),
        FleetColumn::Health => health_rank(x.health.status)
            .cmp(&health_rank(y.health.status))
            .then_with(|| {
                let lag = |d: &Database| d.health.replication_lag_s.unwrap_or(0.0);
                lag(y).total_cmp(&lag(x))
            }),
        FleetColumn::Evidence => a.freshness.cmp(&b.freshness),
    };
    let by_column = if sort.descending {
        by_column.reverse()
    } else {
        by_column
    };
    let id = x.id.cmp(&y.id);
    by_column.then(if sort.column == FleetColumn::Id && sort.descending {
        id.reverse()
    } else {
        id
    })
}

/// Campaigns needing a human first, finished ones last, newest first within a group.
pub fn campaign_rank(s: CampaignState) -> u8 {
    match s {
        CampaignState::Paused => 0,
        CampaignState::AwaitingApproval => 1,
        CampaignState::RollingBack => 2,
        CampaignState::Running => 3,
        CampaignState::Unknown => 4,
        CampaignState::Completed => 5,
        CampaignState::RolledBack => 6,
    }
}

pub fn campaigns(_: &(), a: &Campaign, b: &Campaign) -> Ordering {
    campaign_rank(a.state)
        .cmp(&campaign_rank(b.state))
        .then_with(|| b.created_at.cmp(&a.created_at))
        .then_with(|| a.id.cmp(&b.id))
}

/// Worst evidence first; within a freshness, the oldest good drill first.
pub fn evidence(_: &(), a: &Evidence, b: &Evidence) -> Ordering {
    a.freshness
        .cmp(&b.freshness)
        .then_with(|| a.last_good_at.cmp(&b.last_good_at))
        .then_with(|| a.database_id.cmp(&b.database_id))
}

/// Most urgent first: the soonest expiry.
pub fn approvals(_: &(), a: &Approval, b: &Approval) -> Ordering {
    a.expires_at
        .cmp(&b.expires_at)
        .then_with(|| a.created_at.cmp(&b.created_at))
        .then_with(|| a.id.cmp(&b.id))
}
