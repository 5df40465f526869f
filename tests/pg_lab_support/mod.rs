//! `scripts/pg-lab.sh` driven from tests: a lab brought up in a temporary directory
//! with the fleetdeck binary under test, its control plane read over HTTP, and brought
//! down again.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fleetdeck_api::{Database, Evidence, HealthStatus};

pub struct Lab {
    /// Holds the lab's directory (`dir`) until the test ends.
    _root: tempfile::TempDir,
    pub dir: PathBuf,
    pub server: String,
    pub token: String,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pg-lab.sh")
}

/// `scripts/pg-lab.sh COMMAND DIR`, with this build's binary; its stdout.
pub fn run_script(command: &str, dir: &Path) -> String {
    let out = Command::new("bash")
        .arg(script())
        .arg(command)
        .arg(dir)
        .env("FLEETDECK_BIN", env!("CARGO_BIN_EXE_fleetdeck"))
        .stdin(Stdio::null())
        .output()
        .expect("run scripts/pg-lab.sh");
    assert!(
        out.status.success(),
        "pg-lab.sh {command} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Lab {
    /// `pg-lab.sh up` in a new temporary directory (below /tmp: the servers' user must
    /// reach it); the exports it printed, checked.
    pub fn up() -> Lab {
        let root = tempfile::Builder::new()
            .prefix("fd-lab-")
            .tempdir()
            .unwrap();
        let dir = root.path().join("lab");
        let out = run_script("up", &dir);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines.len() >= 2, "up printed: {out}");
        let server = lines[lines.len() - 2]
            .strip_prefix("export FLEETDECK_SERVER=")
            .unwrap_or_else(|| panic!("second-to-last line: {out}"))
            .to_string();
        let token = lines[lines.len() - 1]
            .strip_prefix("export FLEETDECK_TOKEN=")
            .unwrap_or_else(|| panic!("last line: {out}"))
            .to_string();
        Lab {
            _root: root,
            dir,
            server,
            token,
        }
    }

    pub fn down(&self) {
        run_script("down", &self.dir);
    }

    pub fn serve_pid(&self) -> i32 {
        std::fs::read_to_string(self.dir.join("serve.pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Option<T> {
        let answer = reqwest::Client::new()
            .get(format!("{}{path}", self.server))
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .ok()?;
        if !answer.status().is_success() {
            return None;
        }
        answer.json().await.ok()
    }

    pub async fn databases(&self) -> Option<Vec<Database>> {
        self.get("/v1/databases").await
    }

    pub async fn evidence(&self) -> Option<Vec<Evidence>> {
        self.get("/v1/evidence").await
    }

    /// Waits until every database of the lab has been checked and is healthy.
    pub async fn all_healthy(&self, timeout: Duration) -> Vec<Database> {
        until("every lab database healthy", timeout, || async {
            let dbs = self.databases().await?;
            (dbs.len() == 3
                && dbs.iter().all(|d| {
                    d.health.status == HealthStatus::Healthy && d.health.checked_at.is_some()
                }))
            .then_some(dbs)
        })
        .await
    }

    /// Starts `fleetdeck serve` again as `up` did (in the background, not a child of
    /// this test), after the test killed it.
    pub fn restart_serve(&self) {
        let listen = self.server.trim_start_matches("http://");
        let out = Command::new("sh")
            .arg("-c")
            .arg(
                "\"$0\" serve --state \"$1/state.db\" --tokens \"$1/tokens\" \
                 --config \"$1/fleet.toml\" --listen \"$2\" \
                 </dev/null >>\"$1/serve.log\" 2>&1 & echo $! >\"$1/serve.pid\"",
            )
            .arg(env!("CARGO_BIN_EXE_fleetdeck"))
            .arg(&self.dir)
            .arg(listen)
            .status()
            .expect("restart fleetdeck serve");
        assert!(out.success());
    }
}

impl Drop for Lab {
    /// A test that failed half-way still stops what its lab started.
    fn drop(&mut self) {
        if self.dir.exists() {
            let _ = Command::new("bash")
                .arg(script())
                .arg("down")
                .arg(&self.dir)
                .stdin(Stdio::null())
                .output();
        }
    }
}

/// Polls `f` until it gives a value, up to `timeout`.
pub async fn until<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    timeout: Duration,
    f: impl Fn() -> F,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub fn alive(pid: i32) -> bool {
    // Reaped or never ours: /proc tells whether it still exists (a zombie of ours
    // counts as gone).
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

/// Processes whose command line or working directory mentions `dir`.
pub fn processes_in(dir: &Path) -> Vec<String> {
    let needle = dir.display().to_string();
    let mut found = Vec::new();
    for p in std::fs::read_dir("/proc").unwrap().flatten() {
        let cmdline = std::fs::read(p.path().join("cmdline"))
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
            .unwrap_or_default();
        let cwd = std::fs::read_link(p.path().join("cwd")).unwrap_or_default();
        if cmdline.contains(&needle) || cwd.starts_with(dir) {
            found.push(format!("{}: {cmdline}", p.file_name().to_string_lossy()));
        }
    }
    found
}
