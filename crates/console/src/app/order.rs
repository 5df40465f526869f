//! How each pane orders its rows. Every comparator ends on the id so the order is
//! total and an item can be found again by binary search.

use std::cmp::Ordering;

use fleetdeck_api::{
    Approval, Campaign, CampaignState, Database, Evidence, Freshness, HealthStatus,
};

use super::indexes::Keyed;
use super::natural::natural_cmp;

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

/// A pane's sortable columns: each has its `:sort` word (its heading, lower-case) and
/// compares two rows by what the column shows. The id breaks ties, so every order is
/// total and an item can be found again by binary search.
pub trait Column: Copy + Eq + std::fmt::Debug + 'static {
    type Row: Keyed;
    /// In display order.
    const ALL: &'static [Self];
    /// The pane's own order, the one it opens with.
    const DEFAULT: Self;
    /// The column the id is in: sorting it descending reverses the tie-break too.
    const ID: Self;
    fn word(self) -> &'static str;
    fn compare(self, a: &Self::Row, b: &Self::Row) -> Ordering;

    fn parse(word: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.word() == word)
    }

    fn next(self) -> Self {
        let i = Self::ALL.iter().position(|c| *c == self).unwrap_or(0);
        Self::ALL[(i + 1) % Self::ALL.len()]
    }

    /// Where the column is among [`Column::ALL`] (its table column).
    fn index(self) -> usize {
        Self::ALL.iter().position(|c| *c == self).unwrap_or(0)
    }
}

/// A pane's sort: a column and a direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort<C> {
    pub column: C,
    pub descending: bool,
}

impl<C: Column> Default for Sort<C> {
    fn default() -> Self {
        Sort {
            column: C::DEFAULT,
            descending: false,
        }
    }
}

impl<C: Column> Sort<C> {
    pub fn is_default(&self) -> bool {
        *self == Sort::default()
    }

    /// `:sort COLUMN`: a new column sorts ascending, the same one again reverses.
    pub fn by(self, column: C) -> Sort<C> {
        Sort {
            column,
            descending: self.column == column && !self.descending,
        }
    }

    /// The sort key (`s`): the next column, ascending.
    pub fn next(self) -> Sort<C> {
        Sort {
            column: self.column.next(),
            descending: false,
        }
    }

    /// The reverse key (`S`): the same column, the other way.
    pub fn reversed(self) -> Sort<C> {
        Sort {
            descending: !self.descending,
            ..self
        }
    }
}

/// The comparator a [`super::indexes::Collection`] keeps for a pane sorted by `C`:
/// the column's order (reversed when descending), then the id ascending, so rows equal
/// in the column keep a stable, readable order either way.
pub fn sorted<C: Column>(sort: &Sort<C>, a: &C::Row, b: &C::Row) -> Ordering {
    let by = sort.column.compare(a, b);
    let by = if sort.descending { by.reverse() } else { by };
    // The id only breaks ties: loading a snapshot sorts 10k rows per pane.
    by.then_with(|| {
        let id = natural_cmp(a.key(), b.key());
        if sort.column == C::ID && sort.descending {
            id.reverse()
        } else {
            id
        }
    })
}

/// `None` (never, nothing yet) sorts first: it is the worst case in every column here.
fn opt_f64(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        _ => a.is_some().cmp(&b.is_some()),
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

pub type FleetSort = Sort<FleetColumn>;

impl Column for FleetColumn {
    type Row = DbRow;
    const ALL: &'static [FleetColumn] = &[
        FleetColumn::Id,
        FleetColumn::Engine,
        FleetColumn::Env,
        FleetColumn::Tier,
        FleetColumn::Ring,
        FleetColumn::Role,
        FleetColumn::Health,
        FleetColumn::Evidence,
    ];
    const DEFAULT: FleetColumn = FleetColumn::Id;
    const ID: FleetColumn = FleetColumn::Id;

    fn word(self) -> &'static str {
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

    fn compare(self, a: &DbRow, b: &DbRow) -> Ordering {
        let (x, y) = (&a.db, &b.db);
        match self {
            FleetColumn::Id => Ordering::Equal,
            FleetColumn::Engine => x
                .engine
                .cmp(&y.engine)
                .then_with(|| natural_cmp(&x.engine_version, &y.engine_version)),
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
        }
    }
}

/// The Rings pane's sortable fields (its cards have no heading row; the title names
/// the sort).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingsColumn {
    /// Needing a human first, finished last, newest first within a state.
    State,
    Campaign,
    Title,
    Version,
    Ring,
    Created,
}

