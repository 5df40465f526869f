//! The command or filter line, drawn over the footer while it is open: what is being
//! typed, and a hint or problem after it.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::Paragraph;

use super::format::width;
use super::widgets::fit_spans;
use crate::app::App;
use crate::app::prompt::{Prompt, PromptKind};

pub fn draw(frame: &mut Frame, app: &App, p: &Prompt, area: Rect) {
    let t = &app.config.theme;
    let prefix = match p.kind {
        PromptKind::Command => ":".to_string(),
        PromptKind::Filter(pane) => format!("{} /", pane.title()),
    };
    let message = p.message.clone().unwrap_or_else(|| match p.kind {
        PromptKind::Command => "Tab completes · ↑↓ history · Enter runs · Esc closes".into(),
        PromptKind::Filter(pane) => filter_hint(app, pane),
    });
    let message_w = (width(&message) as u16 + 2).min(area.width / 2);
    let [head, body, tail] = Layout::horizontal([
        Constraint::Length(width(&prefix) as u16),
        Constraint::Fill(1),
        Constraint::Length(message_w),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(prefix).style(t.command.patch(t.key)), head);
    frame.render_widget(Paragraph::default().style(t.command), body);
    let mut field = p.area.clone();
    field.set_style(t.command);
    field.set_cursor_line_style(Style::default());
    frame.render_widget(&field, body);
    frame.render_widget(
        Paragraph::new(fit_spans(
            vec![Span::styled(format!(" {message} "), t.muted)],
            usize::from(tail.width),
        ))
        .style(t.command),
        tail,
    );
}

/// `12 of 10000 · fields: env tier …`: how the filter does, and what it can name.
fn filter_hint(app: &App, pane: crate::app::view::Pane) -> String {
    let fields = crate::app::filter::fields_of(pane).join(" ");
    format!(
        "{} of {} · !word excludes · fields: {fields}",
        app.pane_len(pane),
        app.pane_total(pane)
    )
}
