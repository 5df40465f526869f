//! Events applied one by one, duplicates ignored, the log's follow/scroll/cap, and the
//! header's clock and connection state, through the real `App`.

mod ui_support;

use crossterm::event::KeyCode;
use fleetdeck_api::*;
use fleetdeck_console::{App, ConnState, Effect, Msg};
use ui_support::*;

fn send_event(app: &mut App, seq: u64, change: Option<Change>) {
    app.update(Msg::Server(Box::new(event(
        seq,
        Level::Info,
        "test.change",
        &format!("event {seq}"),
        change,
    ))));
}

/// Row index of the first screen line containing `needle`.
fn row_of(screen: &str, needle: &str) -> usize {
    screen
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} not on screen:\n{screen}"))
}

#[test]
fn an_approval_that_leaves_pending_leaves_the_queue() {
    let mut app = app(80, 24);
    typed(&mut app, "4");
    assert!(screen(&app, 80, 24).contains("⧗3 to approve"));
    let mut approved = approvals().remove(1);
    approved.state = ApprovalState::Approved;
    send_event(
        &mut app,
        6,
        Some(Change::Approval {
            approval: Box::new(approved),
        }),
    );
    let s = screen(&app, 80, 24);
    assert!(s.contains("⧗2 to approve"), "{s}");
    // The row is gone; the footer says the selected approval left, and where the
    // cursor went.
    let mentions: Vec<&str> = s.lines().filter(|l| l.contains("apr-2")).collect();
    assert_eq!(mentions.len(), 1, "{s}");
    assert!(
        mentions[0].contains("apr-2 left the queue (approved): the cursor is on apr-1"),
        "{s}"
    );
    assert!(s.contains("2 pending"), "{s}");
}

#[test]
fn duplicate_and_old_events_are_ignored() {
    let mut app = app(160, 48);
    send_event(&mut app, 6, None);
    app.mark_drawn();
    send_event(&mut app, 6, None);
    send_event(&mut app, 3, None);
    assert!(
        !app.is_dirty(),
        "a duplicate changes nothing, so nothing is redrawn"
    );
    let s = screen(&app, 160, 48);
    assert_eq!(s.matches("event 6").count(), 1, "{s}");
    assert!(s.contains("6 lines"), "{s}");
    send_event(&mut app, 7, None);
    assert!(app.is_dirty());
}

#[test]
fn a_database_change_moves_its_row_and_the_selection_follows_it() {
    let mut app = app(80, 24);
    typed(&mut app, "ssssss"); // sort by health, worst first
    let s = screen(&app, 80, 24);
    assert!(s.contains("HEALTH▲"), "{s}");
    assert!(
        row_of(&s, "pg-dev-02") < row_of(&s, "pg-dev-01"),
        "down sorts first: {s}"
    );
    // Select pg-dev-01 by moving down to it.
    // Sorting keeps the selected database (my-prod-p1); move from it to pg-dev-01.
    let from = row_of(&s, "my-prod-p1");
    let to = row_of(&s, "pg-dev-01");
    assert!(to > from, "unknown health sorts before healthy: {s}");
    typed(&mut app, &"j".repeat(to - from));
    let mut down = databases().remove(0);
    down.health.status = HealthStatus::Down;
    down.version = 4;
    send_event(
        &mut app,
        6,
        Some(Change::Database {
            database: Box::new(down),
        }),
    );
    let s = screen(&app, 80, 24);
    assert!(row_of(&s, "pg-dev-01") < row_of(&s, "pg-dev-02"), "{s}");
    let selected = s.lines().find(|l| l.contains('›')).unwrap();
    assert!(
        selected.contains("pg-dev-01"),
        "selection stays on the item: {s}"
    );
    assert!(selected.contains("✗ down"), "{s}");
}

#[test]
fn a_target_change_updates_the_ring_gauge_in_place() {
    let mut app = app(80, 24);
    typed(&mut app, "2");
    let s = screen(&app, 80, 24);
    assert!(s.contains("R1      ▒▒▒▒░░░░ 0✓ 1✗ /2"), "{s}");
    let mut t = target("pg-stg-p1", TargetState::Done, None);
    t.finished_at = Some(t0());
    send_event(
        &mut app,
        6,
        Some(Change::Target {
            campaign_id: "cmp-1".into(),
            ring: 1,
            target: Box::new(t),
            campaign_version: 8,
        }),
    );
    let s = screen(&app, 80, 24);
    assert!(s.contains("R1      ████▒▒▒▒ 1✓ 1✗ /2"), "{s}");
}

