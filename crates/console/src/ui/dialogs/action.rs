//! An action dialog: exactly what will be sent and what it touches, the text field(s),
//! then Cancel (focused first) and the action's button.

use fleetdeck_api::{etag, text::sanitize_line};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::{buttons, centered};
use crate::app::App;
use crate::app::dialogs::{ActionDialog, ActionKind, Focus, TextField};
use crate::theme::Theme;
use crate::ui::format::wrap;
use crate::ui::widgets::{fit_spans, frame_block};

const LABEL: usize = 14;

pub fn draw(frame: &mut Frame, app: &App, d: &ActionDialog, area: Rect) {
    let t = &app.config.theme;
    let width = area.width.saturating_sub(2).min(84);
    let inner_w = usize::from(width.saturating_sub(2));
    let facts = fact_lines(app, d, inner_w);
    let status = status_lines(app, d, inner_w);
    let all: Vec<(&TextField, bool)> = d
        .text
        .iter()
        .map(|f| (f, d.focus == Focus::Text))
        .chain(
            d.confirm_id
                .iter()
                .map(|f| (f, d.focus == Focus::ConfirmId)),
        )
        .collect();
    // Buttons, the gap above them and the frame; each field takes four rows.
    let room = area.height.saturating_sub(status.len() as u16 + 4);
    let fields: Vec<(&TextField, bool)> = if all.len() as u16 * 4 <= room {
        all
    } else {
        // Too short for every field: the one with focus is drawn (else the first),
        // so a keystroke never lands in a field the operator cannot see.
        let keep = all.iter().position(|(_, focused)| *focused).unwrap_or(0);
        all.into_iter().skip(keep).take(1).collect()
    };
    let fixed = fields.len() as u16 * 4 + status.len() as u16 + 2;
    let want = facts.len() as u16 + fixed + 2;
    let rect = centered(area, width, want);
    frame.render_widget(Clear, rect);
    let block = frame_block(t, vec![Span::styled(d.title(), t.title_focused)], true);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);

    let mut constraints = vec![Constraint::Fill(1)];
    constraints.extend(fields.iter().map(|_| Constraint::Length(4)));
    constraints.push(Constraint::Length(status.len() as u16));
    constraints.push(Constraint::Length(1));
    constraints.push(Constraint::Length(1));
    let parts = Layout::vertical(constraints).split(inner);
    frame.render_widget(Paragraph::new(facts), parts[0]);
    let mut i = 1;
    for (f, focused) in fields {
        draw_field(frame, t, f, focused, parts[i]);
        i += 1;
    }
    frame.render_widget(Paragraph::new(status), parts[i]);
    let enabled = d.confirmable();
    frame.render_widget(buttons(t, d.focus, d.kind.label(), enabled), parts[i + 2]);
}

fn kv(
    t: &Theme,
    label: &str,
    value: &str,
    style: ratatui::style::Style,
    w: usize,
) -> Vec<Line<'static>> {
    wrap(value, w.saturating_sub(LABEL).max(10))
        .into_iter()
        .enumerate()
        .map(|(i, piece)| {
            let head = if i == 0 {
                format!("{label:<LABEL$}")
            } else {
                " ".repeat(LABEL)
            };
            Line::from(vec![
                Span::styled(head, t.muted),
                Span::styled(piece, style),
            ])
        })
        .collect()
}

/// The request line first, then the blast radius, then the rest of the facts.
fn fact_lines(app: &App, d: &ActionDialog, w: usize) -> Vec<Line<'static>> {
    let t = &app.config.theme;
    let mut out = Vec::new();
    if d.bulk.is_empty() {
        let path = d.action().map_or_else(|_| preview_path(d), |a| a.path());
        out.extend(kv(
            t,
            "Sends",
            &format!("POST {}", sanitize_line(&path)),
            t.accent,
            w,
        ));
        out.extend(kv(
            t,
            "",
            &format!(
                "If-Match {} (the version you see) · a new Idempotency-Key",
                etag(d.version)
            ),
            t.muted,
            w,
        ));
    } else {
        let verb = d.kind.label().to_lowercase();
        out.extend(kv(
            t,
            "Sends",
            &format!(
                "{} requests: POST /v1/approvals/{{id}}/{verb}, one per approval",
                d.bulk.len()
            ),
            t.accent,
            w,
        ));
        out.extend(kv(
            t,
            "",
            "each with If-Match of the version you see and its own Idempotency-Key",
            t.muted,
            w,
        ));
    }
    let body = match d.action() {
        Ok(a) => serde_json::to_string(&a.body()).unwrap_or_default(),
        Err(_) => "— not ready yet (see below)".into(),
    };
    out.extend(kv(t, "Body", &sanitize_line(&body), t.text, w));
    let (blast, rest): (Vec<_>, Vec<_>) = d.facts.iter().partition(|f| f.label == "Blast radius");
    for f in blast.into_iter().chain(rest) {
        let style = if f.severe { t.warning } else { t.text };
        let value = if f.severe {
            format!("▲ {}", f.value)
        } else {
            f.value.clone()
        };
        out.extend(kv(t, f.label, &sanitize_line(&value), style, w));
    }
    if let Some(changed) = changed_since_open(app, d) {
        // A single item's dialog shows it as it is; a bulk one's items would be refused.
        let style = if d.bulk.is_empty() {
            t.warning
        } else {
            t.critical
        };
        out.extend(kv(t, "▲ Changed", &changed, style, w));
    }
    out
}

