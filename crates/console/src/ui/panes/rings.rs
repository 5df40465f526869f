//! Rings: each campaign as a card: its state, one gauge per ring with the gate and its
//! failure budget, why it is paused and what it waits for.

use fleetdeck_api::{
    Campaign, CampaignState, GateState, RevertCounts, Ring, RollbackStage, RollbackStatus,
    text::sanitize_line,
};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{empty_text, framed, sort_title};
use crate::app::App;
use crate::app::view::Pane;
use crate::theme::Theme;
use crate::ui::format::{clock, count, ordinal, width};
use crate::ui::status;
use crate::ui::widgets::{empty, fit_spans, wrap_spans};

const GAUGE: usize = 8;

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.config.theme;
    let n = app.data.campaigns.len();
    let inner = framed(
        frame,
        app,
        Pane::Rings,
        area,
        vec![
            Span::styled(count(n, "campaign"), t.text),
            sort_title(app, Pane::Rings, Some("needing a human first")),
        ],
    );
    if n == 0 {
        empty(
            frame,
            inner,
            t.muted,
            &empty_text(app, Pane::Rings, "no campaigns"),
        );
        return;
    }
    let height = usize::from(inner.height);
    let selected = app.selected_index(Pane::Rings);
    let w = usize::from(inner.width);
    let start = card_window(app, selected, height, w);
    let focused = app.focus == Pane::Rings;
    let mut lines: Vec<Line> = Vec::with_capacity(height);
    for (i, c) in app.data.campaigns.iter_from(start).enumerate() {
        if lines.len() >= height {
            break;
        }
        let is_sel = Some(start + i) == selected;
        let marked = app.marks.is_marked(Pane::Rings, &c.id);
        for (j, mut spans) in card(t, c).into_iter().enumerate() {
            // A mark shows in the card's first column, as in the table panes.
            if j == 0 && marked && !spans.is_empty() {
                spans[0] = Span::styled("✓", t.marked);
            }
            if j > 0 {
                lines.extend(card_line(c, j, spans, w));
                continue;
            }
            let mut line = fit_spans(spans, w);
            if is_sel {
                line = line.style(if focused {
                    t.selection
                } else {
                    t.selection.remove_modifier(ratatui::style::Modifier::BOLD)
                });
            }
            lines.push(line);
        }
    }
    lines.truncate(height);
    frame.render_widget(Paragraph::new(lines), inner);
}

/// Line `j` (> 0) of campaign `c`'s card: a ring, why it is paused, what it waits
/// for. Reasons are read in full: a failed gate's ring line and the lines after the
/// rings wrap when too long for the pane, hanging under their last part when that
/// leaves it half the width; a ring's budget line is cut.
fn card_line(c: &Campaign, j: usize, spans: Vec<Span<'static>>, w: usize) -> Vec<Line<'static>> {
    let reason = c
        .rings
        .get(j - 1)
        .is_none_or(|r| r.gate.state == GateState::Failed);
    let total: usize = spans.iter().map(|s| width(&s.content)).sum();
    if total <= w || !reason {
        return vec![fit_spans(spans, w)];
    }
    let lead: usize = spans[..spans.len().saturating_sub(1)]
        .iter()
        .map(|s| width(&s.content))
        .sum();
    let indent = if spans.len() > 1 && lead <= w / 2 {
        lead
    } else {
        5
    };
    wrap_spans(spans, w, indent)
}

/// Which campaign's card is on row `row` of the Rings pane's inside `area`, as
/// drawing places them; `None` below the last card.
pub(crate) fn card_at(app: &App, area: Rect, row: u16) -> Option<usize> {
    let (height, w) = (usize::from(area.height), usize::from(area.width));
    let start = card_window(app, app.selected_index(Pane::Rings), height, w);
    let mut top = 0;
    for (i, c) in app.data.campaigns.iter_from(start).enumerate() {
        top += card_height(&app.config.theme, c, w);
        if usize::from(row) < top {
            return Some(start + i);
        }
        if top >= height {
            break;
        }
    }
    None
}

/// Lines a card takes in a pane `w` wide, wrapped lines included.
fn card_height(t: &Theme, c: &Campaign, w: usize) -> usize {
    1 + card(t, c)
        .into_iter()
        .enumerate()
        .skip(1)
        .map(|(j, spans)| card_line(c, j, spans, w).len())
        .sum::<usize>()
}

/// What the campaign waits for, while that can be so: a paused campaign waits for a
/// resume (a server before `on_resume` still sent what it had waited for).
pub(crate) fn waits_for(c: &Campaign) -> Option<&str> {
    c.waiting_for
        .as_deref()
        .filter(|_| c.state != CampaignState::Paused)
}

/// What resuming a paused campaign will do.
pub(crate) fn on_resume(c: &Campaign) -> Option<&str> {
    c.on_resume
        .as_deref()
        .filter(|_| c.state == CampaignState::Paused)
}

/// Where a rollback is, in words.
pub(crate) fn rollback_stage(stage: RollbackStage) -> &'static str {
    match stage {
        RollbackStage::Disable => "stage 1/4: nothing new dispatched",
        RollbackStage::Revert => "stage 2/4: reverting patched targets",
        RollbackStage::Repair => "stage 3/4: checking reverted targets' health",
        RollbackStage::Reconcile => "stage 4/4: comparing versions",
        RollbackStage::Done => "finished",
        RollbackStage::Unknown => "at an unknown stage",
    }
}

