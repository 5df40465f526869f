//! Sorting every table pane: `s` (next column), `S` (reverse) and `:sort COLUMN` (again
//! to reverse) on the focused pane; the sorted column's arrow in the heading row; the
//! pane's own order first; the order kept as events arrive.

mod ui_support;

use crossterm::event::KeyCode;
use fleetdeck_api::*;
use fleetdeck_console::Msg;
use ui_support::*;

/// The ids in the order the screen shows them (each by its first appearance).
fn order<'a>(screen: &str, ids: &[&'a str]) -> Vec<&'a str> {
    let mut at: Vec<(usize, &str)> = ids
        .iter()
        .map(|id| {
            let pos = screen
                .find(id)
                .unwrap_or_else(|| panic!("{id} not on screen:\n{screen}"));
            (pos, *id)
        })
        .collect();
    at.sort();
    at.into_iter().map(|(_, id)| id).collect()
}

/// The heading row of the focused, zoomed table pane.
fn heading(screen: &str) -> &str {
    screen
        .lines()
        .find(|l| l.contains("┃  "))
        .unwrap_or_else(|| panic!("no heading row:\n{screen}"))
}

const APPROVALS: [&str; 3] = ["apr-1", "apr-2", "apr-3"];

#[test]
fn approvals_start_soonest_first_and_sort_by_any_column_both_ways() {
    let mut app = app(120, 30);
    typed(&mut app, "4z");
    let s = screen(&app, 120, 30);
    // The pane's own order, shown as such: title and heading arrow.
    assert!(s.contains("soonest expiry first"), "{s}");
    assert!(heading(&s).contains("EXPIRES▲"), "{s}");
    assert_eq!(order(&s, &APPROVALS), ["apr-2", "apr-1", "apr-3"]);
    // By requester: alice, carol, runner; again: the other way.
    command(&mut app, "sort by");
    let s = screen(&app, 120, 30);
    assert!(heading(&s).contains("BY▲"), "{s}");
    assert!(!heading(&s).contains("EXPIRES▲"), "{s}");
    assert!(s.contains("by by ▲"), "{s}");
    assert_eq!(order(&s, &APPROVALS), ["apr-3", "apr-2", "apr-1"]);
    command(&mut app, "sort by");
    let s = screen(&app, 120, 30);
    assert!(heading(&s).contains("BY▼"), "{s}");
    assert_eq!(order(&s, &APPROVALS), ["apr-1", "apr-2", "apr-3"]);
    // `S` reverses the same column; `s` moves to the next column, ascending.
    typed(&mut app, "S");
    assert!(heading(&screen(&app, 120, 30)).contains("BY▲"));
    typed(&mut app, "s");
    let s = screen(&app, 120, 30);
    assert!(heading(&s).contains("BLAST RADIUS▲"), "{s}");
    // Blast radius orders by production databases first: apr-2 touches one.
    assert_eq!(order(&s, &APPROVALS)[0], "apr-2");
}

#[test]
fn a_new_row_lands_in_its_sorted_place() {
    let mut app = app(120, 30);
    typed(&mut app, "4z");
    command(&mut app, "sort by");
    command(&mut app, "sort by");
    let mut a = approvals()[0].clone();
    a.id = "apr-9".into();
    a.requested_by = "bob".into();
    app.update(Msg::Server(Box::new(event(
        6,
        Level::Info,
        "approval.requested",
        "ring 2 waits",
        Some(Change::Approval {
            approval: Box::new(a),
        }),
    ))));
    let s = screen(&app, 120, 30);
    let ids = ["apr-1", "apr-2", "apr-3", "apr-9"];
    // runner, carol, bob, alice.
    assert_eq!(order(&s, &ids), ["apr-1", "apr-2", "apr-9", "apr-3"]);
    assert!(heading(&s).contains("BY▼"), "{s}");
}

