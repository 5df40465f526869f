//! A database: inventory, health, evidence and its drill history (fetched on open).

use fleetdeck_api::{Database, DatabaseDetail, Drill, DrillProof, HealthStatus};
use ratatui::text::{Line, Span};

use super::{blank, clean, heading, kv, paragraph, spans, wrapped};
use crate::app::App;
use crate::app::view::Loading;
use crate::ui::format::{ago, count, seconds};
use crate::ui::status;

pub fn lines(
    app: &App,
    id: &str,
    loaded: &Loading<Box<DatabaseDetail>>,
    w: usize,
) -> Vec<Line<'static>> {
    let t = &app.config.theme;
    let now = app.now();
    let mut out = Vec::new();
    // The live row wins over the fetched copy: events keep it current.
    let live = app.data.databases.get(id).map(|r| &r.db);
    let fetched = match loaded {
        Loading::Ready(d) => Some(&**d),
        _ => None,
    };
    let Some(db) = live.or(fetched.map(|d| &d.database)) else {
        out.push(heading(t, &format!("{} is not known here", clean(id))));
        return out;
    };
    out.extend(kv(
        t,
        "Engine",
        &format!(
            "{} {} · {} · tier {} · ring {}",
            clean(&db.engine),
            clean(&db.engine_version),
            db.environment.as_str(),
            db.tier,
            db.ring
        ),
        t.text,
        w,
    ));
    let role = match &db.primary_id {
        Some(p) => format!("{} of {}", db.role.as_str(), clean(p)),
        None => db.role.as_str().to_string(),
    };
    out.extend(kv(t, "Role", &role, t.text, w));
    out.extend(kv(
        t,
        "Where",
        &format!(
            "{} · host {} · team {}",
            clean(&db.region),
            clean(&db.host),
            clean(&db.owner_team)
        ),
        t.text,
        w,
    ));
    out.extend(health_lines(app, db, fetched.map(|d| &d.database), w));
    out.extend(kv(
        t,
        "Patched",
        &db.last_patched_at.map_or("never".into(), |at| ago(now, at)),
        t.text,
        w,
    ));
    out.extend(kv(
        t,
        "Backups",
        &format!(
            "{}, kept {} · drill every {}",
            clean(&db.backup_policy.schedule),
            count(db.backup_policy.retention_days as usize, "day"),
            count(db.drill_interval_days as usize, "day")
        ),
        t.text,
        w,
    ));
    if !db.tags.is_empty() {
        let tags: Vec<String> = db.tags.iter().map(|s| clean(s)).collect();
        out.extend(kv(t, "Tags", &tags.join(", "), t.muted, w));
    }
    if let Some(e) = app.data.evidence.get(id) {
        let f = status::freshness(t, Some(e.freshness));
        let last = e.last_good_at.map_or("never".into(), |at| ago(now, at));
        out.extend(kv(
            t,
            "Evidence",
            &format!(
                "{} · last good drill {last} · policy {}",
                f.text(),
                count(e.interval_days as usize, "day")
            ),
            f.style,
            w,
        ));
        if let Some(d) = &e.latest {
            let (text, style) = latest_drill(app, d);
            out.extend(kv(t, "Latest drill", &text, style, w));
        }
        let missed = e.missed_objectives();
        if !missed.is_empty() {
            out.extend(kv(
                t,
                "Objectives",
                &format!("⚑ {}", missed.join("; ")),
                t.critical,
                w,
            ));
        }
    }
    out.push(blank());
    out.push(heading(t, "Drill history, newest first"));
    match loaded {
        Loading::Waiting => out.push(spans(
            vec![Span::styled("   … loading from the server", t.muted)],
            w,
        )),
        Loading::Failed(why) => out.extend(paragraph(
            &format!("✗ could not load the history: {why}"),
            t.critical,
            3,
            w,
        )),
        Loading::Ready(d) if d.drills.is_empty() => out.push(spans(
            vec![Span::styled("   ∅ no drill has ever run", t.critical)],
            w,
        )),
        Loading::Ready(d) => {
            for drill in &d.drills {
                out.extend(drill_line(app, drill, w));
            }
            if let Some(proof) = d.drills.first().and_then(|d| d.proof.as_ref()) {
                out.extend(proof_lines(app, proof, w));
            }
            if let Some(latest) = d.drills.first().filter(|d| !d.output.is_empty()) {
                out.push(blank());
                out.push(heading(t, "Output of the latest drill"));
                out.extend(paragraph(&latest.output, t.text, 3, w));
            }
        }
    }
    out
}

/// The latest drill in one line: its verdict, when, its restore time and checksum,
/// all from that one drill (what the Evidence pane's columns show).
fn latest_drill(app: &App, d: &Drill) -> (String, ratatui::style::Style) {
    let t = &app.config.theme;
    let now = app.now();
    let s = status::drill(t, d.state);
    let when = match d.finished_at {
        Some(at) => format!("finished {}", ago(now, at)),
        None => format!("started {}", ago(now, d.started_at)),
    };
    let restore = d.restore_seconds.map_or("–".into(), seconds);
    let checksum = match d.checksum_ok {
        Some(true) => "✓ checksum match",
        Some(false) => "✗ checksum mismatch",
        None => "– no checksum",
    };
    (
        format!("{} · {when} · restore {restore} · {checksum}", s.text()),
        s.style,
    )
}

