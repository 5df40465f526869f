//! Access, over the real `fleetdeck serve`: HTTPS with a certificate the console verifies
//! (and refuses without the CA), plain HTTP refused beyond loopback unless
//! `--insecure-listen`, a warning for a token file others can read, and tokens absent
//! from the server's and the console client's trace-level logs.
//!
//! The certificates are test-only fixtures (tests/fixtures/tls/README.md).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fleetdeck_console::client::tls::read_ca_file;
use fleetdeck_console::client::{Client, Timeouts};
use fleetdeck_control_plane::auth::hash_token;

const BIN: &str = env!("CARGO_BIN_EXE_fleetdeck");
const TOKEN: &str = "fdk_rel_server_access_secret_0123456789abcdef";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A token file in `dir` with `mode`, holding only the hash of [`TOKEN`] for an admin.
fn token_file(dir: &Path, mode: u32) -> PathBuf {
    let path = dir.join("tokens");
    std::fs::write(&path, format!("{} ada admin\n", hash_token(TOKEN))).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    #[cfg(not(unix))]
    let _ = mode;
    path
}

/// `fleetdeck serve` with `extra` flags, stderr to `dir/serve.log`, trace logging.
fn serve(dir: &Path, listen: &str, extra: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("serve")
        .arg("--listen")
        .arg(listen)
        .arg("--state")
        .arg(dir.join("state.db"))
        .arg("--tokens")
        .arg(dir.join("tokens"))
        .args(extra)
        .env("FLEETDECK_LOG", "trace")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    cmd
}

struct Running {
    child: Child,
    log: PathBuf,
}

impl Running {
    fn start(dir: &Path, listen: &str, extra: &[&str]) -> Running {
        let log = dir.join("serve.log");
        let file = std::fs::File::create(&log).unwrap();
        let child = serve(dir, listen, extra).stderr(file).spawn().unwrap();
        Running { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log says the server listens (bounded), or fails with the log.
    fn wait_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.log().contains("control plane listening on") {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("server exited with {status}: {}", self.log());
            }
            assert!(Instant::now() < deadline, "not listening: {}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, so the log is complete, then waits.
    fn stop(mut self) -> String {
        #[cfg(unix)]
        sigterm(self.child.id());
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.log()
    }
}

/// Sends SIGTERM through `kill(1)`, so the test needs no unsafe code.
#[cfg(unix)]
fn sigterm(pid: u32) {
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .expect("kill runs");
    assert!(status.success());
}

fn run_to_exit(cmd: &mut Command) -> Output {
    cmd.stderr(Stdio::piped()).output().expect("serve runs")
}

#[test]
fn plain_http_beyond_loopback_is_refused_unless_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    token_file(dir.path(), 0o600);
    let out = run_to_exit(&mut serve(dir.path(), "0.0.0.0:0", &[]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("refusing to listen on 0.0.0.0:0 without TLS")
            && stderr.contains("--insecure-listen"),
        "{stderr}"
    );
    assert!(!dir.path().join("state.db").exists(), "nothing written");

    let port = free_port();
    let mut s = Running::start(
        dir.path(),
        &format!("0.0.0.0:{port}"),
        &["--insecure-listen"],
    );
    s.wait_listening();
    let log = s.stop();
    assert!(log.contains("serving plain HTTP beyond loopback"), "{log}");
}

#[test]
fn a_token_file_others_can_read_is_warned_about() {
    for (mode, warned) in [(0o644, true), (0o600, false)] {
        let dir = tempfile::tempdir().unwrap();
        token_file(dir.path(), mode);
        let mut s = Running::start(dir.path(), &format!("127.0.0.1:{}", free_port()), &[]);
        s.wait_listening();
        let log = s.stop();
        assert_eq!(
            log.contains("token file is readable by group or others"),
            warned,
            "mode {mode:o}: {log}"
        );
    }
}

/// Everything the console client logs at trace level, in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn https_is_verified_and_tokens_stay_out_of_every_log() {
    let dir = tempfile::tempdir().unwrap();
    token_file(dir.path(), 0o600);
    let port = free_port();
    let cert = fixture("server.pem");
    let key = fixture("server.key");
    let mut s = Running::start(
        dir.path(),
        &format!("127.0.0.1:{port}"),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    s.wait_listening();
    assert!(s.log().contains(&format!("https://127.0.0.1:{port}")));

    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("trace"))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let url = format!("https://localhost:{port}");
    let roots = read_ca_file(&fixture("ca.pem")).unwrap();
    let client = Client::with_extra_roots(&url, TOKEN, Timeouts::default(), &roots).unwrap();
    let me = client.whoami().await.expect("HTTPS with the CA file works");
    assert_eq!(me.user, "ada");
    client.snapshot().await.expect("snapshot over HTTPS");
    let wrong = Client::with_extra_roots(&url, "fdk_wrong", Timeouts::default(), &roots).unwrap();
    assert!(wrong.whoami().await.is_err(), "an unknown token is refused");

    // Without the CA the certificate does not verify; plain HTTP gets no answer.
    let untrusted = Client::new(&url, TOKEN).unwrap();
    let err = untrusted.whoami().await.expect_err("untrusted certificate");
    let plain = Client::new(&format!("http://127.0.0.1:{port}"), TOKEN).unwrap();
    assert!(plain.whoami().await.is_err(), "plain HTTP to the TLS port");
    drop(_guard);

    let server_log = s.stop();
    let console_log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        console_log.lines().count() > 5,
        "the console client logged at trace level: {console_log}"
    );
    assert!(server_log.contains("TRACE") || server_log.contains("DEBUG"));
    for (name, log) in [("server", &server_log), ("console", &console_log)] {
        assert!(!log.contains(TOKEN), "{name} log holds the token");
        assert!(!log.contains("fdk_wrong"), "{name} log holds a bad token");
    }
    let shown = format!("{err:?}");
    assert!(!shown.contains(TOKEN), "{shown}");
}
