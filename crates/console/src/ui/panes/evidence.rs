//! Evidence: restore-drill evidence per database, worst first unless sorted by another
//! column.

use fleetdeck_api::{DrillState, Evidence, text::sanitize_line};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Span;

use super::{TableSpec, draw_table, framed, sort_title};
use crate::app::App;
use crate::app::view::Pane;
use crate::ui::format::{ago_short, count, duration, seconds};
use crate::ui::status;
use crate::ui::widgets::{Col, col, grow};

const COLS: [Col; 6] = [
    grow("DATABASE", 22, 10).whole(),
    col("EVIDENCE", 8, 8),
    col("GOOD/POLICY", 13, 12).drops(1).whole(),
    col("RESTORE", 7, 5).drops(4),
    col("CHECKSUM", 10, 10).drops(3),
    col("LATEST DRILL", 17, 16).drops(2),
];

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.config.theme;
    let c = app.data.counts;
    let inner = framed(
        frame,
        app,
        Pane::Evidence,
        area,
        vec![
            Span::styled(count(app.data.evidence.len(), "database"), t.text),
            Span::styled(
                format!(
                    "{} failed · {} stale · {} never",
                    c.evidence_failed, c.evidence_stale, c.evidence_never
                ),
                if c.evidence_bad() > 0 {
                    t.critical
                } else {
                    t.muted
                },
            ),
            sort_title(app, Pane::Evidence, Some("worst first")),
        ],
    );
    let spec = TableSpec {
        pane: Pane::Evidence,
        cols: &COLS,
        nothing: "no evidence yet",
    };
    draw_table(frame, app, inner, spec, &app.data.evidence, |e| row(app, e));
}

/// The evidence cell, flagged `⚑` when the last good drill missed a recovery
/// objective (the database detail says which).
fn objectives_flag(app: &App, e: &Evidence, cell: Span<'static>) -> Vec<Span<'static>> {
    let mut spans = vec![cell];
    if !e.missed_objectives().is_empty() {
        spans.push(Span::styled(" ⚑", app.config.theme.critical));
    }
    spans
}

fn row(app: &App, e: &Evidence) -> Vec<Vec<Span<'static>>> {
    let t = &app.config.theme;
    let now = app.now();
    let fresh = status::freshness(t, Some(e.freshness));
    let last_good = match e.last_good_at {
        Some(at) => format!("{} / {}d", ago_short(now, at), e.interval_days),
        None => format!("never / {}d", e.interval_days),
    };
    // RESTORE, CHECKSUM and LATEST DRILL all describe the latest drill: a row never
    // mixes a good drill's checksum with a failed drill's verdict.
    let restore = match e.latest.as_ref() {
        Some(d) => match d.restore_seconds {
            Some(s) => Span::styled(seconds(s), t.text),
            None if d.state == DrillState::Running => Span::styled("…", t.muted),
            None => Span::styled("–", t.muted),
        },
        None => Span::styled("–", t.muted),
    };
    let checksum = match e.latest.as_ref() {
        Some(d) if d.state == DrillState::Running && d.checksum_ok.is_none() => {
            Span::styled("… pending", t.muted)
        }
        Some(d) => status::checksum(t, d.checksum_ok).span(),
        None => status::checksum(t, None).span(),
    };
    let latest = match &e.latest {
        Some(d) if d.state == DrillState::Running => {
            let s = status::drill(t, d.state);
            vec![Span::styled(
                format!("{} for {}", s.text(), duration(now - d.started_at)),
                s.style,
            )]
        }
        Some(d) => {
            let s = status::drill(t, d.state);
            let word = if d.state == DrillState::Succeeded {
                "ok"
            } else {
                s.word
            };
            let when = d.finished_at.unwrap_or(d.started_at);
            vec![Span::styled(
                format!("{} {word} {}", s.glyph, ago_short(now, when)),
                s.style,
            )]
        }
        None => vec![Span::styled("– none", t.muted)],
    };
    vec![
        vec![Span::styled(
            sanitize_line(&e.database_id).into_owned(),
            t.text,
        )],
        objectives_flag(app, e, fresh.span()),
        vec![Span::styled(last_good, fresh.style)],
        vec![restore],
        vec![checksum],
        latest,
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn headings_are_the_sort_columns() {
        super::super::check_headings::<crate::app::order::EvidenceColumn>(&super::COLS);
    }
}
