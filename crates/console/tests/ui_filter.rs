//! The `/` filter on a fleet of 10,000: fuzzy, field and exclusion terms, what the
//! pane says, and a filter that stays right while events change rows one at a time.

mod ui_support;

use crossterm::event::KeyCode;
use fleetdeck_api::*;
use fleetdeck_console::app::filter::{Filterable, Query};
use fleetdeck_console::app::order::DbRow;
use fleetdeck_console::{App, ConnState, Msg};
use ui_support::*;

/// 10,000 databases: every tenth is prod, tiers 1-3, rings 0-4, every seventh degraded.
fn big_fleet() -> Vec<Database> {
    (0..10_000)
        .map(|i| {
            let env = match i % 10 {
                0 => Environment::Prod,
                1..=3 => Environment::Staging,
                _ => Environment::Dev,
            };
            let health = if i % 7 == 0 {
                HealthStatus::Degraded
            } else {
                HealthStatus::Healthy
            };
            let engine = if i % 2 == 0 { "postgres" } else { "mysql" };
            db(
                &format!("{engine}-{i:05}"),
                engine,
                "16.3",
                env,
                (i % 3 + 1) as u8,
                (i % 5) as u8,
                DbRole::Primary,
                health,
                None,
            )
        })
        .collect()
}

fn big_app() -> App {
    let mut app = App::new(config());
    app.update(Msg::Resize(160, 48));
    let mut snap = snapshot();
    snap.databases = big_fleet();
    snap.evidence.clear();
    app.update(Msg::Loaded {
        whoami: alice(),
        snapshot: Box::new(snap),
    });
    app.update(Msg::Connection(ConnState::Connected { since: t0() }));
    app.update(Msg::Alive(t0()));
    app.update(Msg::Tick(t0()));
    app
}

fn count(rows: &[DbRow], text: &str) -> usize {
    let q = Query::parse(text, DbRow::FIELDS);
    assert!(q.problem.is_none(), "{text}: {:?}", q.problem);
    rows.iter().filter(|r| q.matches(*r)).count()
}

#[test]
fn fuzzy_field_and_exclusion_terms_on_ten_thousand() {
    let rows: Vec<DbRow> = big_fleet()
        .into_iter()
        .map(|db| DbRow {
            db,
            freshness: None,
        })
        .collect();
    let expect = |f: &dyn Fn(usize) -> bool| (0..10_000).filter(|i| f(*i)).count();
    assert_eq!(count(&rows, ""), 10_000);
    assert_eq!(count(&rows, "env:prod"), expect(&|i| i % 10 == 0));
    assert_eq!(
        count(&rows, "env:prod tier:1"),
        expect(&|i| i % 10 == 0 && i % 3 == 0)
    );
    assert_eq!(
        count(&rows, "health:degraded ring:2"),
        expect(&|i| i % 7 == 0 && i % 5 == 2)
    );
    // A word prefix works for words, never for numbers (tier:1 is not tier 10).
    assert_eq!(count(&rows, "health:deg"), expect(&|i| i % 7 == 0));
    // Exclusion, of a field and of a word.
    assert_eq!(count(&rows, "!env:dev"), expect(&|i| i % 10 < 4));
    assert_eq!(count(&rows, "!mysql"), 5_000);
    assert_eq!(count(&rows, "env:prod !postgres"), 0);
    // Fuzzy: letters in order, with gaps, across the visible columns.
    let q = Query::parse("pstgrs00042", DbRow::FIELDS);
    let hits: Vec<&str> = rows
        .iter()
        .filter(|r| q.matches(*r))
        .map(|r| r.db.id.as_str())
        .collect();
    assert!(hits.contains(&"postgres-00042"), "{hits:?}");
    assert!(
        hits.iter().all(|id| id.starts_with("postgres-")),
        "{hits:?}"
    );
    assert!(hits.len() < 100, "{} hits", hits.len());
    assert_eq!(count(&rows, "qqq"), 0);
    // Smart case: capitals must match exactly.
    assert_eq!(count(&rows, "POSTGRES"), 0);
    // An unknown field is said, and left out.
    let q = Query::parse("colour:red env:prod", DbRow::FIELDS);
    assert!(q.problem.as_deref().unwrap().contains("no field 'colour'"));
    assert_eq!(rows.iter().filter(|r| q.matches(*r)).count(), 1_000);
}

