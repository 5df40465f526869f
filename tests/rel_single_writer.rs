//! One control plane per state file, with real `fleetdeck serve` processes: a second
//! serve on a state file in use exits 2 naming the file and the process that holds it
//! (pid, host, address) and leaves the first untouched; a holder killed with SIGKILL
//! leaves no lock behind, so a new serve starts at once and says the last one stopped
//! without shutting down.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fleetdeck_api::{EventsPage, Role, kinds};
use fleetdeck_control_plane::auth::append_token;

const BIN: &str = env!("CARGO_BIN_EXE_fleetdeck");

fn free_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

fn serve(dir: &Path, listen: &str) -> Command {
    let mut c = Command::new(BIN);
    c.arg("serve")
        .arg("--listen")
        .arg(listen)
        .arg("--state")
        .arg(dir.join("state.db"))
        .arg("--tokens")
        .arg(dir.join("tokens"))
        .env("FLEETDECK_LOG", "info")
        .stdin(Stdio::null());
    c
}

/// A serve in the background, its stderr in `NAME.log`.
fn spawn(dir: &Path, listen: &str, name: &str) -> Child {
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
    serve(dir, listen)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("fleetdeck serve starts")
}

async fn wait_ready(http: &reqwest::Client, listen: &str, child: &mut Child, log: PathBuf) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http.get(format!("http://{listen}/readyz")).send().await
            && r.status().is_success()
        {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "serve exited with {status}: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        assert!(Instant::now() < deadline, "serve not ready on {listen}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn a_second_serve_on_a_state_in_use_exits_2_naming_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let token = append_token(&dir.path().join("tokens"), "dana", &[Role::Viewer]).unwrap();
    let http = reqwest::Client::new();
    let first_at = free_port();
    let mut first = Killed(spawn(dir.path(), &first_at, "first"));
    wait_ready(&http, &first_at, &mut first.0, dir.path().join("first.log")).await;

    let mut second = Killed(spawn(dir.path(), &free_port(), "second"));
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = second.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "a second serve is running on a state file in use"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let err = std::fs::read_to_string(dir.path().join("second.log")).unwrap();
    assert_eq!(status.code(), Some(2), "{err}");
    let state = dir.path().join("state.db").display().to_string();
    for needed in [
        state.as_str(),
        &format!("pid {}", first.0.id()),
        "on host ",
        &format!("listening on {first_at}"),
        "one control plane per state file",
    ] {
        assert!(err.contains(needed), "'{needed}' missing from: {err}");
    }
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");

    // The first one never noticed: it answers, and its log holds one start.
    let page: EventsPage = http
        .get(format!("http://{first_at}/v1/events?after=0"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let starts = page
        .events
        .iter()
        .filter(|e| e.kind == kinds::SERVER_STARTED)
        .count();
    assert_eq!(starts, 1);
}

#[tokio::test]
async fn a_holder_killed_with_sigkill_leaves_no_lock_and_the_next_serve_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let token = append_token(&dir.path().join("tokens"), "dana", &[Role::Viewer]).unwrap();
    let http = reqwest::Client::new();
    let first_at = free_port();
    let mut first = spawn(dir.path(), &first_at, "first");
    wait_ready(&http, &first_at, &mut first, dir.path().join("first.log")).await;
    let killed_pid = first.id();
    first.kill().unwrap();
    first.wait().unwrap();

    // At once: no stale lock to clear by hand.
    let next_at = free_port();
    let mut next = Killed(spawn(dir.path(), &next_at, "next"));
    wait_ready(&http, &next_at, &mut next.0, dir.path().join("next.log")).await;
    let page: EventsPage = http
        .get(format!("http://{next_at}/v1/events?after=0"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let started = page
        .events
        .iter()
        .rfind(|e| e.kind == kinds::SERVER_STARTED)
        .unwrap();
    assert!(
        started.message.contains(&format!(
            "the previous one on this state file, fleetdeck serve (pid {killed_pid}"
        )) && started.message.contains("stopped without shutting down"),
        "{}",
        started.message
    );
}

#[tokio::test]
async fn a_console_on_a_demo_state_held_by_serve_says_where_to_connect() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data/fleetdeck");
    std::fs::create_dir_all(&data).unwrap();
    append_token(&data.join("tokens"), "dana", &[Role::Viewer]).unwrap();
    let http = reqwest::Client::new();
    let listen = free_port();
    let mut held = Killed(
        Command::new(BIN)
            .args(["serve", "--demo", "--demo-fleet", "20", "--listen", &listen])
            .arg("--state")
            .arg(data.join("demo.sqlite"))
            .arg("--tokens")
            .arg(data.join("tokens"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_ready(&http, &listen, &mut held.0, data.join("none")).await;

    let console = Command::new(BIN)
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_STATE_HOME", home.path().join("state"))
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_CACHE_HOME", home.path().join("cache"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&console.stderr);
    assert!(!console.status.success(), "{err}");
    assert!(
        err.contains(&format!("fleetdeck serve (pid {}", held.0.id()))
            && err.contains(&format!("--server http://{listen}")),
        "{err}"
    );
}
