//! An approval with its findings and the decisions so far.

use fleetdeck_api::{Approval, Verdict};
use ratatui::text::{Line, Span};

use super::{blank, clean, heading, kv, paragraph, spans, wrapped};
use crate::app::App;
use crate::ui::format::{ago, count, duration};
use crate::ui::panes::approval_kind_word;
use crate::ui::status;

pub fn lines(app: &App, a: &Approval, w: usize) -> Vec<Line<'static>> {
    let t = &app.config.theme;
    let now = app.now();
    let mut out = Vec::new();
    out.extend(kv(t, "Subject", &clean(&a.subject), t.accent, w));
    let state_style = match a.state {
        fleetdeck_api::ApprovalState::Pending => t.warning,
        fleetdeck_api::ApprovalState::Approved => t.ok,
        _ => t.critical,
    };
    out.extend(kv(
        t,
        "State",
        &format!(
            "{} · {} · {} of {}",
            a.state.as_str(),
            approval_kind_word(a.kind),
            a.approvals_so_far(),
            count(a.approvals_required as usize, "approval")
        ),
        state_style,
        w,
    ));
    out.extend(kv(
        t,
        "Requested",
        &format!("by {} {}", clean(&a.requested_by), ago(now, a.created_at)),
        t.text,
        w,
    ));
    out.extend(kv(t, "Reason", &clean(&a.reason), t.text, w));
    let b = a.blast_radius;
    out.extend(kv(
        t,
        "Blast radius",
        &format!(
            "{} · {} prod · {} tier 1",
            count(b.databases as usize, "database"),
            b.prod,
            b.tier1
        ),
        if b.prod > 0 || b.tier1 > 0 {
            t.warning
        } else {
            t.text
        },
        w,
    ));
    let left = a.expires_at - now;
    let expiry = if left <= chrono::Duration::zero() {
        format!("expired {} ago", duration(-left))
    } else {
        format!(
            "in {} ({})",
            duration(left),
            a.expires_at.format("%Y-%m-%d %H:%M UTC")
        )
    };
    out.extend(kv(t, "Expires", &expiry, t.text, w));
    let mut about = Vec::new();
    if let Some(c) = &a.campaign_id {
        about.push(format!("campaign {}", clean(c)));
    }
    if let Some(r) = a.ring {
        about.push(format!("ring {r}"));
    }
    if let Some(d) = &a.database_id {
        about.push(format!("database {}", clean(d)));
    }
    if !about.is_empty() {
        out.extend(kv(t, "About", &about.join(" · "), t.text, w));
    }
    out.push(blank());
    out.push(heading(t, &format!("Findings ({})", a.findings.len())));
    if a.findings.is_empty() {
        out.push(spans(vec![Span::styled("   none", t.muted)], w));
    }
    for f in &a.findings {
        let s = status::severity(t, f.severity);
        out.extend(wrapped(
            vec![
                Span::styled(format!("   {:<11}", s.text()), s.style),
                Span::styled(clean(&f.code), t.muted),
            ],
            5,
            w,
        ));
        out.extend(paragraph(&f.message, t.text, 5, w));
    }
    out.push(blank());
    out.push(heading(t, &format!("Decisions ({})", a.decisions.len())));
    if a.decisions.is_empty() {
        out.push(spans(vec![Span::styled("   none yet", t.muted)], w));
    }
    for d in &a.decisions {
        let (word, style) = match d.verdict {
            Verdict::Approve => ("✓ approved", t.ok),
            Verdict::Reject => ("✗ rejected", t.critical),
            Verdict::Unknown => ("? unknown", t.muted),
        };
        out.extend(wrapped(
            vec![
                Span::styled(format!("   {word}"), style),
                Span::styled(
                    format!(" by {} {}", clean(&d.approver), ago(now, d.at)),
                    t.text,
                ),
            ],
            5,
            w,
        ));
        if let Some(c) = &d.comment {
            out.extend(paragraph(&format!("“{c}”"), t.muted, 5, w));
        }
    }
    out
}
