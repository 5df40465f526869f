//! Fleet: every database with its health and evidence; sortable by any column.

use fleetdeck_api::{DbRole, Environment, text::sanitize_line};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Span;

use super::{TableSpec, draw_table, framed, sort_title};
use crate::app::App;
use crate::app::order::DbRow;
use crate::app::view::Pane;
use crate::theme::Theme;
use crate::ui::format::{count, seconds};
use crate::ui::status;
use crate::ui::widgets::{Col, col, grow};

const COLS: [Col; 8] = [
    // The id is what people search for, and the version is what a patch changes:
    // narrow panes drop ROLE, RING… before cutting either.
    grow("DATABASE", 24, 16).whole(),
    col("ENGINE", 15, 13).drops(3).whole(),
    col("ENV", 4, 4).drops(2),
    col("TIER", 4, 4).drops(4),
    col("RING", 4, 4).drops(5),
    col("ROLE", 7, 7).drops(6),
    col("HEALTH", 19, 18),
    col("EVIDENCE", 9, 8).drops(1),
];

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.config.theme;
    let inner = framed(
        frame,
        app,
        Pane::Fleet,
        area,
        vec![
            Span::styled(count(app.data.databases.len(), "database"), t.text),
            sort_title(app, Pane::Fleet, None),
        ],
    );
    let spec = TableSpec {
        pane: Pane::Fleet,
        cols: &COLS,
        nothing: "no databases yet",
    };
    draw_table(frame, app, inner, spec, &app.data.databases, |r| row(t, r));
}

fn row(t: &Theme, r: &DbRow) -> Vec<Vec<Span<'static>>> {
    let d = &r.db;
    let health = status::health(t, d.health.status);
    let mut health_cell = vec![health.span()];
    if let Some(lag) = d.health.replication_lag_s {
        health_cell.push(Span::styled(format!(" lag {}", seconds(lag)), health.style));
    }
    let env_style = if d.environment == Environment::Prod {
        t.accent
    } else {
        t.text
    };
    vec![
        vec![Span::styled(sanitize_line(&d.id).into_owned(), t.text)],
        vec![Span::styled(
            format!(
                "{} {}",
                sanitize_line(&d.engine),
                sanitize_line(&d.engine_version)
            ),
            t.text,
        )],
        vec![Span::styled(
            match d.environment {
                Environment::Staging => "stg",
                other => other.as_str(),
            },
            env_style,
        )],
        vec![Span::styled(format!("T{}", d.tier), t.text)],
        vec![Span::styled(format!("R{}", d.ring), t.text)],
        vec![Span::styled(
            match d.role {
                DbRole::Primary => "primary",
                DbRole::Replica => "replica",
                DbRole::Unknown => "?",
            },
            t.text,
        )],
        health_cell,
        vec![status::freshness(t, r.freshness).span()],
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn headings_are_the_sort_columns() {
        super::super::check_headings::<crate::app::order::FleetColumn>(&super::COLS);
    }
}
