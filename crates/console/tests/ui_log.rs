//! The Log pane's `/` filter (fuzzy, field and exclusion terms, highlights, `n of m`,
//! Esc), follow mode and the "new below" count under a filter, and clicking a line.

mod ui_support;

use crossterm::event::{KeyCode, MouseButton, MouseEventKind};
use fleetdeck_api::*;
use fleetdeck_console::{App, Msg};
use ui_support::*;

const W: u16 = 160;
const H: u16 = 48;

/// The console with the log focused and zoomed (the fixture's five lines).
fn log_app() -> App {
    let mut app = app(W, H);
    typed(&mut app, "5z");
    app
}

fn push(app: &mut App, seq: u64, level: Level, kind: &str, message: &str) {
    app.update(Msg::Server(Box::new(event(
        seq, level, kind, message, None,
    ))));
}

/// The log pane's title row.
fn title(s: &str) -> &str {
    s.lines()
        .find(|l| l.contains("5 Log ·"))
        .unwrap_or_else(|| panic!("no log title:\n{s}"))
}

/// Closes any filter line, opens a new one with `text` typed and returns the screen.
fn filter(app: &mut App, text: &str) -> String {
    key(app, KeyCode::Esc);
    typed(app, &format!("/{text}"));
    screen(app, W, H)
}

/// Whether the selected (held) line is the one showing `text`.
fn held(s: &str, text: &str) -> bool {
    s.lines().any(|l| l.contains("›") && l.contains(text))
}

/// The screen row holding `text`.
fn row_of(s: &str, text: &str) -> usize {
    s.lines()
        .position(|l| l.contains(text))
        .unwrap_or_else(|| panic!("{text} not on screen:\n{s}"))
}

#[test]
fn field_terms_filter_the_log_as_you_type_and_esc_clears() {
    let mut app = log_app();
    let s = filter(&mut app, "level:warn");
    assert!(title(&s).contains("/level:warn 1 of 5"), "{s}");
    assert!(s.contains("replication lag 42s"), "{s}");
    assert!(!s.contains("ring 1 started"), "{s}");
    // A word prefix of a field's value; several terms must all hold.
    let s = filter(&mut app, "kind:executor actor:exec");
    assert!(title(&s).contains("1 of 5"), "{s}");
    assert!(s.contains("pg_upgrade --check: ok"), "{s}");
    assert!(!s.contains("patching pg-stg-p1"), "{s}");
    // Subject ids: every fixture line is about pg-stg-r1 in ring 1 of cmp-1.
    assert!(title(&filter(&mut app, "db:pg-stg-r1 campaign:cmp-1 ring:1")).contains("5 of 5"));
    typed(&mut app, " ring:2");
    let s = screen(&app, W, H);
    assert!(title(&s).contains("0 of 5"), "{s}");
    assert!(s.contains("no line matches /db:pg-stg-r1"), "{s}");
    // Esc in the filter line clears it: every line again.
    key(&mut app, KeyCode::Esc);
    let s = screen(&app, W, H);
    assert!(
        title(&s).contains("5 lines") && !title(&s).contains(" of 5"),
        "{s}"
    );
    // Enter keeps the filter; Esc on the pane clears it.
    typed(&mut app, "/level:err");
    key(&mut app, KeyCode::Enter);
    let s = screen(&app, W, H);
    assert!(title(&s).contains("/level:err 1 of 5"), "{s}");
    assert!(!s.contains("Log /"), "the filter line closed: {s}");
    key(&mut app, KeyCode::Esc);
    assert!(title(&screen(&app, W, H)).contains("5 lines"));
}

