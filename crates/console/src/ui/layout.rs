//! Where everything goes. A pure function of the terminal size, focus and zoom, so the
//! state machine can ask how many rows a page is without drawing.
//!
//! ```text
//! wide (≥120×32)                      small, or zoomed
//! ┌ header (2 rows) ──────────────┐   ┌ header ─────────────────┐
//! │ Fleet            │ Rings      │   │ 1 Fleet 2 Rings 3 …tabs │
//! │ Evidence         │ Approvals  │   │ the focused pane        │
//! │ Log                           │   │                         │
//! └ footer: notice or key hints ──┘   └ footer ─────────────────┘
//! ```

use ratatui::layout::{Constraint, Layout, Rect};

use crate::app::view::Pane;

pub struct Screen {
    pub header: Rect,
    /// The tab bar, when one pane is shown at a time.
    pub tabs: Option<Rect>,
    /// Everything between header and footer (detail views cover it).
    pub body: Rect,
    pub footer: Rect,
    pub panes: Vec<(Pane, Rect)>,
}

pub const HEADER_ROWS: u16 = 2;

pub fn wide(area: Rect) -> bool {
    area.width >= 120 && area.height >= 32
}

pub fn screen(area: Rect, focus: Pane, zoom: bool) -> Screen {
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(HEADER_ROWS),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    if wide(area) && !zoom {
        let [top, middle, bottom] = Layout::vertical([
            Constraint::Percentage(42),
            Constraint::Percentage(28),
            Constraint::Fill(1),
        ])
        .areas(body);
        let split = |r: Rect, left: u16| -> [Rect; 2] {
            Layout::horizontal([Constraint::Percentage(left), Constraint::Fill(1)]).areas(r)
        };
        let [fleet, rings] = split(top, 57);
        let [evidence, approvals] = split(middle, 50);
        return Screen {
            header,
            tabs: None,
            body,
            footer,
            panes: vec![
                (Pane::Fleet, fleet),
                (Pane::Rings, rings),
                (Pane::Evidence, evidence),
                (Pane::Approvals, approvals),
                (Pane::Log, bottom),
            ],
        };
    }
    let [tabs, pane] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(body);
    Screen {
        header,
        tabs: Some(tabs),
        body,
        footer,
        panes: vec![(focus, pane)],
    }
}

/// Rows of items the focused pane shows: its height less borders and column headings.
pub fn page_rows(size: (u16, u16), focus: Pane, zoom: bool) -> usize {
    let (w, h) = if size == (0, 0) { (80, 24) } else { size };
    let s = screen(Rect::new(0, 0, w, h), focus, zoom);
    let height = s
        .panes
        .iter()
        .find(|(p, _)| *p == focus)
        .map_or(1, |(_, r)| r.height);
    let chrome = if focus == Pane::Log { 2 } else { 3 };
    usize::from(height.saturating_sub(chrome)).max(1)
}
