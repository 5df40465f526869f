//! `fleetdeck get campaign ID`: one campaign ring by ring, target by target.

use fleetdeck_api::Campaign;
use fleetdeck_api::text::sanitize_line;

use super::{Conn, failure, print_json, table};
use crate::failure::Failure;

pub async fn run(conn: &Conn, id: Option<&str>, json: bool) -> Result<(), Failure> {
    let Some(id) = id else {
        return Err(Failure::usage(
            "get campaign needs the campaign's id: fleetdeck get campaign ID",
        ));
    };
    let what = format!("get campaign {}", sanitize_line(id));
    let c = conn
        .client
        .campaign(id)
        .await
        .map_err(|e| failure(&what, &e))?;
    if json {
        print_json(&c)
    } else {
        print!("{}", render(&c));
        Ok(())
    }
}

pub fn render(c: &Campaign) -> String {
    let line = |k: &str, v: String| format!("{k:<10} {}\n", sanitize_line(&v));
    let mut out = String::new();
    out.push_str(&line(
        "campaign",
        format!("{} '{}' to {}", c.id, c.title, c.target_version),
    ));
    out.push_str(&line("state", c.state.as_str().into()));
    if let Some(r) = &c.change_ref {
        out.push_str(&line("change", r.clone()));
    }
    out.push_str(&line(
        "created",
        format!("{} by {}", table::time(c.created_at), c.created_by),
    ));
    if let Some(w) = &c.waiting_for {
        out.push_str(&line("waiting", w.clone()));
    }
    if let Some(p) = &c.paused_reason {
        out.push_str(&line("paused", p.clone()));
    }
    if let Some(r) = &c.rollback {
        out.push_str(&line(
            "rollback",
            format!("{} ({}): {}", r.stage.as_str(), r.requested_by, r.reason),
        ));
    }
    let mut t = table::Table::new(&[
        "RING",
        "RING_STATE",
        "DATABASE",
        "STATE",
        "FROM",
        "TO",
        "STARTED",
        "FINISHED",
        "MESSAGE",
    ]);
    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    for r in &c.rings {
        let (done, failed, total) = r.progress();
        let ring_state = format!(
            "{} {done}/{total}{}{}",
            r.state.as_str(),
            if failed > 0 {
                format!(" ({failed} failed)")
            } else {
                String::new()
            },
            if r.contains_prod { " prod" } else { "" }
        );
        for x in &r.targets {
            t.push(vec![
                r.index.to_string(),
                ring_state.clone(),
                x.database_id.clone(),
                x.state.as_str().into(),
                x.from_version.clone(),
                x.to_version.clone(),
                or_dash(x.started_at.map(table::time)),
                or_dash(x.finished_at.map(table::time)),
                x.message.clone().unwrap_or_default(),
            ]);
        }
    }
    out.push('\n');
    out.push_str(&t.render());
    out
}