#[test]
fn an_evidence_change_updates_counts_and_the_fleet_column() {
    let mut app = app(80, 24);
    // Stale and never drilled are counted apart.
    let s = screen(&app, 80, 24);
    assert!(s.contains("▲1 stale ∅1 never"), "{s}");
    let fresh = evidence("pg-stg-r1", Freshness::Fresh, Some(0), None);
    send_event(
        &mut app,
        6,
        Some(Change::Evidence {
            evidence: Box::new(fresh),
        }),
    );
    let s = screen(&app, 80, 24);
    assert!(s.contains("▲1 stale ∅0 never"), "{s}");
    let row = s.lines().find(|l| l.contains("pg-stg-r1")).unwrap();
    assert!(row.contains("✓ fresh"), "{s}");
}

#[test]
fn a_campaign_change_updates_the_paused_count() {
    // Wide enough for the campaigns' counts in words (80 columns show glyphs only).
    let mut app = app(120, 40);
    assert!(screen(&app, 120, 40).contains("‖1 paused"));
    let mut resumed = campaigns().remove(1);
    resumed.state = CampaignState::Running;
    resumed.paused_reason = None;
    resumed.rings[0].state = RingState::Running;
    send_event(
        &mut app,
        6,
        Some(Change::Campaign {
            campaign: Box::new(resumed),
        }),
    );
    let s = screen(&app, 120, 40);
    assert!(s.contains("‖0 paused"), "{s}");
}

#[test]
fn the_log_follows_stops_when_scrolled_and_counts_new_lines() {
    let mut app = app(80, 24);
    typed(&mut app, "5");
    assert!(screen(&app, 80, 24).contains("▼ following"));
    key(&mut app, KeyCode::Up);
    for seq in 6..=40 {
        send_event(&mut app, seq, None);
    }
    let s = screen(&app, 80, 24);
    assert!(s.contains("not following: 35 new below"), "{s}");
    assert!(
        !s.contains("event 40"),
        "the view stays where the reader is: {s}"
    );
    let selected = s.lines().find(|l| l.contains('›')).unwrap();
    assert!(selected.contains("02:59:04"), "{s}");
    typed(&mut app, "f");
    let s = screen(&app, 80, 24);
    assert!(s.contains("▼ following") && s.contains("event 40"), "{s}");
}

#[test]
fn the_log_is_capped_and_says_how_many_lines_were_dropped() {
    let mut app = app(160, 48);
    for seq in 6..=155 {
        send_event(&mut app, seq, None);
    }
    let s = screen(&app, 160, 48);
    assert!(s.contains("100 lines"), "{s}");
    assert!(s.contains("55 older dropped"), "{s}");
    assert!(
        s.contains("event 155"),
        "following keeps the newest in view: {s}"
    );
}

#[test]
fn wrap_shows_the_whole_long_line() {
    let mut app = app(80, 24);
    typed(&mut app, "5");
    assert!(!screen(&app, 80, 24).contains("primary to accept connections"));
    typed(&mut app, "w");
    let s = screen(&app, 80, 24);
    assert!(s.contains("accept connections"), "{s}");
}

#[test]
fn untrusted_text_is_made_inert_before_drawing() {
    let mut app = app(160, 48);
    let mut evil = event(
        6,
        Level::Error,
        "x",
        "boom\u{1b}]0;pwned\u{7}\u{1b}[2J done",
        None,
    );
    evil.actor = "mallory\u{9b}31m".into();
    app.update(Msg::Server(Box::new(evil)));
    let s = screen(&app, 160, 48);
    assert!(!s.contains('\u{1b}') && !s.contains('\u{9b}'), "{s}");
    assert!(s.contains("boom\u{FFFD}\u{FFFD} done"), "{s}");
}

