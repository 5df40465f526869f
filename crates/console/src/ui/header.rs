//! The top two rows: connection and data age, context, user and clock; then the
//! counts that matter. Disconnected is said in words across the whole row.

use fleetdeck_api::text::sanitize_line;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::format::{clock_in, duration, ellipsize, width};
use super::widgets::fit_spans;
use crate::app::App;
use crate::message::ConnState;

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    if area.height == 0 {
        return;
    }
    let t = &app.config.theme;
    let disconnected = matches!(app.conn, ConnState::Disconnected { .. });
    let row_style = if disconnected {
        t.disconnected
    } else {
        t.header
    };
    let w = usize::from(area.width);

    // The left (connection, data age, context) matters most: the right side gives
    // up the roles, then the user, before the left is cut; the reason for a
    // disconnection is cut before the context (where the console points, the port
    // included) is.
    let (left_full, reason) = left_side(app, row_style, w);
    let fits = |right: &[Span<'_>]| width_of(&left_full) + width_of(right) < w;
    let mut right = right_side(app, row_style, true);
    if !fits(&right) {
        right = right_side(app, row_style, false);
    }
    if !fits(&right) {
        right = vec![Span::styled(clock_in(app.now(), app.local_time), row_style)];
    }
    let room = w.saturating_sub(width_of(&right) + 1);
    let left = fit_spans(fit_reason(left_full, reason, room), room);
    let right = fit_spans(right, w.saturating_sub(width_of_line(&left)));
    let row1 = Rect::new(area.x, area.y, area.width, 1);
    frame.render_widget(Paragraph::new(left).style(row_style), row1);
    frame.render_widget(Paragraph::new(right.right_aligned()), row1);

    if area.height > 1 {
        let row2 = Rect::new(area.x, area.y + 1, area.width, 1);
        frame.render_widget(Paragraph::new(fit_spans(counts(app, w), w)), row2);
    }
}

/// Cuts the disconnection reason (span `reason`) so the spans after it, the context,
/// still fit in `room`.
fn fit_reason(
    mut spans: Vec<Span<'static>>,
    reason: Option<usize>,
    room: usize,
) -> Vec<Span<'static>> {
    let over = width_of(&spans).saturating_sub(room);
    if over == 0 {
        return spans;
    }
    if let Some(s) = reason.and_then(|i| spans.get_mut(i)) {
        // The cut shows as `…`, and a space still parts it from the context.
        let keep = width(&s.content).saturating_sub(over + 1);
        s.content = format!("{} ", ellipsize(s.content.trim_end(), keep.max(1))).into();
    }
    spans
}

fn width_of(spans: &[Span<'_>]) -> usize {
    spans.iter().map(|s| width(&s.content)).sum()
}

fn width_of_line(line: &Line<'_>) -> usize {
    width_of(&line.spans)
}

/// The left side's spans, and which of them is the reason for a disconnection.
fn left_side(app: &App, row: Style, width: usize) -> (Vec<Span<'static>>, Option<usize>) {
    let t = &app.config.theme;
    let now = app.now();
    let age = app.data_age();
    let stale = chrono::Duration::from_std(app.config.stale_after).is_ok_and(|limit| age > limit);
    let age_text = if app.last_alive.is_none() {
        "no data yet".to_string()
    } else if stale {
        format!("data {} old: STALE", duration(age))
    } else {
        format!("data {} old", duration(age))
    };
    let mut spans = Vec::new();
    let mut reason_at = None;
    // Where you are and what you may do come first: they change what every key means.
    if app.session.production {
        spans.push(Span::styled(" ▲ PRODUCTION ", t.production));
        spans.push(Span::styled(" ", row));
    }
    if app.read_only {
        spans.push(Span::styled(" READ-ONLY ", t.read_only));
        spans.push(Span::styled(" ", row));
    }
    spans.extend(match &app.conn {
        ConnState::Connecting => vec![Span::styled(" … CONNECTING ", row.patch(t.warning))],
        ConnState::Connected { .. } => vec![Span::styled(" ● connected ", row.patch(t.ok))],
        ConnState::Disconnected { since, .. } => vec![Span::styled(
            format!(" ✗ DISCONNECTED {} ", duration(now - *since)),
            row,
        )],
    });
    let age_style = if stale { row.patch(t.critical) } else { row };
    spans.push(Span::styled(format!("· {age_text} "), age_style));
    if let ConnState::Disconnected {
        reason,
        attempt,
        retry_in,
        ..
    } = &app.conn
    {
        reason_at = Some(spans.len());
        spans.push(Span::styled(
            format!(
                "· retry #{attempt} in {}: {} ",
                duration(chrono::Duration::from_std(*retry_in).unwrap_or_default()),
                sanitize_line(reason)
            ),
            row,
        ));
    }
    let product = if width >= 100 { "fleetdeck · " } else { "" };
    spans.push(Span::styled(
        format!("│ {product}{} ", sanitize_line(&app.config.context)),
        row,
    ));
    (spans, reason_at)
}

fn right_side(app: &App, row: Style, with_roles: bool) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    if let Some(who) = &app.whoami {
        let roles: Vec<&str> = who.roles.iter().map(|r| r.as_str()).collect();
        let text = if with_roles {
            format!("{} ({}) ", sanitize_line(&who.user), roles.join(", "))
        } else {
            format!("{} ", sanitize_line(&who.user))
        };
        spans.push(Span::styled(text, row));
    }
    spans.push(Span::styled(clock_in(app.now(), app.local_time), row));
    spans
}

/// The counts that matter, in words; on a narrow row the campaigns' counts keep only
/// their glyphs (as the Rings tab shows them) so the evidence counts keep theirs.
fn counts(app: &App, w: usize) -> Vec<Span<'static>> {
    let full = counts_in(app, true);
    if width_of(&full) <= w {
        full
    } else {
        counts_in(app, false)
    }
}

fn counts_in(app: &App, campaign_words: bool) -> Vec<Span<'static>> {
    let t = &app.config.theme;
    let c = app.data.counts;
    let n = |v: usize, glyph: &str, word: &str, style: Style| {
        let text = if word.is_empty() {
            format!("{glyph}{v}")
        } else {
            format!("{glyph}{v} {word}")
        };
        Span::styled(text, if v > 0 { style } else { t.muted })
    };
    let word = |w: &'static str| if campaign_words { w } else { "" };
    let sep = || Span::styled(" · ", t.muted);
    vec![
        Span::raw(" "),
        n(c.pending_approvals, "⧗", "to approve", t.accent),
        sep(),
        Span::styled("evidence ", t.muted),
        n(c.evidence_failed, "✗", "failed", t.critical),
        Span::raw(" "),
        n(c.evidence_stale, "▲", "stale", t.critical),
        Span::raw(" "),
        n(c.evidence_never, "∅", "never", t.critical),
        sep(),
        Span::styled("campaigns ", t.muted),
        n(c.campaigns_paused, "‖", word("paused"), t.warning),
        Span::raw(" "),
        n(c.campaigns_failed, "✗", word("failed"), t.critical),
    ]
}
