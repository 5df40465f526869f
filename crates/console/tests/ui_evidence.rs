//! The Evidence pane tells one drill's story per row: RESTORE, CHECKSUM and LATEST DRILL
//! all describe the latest drill, so a checksum mismatch is never shown as a match
//! taken from an older, good drill; the database's detail says the same.

mod ui_support;

use crossterm::event::KeyCode;
use fleetdeck_console::{App, ConnState, Msg};
use ui_support::*;

/// The fixture, but pg-prod-p1's latest drill restored in 250 s and then failed its
/// checksum; its last good drill (5 days ago) restored in 252 s with a match.
fn mismatch_app(w: u16, h: u16) -> App {
    let mut snap = snapshot();
    let e = snap
        .evidence
        .iter_mut()
        .find(|e| e.database_id == "pg-prod-p1")
        .unwrap();
    let latest = e.latest.as_mut().unwrap();
    latest.restore_seconds = Some(250.0);
    latest.checksum_ok = Some(false);
    assert_eq!(e.last_good.as_ref().unwrap().checksum_ok, Some(true));
    let mut app = App::new(config());
    app.update(Msg::Resize(w, h));
    app.update(Msg::Loaded {
        whoami: alice(),
        snapshot: Box::new(snap),
    });
    app.update(Msg::Connection(ConnState::Connected { since: t0() }));
    app.update(Msg::Alive(t0()));
    app.update(Msg::Tick(t0()));
    app
}

/// The Evidence pane's row of `id` (its GOOD/POLICY column says `/ 7d`).
fn row<'s>(s: &'s str, id: &str) -> &'s str {
    evidence_rows(s)
        .find(|l| l.contains(id))
        .unwrap_or_else(|| panic!("no row for {id}:\n{s}"))
}

fn evidence_rows(s: &str) -> impl Iterator<Item = &str> {
    s.lines().filter(|l| l.contains("/ 7d")).map(|l| {
        &l[l.find("/ 7d")
            .map_or(0, |at| l[..at].rfind('│').unwrap_or(0))..]
    })
}

#[test]
fn a_row_describes_the_latest_drill_only() {
    let mut app = mismatch_app(160, 48);
    typed(&mut app, "3");
    let s = screen(&app, 160, 48);
    let r = row(&s, "pg-prod-p1");
    assert!(r.contains("✗ mismatch"), "{r}");
    assert!(!r.contains("✓ match"), "a mismatch shown as a match: {r}");
    // The restore time is the latest drill's (250 s), not the good one's (252 s).
    assert!(r.contains("4m10s") && !r.contains("4m12s"), "{r}");
    assert!(r.contains("✗ failed 23h ago"), "{r}");
    // A running drill has neither a restore time nor a checksum yet: none is borrowed.
    let running = row(&s, "pg-prod-r1");
    assert!(
        running.contains("… pending") && !running.contains("✓ match"),
        "{running}"
    );
    // Sorting by checksum puts the mismatch first, as the column shows it.
    command(&mut app, "sort checksum");
    let s = screen(&app, 160, 48);
    let first = evidence_rows(&s).next().unwrap();
    assert!(first.contains("pg-prod-p1"), "{s}");
}

#[test]
fn the_database_detail_names_the_latest_drill() {
    let mut app = mismatch_app(120, 40);
    typed(&mut app, "3");
    key(&mut app, KeyCode::Enter);
    let s = screen(&app, 120, 40);
    let latest = s
        .lines()
        .find(|l| l.contains("Latest drill"))
        .unwrap_or_else(|| panic!("{s}"));
    assert!(
        latest.contains("✗ failed") && latest.contains("restore 4m10s"),
        "{latest}"
    );
    assert!(latest.contains("✗ checksum mismatch"), "{latest}");
    // Days and other counts read as words: "7 days", never "1 days".
    assert!(s.contains("policy 7 days"), "{s}");
    assert!(s.contains("120 connections"), "{s}");
}
