//! Benchmark 1 (docs/performance.md): drawing the full dashboard at 200×60 into a
//! `TestBackend`, with 1k, 10k and 100k databases, 1k campaigns, 10k pending approvals
//! and a full log. Each iteration is one `Terminal::draw`: every pane built from state,
//! then diffed against the previous frame, exactly as the runtime draws.
//!
//! `cargo bench -p fleetdeck-console --bench render`

mod support;

use divan::Bencher;
use support::Scale;

const W: u16 = 200;
const H: u16 = 60;
const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

fn main() {
    divan::main();
}

fn draw_bench(bencher: Bencher, app: &fleetdeck_console::App) {
    let mut terminal = support::terminal(W, H);
    bencher.bench_local(|| {
        terminal
            .draw(|f| app.draw(f))
            .expect("a test backend never fails");
    });
}

/// The dashboard as it opens: default sort, no filter.
#[divan::bench(args = SIZES, sample_count = 200)]
fn dashboard(bencher: Bencher, databases: usize) {
    let app = support::loaded_app(support::snapshot(Scale::dashboard(databases)), W, H);
    let shown = support::screen(&app, W, H);
    assert!(shown.contains("Fleet") && shown.contains("L#"), "{shown}");
    draw_bench(bencher, &app);
}

/// The Fleet pane sorted by health and filtered to production, matches highlighted.
#[divan::bench(args = SIZES, sample_count = 200)]
fn dashboard_sorted_filtered(bencher: Bencher, databases: usize) {
    let mut app = support::loaded_app(support::snapshot(Scale::dashboard(databases)), W, H);
    support::sort_and_filter(&mut app);
    let shown = support::screen(&app, W, H);
    assert!(
        shown.contains("/env:prod"),
        "the filter is not active:\n{shown}"
    );
    draw_bench(bencher, &app);
}