#[test]
fn the_clock_and_data_age_come_from_ticks() {
    let mut app = app(80, 24);
    assert!(screen(&app, 80, 24).contains("03:00:00Z"));
    app.update(Msg::Tick(t0() + chrono::Duration::seconds(12)));
    let s = screen(&app, 80, 24);
    assert!(s.contains("03:00:12Z") && s.contains("data 12s old"), "{s}");
    app.update(Msg::Tick(t0() + chrono::Duration::seconds(40)));
    assert!(screen(&app, 80, 24).contains("STALE"));
    app.update(Msg::Alive(t0() + chrono::Duration::seconds(41)));
    assert!(screen(&app, 80, 24).contains("data 0s old"));
}

#[test]
fn disconnected_and_back_is_said_in_words() {
    let mut app = app(80, 24);
    app.update(Msg::Connection(ConnState::Disconnected {
        since: t0(),
        reason: "connection reset".into(),
        attempt: 1,
        retry_in: std::time::Duration::from_secs(1),
    }));
    assert!(screen(&app, 80, 24).contains("DISCONNECTED"));
    app.update(Msg::Connection(ConnState::Connected {
        since: t0() + chrono::Duration::seconds(9),
    }));
    let s = screen(&app, 80, 24);
    assert!(
        !s.contains("DISCONNECTED") && s.contains("● connected"),
        "{s}"
    );
    assert!(s.contains("connected again after 9s"), "{s}");
}

#[test]
fn enter_on_a_database_asks_for_its_detail_and_shows_the_answer() {
    let mut app = app(80, 24);
    let effects = key(&mut app, KeyCode::Enter);
    assert_eq!(effects, vec![Effect::LoadDatabase("my-prod-p1".into())]);
    assert!(screen(&app, 80, 24).contains("loading from the server"));
    app.update(Msg::DatabaseLoaded(Err(
        fleetdeck_console::message::ActionError::Transport("timed out".into()),
    )));
    assert!(screen(&app, 80, 24).contains("could not load the history: timed out"));
    key(&mut app, KeyCode::Esc);
    assert!(screen(&app, 80, 24).contains("DATABASE"));
}

#[test]
fn focus_moves_with_tab_and_numbers_and_zoom_toggles() {
    let mut app = app(80, 24);
    key(&mut app, KeyCode::Tab);
    assert!(screen(&app, 80, 24).contains("[2 Rings"));
    key(&mut app, KeyCode::BackTab);
    key(&mut app, KeyCode::BackTab);
    assert!(screen(&app, 80, 24).contains("[5 Log]"));
    let mut big = ui_support::app(160, 48);
    typed(&mut big, "3z");
    let s = screen(&big, 160, 48);
    assert!(s.contains("(zoomed)") && !s.contains("2 Rings ·"), "{s}");
}

#[test]
fn a_large_fleet_applies_events_one_at_a_time() {
    let mut snap = snapshot();
    snap.databases = (0..100_000)
        .map(|i| {
            let mut d = databases()[i % 8].clone();
            d.id = format!("db-{i:06}");
            d
        })
        .collect();
    let mut app = fleetdeck_console::App::new(config());
    app.update(Msg::Loaded {
        whoami: alice(),
        snapshot: Box::new(snap),
    });
    app.update(Msg::Tick(t0()));
    let started = std::time::Instant::now();
    for seq in 6..1006u64 {
        let mut d = databases()[0].clone();
        d.id = format!("db-{:06}", (seq * 7919) % 100_000);
        d.health.status = HealthStatus::Degraded;
        app.update(Msg::Server(Box::new(event(
            seq,
            Level::Info,
            "database.health",
            "degraded",
            Some(Change::Database {
                database: Box::new(d),
            }),
        ))));
    }
    let per_event = started.elapsed() / 1000;
    let s = screen(&app, 160, 48);
    assert!(s.contains("100000 databases"), "{s}");
    assert!(s.contains("db-000000"), "{s}");
    // Generous even for an unoptimised build: a re-sort of 100k rows per event
    // would take far longer than this.
    assert!(
        per_event < std::time::Duration::from_millis(5),
        "{per_event:?} per event"
    );
}

#[test]
fn moving_down_the_rings_keeps_cards_above_in_view_while_they_fit() {
    let mut app = app(80, 24);
    typed(&mut app, "2jjj");
    let s = screen(&app, 80, 24);
    assert!(s.contains("cmp-2") && s.contains("cmp-0"), "{s}");
    let selected = s.lines().find(|l| l.contains("completed")).unwrap();
    assert!(selected.contains("cmp-0"), "{s}");
}

