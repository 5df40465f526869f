//! Starting the server: malformed inputs are one-line errors naming the file and write
//! nothing; the demo fleet is seeded once and survives a restart on the same file.

mod common;

use std::path::Path;

use fleetdeck_api::{Database, EventsPage, Role, kinds};
use fleetdeck_control_plane::auth::append_token;
use fleetdeck_control_plane::server::{self, DemoOptions, ServeOptions, TokenSource};
use reqwest::StatusCode;

fn options(dir: &Path, tokens: TokenSource) -> ServeOptions {
    ServeOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        state: dir.join("state.db"),
        tokens,
        config: None,
        demo: None,
    }
}

async fn start_error(opts: ServeOptions) -> String {
    match server::start(opts).await {
        Ok(_) => panic!("the server should have refused to start"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn malformed_inputs_name_the_file_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, "plaintext-token alice admin\n").unwrap();
    let err = start_error(options(dir.path(), TokenSource::File(tokens.clone()))).await;
    assert!(
        err.contains(&tokens.display().to_string()) && err.contains(":1: "),
        "{err}"
    );
    assert!(!err.contains('\n'));

    let config = dir.path().join("fleet.toml");
    std::fs::write(&config, "[executor]\nkind = \"teleport\"\n").unwrap();
    let mut opts = options(dir.path(), TokenSource::Entries(Vec::new()));
    opts.config = Some(config.clone());
    let err = start_error(opts).await;
    assert!(err.contains(&config.display().to_string()), "{err}");
    assert!(!dir.path().join("state.db").exists(), "nothing written");

    let state = dir.path().join("state.db");
    std::fs::write(&state, b"this is not a database, it is a shopping list").unwrap();
    let err = start_error(options(dir.path(), TokenSource::Entries(Vec::new()))).await;
    assert!(err.contains(&state.display().to_string()), "{err}");

    let mut opts = options(dir.path(), TokenSource::Entries(Vec::new()));
    opts.state = dir.path().join("missing-dir").join("state.db");
    let err = start_error(opts).await;
    assert!(
        err.contains("missing-dir") && err.contains("does not exist"),
        "{err}"
    );
}

#[tokio::test]
async fn a_busy_port_is_a_start_error() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(dir.path(), TokenSource::Entries(Vec::new()));
    opts.listen = holder.local_addr().unwrap();
    let err = start_error(opts).await;
    assert!(err.starts_with("cannot listen on"), "{err}");
    assert!(!dir.path().join("state.db").exists());
}

#[tokio::test]
async fn token_file_tokens_work_and_the_demo_fleet_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    let token = append_token(&tokens, "dana", &[Role::Viewer]).unwrap();
    let demo = DemoOptions {
        fleet_size: 30,
        seed: 3,
        time_scale: 2000.0,
    };
    let client = reqwest::Client::new();
    let mut seeded_events = Vec::new();
    let mut last_seqs = Vec::new();
    for _run in 0..2 {
        let mut opts = options(dir.path(), TokenSource::File(tokens.clone()));
        opts.demo = Some(demo.clone());
        let running = server::start(opts).await.expect("starts");
        let base = format!("http://{}", running.local_addr());
        let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), StatusCode::OK);
        let dbs: Vec<Database> = client
            .get(format!("{base}/v1/databases"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(dbs.len(), 30);
        let page: EventsPage = client
            .get(format!("{base}/v1/events?after=0"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let seqs: Vec<u64> = page.events.iter().map(|e| e.seq).collect();
        assert!(
            seqs.iter().enumerate().all(|(i, s)| *s == i as u64 + 1),
            "contiguous"
        );
        seeded_events.push(
            page.events
                .iter()
                .filter(|e| e.kind == kinds::DATABASE_REGISTERED)
                .count(),
        );
        last_seqs.push(page.last_seq);
        running.shutdown().await;
    }
    assert_eq!(seeded_events, vec![1, 1], "the fleet is seeded once");
    assert!(
        last_seqs[1] > last_seqs[0],
        "the log continues after a restart"
    );
}
