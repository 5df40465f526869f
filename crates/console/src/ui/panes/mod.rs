//! The five panes, one file each, and the tab bar used when only one fits.

mod approvals;
mod evidence;
mod fleet;
mod log;
mod rings;

pub(crate) use approvals::kind_word as approval_kind_word;
pub(crate) use rings::ring_line;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::widgets::{fit_spans, frame_block, window};
use crate::app::App;
use crate::app::view::Pane;

pub fn draw(frame: &mut Frame, app: &App, pane: Pane, area: Rect) {
    match pane {
        Pane::Fleet => fleet::draw(frame, app, area),
        Pane::Rings => rings::draw(frame, app, area),
        Pane::Evidence => evidence::draw(frame, app, area),
        Pane::Approvals => approvals::draw(frame, app, area),
        Pane::Log => log::draw(frame, app, area),
    }
}

/// Draws the pane's frame titled `N Name · extra` and returns the inside.
fn framed(frame: &mut Frame, app: &App, pane: Pane, area: Rect, extra: Vec<Span<'static>>) -> Rect {
    let t = &app.config.theme;
    let focused = app.focus == pane;
    let mut title = vec![Span::styled(
        format!("{} {}", pane.number(), pane.title()),
        t.title_for(focused),
    )];
    for s in extra {
        title.push(Span::styled(" · ", t.muted));
        title.push(s);
    }
    let max = usize::from(area.width.saturating_sub(4));
    let block = frame_block(t, fit_spans(title, max).spans, focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    inner
}

/// The first visible row of a table pane with `height` item rows.
fn table_window(app: &App, pane: Pane, height: usize) -> (usize, Option<usize>) {
    let selected = app.selected_index(pane);
    let offset = app.selection(pane).map_or(0, |s| s.offset);
    (
        window(offset, selected, app.pane_len(pane), height),
        selected,
    )
}

/// `1 Fleet  2 Rings  …` with the focused one marked in brackets, and a count where
/// something waits for a human.
pub fn draw_tabs(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.config.theme;
    let c = app.data.counts;
    let mut spans = vec![Span::raw(" ")];
    for pane in Pane::ALL {
        let badge = match pane {
            Pane::Approvals if c.pending_approvals > 0 => format!(" ⧗{}", c.pending_approvals),
            Pane::Evidence if c.evidence_failed + c.evidence_stale > 0 => {
                format!(" ▲{}", c.evidence_failed + c.evidence_stale)
            }
            Pane::Rings if c.campaigns_paused + c.campaigns_failed > 0 => {
                let mut b = String::new();
                if c.campaigns_paused > 0 {
                    b.push_str(&format!(" ‖{}", c.campaigns_paused));
                }
                if c.campaigns_failed > 0 {
                    b.push_str(&format!(" ✗{}", c.campaigns_failed));
                }
                b
            }
            _ => String::new(),
        };
        let label = format!("{} {}{badge}", pane.number(), pane.title());
        if pane == app.focus {
            spans.push(Span::styled(format!("[{label}]"), t.title_focused));
        } else {
            spans.push(Span::styled(format!(" {label} "), t.muted));
        }
        spans.push(Span::raw(" "));
    }
    if app.zoom {
        spans.push(Span::styled("(zoomed)", t.muted));
    }
    let line: Line = fit_spans(spans, usize::from(area.width));
    frame.render_widget(Paragraph::new(line), area);
}
