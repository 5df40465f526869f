//! What the user sees, at 80×24 and 160×48, from the fixed fixture at 03:00 UTC.

mod ui_support;

use crossterm::event::KeyCode;
use fleetdeck_api::*;
use fleetdeck_console::{App, ConnState, Msg};
use ui_support::*;

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

/// Builds the app at each size, applies `setup`, and snapshots the screen.
fn snap_both(name: &str, setup: impl Fn(&mut App, u16)) {
    for (w, h) in SIZES {
        let mut app = app(w, h);
        setup(&mut app, w);
        let terminal = render(&app, w, h);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), terminal.backend());
    }
}

#[test]
fn dashboard() {
    snap_both("dashboard", |_, _| {});
    for (w, h) in [(120, 40), (250, 70)] {
        let app = app(w, h);
        insta::assert_snapshot!(format!("dashboard_{w}x{h}"), render(&app, w, h).backend());
    }
}

#[test]
fn each_pane_focused_and_zoomed() {
    for (n, name) in [
        ('1', "fleet"),
        ('2', "rings"),
        ('3', "evidence"),
        ('4', "approvals"),
        ('5', "log"),
    ] {
        snap_both(&format!("pane_{name}"), |app, w| {
            typed(app, &n.to_string());
            // On the big screen show the pane zoomed, so each pane is seen whole.
            if w > 80 {
                typed(app, "z");
            }
        });
    }
}

#[test]
fn fleet_sorted_by_health_descending() {
    snap_both("fleet_sorted", |app, _| {
        typed(app, "ssssss");
        typed(app, "S");
    });
}

#[test]
fn log_not_following_and_wrapped() {
    snap_both("log_scrolled_wrapped", |app, _| {
        typed(app, "5");
        typed(app, "kk");
        for seq in 6..=8 {
            app.update(Msg::Server(Box::new(event(
                seq,
                Level::Info,
                "executor.output",
                "later line",
                None,
            ))));
        }
        typed(app, "w");
    });
}

#[test]
fn detail_database_with_drill_history() {
    snap_both("detail_database", |app, _| {
        typed(app, "3");
        key(app, KeyCode::Enter);
        let evidence = evidences()
            .into_iter()
            .find(|e| e.database_id == "pg-prod-p1")
            .unwrap();
        let drills = vec![
            drill("pg-prod-p1", DrillState::Failed, 1, Some(false)),
            drill("pg-prod-p1", DrillState::Succeeded, 5, Some(true)),
            drill("pg-prod-p1", DrillState::Succeeded, 12, Some(true)),
        ];
        let database = databases()
            .into_iter()
            .find(|d| d.id == "pg-prod-p1")
            .unwrap();
        app.update(Msg::DatabaseLoaded(Ok(Box::new(DatabaseDetail {
            database,
            evidence,
            drills,
        }))));
    });
}

#[test]
fn detail_campaign_with_rings_and_targets() {
    snap_both("detail_campaign", |app, _| {
        typed(app, "2");
        typed(app, "jj");
        key(app, KeyCode::Enter);
    });
}

#[test]
fn detail_approval_with_findings_and_decisions() {
    snap_both("detail_approval", |app, _| {
        typed(app, "4");
        typed(app, "j");
        key(app, KeyCode::Enter);
    });
}

#[test]
fn detail_event_full_text() {
    snap_both("detail_event", |app, _| {
        typed(app, "5");
        key(app, KeyCode::Enter);
    });
}

#[test]
fn dialog_approve() {
    snap_both("dialog_approve", |app, _| {
        typed(app, "4a");
    });
}

#[test]
fn dialog_reject_with_comment() {
    snap_both("dialog_reject", |app, _| {
        typed(app, "4x");
        key(app, KeyCode::Tab); // Cancel → the comment it needs
        typed(app, "ring 0 failed a replica");
    });
}

#[test]
fn dialog_pause() {
    snap_both("dialog_pause", |app, _| {
        // cmp-1 is the running campaign, third in the needs-a-human order.
        typed(app, "2jjp");
    });
}

#[test]
fn dialog_resume() {
    snap_both("dialog_resume", |app, _| {
        typed(app, "2r");
    });
}

#[test]
fn dialog_rollback_touching_production() {
    snap_both("dialog_rollback", |app, _| {
        typed(app, "2R");
        key(app, KeyCode::Tab); // Cancel → the reason it needs
        typed(app, "gate failed on prod");
        key(app, KeyCode::Tab);
        typed(app, "cmp");
    });
}

#[test]
fn dialog_drill_now() {
    snap_both("dialog_drill", |app, _| {
        typed(app, "d");
    });
}

#[test]
fn dialog_in_flight() {
    snap_both("dialog_in_flight", |app, _| {
        typed(app, "4a");
        key(app, KeyCode::Tab); // Cancel → Approve
        key(app, KeyCode::Enter);
    });
}

#[test]
fn quit_while_in_flight() {
    snap_both("dialog_quit", |app, _| {
        typed(app, "4a");
        key(app, KeyCode::Tab); // Cancel → Approve
        key(app, KeyCode::Enter);
        key(app, KeyCode::Esc);
        typed(app, "q");
    });
}

#[test]
fn help_overlay() {
    snap_both("help", |app, _| {
        typed(app, "?");
    });
}

#[test]
fn disconnected_header() {
    snap_both("disconnected", |app, _| {
        app.update(Msg::Connection(ConnState::Disconnected {
            since: t0(),
            reason: "connection refused".into(),
            attempt: 3,
            retry_in: std::time::Duration::from_secs(4),
        }));
        app.update(Msg::Tick(t0() + chrono::Duration::seconds(12)));
    });
}

#[test]
fn refusal_notice() {
    snap_both("notice_refused", |app, _| {
        typed(app, "4");
        typed(app, "jj");
        typed(app, "a");
    });
}

/// Tiny and odd sizes draw without panicking, whatever is open.
#[test]
fn any_size_draws_without_panicking() {
    let setups: [&dyn Fn(&mut App); 7] = [
        &|_| {},
        &|app| {
            typed(app, "2");
        },
        &|app| {
            typed(app, "5w");
        },
        &|app| {
            typed(app, "?");
        },
        &|app| {
            typed(app, "2R");
        },
        &|app| {
            typed(app, "4");
            key(app, KeyCode::Enter);
        },
        &|app| {
            typed(app, "2");
            key(app, KeyCode::Enter);
        },
    ];
    for (w, h) in [
        (1, 1),
        (10, 3),
        (20, 6),
        (40, 12),
        (79, 23),
        (120, 32),
        (250, 70),
    ] {
        for setup in &setups {
            let mut app = app(w, h);
            setup(&mut app);
            render(&app, w, h);
        }
    }
}