#[test]
fn the_pane_filters_as_you_type_highlights_and_esc_clears() {
    let mut app = big_app();
    typed(&mut app, "/env:prod tier:1");
    let s = screen(&app, 160, 48);
    assert!(s.contains("/env:prod tier:1 334 of 10000"), "{s}");
    assert!(s.contains("Fleet /"), "the filter line is open: {s}");
    key(&mut app, KeyCode::Enter);
    let s = screen(&app, 160, 48);
    assert!(s.contains("334 of 10000"), "{s}");
    assert!(s.contains("postgres-00030"), "{s}");
    assert!(!s.contains("postgres-00010"), "{s}");
    // Esc clears.
    key(&mut app, KeyCode::Esc);
    let s = screen(&app, 160, 48);
    assert!(!s.contains("of 10000"), "{s}");
    // Matched characters are highlighted.
    typed(&mut app, "/00042");
    let t = render(&app, 160, 48);
    let buf = t.backend().buffer();
    let matched = fleetdeck_console::theme::Theme::default().matched;
    let row = (0..48u16)
        .find(|y| {
            (0..160u16)
                .map(|x| buf[(x, *y)].symbol().to_string())
                .collect::<String>()
                .contains("postgres-00042")
        })
        .expect("row shown");
    let hit = (0..160u16)
        .filter(|x| buf[(*x, row)].fg == matched.fg.unwrap())
        .count();
    assert!(hit >= 5, "highlighted {hit} cells");
    // Esc in the filter line clears it too.
    key(&mut app, KeyCode::Esc);
    assert!(!screen(&app, 160, 48).contains("of 10000"));
    // Nothing matches: the pane says so.
    typed(&mut app, "/zzzz");
    let s = screen(&app, 160, 48);
    assert!(s.contains("no row matches /zzzz"), "{s}");
}

#[test]
fn events_re_test_only_their_row() {
    let mut app = big_app();
    typed(&mut app, "/health:degraded env:prod");
    key(&mut app, KeyCode::Enter);
    let before = (0..10_000).filter(|i| i % 7 == 0 && i % 10 == 0).count();
    assert!(screen(&app, 160, 48).contains(&format!("{before} of 10000")));
    // postgres-00010 turns degraded: it joins; postgres-00070 recovers: it leaves.
    let mut seq = 100;
    let mut set = |app: &mut App, id: &str, health: HealthStatus| {
        seq += 1;
        let mut d = db(
            id,
            "postgres",
            "16.3",
            Environment::Prod,
            2,
            0,
            DbRole::Primary,
            health,
            None,
        );
        d.version = 9;
        app.update(Msg::Server(Box::new(event(
            seq,
            Level::Info,
            "database.health",
            "health changed",
            Some(Change::Database {
                database: Box::new(d),
            }),
        ))));
    };
    set(&mut app, "postgres-00010", HealthStatus::Degraded);
    set(&mut app, "postgres-00070", HealthStatus::Healthy);
    let s = screen(&app, 160, 48);
    assert!(s.contains(&format!("{before} of 10000")), "{s}");
    assert!(s.contains("postgres-00010"), "{s}");
    assert!(!s.contains("postgres-00070"), "{s}");
    set(&mut app, "postgres-00020", HealthStatus::Degraded);
    assert!(screen(&app, 160, 48).contains(&format!("{} of 10000", before + 1)));
}

#[test]
fn other_panes_have_their_own_fields() {
    let mut app = app(160, 48);
    typed(&mut app, "4/by:carol");
    key(&mut app, KeyCode::Enter);
    let s = screen(&app, 160, 48);
    assert!(s.contains("1 of 3"), "{s}");
    assert!(s.contains("apr-2") && !s.contains("apr-3"), "{s}");
    typed(&mut app, "2/state:paused");
    let s = screen(&app, 160, 48);
    assert!(s.contains("1 of 4"), "{s}");
    typed(&mut app, "x");
    let s = screen(&app, 160, 48);
    assert!(s.contains("state:pausedx"), "{s}");
    key(&mut app, KeyCode::Esc);
    // The log has its own fields: an unknown one is said, with the ones there are.
    typed(&mut app, "5/health:deg");
    let s = screen(&app, 160, 48);
    assert!(
        s.contains("no field 'health' here (fields: level, kind"),
        "{s}"
    );
    let _ = <DbRow as Filterable>::FIELDS;
}
