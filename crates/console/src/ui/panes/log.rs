//! Log: the live execution log. Following keeps the newest line in view; scrolling up
//! stops following and the title says so, with how many lines arrived since.

use fleetdeck_api::{Event, text::sanitize_line};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{empty_text, framed, highlight};
use crate::app::App;
use crate::app::view::Pane;
use crate::keymap::{Layer, NamedAction};
use crate::ui::format::{count, log_time, width, wrap};
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
    // A filter's `n of m` already counts the lines.
    if !log.filtered() {
        extra.push(Span::styled(count(log.len(), "line"), t.muted));
    }
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
    if log.view_len() == 0 {
        empty(
            frame,
            inner,
            t.muted,
            &empty_text(app, Pane::Log, "no events yet"),
        );
        return;
    }
    let lines: Vec<Line> = window(app, usize::from(inner.width), usize::from(inner.height))
        .into_iter()
        .flat_map(|(_, rows)| rows)
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The shown lines a log pane `w` wide and `height` high draws, top to bottom: each
/// line's absolute number and its rows (one, or several when wrapping). Following: the
/// newest lines, the oldest of them cut at the top if need be; else from the stored
/// top, moved so the selected line is whole on screen. Drawing and mouse clicks both
/// read it, so a click lands on the line drawn under it.
pub(crate) fn window(app: &App, w: usize, height: usize) -> Vec<(u64, Vec<Line<'static>>)> {
    let log = &app.log;
    let n = log.view_len();
    let (Some(sel), true) = (log.selected(), height > 0) else {
        return Vec::new();
    };
    let focused = app.focus == Pane::Log;
    let entry = |pos: usize| -> Option<(u64, Vec<Line<'static>>)> {
        let abs = log.view_at(pos)?;
        let e = log.get(abs)?;
        Some((
            abs,
            render(app, e, w, abs == sel && (focused || !log.following())),
        ))
    };
    let rows = |v: &[(u64, Vec<Line>)]| v.iter().map(|(_, r)| r.len()).sum::<usize>();
    let mut out = Vec::new();
    if log.following() {
        let (mut pos, mut used) = (n, 0);
        while pos > 0 && used < height {
            pos -= 1;
            if let Some((abs, lines)) = entry(pos) {
                used += lines.len();
                out.push((abs, lines));
            }
        }
        out.reverse();
        let excess = used.saturating_sub(height);
        if let Some((_, first)) = out.first_mut() {
            first.drain(..excess.min(first.len()));
        }
        return out;
    }
    let sel_pos = log.view_pos(sel);
    // Every line takes at least one row: the top is never further up than that.
    let lowest = sel_pos.saturating_sub(height - 1);
    let top = log.view_pos(log.top).clamp(lowest, sel_pos);
    out.extend((top..=sel_pos).filter_map(entry));
    // Drop lines from the top until the selected one fits below them.
    while out.len() > 1 && rows(&out) > height {
        out.remove(0);
    }
    let mut pos = sel_pos + 1;
    while pos < n && rows(&out) < height {
        out.extend(entry(pos));
        pos += 1;
    }
    let excess = rows(&out).saturating_sub(height);
    if let Some((_, last)) = out.last_mut() {
        last.truncate(last.len().saturating_sub(excess).max(1));
    }
    out
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
        Span::styled(format!("{} ", log_time(e.at, app.local_time)), t.muted),
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
    // Filter matches are highlighted in what each row shows (the marker aside).
    let lit = |spans: Vec<Span<'static>>| -> Vec<Span<'static>> {
        let Some(f) = app.filter_of(Pane::Log) else {
            return spans;
        };
        let mut spans = spans.into_iter();
        let marker = spans.next();
        let rest = highlight(vec![spans.collect()], &f.query, t.matched);
        marker
            .into_iter()
            .chain(rest.into_iter().flatten())
            .collect()
    };
    if !app.log.wrap() {
        let mut spans = prefix;
        spans.push(Span::styled(message, msg_style));
        return vec![sel_style(fit_spans(lit(spans), w))];
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
    out.push(sel_style(fit_spans(lit(head), w)));
    if !rest.is_empty() {
        for piece in wrap(&rest, w.saturating_sub(indent).max(1)) {
            out.push(sel_style(Line::from(lit(vec![
                Span::raw(" ".repeat(indent)),
                Span::styled(piece, msg_style),
            ]))));
        }
    }
    out
}
