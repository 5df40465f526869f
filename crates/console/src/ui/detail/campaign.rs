//! A campaign with every ring and every target, drawn live from state.

use fleetdeck_api::{Campaign, RevertOutcome, RollbackStage, Target, TargetState};
use ratatui::text::{Line, Span};

use super::{blank, clean, heading, kv, paragraph, spans};
use crate::app::App;
use crate::theme::Theme;
use crate::ui::format::{ago, count, duration};
use crate::ui::panes::{on_resume, ring_line, rollback_stage, waits_for};
use crate::ui::status;

pub fn lines(app: &App, id: &str, w: usize) -> Vec<Line<'static>> {
    let t = &app.config.theme;
    let now = app.now();
    let Some(c) = app.data.campaigns.get(id) else {
        return vec![heading(t, &format!("{} is not known here", clean(id)))];
    };
    let mut out = Vec::new();
    let s = status::campaign(t, c.state);
    out.extend(kv(
        t,
        "Change",
        &format!("{} → {}", clean(&c.title), clean(&c.target_version)),
        t.text,
        w,
    ));
    let at = c.current_ring.map_or(String::new(), |r| {
        format!(" at ring {r} of {}", c.rings.len())
    });
    out.extend(kv(t, "State", &format!("{}{at}", s.text()), s.style, w));
    out.extend(kv(
        t,
        "Started",
        &format!(
            "by {} {} · updated {} · version {}",
            clean(&c.created_by),
            ago(now, c.created_at),
            ago(now, c.updated_at),
            c.version
        ),
        t.text,
        w,
    ));
    let g = &c.gate;
    out.extend(kv(
        t,
        "Gate",
        &format!(
            "pauses at {} in a ring · bake {} · replica lag over {}s fails · {} at once",
            count(g.failure_budget as usize, "failed target"),
            duration(chrono::Duration::seconds(g.bake_seconds as i64)),
            g.max_replication_lag_s,
            g.concurrency
        ),
        t.text,
        w,
    ));
    if let Some(r) = &c.paused_reason {
        out.extend(kv(t, "Paused", &clean(r), t.warning, w));
    }
    if let Some(r) = on_resume(c) {
        out.extend(kv(t, "On resume", &clean(r), t.text, w));
    }
    if let Some(r) = waits_for(c) {
        out.extend(kv(t, "Waits for", &clean(r), t.warning, w));
    }
    if let Some(rb) = &c.rollback {
        let finished = rb
            .finished_at
            .map_or(String::new(), |at| format!(" {}", ago(now, at)));
        out.extend(kv(
            t,
            "Rollback",
            &format!(
                "{}{finished} · requested by {} {} · {}",
                rollback_stage(rb.stage),
                clean(&rb.requested_by),
                ago(now, rb.started_at),
                clean(&rb.reason)
            ),
            t.critical,
            w,
        ));
        if rb.stage == RollbackStage::Done && rb.mismatches.is_empty() {
            out.extend(kv(
                t,
                "  reconcile",
                "✓ every target runs its declared version",
                t.text,
                w,
            ));
        }
        for m in &rb.mismatches {
            out.extend(kv(
                t,
                "  ✗ mismatch",
                &format!(
                    "{}: declared {}, actual {}",
                    clean(&m.database_id),
                    clean(&m.declared_version),
                    clean(&m.actual_version)
                ),
                t.critical,
                w,
            ));
        }
    }
    // Ids aligned in one column across the campaign (bounded, so one odd id does not
    // push everything off screen).
    let id_width = c
        .rings
        .iter()
        .flat_map(|r| &r.targets)
        .map(|t| crate::ui::format::width(&clean(&t.database_id)))
        .max()
        .unwrap_or(0)
        .min(32);
    for r in &c.rings {
        out.push(blank());
        out.push(spans(ring_line(t, c, r), w));
        if let Some(a) = &r.approval_id {
            out.push(spans(
                vec![Span::styled(
                    format!("     promotion approval {}", clean(a)),
                    t.muted,
                )],
                w,
            ));
        }
        for target in &r.targets {
            out.push(target_line(t, app, c, target, id_width, w));
            // The message in full under its target: it is often the cause.
            if let Some(m) = &target.message {
                let style = if target.state == fleetdeck_api::TargetState::Failed {
                    t.critical
                } else {
                    t.text
                };
                out.extend(paragraph(&format!("↳ {m}"), style, 8, w));
            }
        }
    }
    out
}

/// What a rollback did to a target, after what its patch did.
fn reverted(t: &Theme, c: &Campaign, target: &Target) -> Vec<Span<'static>> {
    let Some(rb) = target.rollback else {
        return Vec::new();
    };
    let patch = match (rb.patch_state, rb.outcome) {
        (TargetState::Failed, RevertOutcome::NotPatched) => " · failed before its patch",
        (_, RevertOutcome::NotPatched) => "",
        (TargetState::Done, _) => " · patched",
        (TargetState::Failed, _) => " · patch failed",
        _ => "",
    };
    let (outcome, style) = match rb.outcome {
        RevertOutcome::Reverting => ("◐ reverting", t.warning),
        RevertOutcome::Reverted => ("↺ reverted", t.text),
        RevertOutcome::RevertFailed => ("✗ revert failed", t.critical),
        RevertOutcome::NotPatched => ("never patched", t.muted),
        RevertOutcome::Unknown => ("rollback outcome unknown", t.warning),
    };
    let mut v = vec![
        Span::styled(format!("{patch} · "), t.muted),
        Span::styled(outcome, style),
    ];
    let mismatch = c
        .rollback
        .iter()
        .flat_map(|r| &r.mismatches)
        .find(|m| m.database_id == target.database_id);
    if let Some(m) = mismatch {
        v.push(Span::styled(
            format!(
                " · ✗ runs {}, declared {}",
                clean(&m.actual_version),
                clean(&m.declared_version)
            ),
            t.critical,
        ));
    }
    v
}

fn target_line(
    t: &Theme,
    app: &App,
    c: &Campaign,
    target: &Target,
    id_width: usize,
    w: usize,
) -> Line<'static> {
    let s = status::target(t, target.state);
    let mut v = vec![
        Span::styled(format!("     {:<16}", s.text()), s.style),
        Span::styled(
            format!(
                "{:<id_width$}",
                crate::ui::format::ellipsize(&clean(&target.database_id), id_width)
            ),
            t.text,
        ),
        Span::styled(
            format!(
                " {} → {}",
                clean(&target.from_version),
                clean(&target.to_version)
            ),
            t.muted,
        ),
    ];
    v.extend(reverted(t, c, target));
    if target.attempts > 1 {
        v.push(Span::styled(
            format!(" · attempt {}", target.attempts),
            t.warning,
        ));
    }
    if let Some(at) = target.finished_at.or(target.started_at) {
        v.push(Span::styled(format!(" · {}", ago(app.now(), at)), t.muted));
    }
    if let Some(a) = &target.approval_id
        && target.state == fleetdeck_api::TargetState::Blocked
    {
        v.push(Span::styled(
            format!(" · waits for {}", clean(a)),
            t.warning,
        ));
    }
    spans(v, w)
}
