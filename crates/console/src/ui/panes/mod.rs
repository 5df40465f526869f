//! The five panes, one file each, and the tab bar used when only one fits.

mod approvals;
mod evidence;
mod fleet;
mod log;
mod rings;

pub(crate) use approvals::kind_word as approval_kind_word;
pub(crate) use log::window as log_window;
pub(crate) use rings::{card_at, on_resume, ring_line, rollback_stage, waits_for};

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::widgets::{Col, TableRows, empty, fit_spans, frame_block, table, window};
use crate::app::App;
use crate::app::indexes::{Collection, Keyed};
use crate::app::view::Pane;

pub fn draw(frame: &mut Frame, app: &App, pane: Pane, area: Rect) {
    match pane {
        Pane::Fleet => fleet::draw(frame, app, area),
        Pane::Rings => rings::draw(frame, app, area),
        Pane::Evidence => evidence::draw(frame, app, area),
        Pane::Approvals => approvals::draw(frame, app, area),
        Pane::Log => log::draw(frame, app, area),
    }
}

/// Draws the pane's frame titled `N Name · extra` and returns the inside.
fn framed(frame: &mut Frame, app: &App, pane: Pane, area: Rect, extra: Vec<Span<'static>>) -> Rect {
    let t = &app.config.theme;
    let focused = app.focus == pane;
    let mut title = vec![Span::styled(
        format!("{} {}", pane.number(), pane.title()),
        t.title_for(focused),
    )];
    // A filter and marks first: they change what the rest of the title counts.
    let mut extra = extra;
    if let Some(f) = app.filter_of(pane) {
        extra.insert(
            0,
            Span::styled(
                format!(
                    "/{} {} of {}",
                    fleetdeck_api::text::sanitize_line(&f.text),
                    app.pane_len(pane),
                    app.pane_total(pane)
                ),
                t.matched,
            ),
        );
    }
    let marked = app.marks.count(pane);
    if marked > 0 {
        extra.insert(0, Span::styled(format!("✓{marked} marked"), t.marked));
    }
    for s in extra {
        title.push(Span::styled(" · ", t.muted));
        title.push(s);
    }
    let max = usize::from(area.width.saturating_sub(4));
    let mut block = frame_block(t, fit_spans(title, max).spans, focused);
    if app.session.production {
        block = block.border_style(t.border_production);
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    inner
}

/// What an empty pane says: when a filter hid every row, that (not "nothing here").
fn empty_text(app: &App, pane: Pane, nothing: &str) -> String {
    match app.filter_of(pane) {
        Some(f) if app.pane_total(pane) > 0 => format!(
            "no {} matches /{} ({} hidden) · Esc clears",
            if pane == Pane::Log { "line" } else { "row" },
            fleetdeck_api::text::sanitize_line(&f.text),
            app.pane_total(pane)
        ),
        _ => nothing.to_string(),
    }
}

/// One table row as cells of styled spans.
type Cells = Vec<Vec<Span<'static>>>;

/// The title's word on a pane's order: its own phrase (`worst first`) while it has its
/// default sort, else the column and direction (`by restore ▼`).
fn sort_title(app: &App, pane: Pane, own: Option<&str>) -> Span<'static> {
    let style = app.config.theme.muted;
    if app.filter_of(pane).is_some_and(|f| f.query.ranks()) {
        return Span::styled("best match first", style);
    }
    match (app.sort_of(pane), own) {
        (Some(s), Some(own)) if s.is_default => Span::styled(own.to_string(), style),
        (Some(s), _) => Span::styled(format!("by {} {}", s.word, s.arrow()), style),
        (None, _) => Span::raw(""),
    }
}

/// What a table pane is: its columns and what it says when it has no rows at all.
struct TableSpec<'a> {
    pane: Pane,
    cols: &'a [Col],
    nothing: &'a str,
}

/// Draws a table pane's inside: the window of `items` around the selection (only the
/// visible rows are built, by `row`), marks and filter highlights, the sorted column's
/// arrow in the heading; or, with no rows, why there are none.
fn draw_table<T: Keyed, S>(
    frame: &mut Frame,
    app: &App,
    inner: Rect,
    spec: TableSpec,
    items: &Collection<T, S>,
    row: impl Fn(&T) -> Cells,
) {
    let TableSpec {
        pane,
        cols,
        nothing,
    } = spec;
    let t = &app.config.theme;
    if items.is_empty() {
        empty(frame, inner, t.muted, &empty_text(app, pane, nothing));
        return;
    }
    let height = usize::from(inner.height.saturating_sub(1));
    let (start, selected) = table_window(app, pane, height);
    let rows = items.iter_from(start).take(height).map(row).collect();
    let (rows, marked) = decorate(app, pane, start, rows);
    table(
        frame,
        inner,
        t,
        TableRows {
            cols,
            // A ranking filter orders by match: no column's arrow claims the order.
            sorted: app
                .sort_of(pane)
                .filter(|_| !app.filter_of(pane).is_some_and(|f| f.query.ranks()))
                .map(|s| (s.index, s.arrow())),
            rows,
            selected: selected.map(|s| s - start),
            focused: app.focus == pane,
            marked,
        },
    );
}