#[test]
fn exclusion_and_fuzzy_words_with_highlights() {
    let mut app = log_app();
    // `!word` excludes lines containing it: the executor's line goes.
    let s = filter(&mut app, "!executor");
    assert!(title(&s).contains("4 of 5"), "{s}");
    assert!(!s.contains("pg_upgrade"), "{s}");
    // `!field:value` excludes by field: both executor.output lines go.
    let s = filter(&mut app, "!kind:executor");
    assert!(title(&s).contains("3 of 5"), "{s}");
    assert!(
        !s.contains("patching pg-stg-p1") && s.contains("ring 1 started"),
        "{s}"
    );
    // A fuzzy word: letters in order with gaps; its letters are highlighted.
    let s = filter(&mut app, "rpliclag");
    assert!(title(&s).contains("1 of 5"), "{s}");
    let y = row_of(&s, "replication lag") as u16;
    let t = render(&app, W, H);
    let buf = t.backend().buffer();
    let matched = fleetdeck_console::theme::Theme::default().matched;
    let lit: String = (0..W)
        .filter(|x| buf[(*x, y)].fg == matched.fg.unwrap())
        .map(|x| buf[(x, y)].symbol().to_string())
        .collect();
    assert_eq!(lit, "rpliclag", "highlighted: {lit:?}");
    // The level word the line shows matches too.
    assert!(title(&filter(&mut app, "ERR")).contains("1 of 5"));
}

#[test]
fn following_with_a_filter_shows_the_newest_matching_line() {
    let mut app = app(80, 24);
    typed(&mut app, "5/level:error");
    key(&mut app, KeyCode::Enter);
    // Many lines that do not match, then one that does, then more that do not: the
    // matching line stays in view and selected-as-newest; others never show.
    let mut seq = 5;
    for i in 0..40 {
        seq += 1;
        push(
            &mut app,
            seq,
            Level::Info,
            "executor.output",
            &format!("noise {i}"),
        );
    }
    seq += 1;
    push(
        &mut app,
        seq,
        Level::Error,
        "target.state",
        "pg-prod-p1 failed: disk full",
    );
    for i in 0..40 {
        seq += 1;
        push(
            &mut app,
            seq,
            Level::Info,
            "executor.output",
            &format!("more noise {i}"),
        );
    }
    let s = screen(&app, 80, 24);
    assert!(s.contains("▼ following"), "{s}");
    assert!(title(&s).contains("2 of 86"), "{s}");
    assert!(s.contains("disk full") && !s.contains("noise"), "{s}");
    // The newest matching line is the one at the bottom and the one Enter opens.
    assert!(
        row_of(&s, "disk full") > row_of(&s, "pg-stg-r1 failed"),
        "{s}"
    );
    key(&mut app, KeyCode::Enter);
    let s = screen(&app, 80, 24);
    assert!(s.contains("disk full"), "{s}");
    assert!(
        s.contains("target.state"),
        "the detail of the newest match: {s}"
    );
}

#[test]
fn new_lines_below_count_only_matching_lines() {
    let mut app = log_app();
    typed(&mut app, "/kind:target");
    key(&mut app, KeyCode::Enter);
    // Stop following: the one matching line stays selected.
    typed(&mut app, "f");
    let s = screen(&app, W, H);
    assert!(s.contains("not following: 0 new below"), "{s}");
    push(&mut app, 6, Level::Info, "target.state", "pg-stg-p1 done");
    push(&mut app, 7, Level::Info, "executor.output", "hidden");
    push(&mut app, 8, Level::Info, "executor.output", "hidden too");
    push(&mut app, 9, Level::Warn, "target.state", "pg-prod-r1 slow");
    let s = screen(&app, W, H);
    assert!(s.contains("not following: 2 new below"), "{s}");
    assert!(title(&s).contains("3 of 9"), "{s}");
    // The held line stays selected while matching lines arrive below it.
    assert!(held(&s, "did not catch up"), "{s}");
    // Moving down walks matching lines only; reaching the newest follows again.
    key(&mut app, KeyCode::Down);
    let s = screen(&app, W, H);
    assert!(held(&s, "pg-stg-p1 done"), "{s}");
    key(&mut app, KeyCode::Down);
    assert!(screen(&app, W, H).contains("▼ following"));
    // Clearing the filter while scrolled up counts every new line again.
    typed(&mut app, "f");
    push(&mut app, 10, Level::Info, "executor.output", "a");
    push(&mut app, 11, Level::Info, "target.state", "b");
    let s = screen(&app, W, H);
    assert!(s.contains("1 new below"), "{s}");
    key(&mut app, KeyCode::Esc);
    let s = screen(&app, W, H);
    assert!(
        s.contains("2 new below") && title(&s).contains("11 lines"),
        "{s}"
    );
}

