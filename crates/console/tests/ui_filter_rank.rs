//! The fuzzy word of `/` means something on a fleet named like the demo's (240
//! databases, `pg-orders-euw1-01`…): its letters must be found within one column and
//! close together, so a word typed with letters left out narrows the list instead of
//! matching letters scattered across the row; what passes is ranked, best first.

mod ui_support;

use crossterm::event::KeyCode;
use fleetdeck_api::*;
use fleetdeck_console::app::filter::{Filterable, Query};
use fleetdeck_console::app::indexes::{Collection, Keyed};
use fleetdeck_console::app::order::DbRow;
use fleetdeck_console::{App, ConnState, Msg};
use ui_support::*;

const SERVICES: [&str; 20] = [
    "orders",
    "payments",
    "ledger",
    "billing",
    "catalog",
    "inventory",
    "shipping",
    "identity",
    "sessions",
    "search",
    "reviews",
    "pricing",
    "fraud",
    "loyalty",
    "notify",
    "audit",
    "analytics",
    "warehouse",
    "support",
    "flags",
];
const REGIONS: [&str; 5] = ["euw1", "euc1", "use1", "usw2", "apse1"];

/// 240 databases named as the demo names them: a primary per service, region and
/// environment, a replica for production ones; one more whose letters happen to hold
/// `o…r…d…r` loosely (`pg-old-reader-01`), sorted first by name.
fn demo_fleet() -> Vec<Database> {
    let mut out = vec![db(
        "pg-old-reader-01",
        "postgres",
        "16.4",
        Environment::Prod,
        2,
        2,
        DbRole::Primary,
        HealthStatus::Healthy,
        None,
    )];
    let mut i = 0usize;
    while out.len() < 240 {
        let (service, region) = (SERVICES[i % 20], REGIONS[(i / 20) % 5]);
        let env = [Environment::Prod, Environment::Staging, Environment::Dev][(i / 100) % 3];
        let mysql = i % 7 == 3;
        let env_part = match env {
            Environment::Prod => "",
            Environment::Staging => "-stg",
            _ => "-dev",
        };
        let id = format!(
            "{}-{service}{env_part}-{region}-{:02}",
            if mysql { "my" } else { "pg" },
            i / 300 + 1
        );
        let (engine, version) = if mysql {
            ("mysql", "8.0.39")
        } else {
            ("postgres", "16.4")
        };
        let ring = match env {
            Environment::Dev => 0,
            Environment::Staging => 1,
            _ => 2,
        };
        let mk = |id: &str, role| {
            db(
                id,
                engine,
                version,
                env,
                2,
                ring,
                role,
                HealthStatus::Healthy,
                None,
            )
        };
        out.push(mk(&id, DbRole::Primary));
        if env == Environment::Prod && out.len() < 240 {
            out.push(mk(&format!("{id}-r1"), DbRole::Replica));
        }
        i += 1;
    }
    out
}

fn rows() -> Vec<DbRow> {
    demo_fleet()
        .into_iter()
        .map(|db| DbRow {
            db,
            freshness: Some(Freshness::Fresh),
        })
        .collect()
}

fn hits<'r>(rows: &'r [DbRow], text: &str) -> Vec<&'r str> {
    let q = Query::parse(text, DbRow::FIELDS);
    rows.iter()
        .filter(|r| q.matches(*r))
        .map(|r| r.db.id.as_str())
        .collect()
}

#[test]
fn a_fuzzy_word_matches_within_one_column_and_narrows_the_list() {
    let rows = rows();
    assert_eq!(rows.len(), 240);
    let orders = rows
        .iter()
        .filter(|r| r.db.id.starts_with("pg-orders"))
        .count();
    assert!(orders > 0);
    // `pgordr`: the pg-orders databases and the one loose match, nothing else (before,
    // letters in order anywhere in the row's text matched most of the fleet).
    let found = hits(&rows, "pgordr");
    assert!(
        found
            .iter()
            .all(|id| id.starts_with("pg-orders") || *id == "pg-old-reader-01"),
        "{found:?}"
    );
    assert_eq!(found.len(), orders + 1, "{found:?}");
    // Letters left out still find the row; two words narrow further.
    assert_eq!(hits(&rows, "pgordrs").len(), orders, "a missing letter");
    let euw1 = hits(&rows, "ordrs euw1");
    assert!(
        !euw1.is_empty()
            && euw1
                .iter()
                .all(|id| id.contains("orders") && id.contains("euw1")),
        "{euw1:?}"
    );
    // Letters of one word spread over several columns do not match: `pgreplica` is
    // in a replica's row (`pg-…` then `replica` in ROLE), in no one column of it.
    assert!(hits(&rows, "pgreplica").is_empty());
    assert!(hits(&rows, "replica").len() >= 100);
    // ENGINE is one column: `stgrs16`, typed without some letters, finds every
    // postgres 16.4 and nothing else.
    let pg = rows.iter().filter(|r| r.db.engine == "postgres").count();
    assert_eq!(hits(&rows, "stgrs16").len(), pg);
}

