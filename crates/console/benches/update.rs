//! Benchmark 2 (docs/performance.md): applying one event to the console's state with
//! 100k databases, 1k campaigns (one of them over the whole fleet), 10k pending
//! approvals and a full log, with the Fleet pane sorted by health and filtered to
//! production. Each iteration is one `App::update(Msg::Server(..))`; building the event
//! is outside the measured time. The 1k and 10k sizes show whether a step grows with the
//! fleet.
//!
//! `cargo bench -p fleetdeck-console --bench update`

mod support;

use std::cell::Cell;

use divan::Bencher;
use fleetdeck_api::{Change, Target, TargetState};
use fleetdeck_console::{App, Msg};
use support::Scale;

const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

fn main() {
    divan::main();
}

fn heavy_app(databases: usize) -> App {
    let mut app = support::loaded_app(support::snapshot(Scale::dashboard(databases)), 200, 60);
    support::sort_and_filter(&mut app);
    app
}

/// Runs `make(seq, i)` outside the clock and applies the event it builds inside it.
fn apply(bencher: Bencher, app: &mut App, mut make: impl FnMut(u64, usize) -> Msg) {
    let seq = Cell::new(support::LOG_CAP as u64);
    bencher
        .with_inputs(|| {
            let s = seq.get() + 1;
            seq.set(s);
            make(s, s as usize)
        })
        .bench_local_values(|msg| app.update(msg));
}

/// A target of the whole-fleet campaign finishes (its ring holds a third of the fleet).
#[divan::bench(args = SIZES)]
fn target_finished(bencher: Bencher, databases: usize) {
    let mut app = heavy_app(databases);
    let per_ring = databases.div_ceil(3);
    apply(bencher, &mut app, |seq, i| {
        let db = (i * 7919) % databases;
        let ring = (db / per_ring) as u8;
        let target: Target = support::target(db, TargetState::Done);
        Msg::Server(Box::new(support::event(
            seq,
            Change::Target {
                campaign_id: "cmp-00000".into(),
                ring,
                target: Box::new(target),
                campaign_version: seq,
            },
        )))
    });
}

/// A database's health changes, which moves it in the health sort and may move it in
/// or out of the filtered view.
#[divan::bench(args = SIZES)]
fn health_changed(bencher: Bencher, databases: usize) {
    let mut app = heavy_app(databases);
    apply(bencher, &mut app, |seq, i| {
        let db = support::database((i * 7919) % databases, i);
        Msg::Server(Box::new(support::event(
            seq,
            Change::Database {
                database: Box::new(db),
            },
        )))
    });
}

/// A new approval joins the queue (sorted by expiry).
#[divan::bench(args = SIZES)]
fn approval_arrived(bencher: Bencher, databases: usize) {
    let mut app = heavy_app(databases);
    apply(bencher, &mut app, |seq, i| {
        let a = support::approval(20_000 + i);
        Msg::Server(Box::new(support::event(
            seq,
            Change::Approval {
                approval: Box::new(a),
            },
        )))
    });
}

/// A plain log line (the log is full: the oldest line falls off).
#[divan::bench(args = SIZES)]
fn log_line(bencher: Bencher, databases: usize) {
    let mut app = heavy_app(databases);
    apply(bencher, &mut app, |seq, _| {
        Msg::Server(Box::new(support::log_line(seq)))
    });
}