fn preview_path(d: &ActionDialog) -> String {
    let id = &d.target;
    match d.kind {
        ActionKind::Approve => format!("/v1/approvals/{id}/approve"),
        ActionKind::Reject => format!("/v1/approvals/{id}/reject"),
        ActionKind::Pause => format!("/v1/campaigns/{id}/pause"),
        ActionKind::Resume => format!("/v1/campaigns/{id}/resume"),
        ActionKind::Rollback => format!("/v1/campaigns/{id}/rollback"),
        ActionKind::Drill => format!("/v1/databases/{id}/drills"),
    }
}

/// Says so when the item moved on while the dialog was open (it follows the item, so
/// what it shows is current); for a bulk decision, which items moved or left.
fn changed_since_open(app: &App, d: &ActionDialog) -> Option<String> {
    if !d.bulk.is_empty() {
        let moved: Vec<String> = d
            .bulk
            .iter()
            .filter_map(|(id, seen)| match app.data.approvals.get(id) {
                None => Some(format!("{} left the queue", sanitize_line(id))),
                Some(a) if a.version != *seen => Some(format!(
                    "{} version {seen} → {}",
                    sanitize_line(id),
                    a.version
                )),
                Some(_) => None,
            })
            .collect();
        return (!moved.is_empty()).then(|| {
            format!(
                "{}: those requests would be refused; cancel and look again",
                moved.join(", ")
            )
        });
    }
    (d.version != d.opened_version).then(|| {
        format!(
            "version {} → {} since this opened: this shows it as it is now, and Confirm \
             sends version {}",
            d.opened_version, d.version, d.version
        )
    })
}

fn status_lines(app: &App, d: &ActionDialog, w: usize) -> Vec<Line<'static>> {
    let t = &app.config.theme;
    let (text, style) = if d.in_flight.is_some() {
        (
            "⧗ Sending… waiting for the server; Enter sends nothing more".to_string(),
            t.warning,
        )
    } else if let Some(e) = &d.error {
        (format!("✗ {}", sanitize_line(e)), t.critical)
    } else {
        match d.action() {
            Err(why) => (format!("○ {why}"), t.muted),
            Ok(_) if d.focus == Focus::Confirm => ("● ready: Enter sends it".to_string(), t.ok),
            Ok(_) => (
                format!("● ready: Tab to {} and press Enter to send", d.kind.label()),
                t.ok,
            ),
        }
    };
    wrap(&text, w)
        .into_iter()
        .map(|l| Line::styled(l, style))
        .collect()
}

fn draw_field(frame: &mut Frame, t: &Theme, f: &TextField, focused: bool, area: Rect) {
    let [label, field] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(3)]).areas(area);
    let marker = if focused { "▸ " } else { "  " };
    frame.render_widget(
        Paragraph::new(fit_spans(
            vec![Span::styled(
                format!("{marker}{}", f.label),
                if focused { t.title_focused } else { t.muted },
            )],
            usize::from(label.width),
        )),
        label,
    );
    let block = Block::bordered().border_style(t.border_for(focused));
    let inner = block.inner(field);
    frame.render_widget(block, field);
    if focused {
        frame.render_widget(Paragraph::default().style(t.input_focused), inner);
        frame.render_widget(&f.area, inner);
    } else {
        let text = f.area.lines().join(" ");
        frame.render_widget(
            Paragraph::new(fit_spans(vec![Span::raw(text)], usize::from(inner.width)))
                .style(t.input),
            inner,
        );
    }
}
