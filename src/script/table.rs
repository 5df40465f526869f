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
    ]);
    for e in es {
        let drill = e.last_good.as_ref().or(e.latest.as_ref());
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
        ]);
    }
    t
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
}
