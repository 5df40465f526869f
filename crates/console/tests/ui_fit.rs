//! Text that tells things apart is never cut: at 160×48 and 80×24, with long database
//! names, a long engine version, two-digit approval ids, a long requester, a 30-day
//! policy and a long gate reason, columns are sized from what they show, identifiers
//! stay whole (or are cut in the middle, keeping their distinct end), zoom shows every
//! word, and a disconnected header keeps the server's port.

mod ui_support;

use crossterm::event::KeyCode;
use fleetdeck_api::*;
use fleetdeck_console::{App, ConnState, Msg, Session};
use ui_support::*;

const NAMES: [&str; 3] = [
    "pg-prod-eu-west-payments-017",
    "pg-prod-eu-west-payments-018",
    "pg-prod-eu-west-payments-019",
];
const REQUESTER: &str = "demo-operator-on-call";
const SERVER: &str = "http://127.0.0.1:57070";
const REASON: &str = "3 failed targets reached the budget of 3: pg-prod-eu-west-payments-017 \
                      did not accept connections within 300 seconds after the restart";

fn long_snapshot() -> Snapshot {
    let mut snap = snapshot();
    for (d, name) in snap.databases.iter_mut().zip(NAMES) {
        d.id = name.into();
        d.engine_version = "15.10".into();
    }
    for (e, name) in snap.evidence.iter_mut().zip(NAMES) {
        e.database_id = name.into();
    }
    // A 30-day policy whose last good drill is 44 days old.
    let e = &mut snap.evidence[0];
    e.interval_days = 30;
    e.freshness = Freshness::Stale;
    e.last_good_at = Some(t0() - days(44));
    for (i, a) in snap.approvals.iter_mut().enumerate() {
        a.id = format!("apr-{}", 10 + i);
        a.requested_by = REQUESTER.into();
    }
    let failed = snap
        .campaigns
        .iter_mut()
        .flat_map(|c| c.rings.iter_mut())
        .find(|r| r.gate.state == GateState::Failed)
        .expect("a failed gate in the fixture");
    failed.gate.reason = Some(REASON.into());
    snap
}

fn long_app(w: u16, h: u16) -> App {
    let mut config = config();
    config.context = SERVER.into();
    let mut app = App::new(config).with_session(Session::default());
    app.update(Msg::Resize(w, h));
    app.update(Msg::Loaded {
        whoami: alice(),
        snapshot: Box::new(long_snapshot()),
    });
    app.update(Msg::Connection(ConnState::Connected {
        since: t0() - mins(10),
    }));
    app.update(Msg::Alive(t0()));
    app.update(Msg::Tick(t0()));
    app
}

/// The screen's text with each row's own words only (borders and padding between
/// panes do not join words of two panes).
fn words(s: &str) -> String {
    s.replace(['│', '┃'], " ")
}

#[test]
fn identifiers_versions_and_policies_show_whole_at_160x48() {
    let app = long_app(160, 48);
    let s = screen(&app, 160, 48);
    for name in NAMES {
        assert!(s.contains(name), "{name} cut:\n{s}");
    }
    assert!(s.contains("postgres 15.10"), "the version cut:\n{s}");
    for id in ["apr-10", "apr-11", "apr-12"] {
        assert!(s.contains(id), "{id} cut:\n{s}");
    }
    assert!(s.contains("44d ago / 30d"), "the policy cut:\n{s}");
    insta::assert_snapshot!("fit_dashboard_160x48", render(&app, 160, 48).backend());
}

#[test]
fn zoom_shows_the_requester_and_the_whole_gate_reason() {
    let mut app = long_app(160, 48);
    typed(&mut app, "4z");
    let s = screen(&app, 160, 48);
    assert!(s.contains(REQUESTER), "requester cut even zoomed:\n{s}");
    key(&mut app, KeyCode::Char('z'));
    typed(&mut app, "2z");
    let s = words(&screen(&app, 160, 48));
    let shown: Vec<&str> = s.split_whitespace().collect();
    for word in REASON.split_whitespace() {
        assert!(
            shown.contains(&word),
            "'{word}' of the gate reason is missing:\n{s}"
        );
    }
    // Narrower still: every word, wrapped.
    let mut app = long_app(80, 24);
    typed(&mut app, "2z");
    let s = words(&screen(&app, 80, 24));
    let shown: Vec<&str> = s.split_whitespace().collect();
    for word in REASON.split_whitespace() {
        assert!(shown.contains(&word), "'{word}' missing at 80x24:\n{s}");
    }
}

#[test]
fn rows_stay_apart_at_80x24() {
    for pane in ["1", "3", "4"] {
        let mut app = long_app(80, 24);
        typed(&mut app, pane);
        let s = screen(&app, 80, 24);
        // Each name's distinct end is on screen, whether the name is whole or cut in
        // its middle.
        let ends: Vec<&str> = match pane {
            "4" => vec!["apr-10", "apr-11", "apr-12"],
            _ => NAMES.iter().map(|n| &n[n.len() - 4..]).collect(),
        };
        for end in ends {
            assert!(s.contains(end), "pane {pane}: '{end}' not shown:\n{s}");
        }
        if pane == "1" {
            assert!(s.contains("15.10"), "the version cut:\n{s}");
            insta::assert_snapshot!("fit_fleet_80x24", render(&app, 80, 24).backend());
        }
    }
}

#[test]
fn a_disconnected_header_keeps_the_server_port() {
    for (w, h) in [(160, 48), (80, 24)] {
        let mut app = long_app(w, h);
        app.update(Msg::Connection(ConnState::Disconnected {
            since: t0(),
            reason: "error sending request for url (http://127.0.0.1:57070/v1/events): \
                     client error (Connect): tcp connect error: Connection refused (os error 111)"
                .into(),
            attempt: 3,
            retry_in: std::time::Duration::from_secs(4),
        }));
        app.update(Msg::Tick(t0() + chrono::Duration::seconds(12)));
        let s = screen(&app, w, h);
        let header = s.lines().next().unwrap();
        assert!(header.contains("DISCONNECTED"), "{header}");
        assert!(header.contains("127.0.0.1:57070"), "{w}x{h}: {header}");
    }
}

/// Counts read as words, singular for one: an approval of one database that needs one
/// approval says so (it said `1 databases`).
#[test]
fn one_is_singular() {
    let mut app = app(160, 48);
    typed(&mut app, "4");
    key(&mut app, KeyCode::Enter);
    let s = screen(&app, 160, 48);
    assert!(s.contains("Approval apr-2"), "{s}");
    assert!(s.contains("1 database · 1 prod"), "{s}");
    assert!(s.contains("0 of 1 approval "), "{s}");
    assert!(
        !s.contains("1 databases") && !s.contains("1 approvals"),
        "{s}"
    );
}

#[test]
fn a_pane_sorted_by_an_optional_column_keeps_that_column_at_80x24() {
    // Long names leave no room for RESTORE at 80 columns; sorted by it, it must show.
    let mut app = long_app(80, 24);
    typed(&mut app, "3");
    command(&mut app, "sort restore");
    typed(&mut app, "S");
    let s = screen(&app, 80, 24);
    assert!(s.contains("RESTORE▼"), "{s}");
}
