//! Approvals: the pending exception queue, most urgent (soonest expiry) first unless
//! sorted by another column.

use fleetdeck_api::{Approval, ApprovalKind, text::sanitize_line};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Span;

use super::{TableSpec, draw_table, framed, sort_title};
use crate::app::App;
use crate::app::view::Pane;
use crate::ui::format::duration;
use crate::ui::widgets::{Col, col, grow};

const COLS: [Col; 7] = [
    // The id tells rows apart and is what `:approve` takes: it stays longest.
    col("ID", 6, 5).drops(1).whole(),
    col("KIND", 9, 9).drops(5),
    grow("SUBJECT", 24, 12),
    col("BY", 12, 6).drops(3).whole(),
    col("BLAST RADIUS", 17, 16).drops(2).whole(),
    col("OK", 3, 3).drops(4),
    col("EXPIRES", 7, 7),
];

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.config.theme;
    let n = app.data.approvals.len();
    let inner = framed(
        frame,
        app,
        Pane::Approvals,
        area,
        vec![
            Span::styled(
                format!("{n} pending"),
                if n > 0 { t.accent } else { t.muted },
            ),
            sort_title(app, Pane::Approvals, Some("soonest expiry first")),
        ],
    );
    let spec = TableSpec {
        pane: Pane::Approvals,
        cols: &COLS,
        nothing: "✓ nothing waits for approval",
    };
    draw_table(frame, app, inner, spec, &app.data.approvals, |a| {
        row(app, a)
    });
}

pub fn kind_word(kind: ApprovalKind) -> &'static str {
    match kind {
        ApprovalKind::RingPromotion => "promotion",
        ApprovalKind::PolicyException => "exception",
        ApprovalKind::Unknown => "unknown",
    }
}

fn row(app: &App, a: &Approval) -> Vec<Vec<Span<'static>>> {
    let t = &app.config.theme;
    let b = a.blast_radius;
    let left = a.expires_at - app.now();
    let (expires, expires_style) = if left <= chrono::Duration::zero() {
        ("✗ expired".to_string(), t.critical)
    } else if left < chrono::Duration::minutes(15) {
        (format!("▲ {}", duration(left)), t.warning)
    } else {
        (duration(left), t.text)
    };
    let blast_style = if b.prod > 0 || b.tier1 > 0 {
        t.warning
    } else {
        t.text
    };
    vec![
        vec![Span::styled(sanitize_line(&a.id).into_owned(), t.muted)],
        vec![Span::styled(kind_word(a.kind), t.text)],
        vec![Span::styled(sanitize_line(&a.subject).into_owned(), t.text)],
        vec![Span::styled(
            sanitize_line(&a.requested_by).into_owned(),
            t.text,
        )],
        vec![Span::styled(
            format!("{} db {} prod {} T1", b.databases, b.prod, b.tier1),
            blast_style,
        )],
        vec![Span::styled(
            format!("{}/{}", a.approvals_so_far(), a.approvals_required),
            t.text,
        )],
        vec![Span::styled(expires, expires_style)],
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn headings_are_the_sort_columns() {
        super::super::check_headings::<crate::app::order::ApprovalsColumn>(&super::COLS);
    }
}