/// What the latest drill proved: where recovery was told to stop and where it did, and
/// each check by name.
fn proof_lines(app: &App, p: &DrillProof, w: usize) -> Vec<Line<'static>> {
    let t = &app.config.theme;
    let mut out = vec![blank(), heading(t, "Checks of the latest drill")];
    let mut facts = Vec::new();
    if let Some(b) = &p.backup_label {
        facts.push(format!("backup {}", clean(b)));
    }
    if let Some(target) = &p.recovery_target {
        facts.push(format!("target {}", clean(target)));
    }
    if let Some(lsn) = &p.recovery_lsn {
        facts.push(format!("reached {}", clean(lsn)));
    }
    if let Some(tl) = p.timeline {
        facts.push(format!("timeline {tl}"));
    }
    if !facts.is_empty() {
        out.extend(paragraph(&facts.join(" · "), t.muted, 3, w));
    }
    for c in &p.checks {
        let (mark, style) = if c.passed {
            ("✓", t.text)
        } else {
            ("✗", t.critical)
        };
        out.push(spans(
            vec![Span::styled(
                format!("   {mark} {} — {}", clean(&c.name), clean(&c.detail)),
                style,
            )],
            w,
        ));
    }
    out
}

/// The health reading with its age and who took it; what the check found; a primary's
/// streams. Of the live row and the copy fetched on open, the newer reading is shown
/// (readings that change only figures are not events, so the fetched one may be newer).
fn health_lines(
    app: &App,
    live: &Database,
    fetched: Option<&Database>,
    w: usize,
) -> Vec<Line<'static>> {
    let t = &app.config.theme;
    let now = app.now();
    let h = match fetched.map(|f| &f.health) {
        Some(f) if f.checked_at > live.health.checked_at => f,
        _ => &live.health,
    };
    let hs = status::health(t, h.status);
    let mut text = match (h.status, h.since) {
        // Not a reading: how long the database has gone unchecked.
        (HealthStatus::Unknown, Some(since)) => format!("{} since {}", hs.text(), ago(now, since)),
        _ => {
            let connections = match h.max_connections {
                Some(max) => format!("{} of {max} connections", h.connections),
                None => format!("{} connections", h.connections),
            };
            let mut s = format!("{} · {connections} · {:.1} ms", hs.text(), h.latency_ms);
            if let Some(lag) = h.replication_lag_s {
                s.push_str(&format!(" · replication lag {}", seconds(lag)));
            }
            s
        }
    };
    if let Some(at) = h.checked_at {
        text.push_str(&format!(" · checked {}", ago(now, at)));
        if let Some(by) = &h.checked_by {
            text.push_str(&format!(" by {}", clean(by)));
        }
        if let Some(ms) = h.check_ms {
            text.push_str(&format!(" in {ms:.0} ms"));
        }
    } else {
        text.push_str(" · never checked");
    }
    let mut out = kv(t, "Health", &text, hs.style, w);
    if !h.findings.is_empty() {
        let found: Vec<String> = h.findings.iter().map(|f| clean(f)).collect();
        out.extend(kv(t, "Findings", &found.join(" · "), hs.style, w));
    }
    if !h.replicas.is_empty() {
        let streams: Vec<String> = h
            .replicas
            .iter()
            .map(|r| match r.replay_lag_bytes {
                Some(b) => format!("{} {} {b} B behind", clean(&r.database_id), clean(&r.state)),
                None => format!("{} {}", clean(&r.database_id), clean(&r.state)),
            })
            .collect();
        out.extend(kv(t, "Replicas", &streams.join(" · "), t.text, w));
    }
    out
}

fn drill_line(app: &App, d: &Drill, w: usize) -> Vec<Line<'static>> {
    let t = &app.config.theme;
    let s = status::drill(t, d.state);
    let restore = d.restore_seconds.map_or("–".into(), seconds);
    let rp = d
        .recovery_point
        // A no-break space: a wrapped line never parts the date from its time.
        .map_or("–".into(), |at| {
            at.format("%Y-%m-%d\u{a0}%H:%M").to_string()
        });
    wrapped(
        vec![
            Span::styled(
                format!("   {} ", d.started_at.format("%Y-%m-%d %H:%M")),
                t.muted,
            ),
            Span::styled(format!("{:<12}", s.text()), s.style),
            Span::styled(format!(" restore {restore:<7}"), t.text),
            status::checksum(t, d.checksum_ok).span(),
            Span::styled(format!("  point\u{a0}{rp}"), t.muted),
            Span::styled(
                if d.state == fleetdeck_api::DrillState::Succeeded
                    && !d.missed_objectives().is_empty()
                {
                    "  ⚑ objective missed"
                } else {
                    ""
                },
                t.critical,
            ),
            Span::styled(
                format!(
                    "  by {} · {}",
                    clean(&d.requested_by),
                    d.backup_id.as_deref().map_or("–".into(), clean)
                ),
                t.muted,
            ),
        ],
        20,
        w,
    )
}
