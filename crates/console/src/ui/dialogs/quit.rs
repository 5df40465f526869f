//! Quitting while a request is in flight: its answer would never be seen, so ask.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::{buttons, centered};
use crate::app::App;
use crate::app::dialogs::Focus;
use crate::ui::format::wrap;
use crate::ui::widgets::frame_block;

pub fn draw(frame: &mut Frame, app: &App, focus: Focus, area: Rect) {
    let t = &app.config.theme;
    let n = app.requests_in_flight();
    let width = area.width.saturating_sub(2).min(60);
    let text = format!(
        "{n} request{} still waiting for the server's answer. If you quit now you will not \
         see whether {} succeeded; the server still finishes {}.",
        if n == 1 { " is" } else { "s are" },
        if n == 1 { "it" } else { "they" },
        if n == 1 { "it" } else { "them" },
    );
    let lines: Vec<Line> = wrap(&text, usize::from(width.saturating_sub(2)))
        .into_iter()
        .map(|l| Line::styled(l, t.text))
        .collect();
    let rect = centered(area, width, lines.len() as u16 + 4);
    frame.render_widget(Clear, rect);
    let block = frame_block(t, vec![Span::styled("Quit?", t.title_focused)], true);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [body, _, row] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(lines), body);
    frame.render_widget(buttons(t, focus, "Quit", true), row);
}