impl Column for RingsColumn {
    type Row = Campaign;
    const ALL: &'static [RingsColumn] = &[
        RingsColumn::State,
        RingsColumn::Campaign,
        RingsColumn::Title,
        RingsColumn::Version,
        RingsColumn::Ring,
        RingsColumn::Created,
    ];
    const DEFAULT: RingsColumn = RingsColumn::State;
    const ID: RingsColumn = RingsColumn::Campaign;

    fn word(self) -> &'static str {
        match self {
            RingsColumn::State => "state",
            RingsColumn::Campaign => "campaign",
            RingsColumn::Title => "title",
            RingsColumn::Version => "version",
            RingsColumn::Ring => "ring",
            RingsColumn::Created => "created",
        }
    }

    fn compare(self, a: &Campaign, b: &Campaign) -> Ordering {
        match self {
            RingsColumn::State => campaign_rank(a.state)
                .cmp(&campaign_rank(b.state))
                .then_with(|| b.created_at.cmp(&a.created_at)),
            RingsColumn::Campaign => Ordering::Equal,
            RingsColumn::Title => a.title.cmp(&b.title),
            RingsColumn::Version => natural_cmp(&a.target_version, &b.target_version),
            RingsColumn::Ring => a.current_ring.cmp(&b.current_ring),
            RingsColumn::Created => a.created_at.cmp(&b.created_at),
        }
    }
}

/// The Evidence pane's columns, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvidenceColumn {
    Database,
    /// Worst first; within a freshness, the oldest good drill first.
    Evidence,
    Good,
    Restore,
    Checksum,
    Latest,
}

impl Column for EvidenceColumn {
    type Row = Evidence;
    const ALL: &'static [EvidenceColumn] = &[
        EvidenceColumn::Database,
        EvidenceColumn::Evidence,
        EvidenceColumn::Good,
        EvidenceColumn::Restore,
        EvidenceColumn::Checksum,
        EvidenceColumn::Latest,
    ];
    const DEFAULT: EvidenceColumn = EvidenceColumn::Evidence;
    const ID: EvidenceColumn = EvidenceColumn::Database;

    fn word(self) -> &'static str {
        match self {
            EvidenceColumn::Database => "database",
            EvidenceColumn::Evidence => "evidence",
            EvidenceColumn::Good => "good",
            EvidenceColumn::Restore => "restore",
            EvidenceColumn::Checksum => "checksum",
            EvidenceColumn::Latest => "latest",
        }
    }

    fn compare(self, a: &Evidence, b: &Evidence) -> Ordering {
        // As the columns show them: both from the latest drill.
        let restore = |e: &Evidence| e.latest.as_ref().and_then(|d| d.restore_seconds);
        let checksum = |e: &Evidence| match e.latest.as_ref().and_then(|d| d.checksum_ok) {
            Some(false) => 0,
            None => 1,
            Some(true) => 2,
        };
        let latest = |e: &Evidence| {
            e.latest
                .as_ref()
                .map(|d| d.finished_at.unwrap_or(d.started_at))
        };
        match self {
            EvidenceColumn::Database => Ordering::Equal,
            EvidenceColumn::Evidence => a
                .freshness
                .cmp(&b.freshness)
                .then_with(|| a.last_good_at.cmp(&b.last_good_at)),
            EvidenceColumn::Good => a
                .last_good_at
                .cmp(&b.last_good_at)
                .then_with(|| a.interval_days.cmp(&b.interval_days)),
            EvidenceColumn::Restore => opt_f64(restore(a), restore(b)),
            EvidenceColumn::Checksum => checksum(a).cmp(&checksum(b)),
            EvidenceColumn::Latest => latest(a).cmp(&latest(b)),
        }
    }
}

/// The Approvals pane's columns, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalsColumn {
    Id,
    Kind,
    Subject,
    By,
    Blast,
    Ok,
    /// Most urgent first: the soonest expiry.
    Expires,
}

impl Column for ApprovalsColumn {
    type Row = Approval;
    const ALL: &'static [ApprovalsColumn] = &[
        ApprovalsColumn::Id,
        ApprovalsColumn::Kind,
        ApprovalsColumn::Subject,
        ApprovalsColumn::By,
        ApprovalsColumn::Blast,
        ApprovalsColumn::Ok,
        ApprovalsColumn::Expires,
    ];
    const DEFAULT: ApprovalsColumn = ApprovalsColumn::Expires;
    const ID: ApprovalsColumn = ApprovalsColumn::Id;

    fn word(self) -> &'static str {
        match self {
            ApprovalsColumn::Id => "id",
            ApprovalsColumn::Kind => "kind",
            ApprovalsColumn::Subject => "subject",
            ApprovalsColumn::By => "by",
            ApprovalsColumn::Blast => "blast",
            ApprovalsColumn::Ok => "ok",
            ApprovalsColumn::Expires => "expires",
        }
    }

    fn compare(self, a: &Approval, b: &Approval) -> Ordering {
        let blast = |x: &Approval| {
            let r = x.blast_radius;
            (r.prod, r.tier1, r.databases)
        };
        match self {
            ApprovalsColumn::Id => Ordering::Equal,
            ApprovalsColumn::Kind => crate::ui::panes::approval_kind_word(a.kind)
                .cmp(crate::ui::panes::approval_kind_word(b.kind)),
            ApprovalsColumn::Subject => natural_cmp(&a.subject, &b.subject),
            ApprovalsColumn::By => a.requested_by.cmp(&b.requested_by),
            ApprovalsColumn::Blast => blast(a).cmp(&blast(b)),
            ApprovalsColumn::Ok => (a.approvals_so_far(), a.approvals_required)
                .cmp(&(b.approvals_so_far(), b.approvals_required)),
            ApprovalsColumn::Expires => a
                .expires_at
                .cmp(&b.expires_at)
                .then_with(|| a.created_at.cmp(&b.created_at)),
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
