//! Every state as a glyph and a word, styled by meaning: status is never carried by
//! colour alone.

use fleetdeck_api::{
    CampaignState, DrillState, Freshness, GateState, HealthStatus, Level, RingState, Severity,
    TargetState,
};
use ratatui::style::Style;
use ratatui::text::Span;

use crate::theme::Theme;

/// A status word with its glyph and style.
pub struct Status {
    pub glyph: &'static str,
    pub word: &'static str,
    pub style: Style,
}

impl Status {
    pub fn text(&self) -> String {
        format!("{} {}", self.glyph, self.word)
    }

    pub fn span(&self) -> Span<'static> {
        Span::styled(self.text(), self.style)
    }
}

fn st(glyph: &'static str, word: &'static str, style: Style) -> Status {
    Status { glyph, word, style }
}

pub fn health(t: &Theme, s: HealthStatus) -> Status {
    match s {
        HealthStatus::Healthy => st("✓", "healthy", t.ok),
        HealthStatus::Degraded => st("▲", "degraded", t.warning),
        HealthStatus::Down => st("✗", "down", t.critical),
        HealthStatus::Unknown | HealthStatus::Unrecognised => st("?", "unknown", t.muted),
    }
}

pub fn freshness(t: &Theme, f: Option<Freshness>) -> Status {
    match f {
        Some(Freshness::Fresh) => st("✓", "fresh", t.ok),
        Some(Freshness::Aging) => st("◐", "aging", t.warning),
        Some(Freshness::Stale) => st("▲", "stale", t.critical),
        Some(Freshness::Failed) => st("✗", "failed", t.critical),
        Some(Freshness::Never) => st("∅", "never", t.critical),
        Some(Freshness::Unknown) | None => st("?", "unknown", t.muted),
    }
}

pub fn campaign(t: &Theme, s: CampaignState) -> Status {
    match s {
        CampaignState::Running => st("▶", "running", t.info),
        CampaignState::Paused => st("‖", "paused", t.warning),
        CampaignState::AwaitingApproval => st("⧗", "awaiting approval", t.warning),
        CampaignState::Completed => st("✓", "completed", t.ok),
        CampaignState::RollingBack => st("↺", "rolling back", t.critical),
        CampaignState::RolledBack => st("↺", "rolled back", t.muted),
        CampaignState::Unknown => st("?", "unknown", t.muted),
    }
}

pub fn ring(t: &Theme, s: RingState) -> Status {
    match s {
        RingState::Pending => st("○", "pending", t.muted),
        RingState::AwaitingApproval => st("⧗", "awaiting approval", t.warning),
        RingState::Running => st("▶", "running", t.info),
        RingState::Baking => st("◐", "baking", t.info),
        RingState::Passed => st("✓", "passed", t.ok),
        RingState::Failed => st("✗", "failed", t.critical),
        RingState::RolledBack => st("↺", "rolled back", t.muted),
        RingState::Unknown => st("?", "unknown", t.muted),
    }
}

pub fn target(t: &Theme, s: TargetState) -> Status {
    match s {
        TargetState::Pending => st("○", "pending", t.muted),
        TargetState::Blocked => st("⧗", "blocked", t.warning),
        TargetState::Prechecking => st("▶", "prechecking", t.info),
        TargetState::Patching => st("▶", "patching", t.info),
        TargetState::Verifying => st("▶", "verifying", t.info),
        TargetState::Done => st("✓", "done", t.ok),
        TargetState::Failed => st("✗", "failed", t.critical),
        TargetState::Skipped => st("–", "skipped", t.muted),
        TargetState::RollingBack => st("↺", "rolling back", t.warning),
        TargetState::RolledBack => st("↺", "rolled back", t.muted),
        TargetState::Unknown => st("?", "unknown", t.muted),
    }
}

pub fn gate(t: &Theme, s: GateState) -> Status {
    match s {
        GateState::Pending => st("○", "gate pending", t.muted),
        GateState::Watching => st("◐", "gate watching", t.info),
        GateState::Passed => st("✓", "gate passed", t.ok),
        GateState::Failed => st("✗", "gate failed", t.critical),
        GateState::Unknown => st("?", "gate unknown", t.muted),
    }
}

pub fn drill(t: &Theme, s: DrillState) -> Status {
    match s {
        DrillState::Running => st("▶", "running", t.info),
        DrillState::Succeeded => st("✓", "succeeded", t.ok),
        DrillState::Failed => st("✗", "failed", t.critical),
        DrillState::Unknown => st("?", "unknown", t.muted),
    }
}

pub fn checksum(t: &Theme, ok: Option<bool>) -> Status {
    match ok {
        Some(true) => st("✓", "match", t.ok),
        Some(false) => st("✗", "mismatch", t.critical),
        None => st("–", "none", t.muted),
    }
}

pub fn level(t: &Theme, l: Level) -> Status {
    let word = level_word(l);
    match l {
        Level::Debug => st("·", word, t.muted),
        Level::Info => st(" ", word, t.info),
        Level::Warn => st("▲", word, t.warning),
        Level::Error => st("✗", word, t.critical),
        Level::Unknown => st("?", word, t.muted),
    }
}

/// The level as a log line shows it (the filter matches this text too).
pub fn level_word(l: Level) -> &'static str {
    match l {
        Level::Debug => "DBG",
        Level::Info => "INF",
        Level::Warn => "WRN",
        Level::Error => "ERR",
        Level::Unknown => "???",
    }
}

pub fn severity(t: &Theme, s: Severity) -> Status {
    match s {
        Severity::Info => st("·", "info", t.info),
        Severity::Warning => st("▲", "warning", t.warning),
        Severity::Critical => st("✗", "critical", t.critical),
        Severity::Unknown => st("?", "unknown", t.muted),
    }
}
