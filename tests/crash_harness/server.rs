//! `fleetdeck serve` as a child process that the harness kills with SIGKILL and starts
//! again on the same state file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

const BIN: &str = env!("CARGO_BIN_EXE_fleetdeck");
/// How long the server may take to answer `/readyz` after a (re)start.
const READY_WITHIN: Duration = Duration::from_secs(20);

/// `fleetdeck serve` as a child process on a fixed port, stderr appended to a log file.
pub struct Server {
    pub dir: PathBuf,
    pub addr: SocketAddr,
    pub child: Option<Child>,
}

impl Server {
    pub fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("serve.log"))
            .unwrap();
        let child = Command::new(BIN)
            .arg("serve")
            .arg("--listen")
            .arg(self.addr.to_string())
            .arg("--state")
            .arg(self.state())
            .arg("--tokens")
            .arg(self.dir.join("tokens"))
            .arg("--config")
            .arg(self.dir.join("fleet.toml"))
            .env("FLEETDECK_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("fleetdeck serve starts");
        self.child = Some(child);
    }

    pub fn state(&self) -> PathBuf {
        self.dir.join("state.db")
    }

    /// SIGKILL: no shutdown path runs.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL sent");
            child.wait().expect("killed server reaped");
        }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("serve.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Polls `/readyz` until it answers 200; panics with the log if the process exits or
    /// the time runs out.
    pub async fn wait_ready(&mut self, http: &reqwest::Client) {
        let deadline = Instant::now() + READY_WITHIN;
        let url = format!("http://{}/readyz", self.addr);
        loop {
            if let Ok(r) = http.get(&url).send().await
                && r.status() == StatusCode::OK
            {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("server exited with {status}:\n{}", self.log_tail());
            }
            assert!(
                Instant::now() < deadline,
                "server not ready within {READY_WITHIN:?}:\n{}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}