#[test]
fn evidence_starts_worst_first_and_keeps_the_selection_through_a_sort() {
    let mut app = app(120, 30);
    typed(&mut app, "3z");
    let dbs = ["pg-prod-p1", "pg-stg-r1", "pg-prod-p2", "pg-dev-01"];
    let s = screen(&app, 120, 30);
    assert!(s.contains("worst first"), "{s}");
    assert!(heading(&s).contains("EVIDENCE▲"), "{s}");
    assert_eq!(order(&s, &dbs), dbs);
    // Select pg-prod-p2 (third), then sort by database: it stays selected.
    typed(&mut app, "jj");
    assert!(screen(&app, 120, 30).contains("› pg-prod-p2"));
    command(&mut app, "sort database");
    let s = screen(&app, 120, 30);
    assert!(heading(&s).contains("DATABASE▲"), "{s}");
    assert!(s.contains("by database ▲"), "{s}");
    assert!(s.contains("› pg-prod-p2"), "{s}");
    assert_eq!(
        order(&s, &dbs),
        ["pg-dev-01", "pg-prod-p1", "pg-prod-p2", "pg-stg-r1"]
    );
    // Back to the pane's own order: its phrase returns.
    command(&mut app, "sort evidence");
    let s = screen(&app, 120, 30);
    assert!(s.contains("worst first"), "{s}");
    assert_eq!(order(&s, &dbs), dbs);
}

#[test]
fn rings_sort_by_campaign_and_say_so_in_the_title() {
    let mut app = app(120, 40);
    typed(&mut app, "2z");
    let cmps = ["cmp-0", "cmp-1", "cmp-2", "cmp-3"];
    let s = screen(&app, 120, 40);
    assert!(s.contains("needing a human first"), "{s}");
    // Paused, awaiting approval, running, completed.
    assert_eq!(order(&s, &cmps), ["cmp-2", "cmp-3", "cmp-1", "cmp-0"]);
    command(&mut app, "sort campaign");
    let s = screen(&app, 120, 40);
    assert!(s.contains("by campaign ▲"), "{s}");
    assert_eq!(order(&s, &cmps), cmps);
    typed(&mut app, "S");
    let s = screen(&app, 120, 40);
    assert!(s.contains("by campaign ▼"), "{s}");
    assert_eq!(order(&s, &cmps), ["cmp-3", "cmp-2", "cmp-1", "cmp-0"]);
    // `:sort` offers this pane's columns.
    typed(&mut app, ":sort ");
    key(&mut app, KeyCode::Tab);
    let s = screen(&app, 120, 40);
    assert!(s.contains(":sort campaign") && s.contains("1 of 6"), "{s}");
}

#[test]
fn a_narrow_sorted_column_keeps_its_arrow() {
    let mut app = app(80, 24);
    command(&mut app, "sort tier");
    let s = screen(&app, 80, 24);
    assert!(s.contains("TIER▲"), "{s}");
    typed(&mut app, "3");
    command(&mut app, "sort restore");
    typed(&mut app, "S");
    let s = screen(&app, 80, 24);
    assert!(s.contains("RESTORE▼"), "{s}");
}

#[test]
fn sorted_headings_snapshot() {
    let mut app = app(100, 20);
    typed(&mut app, "4z");
    command(&mut app, "sort kind");
    command(&mut app, "sort kind");
    insta::assert_snapshot!("approvals_sorted_by_kind_descending", screen(&app, 100, 20));
    typed(&mut app, "3");
    command(&mut app, "sort latest");
    insta::assert_snapshot!("evidence_sorted_by_latest", screen(&app, 100, 20));
}

#[test]
fn versions_and_ids_sort_as_numbers_not_as_text() {
    let mut app = app(120, 40);
    typed(&mut app, "2z");
    for (seq, (id, version)) in [("cmp-10", "16.10"), ("cmp-9", "16.9")]
        .into_iter()
        .enumerate()
    {
        let mut c = campaigns()[0].clone();
        c.id = id.into();
        c.target_version = version.into();
        app.update(Msg::Server(Box::new(event(
            10 + seq as u64,
            Level::Info,
            "campaign.created",
            "created",
            Some(Change::Campaign {
                campaign: Box::new(c),
            }),
        ))));
    }
    command(&mut app, "sort campaign");
    let s = screen(&app, 120, 40);
    let ids = ["cmp-0", "cmp-3", "cmp-9", "cmp-10"];
    assert_eq!(order(&s, &ids), ids, "{s}");
    command(&mut app, "sort version");
    let s = screen(&app, 120, 40);
    // 16.4 (the fixtures), then 16.9 before 16.10.
    let mine = order(&s, &["cmp-9", "cmp-10"]);
    assert_eq!(mine, ["cmp-9", "cmp-10"], "{s}");
}
