//! Detail views: the selected item in full, covering the panes. Each kind builds its
//! lines at the given width; this module frames and scrolls them.

mod approval;
mod campaign;
mod database;
mod event;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::format::wrap;
use super::widgets::{fit_spans, frame_block, wrap_spans};
use crate::app::App;
use crate::app::view::{Detail, DetailKind};
use crate::theme::Theme;

pub fn draw(frame: &mut Frame, app: &App, detail: &Detail, area: Rect) {
    let t = &app.config.theme;
    let (title, body_width) = (title(detail), usize::from(area.width.saturating_sub(2)));
    let lines = match &detail.kind {
        DetailKind::Database { id, detail } => database::lines(app, id, detail, body_width),
        DetailKind::Campaign { id } => campaign::lines(app, id, body_width),
        DetailKind::Approval(a) => approval::lines(app, a, body_width),
        DetailKind::Event(e) => event::lines(app, e, body_width),
    };
    let inner_h = usize::from(area.height.saturating_sub(2));
    let max_scroll = lines.len().saturating_sub(inner_h);
    let scroll = usize::from(detail.scroll).min(max_scroll);
    let mut title_spans = vec![Span::styled(title, t.title_focused)];
    if max_scroll > 0 {
        title_spans.push(Span::styled(
            format!(
                " · lines {}-{} of {}",
                scroll + 1,
                (scroll + inner_h).min(lines.len()),
                lines.len()
            ),
            t.muted,
        ));
    }
    let block = frame_block(t, title_spans, true);
    let inner = block.inner(area);
    frame.render_widget(Clear, area);
    frame.render_widget(block, area);
    let visible: Vec<Line> = lines.into_iter().skip(scroll).take(inner_h).collect();
    frame.render_widget(Paragraph::new(visible), inner);
}

fn title(detail: &Detail) -> String {
    match &detail.kind {
        DetailKind::Database { id, .. } => format!("Database {}", clean(id)),
        DetailKind::Campaign { id } => format!("Campaign {}", clean(id)),
        DetailKind::Approval(a) => format!("Approval {}", clean(&a.id)),
        DetailKind::Event(e) => format!("Event #{}", e.seq),
    }
}

fn clean(s: &str) -> String {
    fleetdeck_api::text::sanitize_line(s).into_owned()
}

const LABEL: usize = 14;

/// `Label         value`, the value wrapped under itself.
fn kv(t: &Theme, label: &str, value: &str, style: Style, w: usize) -> Vec<Line<'static>> {
    let room = w.saturating_sub(LABEL + 1).max(10);
    wrap(value, room)
        .into_iter()
        .enumerate()
        .map(|(i, piece)| {
            let head = if i == 0 {
                format!(" {label:<width$}", width = LABEL)
            } else {
                " ".repeat(LABEL + 1)
            };
            Line::from(vec![
                Span::styled(head, t.muted),
                Span::styled(piece, style),
            ])
        })
        .collect()
}

/// A section heading.
fn heading(t: &Theme, text: &str) -> Line<'static> {
    Line::from(Span::styled(format!(" {text}"), t.title))
}

/// A line of spans clipped to the width.
fn spans(s: Vec<Span<'static>>, w: usize) -> Line<'static> {
    fit_spans(s, w)
}

/// Spans wrapped to the width, continuation lines indented by `indent`: a detail
/// view shows every word.
fn wrapped(s: Vec<Span<'static>>, indent: usize, w: usize) -> Vec<Line<'static>> {
    wrap_spans(s, w, indent)
}

/// Free text (may span lines), wrapped with an indent.
fn paragraph(text: &str, style: Style, indent: usize, w: usize) -> Vec<Line<'static>> {
    let clean = fleetdeck_api::text::sanitize(text);
    let room = w.saturating_sub(indent).max(10);
    clean
        .split('\n')
        .flat_map(|l| wrap(l, room))
        .map(|piece| {
            Line::from(vec![
                Span::raw(" ".repeat(indent)),
                Span::styled(piece, style),
            ])
        })
        .collect()
}

fn blank() -> Line<'static> {
    Line::default()
}
