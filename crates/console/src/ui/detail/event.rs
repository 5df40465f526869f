//! One event of the log with its full text.

use fleetdeck_api::Event;
use ratatui::text::Line;

use super::{blank, clean, heading, kv, paragraph};
use crate::app::App;
use crate::ui::status;

pub fn lines(app: &App, e: &Event, w: usize) -> Vec<Line<'static>> {
    let t = &app.config.theme;
    let lvl = status::level(t, e.level);
    let mut out = Vec::new();
    out.extend(kv(
        t,
        "When",
        &crate::ui::format::stamp_in(e.at, app.local_time),
        t.text,
        w,
    ));
    out.extend(kv(
        t,
        "What",
        &format!("{} {} · {}", lvl.glyph, lvl.word, clean(&e.kind)),
        lvl.style,
        w,
    ));
    out.extend(kv(t, "Actor", &clean(&e.actor), t.text, w));
    let subject = e.subject.label();
    if !subject.is_empty() {
        out.extend(kv(t, "Subject", &clean(&subject), t.accent, w));
    }
    if let Some(c) = &e.correlation_id {
        out.extend(kv(t, "Correlation", &clean(c), t.muted, w));
    }
    out.push(blank());
    out.push(heading(t, "Message"));
    out.extend(paragraph(&e.message, t.text, 3, w));
    out
}