/// Marks and filter highlights for the visible rows of a table pane starting at
/// display position `start`: returns the rows with matched characters restyled, and
/// which rows are marked. Only visible rows are ever touched.
fn decorate(app: &App, pane: Pane, start: usize, rows: Vec<Cells>) -> (Vec<Cells>, Vec<bool>) {
    let marked = if app.marks.count(pane) > 0 {
        (0..rows.len())
            .map(|i| {
                app.id_at(pane, start + i)
                    .is_some_and(|id| app.marks.is_marked(pane, &id))
            })
            .collect()
    } else {
        Vec::new()
    };
    let Some(filter) = app.filter_of(pane) else {
        return (rows, marked);
    };
    let style = app.config.theme.matched;
    let rows = rows
        .into_iter()
        .map(|cells| highlight(cells, &filter.query, style))
        .collect();
    (rows, marked)
}

/// Restyles the characters of each cell the filter's words matched (a fuzzy word
/// matches within one column, as the filter reads it).
fn highlight(
    cells: Cells,
    query: &crate::app::filter::Query,
    style: ratatui::style::Style,
) -> Cells {
    cells
        .into_iter()
        .map(|cell| {
            let text: String = cell.iter().map(|s| s.content.as_ref()).collect();
            let hits = query.highlights(&text);
            if hits.is_empty() {
                cell
            } else {
                highlight_cell(cell, &hits, style)
            }
        })
        .collect()
}

/// Restyles the characters of one cell at positions `hits`.
fn highlight_cell(
    cell: Vec<Span<'static>>,
    hits: &[u32],
    style: ratatui::style::Style,
) -> Vec<Span<'static>> {
    let mut at: u32 = 0;
    let mut spans = Vec::new();
    for span in cell {
        // Split the span into runs of hit and not-hit characters.
        let mut run = String::new();
        let mut run_hit = false;
        for ch in span.content.chars() {
            let hit = hits.binary_search(&at).is_ok();
            if hit != run_hit && !run.is_empty() {
                let st = if run_hit {
                    span.style.patch(style)
                } else {
                    span.style
                };
                spans.push(Span::styled(std::mem::take(&mut run), st));
            }
            run_hit = hit;
            run.push(ch);
            at += 1;
        }
        if !run.is_empty() {
            let st = if run_hit {
                span.style.patch(style)
            } else {
                span.style
            };
            spans.push(Span::styled(run, st));
        }
    }
    spans
}

/// The first visible row of a table pane with `height` item rows.
pub(crate) fn table_window(app: &App, pane: Pane, height: usize) -> (usize, Option<usize>) {
    let selected = app.selected_index(pane);
    let offset = app.selection(pane).map_or(0, |s| s.offset);
    (
        window(offset, selected, app.pane_len(pane), height),
        selected,
    )
}

/// A tab's text: number, name, and a count where something waits for a human.
pub(crate) fn tab_label(app: &App, pane: Pane) -> String {
    let c = app.data.counts;
    let badge = match pane {
        Pane::Approvals if c.pending_approvals > 0 => format!(" ⧗{}", c.pending_approvals),
        Pane::Evidence if c.evidence_bad() > 0 => format!(" ▲{}", c.evidence_bad()),
        Pane::Rings if c.campaigns_paused + c.campaigns_failed > 0 => {
            let mut b = String::new();
            if c.campaigns_paused > 0 {
                b.push_str(&format!(" ‖{}", c.campaigns_paused));
            }
            if c.campaigns_failed > 0 {
                b.push_str(&format!(" ✗{}", c.campaigns_failed));
            }
            b
        }
        _ => String::new(),
    };
    format!("{} {}{badge}", pane.number(), pane.title())
}

/// Where each tab is on the tab row: (pane, first column, width), for mouse clicks.
/// Every tab is drawn one column wider on each side (brackets or spaces).
pub(crate) fn tab_spans(app: &App, x: u16) -> Vec<(Pane, u16, u16)> {
    let mut at = x + 1;
    Pane::ALL
        .iter()
        .map(|&pane| {
            let w = crate::ui::format::width(&tab_label(app, pane)) as u16 + 2;
            let out = (pane, at, w);
            at += w + 1;
            out
        })
        .collect()
}

/// `1 Fleet  2 Rings  …` with the focused one marked in brackets, and a count where
/// something waits for a human.
pub fn draw_tabs(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.config.theme;
    let mut spans = vec![Span::raw(" ")];
    for pane in Pane::ALL {
        let label = tab_label(app, pane);
        if pane == app.focus {
            spans.push(Span::styled(format!("[{label}]"), t.title_focused));
        } else {
            spans.push(Span::styled(format!(" {label} "), t.muted));
        }
        spans.push(Span::raw(" "));
    }
    if app.zoom {
        spans.push(Span::styled("(zoomed)", t.muted));
    }
    let line: Line = fit_spans(spans, usize::from(area.width));
    frame.render_widget(Paragraph::new(line), area);
}

/// Each table pane's headings, in order, are its sort columns: the heading, lower-case,
/// starts with the column's `:sort` word (so the arrow lands on the column sorted).
#[cfg(test)]
fn check_headings<C: crate::app::order::Column>(cols: &[Col]) {
    assert_eq!(cols.len(), C::ALL.len());
    for (col, c) in cols.iter().zip(C::ALL) {
        assert!(
            col.title.to_lowercase().starts_with(c.word()),
            "{} is not {:?}",
            col.title,
            c
        );
    }
}