fn demo_app() -> App {
    let mut app = App::new(config());
    app.update(Msg::Resize(160, 48));
    let mut snap = snapshot();
    snap.databases = demo_fleet();
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

/// The Fleet pane's rows as shown, top to bottom (its ids).
fn fleet_ids(s: &str) -> Vec<String> {
    s.lines()
        .filter_map(|l| {
            let l = l.strip_prefix("\"┃")?;
            let id = l.get(l.find(|c: char| c.is_ascii_alphabetic())?..)?;
            let id: String = id.chars().take_while(|c| !c.is_whitespace()).collect();
            (id.starts_with("pg-") || id.starts_with("my-")).then_some(id)
        })
        .collect()
}

#[test]
fn the_pane_shows_the_best_match_first() {
    let mut app = demo_app();
    // By name, the loose match sorts first; ranked, every pg-orders database (the
    // letters together, at word starts) comes before it.
    typed(&mut app, "1/ordr");
    key(&mut app, KeyCode::Enter);
    let s = screen(&app, 160, 48);
    assert!(s.contains("best match first"), "{s}");
    assert!(!s.contains("DATABASE▲"), "no column claims the order: {s}");
    let ids = fleet_ids(&s);
    assert!(!ids.is_empty(), "{s}");
    let loose = ids.iter().position(|id| id == "pg-old-reader-01");
    let last_orders = ids.iter().rposition(|id| id.contains("-orders"));
    assert!(ids[0].contains("-orders"), "{ids:?}");
    assert!(
        last_orders.unwrap() < loose.expect("the loose match shows"),
        "{ids:?}"
    );
    // Clearing the filter gives the pane its own order back (by name), and the cursor
    // stays on the database it was on (the selection follows the item).
    key(&mut app, KeyCode::Esc);
    let s = screen(&app, 160, 48);
    assert!(!s.contains("best match first"), "{s}");
    let shown = fleet_ids(&s);
    let mut by_name = shown.clone();
    by_name.sort();
    assert_eq!(shown, by_name, "{s}");
    assert!(
        shown.contains(&ids[0]),
        "the cursor's database stays in view: {s}"
    );
}

#[derive(Debug, Clone, PartialEq)]
struct Row(String, i32);

impl Keyed for Row {
    fn key(&self) -> &str {
        &self.0
    }
}

/// The collection under a ranking filter: best rank first, the display order within a
/// rank, kept one change at a time.
#[test]
fn a_ranking_filter_shows_the_best_first_and_follows_changes() {
    let by_value = |_: &(), a: &Row, b: &Row| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0));
    let ids = |c: &Collection<Row>| c.iter_from(0).map(|r| r.0.clone()).collect::<Vec<_>>();
    let mut c = Collection::new(by_value, ());
    c.replace_all((1..=6).map(|v| Row(format!("r{v}"), v)));
    // Rank: multiples of 3 best, then even values; odd non-multiples hidden.
    c.set_filter(Some(Box::new(|r: &Row| match r.1 {
        v if v % 3 == 0 => Some(0),
        v if v % 2 == 0 => Some(1),
        _ => None,
    })));
    assert_eq!(ids(&c), ["r3", "r6", "r2", "r4"]);
    assert_eq!(c.position("r2"), Some(2));
    // A change moves the row between ranks; an arrival lands in its rank.
    c.modify("r4", |r| r.1 = 9);
    assert_eq!(ids(&c), ["r3", "r6", "r4", "r2"]);
    c.upsert(Row("r0".into(), 0));
    assert_eq!(ids(&c), ["r0", "r3", "r6", "r4", "r2"]);
    c.remove("r6");
    assert_eq!(ids(&c), ["r0", "r3", "r4", "r2"]);
    assert_eq!(c.position("r2"), Some(3));
    c.set_filter(None);
    assert_eq!(ids(&c), ["r0", "r1", "r2", "r3", "r5", "r4"]);
}