#[test]
fn an_open_database_detail_refetches_when_its_evidence_changes() {
    let mut app = app(80, 24);
    typed(&mut app, "3"); // evidence pane: pg-prod-p1 first
    assert_eq!(
        key(&mut app, KeyCode::Enter),
        vec![Effect::LoadDatabase("pg-prod-p1".into())]
    );
    let effects = app.update(Msg::Server(Box::new(event(
        6,
        Level::Info,
        "drill.finished",
        "drill passed",
        Some(Change::Evidence {
            evidence: Box::new(evidence("pg-prod-p1", Freshness::Fresh, Some(0), None)),
        }),
    ))));
    assert_eq!(effects, vec![Effect::LoadDatabase("pg-prod-p1".into())]);
    // Another database's evidence does not.
    let effects = app.update(Msg::Server(Box::new(event(
        7,
        Level::Info,
        "drill.finished",
        "drill passed",
        Some(Change::Evidence {
            evidence: Box::new(evidence("pg-dev-01", Freshness::Fresh, Some(0), None)),
        }),
    ))));
    assert!(effects.is_empty());
}

#[test]
fn the_mouse_wheel_moves_the_selection() {
    use crossterm::event::{KeyModifiers, MouseEvent, MouseEventKind};
    let mut app = app(80, 24);
    let wheel = |kind| {
        Msg::Mouse(MouseEvent {
            kind,
            column: 10,
            row: 10,
            modifiers: KeyModifiers::NONE,
        })
    };
    app.update(wheel(MouseEventKind::ScrollDown));
    app.update(wheel(MouseEventKind::ScrollDown));
    app.update(wheel(MouseEventKind::ScrollUp));
    let s = screen(&app, 80, 24);
    let selected = s.lines().find(|l| l.contains('›')).unwrap();
    assert!(selected.contains("pg-dev-01"), "{s}");
    app.mark_drawn();
    app.update(wheel(MouseEventKind::Moved));
    assert!(!app.is_dirty(), "a mouse move changes nothing");
}

#[test]
fn the_selection_stays_on_its_approval_and_moves_on_when_it_leaves() {
    let mut app = app(80, 24);
    typed(&mut app, "4j"); // apr-1
    let selected = |app: &App| {
        let s = screen(app, 80, 24);
        s.lines()
            .find(|l| l.contains('›'))
            .unwrap_or_default()
            .to_string()
    };
    let decided = |id: usize| {
        let mut a = approvals().remove(id);
        a.state = ApprovalState::Approved;
        Some(Change::Approval {
            approval: Box::new(a),
        })
    };
    send_event(&mut app, 6, decided(1)); // apr-2, above the selection, leaves
    assert!(selected(&app).contains("apr-1"), "{}", screen(&app, 80, 24));
    send_event(&mut app, 7, decided(0)); // the selected apr-1 leaves
    assert!(selected(&app).contains("apr-3"), "{}", screen(&app, 80, 24));
    let mut urgent = approval("apr-9", ApprovalKind::PolicyException, "urgent", "carol", 1);
    urgent.version = 1;
    send_event(
        &mut app,
        8,
        Some(Change::Approval {
            approval: Box::new(urgent),
        }),
    );
    let s = screen(&app, 80, 24);
    assert!(row_of(&s, "apr-9") < row_of(&s, "apr-3"), "{s}");
    assert!(
        selected(&app).contains("apr-3"),
        "the highlight stays put: {s}"
    );
}

#[test]
fn first_and_last_jump_to_the_ends_and_last_follows_again() {
    let mut app = app(80, 24);
    typed(&mut app, "5g");
    let s = screen(&app, 80, 24);
    let selected = s.lines().find(|l| l.contains('›')).unwrap();
    assert!(
        selected.contains("02:59:01") && s.contains("not following"),
        "{s}"
    );
    typed(&mut app, "G");
    assert!(screen(&app, 80, 24).contains("▼ following"));
    typed(&mut app, "1G");
    let s = screen(&app, 80, 24);
    let selected = s.lines().find(|l| l.contains('›')).unwrap();
    assert!(selected.contains("pg-stg-r1"), "the last database: {s}");
}
