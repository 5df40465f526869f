//! Log: the live execution log. Following keeps the newest line in view; scrolling up
//! stops following and the title says so, with how many lines arrived since.

use fleetdeck_api::{Event, text::sanitize_line};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::framed;
use crate::app::App;
use crate::app::view::Pane;
use crate::keymap::{Layer, NamedAction};
use crate::ui::format::{width, wrap};
use crate::ui::status;
use crate::ui::widgets::{empty, fit_spans};

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.config.theme;
    let log = &app.log;
    let mut extra = Vec::new();
    if log.following() {
        extra.push(Span::styled("▼ following", t.ok));
    } else {
        let key = app
            .config
            .keymap
            .hint(Layer::Log, NamedAction::Follow)
            .unwrap_or_else(|| "follow".into());
        extra.push(Span::styled(
            format!(
                "‖ not following: {} new below ({key} follows)",
                log.unseen()
            ),
            t.warning,
        ));
    }
    extra.push(Span::styled(format!("{} lines", log.len()), t.muted));
    if log.dropped() > 0 {
        extra.push(Span::styled(
            format!("{} older dropped", log.dropped()),
            t.muted,
        ));
    }
    if log.wrap() {
        extra.push(Span::styled("wrap", t.muted));
    }
    let inner = framed(frame, app, Pane::Log, area, extra);
    if log.is_empty() {
        empty(frame, inner, t.muted, "no events yet");
        return;
    }
    let height = usize::from(inner.height);
    let w = usize::from(inner.width);
    let focused = app.focus == Pane::Log;
    let rows_of = |abs: u64| -> Vec<Line<'static>> {
        let Some(e) = log.get(abs) else {
            return Vec::new();
        };
        let selected = abs == log.selected() && (focused || !log.following());
        render(app, e, w, selected)
    };
    let mut lines: Vec<Line> = Vec::new();
    if log.following() {
        // From the newest backwards until the pane is full.
        let mut abs = log.last();
        loop {
            let mut rows = rows_of(abs);
            rows.extend(lines);
            lines = rows;
            if lines.len() >= height || abs == log.first() {
                break;
            }
            abs -= 1;
        }
        let skip = lines.len().saturating_sub(height);
        lines.drain(..skip);
    } else {
        let sel = log.selected();
        // Every line takes at least one row: the top is never further up than that.
        let lowest = sel.saturating_sub(height.saturating_sub(1) as u64);
        let mut top = log.top.clamp(log.first().max(lowest), sel);
        // Move the top down until the selected line fits below it.
        while top < sel && (top..=sel).map(|a| rows_of(a).len()).sum::<usize>() > height {
            top += 1;
        }
        let mut abs = top;
        while lines.len() < height && abs <= log.last() {
            lines.extend(rows_of(abs));
            abs += 1;
        }
        lines.truncate(height);
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// One event as one row, or several when wrapping (hanging indent under the message).
fn render(app: &App, e: &Event, w: usize, selected: bool) -> Vec<Line<'static>> {
    let t = &app.config.theme;
    let lvl = status::level(t, e.level);
    // Narrow panes keep the message readable: the most specific id only, no actor.
    let narrow = w < 110;
    let subject = if narrow {
        let s = &e.subject;
        s.database_id
            .as_deref()
            .or(s.approval_id.as_deref())
            .or(s.campaign_id.as_deref())
            .map(|id| sanitize_line(id).into_owned())
            .unwrap_or_default()
    } else {
        sanitize_line(&e.subject.label()).into_owned()
    };
    let mut prefix = vec![
        Span::raw(if selected { "›" } else { " " }),
        Span::styled(
            if app.local_time {
                format!("{} ", e.at.with_timezone(&chrono::Local).format("%H:%M:%S"))
            } else {
                e.at.format("%H:%M:%S ").to_string()
            },
            t.muted,
        ),
        Span::styled(format!("{}{} ", lvl.glyph, lvl.word), lvl.style),
    ];
    if !narrow {
        prefix.push(Span::styled(
            format!("{} ", sanitize_line(&e.actor)),
            t.muted,
        ));
    }
    if !subject.is_empty() {
        prefix.push(Span::styled(format!("{subject}: "), t.accent));
    }
    let message = sanitize_line(&e.message).into_owned();
    let msg_style = match e.level {
        fleetdeck_api::Level::Error => t.critical,
        fleetdeck_api::Level::Warn => t.warning,
        _ => t.text,
    };
    let sel_style = |line: Line<'static>| {
        if selected {
            line.style(t.selection.remove_modifier(Modifier::BOLD))
        } else {
            line
        }
    };
    if !app.log.wrap() {
        let mut spans = prefix;
        spans.push(Span::styled(message, msg_style));
        return vec![sel_style(fit_spans(spans, w))];
    }
    let prefix_w: usize = prefix.iter().map(|s| width(&s.content)).sum();
    // Hang continuation lines under the message when it has half the width, else
    // under the level, so a long line is not squeezed into a narrow column.
    let indent = if prefix_w <= w / 2 { prefix_w } else { 10 };
    let mut out = Vec::new();
    let first_room = w.saturating_sub(prefix_w);
    let (first, rest) = if first_room >= 10 {
        let mut pieces = wrap(&message, first_room).into_iter();
        let first = pieces.next().unwrap_or_default();
        let rest: String = pieces.collect::<Vec<_>>().join(" ");
        (first, rest)
    } else {
        (String::new(), message)
    };
    let mut head = prefix;
    head.push(Span::styled(first, msg_style));
    out.push(sel_style(fit_spans(head, w)));
    if !rest.is_empty() {
        for piece in wrap(&rest, w.saturating_sub(indent).max(1)) {
            out.push(sel_style(Line::from(vec![
                Span::raw(" ".repeat(indent)),
                Span::styled(piece, msg_style),
            ])));
        }
    }
    out
}