#[test]
fn a_filter_keeps_matching_new_lines_at_the_cap() {
    // The fixture's cap is 100 lines: old lines fall off the front, matches with them.
    let mut app = log_app();
    typed(&mut app, "/level:warn");
    key(&mut app, KeyCode::Enter);
    for seq in 6..=205 {
        let level = if seq % 10 == 0 {
            Level::Warn
        } else {
            Level::Info
        };
        push(
            &mut app,
            seq,
            level,
            "database.health",
            &format!("line {seq}"),
        );
    }
    let s = screen(&app, W, H);
    // Seqs 106-205 are kept: ten of them are warnings.
    assert!(title(&s).contains("10 of 100"), "{s}");
    assert!(s.contains("line 200") && s.contains("line 110"), "{s}");
    assert!(
        !s.contains("line 100 ") && !s.contains("replication lag"),
        "{s}"
    );
}

#[test]
fn a_click_holds_a_log_line() {
    let mut app = app(W, H);
    let down = MouseEventKind::Down(MouseButton::Left);
    let s = screen(&app, W, H);
    assert!(s.contains("▼ following"), "{s}");
    let (x, y) = find(&app, "replication lag");
    mouse(&mut app, down, x, y);
    let s = screen(&app, W, H);
    assert!(s.contains("┏ 5 Log"), "the log has focus: {s}");
    assert!(s.contains("not following: 0 new below"), "{s}");
    assert!(held(&s, "replication lag"), "{s}");
    // The view did not move under the pointer.
    assert_eq!(find(&app, "replication lag").1, y);
    // New lines do not move the held line; Enter opens it.
    push(&mut app, 6, Level::Info, "target.state", "later");
    let s = screen(&app, W, H);
    assert!(s.contains("1 new below"), "{s}");
    key(&mut app, KeyCode::Enter);
    let s = screen(&app, W, H);
    assert!(
        s.contains("database.health"),
        "the clicked line's detail: {s}"
    );
    key(&mut app, KeyCode::Esc);
    // A click below the last line selects nothing new.
    let (x, _) = find(&app, "replication lag");
    mouse(&mut app, down, x, H - 3);
    let s = screen(&app, W, H);
    assert!(held(&s, "replication lag"), "{s}");
}

/// Where `text` is drawn: (column, row).
fn find(app: &App, text: &str) -> (u16, u16) {
    let s = screen(app, W, H);
    for (y, line) in s.lines().enumerate() {
        // Each row is quoted in the backend's text: skip the opening quote.
        if let Some(byte) = line.find(text) {
            let col = line[..byte].chars().count() as u16 - 1;
            return (col, y as u16);
        }
    }
    panic!("{text} not on screen:\n{s}");
}

#[test]
fn the_log_filter_stays_through_a_reload() {
    let mut app = log_app();
    typed(&mut app, "/level:warn");
    key(&mut app, KeyCode::Enter);
    // A reconnect that reloads the snapshot: the same lines, tested again.
    app.update(Msg::Loaded {
        whoami: alice(),
        snapshot: Box::new(snapshot()),
    });
    let s = screen(&app, W, H);
    assert!(title(&s).contains("/level:warn 1 of 5"), "{s}");
    assert!(
        s.contains("replication lag") && !s.contains("ring 1 started"),
        "{s}"
    );
}

#[test]
fn a_clock_time_finds_the_lines_of_that_second() {
    let mut app = log_app();
    let s = filter(&mut app, "02:59:03");
    assert!(title(&s).contains("/02:59:03 1 of 5"), "{s}");
    assert!(s.contains("replication lag"), "{s}");
    // Not a field: no complaint in the filter line.
    assert!(!s.contains("no field"), "{s}");
    assert!(title(&filter(&mut app, "02:59 !02:59:01")).contains("4 of 5"));
    key(&mut app, KeyCode::Esc);
    // In local time the lines show local times, and a filter kept across the toggle
    // reads those (in any time zone the tests run in).
    let local = (t0() - chrono::Duration::seconds(57))
        .with_timezone(&chrono::Local)
        .format("%H:%M:%S")
        .to_string();
    typed(&mut app, &format!("/{local}"));
    key(&mut app, KeyCode::Enter);
    typed(&mut app, "t");
    let s = screen(&app, W, H);
    assert!(title(&s).contains(&format!("/{local} 1 of 5")), "{s}");
    assert!(s.contains("replication lag"), "{s}");
}