/// The reconcile report in one line: every mismatch, or that there is none.
fn mismatches(rb: &RollbackStatus) -> Option<String> {
    if rb.stage != RollbackStage::Done {
        return None;
    }
    if rb.mismatches.is_empty() {
        return Some("✓ every target runs its declared version".into());
    }
    let each: Vec<String> = rb
        .mismatches
        .iter()
        .map(|m| {
            format!(
                "{} runs {}, declared {}",
                sanitize_line(&m.database_id),
                sanitize_line(&m.actual_version),
                sanitize_line(&m.declared_version)
            )
        })
        .collect();
    Some(format!("✗ {} mismatched: {}", each.len(), each.join("; ")))
}

/// First card to draw: as many cards above the selected one as fit with it, so
/// the selected card is always whole on screen and short lists start at the top.
fn card_window(app: &App, selected: Option<usize>, height: usize, w: usize) -> usize {
    let Some(sel) = selected else {
        return 0;
    };
    let lines = |c: &Campaign| card_height(&app.config.theme, c, w);
    let mut start = sel;
    let mut used = app.data.campaigns.at(sel).map_or(1, lines);
    while start > 0 {
        let above = app.data.campaigns.at(start - 1).map_or(1, lines);
        if used + above > height {
            break;
        }
        used += above;
        start -= 1;
    }
    start
}

fn card(t: &Theme, c: &Campaign) -> Vec<Vec<Span<'static>>> {
    let state = status::campaign(t, c.state);
    let mut lines = Vec::new();
    let ring_pos = match c.current_ring {
        Some(r) => format!("  at R{r} of {}", c.rings.len()),
        None => String::new(),
    };
    lines.push(vec![
        Span::raw(" "),
        state.span(),
        Span::styled(format!("  {}", sanitize_line(&c.id)), t.accent),
        Span::styled(format!("{ring_pos}  "), t.text),
        Span::styled(
            format!(
                "{} → {}",
                sanitize_line(&c.title),
                sanitize_line(&c.target_version)
            ),
            t.muted,
        ),
    ]);
    for r in &c.rings {
        lines.push(ring_line(t, c, r));
    }
    if let Some(reason) = &c.paused_reason {
        lines.push(vec![Span::styled(
            format!("   ‖ paused: {}", sanitize_line(reason)),
            t.warning,
        )]);
    }
    if let Some(then) = on_resume(c) {
        lines.push(vec![Span::styled(
            format!("   ▶ on resume: {}", sanitize_line(then)),
            t.text,
        )]);
    }
    if let Some(waiting) = waits_for(c) {
        lines.push(vec![Span::styled(
            format!("   ⧗ waits for: {}", sanitize_line(waiting)),
            t.warning,
        )]);
    }
    if let Some(rb) = &c.rollback {
        let report = mismatches(rb).map_or(String::new(), |m| format!(" · {m}"));
        let style = if rb.stage == RollbackStage::Done && rb.mismatches.is_empty() {
            t.muted
        } else {
            t.critical
        };
        lines.push(vec![Span::styled(
            format!(
                "   ↺ rollback {}{report} · {}",
                rollback_stage(rb.stage),
                sanitize_line(&rb.reason)
            ),
            style,
        )]);
    }
    lines
}

