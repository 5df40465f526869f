//! Tables for people: every cell sanitised (server text is untrusted), columns aligned
//! by display width, two spaces between them, the last column unpadded.

use chrono::{DateTime, Utc};
use fleetdeck_api::text::sanitize_line;
use fleetdeck_api::{Approval, Campaign, Database, Event, Evidence};
use unicode_width::UnicodeWidthStr;

pub struct Table {
    headers: &'static [&'static str],
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &'static [&'static str]) -> Table {
        Table {
            headers,
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, cells: Vec<String>) {
        let clean = cells
            .into_iter()
            .map(|c| sanitize_line(&c).into_owned())
            .collect();
        self.rows.push(clean);
    }

    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.width()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.width());
            }
        }
        let mut out = String::new();
        let header: Vec<String> = self.headers.iter().map(|h| h.to_string()).collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            let last = row.len().saturating_sub(1);
            for (i, cell) in row.iter().enumerate() {
                out.push_str(cell);
                if i < last {
                    let pad = widths[i].saturating_sub(cell.width()) + 2;
                    out.push_str(&" ".repeat(pad));
                }
            }
            out.push('\n');
        }
        out
    }
}

/// An absolute time as scripts and people both read it.
pub fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%SZ").to_string()
}

fn or_dash(v: Option<String>) -> String {
    v.unwrap_or_else(|| "-".into())
}

pub fn fleet(dbs: &[Database]) -> Table {
    let mut t = Table::new(&[
        "ID", "ENGINE", "VERSION", "ENV", "TIER", "RING", "ROLE", "HEALTH", "LAG_S",
    ]);
    for d in dbs {
        t.push(vec![
            d.id.clone(),
            d.engine.clone(),
            d.engine_version.clone(),
            d.environment.as_str().into(),
            d.tier.to_string(),
            d.ring.to_string(),
            d.role.as_str().into(),
            d.health.status.as_str().into(),
            or_dash(d.health.replication_lag_s.map(|l| format!("{l:.1}"))),
        ]);
    }
    t
}

pub fn campaigns(cs: &[Campaign]) -> Table {
    let mut t = Table::new(&[
        "ID", "STATE", "RING", "DONE", "FAILED", "TOTAL", "TARGET", "TITLE", "WHY",
    ]);
    for c in cs {
        let (mut done, mut failed, mut total) = (0, 0, 0);
        for r in &c.rings {
            let (d, f, n) = r.progress();
            done += d;
            failed += f;
            total += n;
        }
        let why = c.paused_reason.clone().or_else(|| c.waiting_for.clone());
        t.push(vec![
            c.id.clone(),
            c.state.as_str().into(),
            or_dash(c.current_ring.map(|r| r.to_string())),
            done.to_string(),
            failed.to_string(),
            total.to_string(),
            c.target_version.clone(),
            c.title.clone(),
            or_dash(why),
        ]);
    }
    t
}

pub fn evidence(es: &[Evidence]) -> Table {
    let mut t = Table::new(&[
        "DATABASE",
        "FRESHNESS",
        "INTERVAL_D",
        "LAST_GOOD",
        "RESTORE_S",
        "CHECKSUM",
        "OBJECTIVES",
    ]);
    for e in es {
        let drill = e.last_good.as_ref().or(e.latest.as_ref());
        let missed = e.missed_objectives();
        t.push(vec![
            e.database_id.clone(),
            e.freshness.as_str().into(),
            e.interval_days.to_string(),
            or_dash(e.last_good_at.map(time)),
            or_dash(
                drill
                    .and_then(|d| d.restore_seconds)
                    .map(|s| format!("{s:.0}")),
            ),
            or_dash(
                drill
                    .and_then(|d| d.checksum_ok)
                    .map(|ok| if ok { "ok" } else { "MISMATCH" }.to_string()),
            ),
            objectives(e.last_good.as_ref(), &missed),
        ]);
    }
    t
}

/// `met`, `MISSED: RTO, RPO`, or `-` when the last good drill was judged by none.
fn objectives(good: Option<&fleetdeck_api::Drill>, missed: &[String]) -> String {
    let judged = good
        .and_then(|d| d.proof.as_ref())
        .is_some_and(|p| p.rto_objective_s.is_some() || p.rpo_objective_s.is_some());
    if !missed.is_empty() {
        let which: Vec<&str> = missed
            .iter()
            .filter_map(|m| m.split_whitespace().next())
            .collect();
        format!("MISSED: {}", which.join(", "))
    } else if judged {
        "met".into()
    } else {
        "-".into()
    }
}

