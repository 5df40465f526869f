//! `fleetdeck plan FILE`: what the campaign file would do if applied now, as the server
//! plans it: rings, targets in dispatch order, blocked targets, approvals, gate, blast
//! radius, estimate, and every reason it would be refused (exit 3).

use fleetdeck_api::text::sanitize_line;
use fleetdeck_api::{BlastRadius, CampaignPlan};

use super::{Conn, campaign_file, failure, print_json, table};
use crate::cli_script::{Output, PlanArgs};
use crate::failure::Failure;

pub async fn run(conn: &Conn, args: &PlanArgs) -> Result<(), Failure> {
    let req = campaign_file::load(&args.file)?;
    let what = format!("plan {}", sanitize_line(&args.file.display().to_string()));
    let plan = conn
        .client
        .plan_campaign(&req)
        .await
        .map_err(|e| failure(&what, &e))?;
    if args.output.output == Output::Json {
        print_json(&plan)?;
    } else {
        print!("{}", render(&plan));
    }
    refused(&what, &plan)
}

/// Exit 3 with every reason when the plan would be refused.
pub fn refused(what: &str, plan: &CampaignPlan) -> Result<(), Failure> {
    if plan.refusals.is_empty() {
        return Ok(());
    }
    let reasons: Vec<&str> = plan.refusals.iter().map(|r| r.message.as_str()).collect();
    Err(Failure::refused(
        sanitize_line(&format!(
            "{what}: would be refused ({} reason(s)): {}",
            reasons.len(),
            reasons.join("; ")
        ))
        .into_owned(),
    ))
}

fn radius(b: &BlastRadius) -> String {
    format!(
        "{} database(s), {} production, {} tier 1",
        b.databases, b.prod, b.tier1
    )
}

/// "1h 05m", "12m 30s", "45s".
fn duration(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m {s:02}s"),
        _ => format!("{h}h {m:02}m"),
    }
}

/// The plan for people: a summary, then one row per target in dispatch order.
pub fn render(p: &CampaignPlan) -> String {
    let line = |k: &str, v: String| format!("{k:<10} {}\n", sanitize_line(&v));
    let mut out = String::new();
    let change = p
        .change_ref
        .as_deref()
        .map(|c| format!(" (change {c})"))
        .unwrap_or_default();
    out.push_str(&line(
        "campaign",
        format!("'{}' to {}{change}", p.title, p.target_version),
    ));
    out.push_str(&line("plan_hash", p.plan_hash.clone()));
    out.push_str(&line(
        "verdict",
        if p.can_start {
            "can start now".into()
        } else {
            format!("would be refused ({} reason(s))", p.refusals.len())
        },
    ));
    out.push_str(&line("gate", p.gate.summary.clone()));
    out.push_str(&line("radius", radius(&p.blast_radius)));
    let estimate = match p.estimate.seconds {
        Some(s) => format!("about {}: {}", duration(s), p.estimate.basis),
        None => p.estimate.basis.clone(),
    };
    out.push_str(&line("estimate", estimate));
    for r in &p.rings {
        let promotion = match &r.promotion {
            Some(a) => format!(
                "; production: entering it needs a ring promotion with {} approval(s)",
                a.approvals_required
            ),
            None => String::new(),
        };
        let blocked = r.targets.iter().filter(|t| t.blocked.is_some()).count();
        let exceptions = if blocked > 0 {
            format!("; {blocked} policy exception(s) will be requested")
        } else {
            String::new()
        };
        out.push_str(&line(
            &format!("ring {}", r.index),
            format!("{}{promotion}{exceptions}", radius(&r.blast_radius)),
        ));
    }
    if !p.rings.is_empty() {
        let mut t = table::Table::new(&[
            "RING", "WAVE", "DATABASE", "ENV", "TIER", "ROLE", "FROM", "TO", "NOTE",
        ]);
        for r in &p.rings {
            for x in &r.targets {
                let note = match (&x.blocked, &x.primary_id) {
                    (Some(b), _) => format!(
                        "blocked: {}; exception needs {} approval(s)",
                        b.reason, b.approvals_required
                    ),
                    (None, Some(p)) => format!("before its primary {p}"),
                    (None, None) => String::new(),
                };
                t.push(vec![
                    r.index.to_string(),
                    x.wave.to_string(),
                    x.database_id.clone(),
                    x.environment.as_str().into(),
                    x.tier.to_string(),
                    x.role.as_str().into(),
                    x.from_version.clone(),
                    x.to_version.clone(),
                    note,
                ]);
            }
        }
        out.push('\n');
        out.push_str(&t.render());
    }
    if !p.refusals.is_empty() {
        out.push_str("\nrefused:\n");
        for r in &p.refusals {
            out.push_str(&format!("  - {}\n", sanitize_line(&r.message)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(duration(45), "45s");
        assert_eq!(duration(750), "12m 30s");
        assert_eq!(duration(3900), "1h 05m");
    }
}
