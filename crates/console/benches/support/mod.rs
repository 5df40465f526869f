//! A synthetic fleet of any size, built from the console tests' fixture builders, and
//! helpers that drive the real `App` the way the runtime does.
#![allow(dead_code)]

#[allow(dead_code, unused_imports)]
#[path = "../../tests/ui_support/fixture.rs"]
mod fixture;

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fleetdeck_api::*;
use fleetdeck_console::keymap::Keymap;
use fleetdeck_console::theme::Theme;
use fleetdeck_console::{App, AppConfig, ConnState, Msg};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

pub use fixture::t0;

/// The size of the synthetic state.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    pub databases: usize,
    pub campaigns: usize,
    pub approvals: usize,
    /// Log lines in the snapshot (the console keeps at most `log_cap`).
    pub events: usize,
}

impl Scale {
    /// The dashboard: `databases`, 1k campaigns, 10k pending approvals, a full log.
    pub fn dashboard(databases: usize) -> Scale {
        Scale {
            databases,
            campaigns: 1_000,
            approvals: 10_000,
            events: LOG_CAP,
        }
    }
}

/// The console binary's log cap (`src/console.rs`).
pub const LOG_CAP: usize = 10_000;

const ENVS: [Environment; 3] = [Environment::Dev, Environment::Staging, Environment::Prod];
const HEALTH: [HealthStatus; 4] = [
    HealthStatus::Healthy,
    HealthStatus::Healthy,
    HealthStatus::Degraded,
    HealthStatus::Down,
];
const FRESH: [Freshness; 5] = [
    Freshness::Fresh,
    Freshness::Aging,
    Freshness::Stale,
    Freshness::Failed,
    Freshness::Never,
];

pub fn db_id(i: usize) -> String {
    format!("pg-{}-{i:06}", ENVS[i % 3].as_str())
}

/// Database `i`; `health` picks its health status (a change is a different `health`).
pub fn database(i: usize, health: usize) -> Database {
    let role = if i.is_multiple_of(4) {
        DbRole::Primary
    } else {
        DbRole::Replica
    };
    let status = HEALTH[health % HEALTH.len()];
    let lag = (role == DbRole::Replica).then_some((health % 50) as f64);
    fixture::db(
        &db_id(i),
        "postgres",
        if i.is_multiple_of(7) { "15.8" } else { "16.3" },
        ENVS[i % 3],
        (i % 3 + 1) as u8,
        (i % 4) as u8,
        role,
        status,
        lag,
    )
}

/// The target patching database `i`.
pub fn target(i: usize, state: TargetState) -> Target {
    fixture::target(&db_id(i), state, Some("patched"))
}

fn ring_of(c: usize, index: u8, dbs: &[usize]) -> Ring {
    let targets = dbs
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let state = match k % 5 {
                0 | 1 => TargetState::Done,
                2 => TargetState::Patching,
                3 => TargetState::Failed,
                _ => TargetState::Pending,
            };
            target(i, state)
        })
        .collect();
    let state = if c.is_multiple_of(3) {
        RingState::Running
    } else {
        RingState::Passed
    };
    fixture::ring(index, state, index > 1, (c % 3) as u32, targets)
}

/// Campaign `c`. Campaign 0 patches the whole fleet (its rings hold every database);
/// the others patch 12 databases each, as most campaigns do.
pub fn campaign(c: usize, databases: usize) -> Campaign {
    let members: Vec<usize> = if c == 0 {
        (0..databases).collect()
    } else {
        (0..12).map(|k| (c * 12 + k) % databases).collect()
    };
    let per_ring = members.len().div_ceil(3).max(1);
    let rings = members
        .chunks(per_ring)
        .enumerate()
        .map(|(r, chunk)| ring_of(c, r as u8, chunk))
        .collect();
    let state = match c % 6 {
        0 => CampaignState::Running,
        1 => CampaignState::Paused,
        2 => CampaignState::AwaitingApproval,
        _ => CampaignState::Completed,
    };
    let mut out = fixture::campaign(&format!("cmp-{c:05}"), "postgres 16.4 patch", state, rings);
    out.created_at -= chrono::Duration::seconds(c as i64);
    out
}

pub fn approval(a: usize) -> Approval {
    let mut out = fixture::approval(
        &format!("apr-{a:06}"),
        ApprovalKind::RingPromotion,
        &format!("campaign cmp-{:05} · ring 1", a % 1000),
        "runner",
        30 + (a % 600) as i64,
    );
    out.created_at -= chrono::Duration::seconds(a as i64);
    out
}

pub fn evidence(i: usize) -> Evidence {
    fixture::evidence(
        &db_id(i),
        FRESH[i % FRESH.len()],
        Some((i % 12) as i64),
        None,
    )
}

/// A log line with no state change; its message carries its sequence number.
pub fn log_line(seq: u64) -> Event {
    fixture::event(
        seq,
        Level::Info,
        "executor.output",
        &format!("L#{seq} pg_upgrade: copying relation files"),
        None,
    )
}

pub fn event(seq: u64, change: Change) -> Event {
    let kind = match &change {
        Change::Database { .. } => "database.health",
        Change::Target { .. } => "target.state",
        Change::Approval { .. } => "approval.requested",
        _ => "campaign.state",
    };
    fixture::event(seq, Level::Info, kind, "changed", Some(change))
}

pub fn snapshot(scale: Scale) -> Snapshot {
    let n = scale.databases;
    Snapshot {
        server_time: t0(),
        last_seq: scale.events as u64,
        databases: (0..n).map(|i| database(i, i)).collect(),
        campaigns: (0..scale.campaigns).map(|c| campaign(c, n)).collect(),
        evidence: (0..n).map(evidence).collect(),
        approvals: (0..scale.approvals).map(approval).collect(),
        events: (1..=scale.events as u64).map(log_line).collect(),
    }
}

pub fn config() -> AppConfig {
    AppConfig {
        context: "embedded demo".into(),
        keymap: Keymap::default(),
        theme: Theme::default(),
        stale_after: Duration::from_secs(30),
        log_cap: LOG_CAP,
    }
}

/// A connected console at `t0` that loaded `snapshot`, on a `w`×`h` terminal.
pub fn loaded_app(snapshot: Snapshot, w: u16, h: u16) -> App {
    let mut app = App::new(config());
    app.update(Msg::Resize(w, h));
    app.update(Msg::Loaded {
        whoami: WhoAmI {
            user: "alice".into(),
            roles: vec![Role::Operator, Role::Approver],
        },
        snapshot: Box::new(snapshot),
    });
    app.update(Msg::Connection(ConnState::Connected { since: t0() }));
    app.update(Msg::Alive(t0()));
    app.update(Msg::Tick(t0()));
    app
}

pub fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

/// Types a `:` command or `/` filter line and presses Enter, as a user would.
pub fn run_line(app: &mut App, line: &str) {
    for c in line.chars() {
        app.update(key(c));
    }
    app.update(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
}

/// Sorts the Fleet pane by health and filters it to production: the heavy case.
pub fn sort_and_filter(app: &mut App) {
    run_line(app, ":sort health");
    run_line(app, "/env:prod");
}

pub fn terminal(w: u16, h: u16) -> Terminal<TestBackend> {
    Terminal::new(TestBackend::new(w, h)).expect("a test backend never fails")
}

/// What the screen shows, as text.
pub fn screen(app: &App, w: u16, h: u16) -> String {
    let mut t = terminal(w, h);
    t.draw(|f| app.draw(f)).expect("a test backend never fails");
    t.backend().to_string()
}

/// Resident set size of this process, in bytes (Linux).
pub fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}
