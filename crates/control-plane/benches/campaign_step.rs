//! What one target step of the runner reads, by campaign size: the whole campaign
//! (`campaigns::load`, what each step read before) against the campaign's header, rings
//! and the one target (`campaigns::load_with_target`, what it reads now). A campaign over
//! the whole fleet has a target per database, so the first grows with the fleet and the
//! second must not. Also the campaign's state alone (`campaigns::state`).
//!
//! `cargo bench -p fleetdeck-control-plane --bench campaign_step`

mod support;

use divan::Bencher;
use fleetdeck_api::{
    Campaign, CampaignState, GateSettings, GateState, GateStatus, Ring, RingState, Target,
    TargetState,
};
use fleetdeck_control_plane::store::Store;
use fleetdeck_control_plane::store::campaigns::{self, TargetMeta};

const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

fn main() {
    divan::main();
}

fn campaign(targets: usize) -> Campaign {
    let now = chrono::Utc::now();
    let per_ring = targets.div_ceil(3);
    let rings = (0..3)
        .map(|r| Ring {
            index: r as u8,
            state: RingState::Running,
            contains_prod: r == 2,
            gate: GateStatus {
                state: GateState::Pending,
                failures: 0,
                bake_until: None,
                reason: None,
            },
            approval_id: None,
            started_at: None,
            finished_at: None,
            targets: (r * per_ring..((r + 1) * per_ring).min(targets))
                .map(|i| Target {
                    database_id: format!("pg-{i:06}"),
                    state: TargetState::Pending,
                    from_version: "16.3".into(),
                    to_version: "16.4".into(),
                    attempts: 0,
                    started_at: None,
                    finished_at: None,
                    message: None,
                    approval_id: None,
                    rollback: None,
                })
                .collect(),
        })
        .collect();
    Campaign {
        id: "cmp-1".into(),
        title: "postgres 16.4".into(),
        target_version: "16.4".into(),
        created_by: "bench".into(),
        created_at: now,
        updated_at: now,
        state: CampaignState::Running,
        paused_reason: None,
        waiting_for: None,
        on_resume: None,
        gate: GateSettings::default(),
        current_ring: Some(0),
        rings,
        rollback: None,
        version: 1,
        change_ref: None,
    }
}

/// A store holding one campaign of `targets` targets (kept alive with its temp dir).
fn store_with(rt: &tokio::runtime::Runtime, targets: usize) -> (tempfile::TempDir, Store) {
    let dir = support::temp_dir();
    let store = rt.block_on(async {
        let store = Store::open(&support::state_path(&dir)).await.expect("open");
        let c = campaign(targets);
        let metas: Vec<TargetMeta> = Vec::new();
        let mut tx = store.begin().await.expect("begin");
        campaigns::insert(&mut tx, 1, &c, &metas)
            .await
            .expect("insert");
        store.commit(tx).await.expect("commit");
        store
    });
    (dir, store)
}

fn bench_read<F, Fut>(bencher: Bencher, targets: usize, read: F)
where
    F: Fn(Store, String) -> Fut + Sync,
    Fut: std::future::Future<Output = ()>,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (_dir, store) = store_with(&rt, targets);
    let db = format!("pg-{:06}", targets / 2);
    bencher.bench_local(|| rt.block_on(read(store.clone(), db.clone())));
}

#[divan::bench(args = SIZES, sample_count = 20)]
fn whole_campaign(bencher: Bencher, targets: usize) {
    bench_read(bencher, targets, |store, _| async move {
        let mut conn = store.pool().acquire().await.expect("conn");
        let c = campaigns::load(&mut conn, "cmp-1").await.expect("load");
        assert!(c.is_some());
    });
}

#[divan::bench(args = SIZES, sample_count = 200)]
fn one_target(bencher: Bencher, targets: usize) {
    bench_read(bencher, targets, |store, db| async move {
        let mut conn = store.pool().acquire().await.expect("conn");
        let c = campaigns::load_with_target(&mut conn, "cmp-1", &db)
            .await
            .expect("load")
            .expect("present");
        assert_eq!(c.rings.iter().map(|r| r.targets.len()).sum::<usize>(), 1);
    });
}

#[divan::bench(args = SIZES, sample_count = 200)]
fn state_only(bencher: Bencher, targets: usize) {
    bench_read(bencher, targets, |store, _| async move {
        let mut conn = store.pool().acquire().await.expect("conn");
        let s = campaigns::state(&mut conn, "cmp-1").await.expect("state");
        assert_eq!(s, Some(CampaignState::Running));
    });
}