pub fn approvals(list: &[Approval]) -> Table {
    let mut t = Table::new(&[
        "ID",
        "KIND",
        "STATE",
        "REQUESTER",
        "DBS",
        "PROD",
        "APPROVALS",
        "EXPIRES",
        "SUBJECT",
    ]);
    for a in list {
        t.push(vec![
            a.id.clone(),
            a.kind.as_str().into(),
            a.state.as_str().into(),
            a.requested_by.clone(),
            a.blast_radius.databases.to_string(),
            a.blast_radius.prod.to_string(),
            format!("{}/{}", a.approvals_so_far(), a.approvals_required),
            time(a.expires_at),
            a.subject.clone(),
        ]);
    }
    t
}

pub fn events(list: &[Event]) -> Table {
    let mut t = Table::new(&["SEQ", "AT", "LEVEL", "ACTOR", "SUBJECT", "MESSAGE"]);
    for e in list {
        t.push(event_row(e));
    }
    t
}

pub fn event_row(e: &Event) -> Vec<String> {
    let subject = e.subject.label();
    vec![
        e.seq.to_string(),
        time(e.at),
        e.level.as_str().into(),
        e.actor.clone(),
        if subject.is_empty() {
            "-".into()
        } else {
            subject
        },
        e.message.clone(),
    ]
}

/// Column widths of events printed one at a time (`get events --follow`), where rows
/// cannot be measured in advance; a longer cell pushes its line, never truncates.
const FOLLOW_WIDTHS: [usize; 5] = [7, 20, 5, 10, 24];

/// One line of a streamed event table: the header for `None`.
pub fn follow_line(e: Option<&Event>) -> String {
    let cells: Vec<String> = match e {
        Some(e) => event_row(e)
            .into_iter()
            .map(|c| sanitize_line(&c).into_owned())
            .collect(),
        None => ["SEQ", "AT", "LEVEL", "ACTOR", "SUBJECT", "MESSAGE"]
            .map(String::from)
            .to_vec(),
    };
    let mut out = String::new();
    for (i, cell) in cells.iter().enumerate() {
        out.push_str(cell);
        if let Some(w) = FOLLOW_WIDTHS.get(i) {
            out.push_str(&" ".repeat(w.saturating_sub(cell.width()) + 2));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_cells_are_inert() {
        let mut t = Table::new(&["ID", "NOTE"]);
        t.push(vec!["a".into(), "x\u{1b}[31mred".into()]);
        t.push(vec!["longer-id".into(), "ünïcode".into()]);
        let out = t.render();
        assert_eq!(
            out,
            "ID         NOTE\na          x\u{FFFD}red\nlonger-id  ünïcode\n"
        );
        assert!(!out.contains('\u{1b}'));
    }

    #[test]
    fn evidence_says_whether_the_last_good_drill_met_its_objectives() {
        use fleetdeck_api::{Drill, DrillProof, DrillState, Freshness};
        let at = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 1, 1, 0, 0, 0).unwrap();
        let drill = |rto: f64| Drill {
            id: "d".into(),
            database_id: "db".into(),
            state: DrillState::Succeeded,
            requested_by: "scheduler".into(),
            started_at: at,
            finished_at: Some(at),
            backup_id: None,
            recovery_point: Some(at),
            restore_seconds: Some(600.0),
            checksum_ok: Some(true),
            output: String::new(),
            proof: Some(DrillProof {
                rto_objective_s: Some(rto),
                ..DrillProof::default()
            }),
        };
        let ev = |d: Drill| Evidence {
            database_id: "db".into(),
            freshness: Freshness::Fresh,
            interval_days: 7,
            last_good_at: Some(at),
            latest: Some(d.clone()),
            last_good: Some(d),
            judged_at: at,
        };
        let out = evidence(&[ev(drill(300.0)), ev(drill(900.0))]).render();
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].ends_with("OBJECTIVES"), "{out}");
        assert!(lines[1].ends_with("MISSED: RTO"), "{out}");
        assert!(lines[2].ends_with("met"), "{out}");
    }
}
