//! The Rings pane: ring gauges line up whether a ring holds production databases or
//! not, and a click on any line of a campaign's card selects that campaign.

mod ui_support;

use crossterm::event::{KeyCode, MouseButton, MouseEventKind};
use ui_support::*;

/// The ring lines of a screen: the ones with a gauge's counts.
fn ring_lines(s: &str) -> impl Iterator<Item = &str> {
    s.lines().filter(|l| l.contains("✓ ") && l.contains("✗ /"))
}

/// The column where each ring line's gauge starts.
fn gauge_columns(s: &str) -> Vec<usize> {
    ring_lines(s)
        .map(|l| {
            l.chars()
                .position(|c| matches!(c, '█' | '▒' | '░'))
                .unwrap_or_else(|| panic!("no gauge in {l}"))
        })
        .collect()
}

#[test]
fn ring_gauges_line_up_prod_or_not() {
    for (w, h) in [(80, 24), (200, 50)] {
        let mut app = app(w, h);
        typed(&mut app, "2z");
        let s = screen(&app, w, h);
        let cols = gauge_columns(&s);
        // Seven rings over four campaigns, three of them holding production.
        assert_eq!(cols.len(), 7, "{s}");
        assert!(
            cols.iter().all(|c| *c == cols[0]),
            "{cols:?} at {w}x{h}:\n{s}"
        );
        assert_eq!(
            ring_lines(&s).filter(|l| l.contains(" prod ")).count(),
            3,
            "{s}"
        );
    }
}

#[test]
fn a_click_on_a_card_selects_its_campaign() {
    let (w, h) = (200, 50);
    let mut app = app(w, h);
    let down = MouseEventKind::Down(MouseButton::Left);
    // Select the running campaign by clicking its last ring line (R2, pending).
    let s = screen(&app, w, h);
    let (y, line) = s
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("○ pending"))
        .unwrap_or_else(|| panic!("no pending ring:\n{s}"));
    let x = line.chars().position(|c| c == '○').unwrap() as u16 - 1;
    mouse(&mut app, down, x, y as u16);
    let s = screen(&app, w, h);
    assert!(s.contains("┏ 2 Rings"), "the rings pane has focus: {s}");
    key(&mut app, KeyCode::Enter);
    let s = screen(&app, w, h);
    assert!(s.contains("postgres 16.4 minor"), "cmp-1's detail: {s}");
    key(&mut app, KeyCode::Esc);
    // A click on another card's title line selects that one.
    let s = screen(&app, w, h);
    let (y, line) = s
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("✓ completed"))
        .unwrap();
    let x = line
        .find("cmp-0")
        .map(|b| line[..b].chars().count())
        .unwrap() as u16
        - 1;
    mouse(&mut app, down, x, y as u16);
    key(&mut app, KeyCode::Enter);
    let s = screen(&app, w, h);
    assert!(s.contains("postgres 16.3 →") || s.contains("cmp-0"), "{s}");
    assert!(
        !s.contains("postgres 16.4 minor"),
        "cmp-0's detail, not cmp-1's: {s}"
    );
    key(&mut app, KeyCode::Esc);
    // A click below the last card (inside the pane) selects nothing new.
    let before = screen(&app, w, h);
    mouse(&mut app, down, x, y as u16 + 3);
    assert_eq!(screen(&app, w, h), before);
}

#[test]
fn one_campaign_is_counted_in_the_singular() {
    let mut app = app(120, 30);
    typed(&mut app, "2/state:paused");
    let s = screen(&app, 120, 30);
    assert!(s.contains("1 of 4 · 1 campaign ·"), "{s}");
}