pub(crate) fn ring_line(t: &Theme, c: &Campaign, r: &Ring) -> Vec<Span<'static>> {
    let (done, failed, total) = r.progress();
    let cells = |n: usize| (n * GAUGE).checked_div(total).unwrap_or(0);
    let (d, f) = (cells(done), cells(failed).max(usize::from(failed > 0)));
    let rest = GAUGE.saturating_sub(d + f);
    let rs = status::ring(t, r.state);
    let budget = c.gate.failure_budget;
    // After a rollback, what it did replaces the ring's state and gate (the gauge keeps
    // what the patches did): the line is read for that, and must not be cut first.
    let (state, gate, gate_style) = match r.revert_counts() {
        Some(n) => {
            let (text, style) = reverted(t, n);
            (vec![Span::styled("↺ ", t.muted)], text, style)
        }
        None => {
            let (text, style) = gate(t, r, budget);
            (vec![rs.span(), Span::styled(" · ", t.muted)], text, style)
        }
    };
    // Every ring's label takes the same width, prod or not, so the gauges line up
    // down the card; the counts take the width of the campaign's largest ring.
    let widest = |f: fn(&Ring) -> usize| c.rings.iter().map(f).max().unwrap_or(0);
    let label_w = widest(|r| format!("R{}", r.index).len());
    let n = widest(|r| r.targets.len()).to_string().len();
    let mut line = vec![
        Span::styled(
            format!(
                "  {:<label_w$} {:<4} ",
                format!("R{}", r.index),
                if r.contains_prod { "prod" } else { "" }
            ),
            if r.contains_prod { t.accent } else { t.text },
        ),
        Span::styled("█".repeat(d), t.gauge_done),
        Span::styled("▒".repeat(f.min(GAUGE - d)), t.gauge_failed),
        Span::styled("░".repeat(rest), t.gauge_rest),
        Span::styled(format!(" {done:>n$}✓ {failed:>n$}✗ /{total:<n$} "), t.text),
    ];
    line.extend(state);
    line.push(Span::styled(gate, gate_style));
    line
}

/// What a rollback did to a ring's targets (the gauge keeps what their patches did).
fn reverted(t: &Theme, n: RevertCounts) -> (String, Style) {
    let parts: Vec<String> = [
        (n.reverting, "◐ ", "reverting"),
        (n.reverted, "", "reverted"),
        (n.revert_failed, "✗ ", "not reverted"),
        (n.not_patched, "", "never patched"),
    ]
    .into_iter()
    .filter(|(k, ..)| *k > 0)
    .map(|(k, glyph, what)| format!("{glyph}{k} {what}"))
    .collect();
    let style = if n.revert_failed > 0 {
        t.critical
    } else {
        t.text
    };
    (parts.join(" · "), style)
}

/// The ring's gate: its failure budget, its bake, or why it failed.
fn gate(t: &Theme, r: &Ring, budget: u32) -> (String, Style) {
    let gate = match r.gate.state {
        GateState::Failed => format!(
            "✗ gate failed: {}",
            r.gate
                .reason
                .as_deref()
                .map_or("no reason given".into(), sanitize_line)
        ),
        // The budget always shows; a watching gate adds when its bake ends.
        state => {
            let budget = format!(
                "pauses at {} failure: {} so far",
                ordinal(budget.max(1)),
                r.gate.failures
            );
            match (state, r.gate.bake_until) {
                (GateState::Watching, Some(until)) => {
                    format!("{budget} · ◐ baking until {}", clock(until))
                }
                (GateState::Watching, None) => format!("{budget} · ◐ watching"),
                _ => budget,
            }
        }
    };
    let style = match r.gate.state {
        GateState::Failed => t.critical,
        _ if r.gate.failures > 0 => t.warning,
        _ => t.muted,
    };
    (gate, style)
}
