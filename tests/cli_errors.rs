//! The real binary's answers to bad input: one line on stderr naming the file or the
//! server and the problem, a non-zero exit code (2 for flags and files), nothing
//! written, and never a terminal taken over.

mod common;

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_fleetdeck");

/// Runs fleetdeck with its directories in `home`, no server or token from the caller's
/// environment, and no terminal on stdin.
fn fleetdeck(home: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env_remove("FLEETDECK_SERVER")
        .env_remove("FLEETDECK_TOKEN")
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("fleetdeck runs")
}

/// The one line of stderr, checked to be one line and free of escape sequences.
fn one_line(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let lines: Vec<_> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line, got:\n{err}");
    assert!(!err.contains('\u{1b}'), "escape sequences in: {err:?}");
    lines[0].to_string()
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited, not killed")
}

#[test]
fn a_missing_token_is_named() {
    let home = tempfile::tempdir().unwrap();
    let out = fleetdeck(home.path(), &[], &["--server", "http://127.0.0.1:9"]);
    assert_eq!(code(&out), 2);
    let line = one_line(&out);
    assert!(
        line.contains("no token") && line.contains("FLEETDECK_TOKEN"),
        "{line}"
    );
}

#[test]
fn an_unreachable_server_is_named() {
    let home = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let out = fleetdeck(
        home.path(),
        &[("FLEETDECK_SERVER", &url), ("FLEETDECK_TOKEN", "fdk_x")],
        &[],
    );
    assert_eq!(code(&out), 1);
    let line = one_line(&out);
    assert!(
        line.contains("cannot reach") && line.contains(&url),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_is_named_but_never_printed() {
    let fx = common::Fixture::start().await;
    let home = tempfile::tempdir().unwrap();
    let token_file = home.path().join("token");
    std::fs::write(&token_file, "fdk_not_a_known_token\n").unwrap();
    let base = fx.base.clone();
    let tf = token_file.display().to_string();
    let out = tokio::task::spawn_blocking(move || {
        fleetdeck(home.path(), &[], &["--server", &base, "--token-file", &tf])
    })
    .await
    .unwrap();
    assert_eq!(code(&out), 1);
    let line = one_line(&out);
    assert!(
        line.contains("refused the token") && line.contains("401"),
        "{line}"
    );
    assert!(
        !line.contains("fdk_not_a_known_token"),
        "the token was printed: {line}"
    );
}

#[test]
fn serve_with_a_bad_token_file_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, "not-a-hash alice operator\n").unwrap();
    // Private, as a token file should be: the only complaint is the malformed line.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let state = dir.path().join("state.db");
    let out = fleetdeck(
        dir.path(),
        &[],
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--state",
            &state.display().to_string(),
            "--tokens",
            &tokens.display().to_string(),
        ],
    );
    assert_eq!(code(&out), 2);
    let line = one_line(&out);
    assert!(line.contains(&tokens.display().to_string()), "{line}");
    assert!(!state.exists(), "a state file was written");
}

#[test]
fn token_new_appends_a_hash_and_prints_the_token_once() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    let tf = tokens.display().to_string();
    let out = fleetdeck(
        dir.path(),
        &[],
        &[
            "token", "new", "--user", "ann", "--role", "approver", "--tokens", &tf,
        ],
    );
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(!token.is_empty());
    let file = std::fs::read_to_string(&tokens).unwrap();
    assert!(!file.contains(&token), "the plaintext token was stored");
    let entries = fleetdeck_control_plane::auth::parse_token_file(&file).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0].sha256_hex,
        fleetdeck_control_plane::auth::hash_token(&token)
    );

    // A bad role: one line, exit 2, the file unchanged.
    let out = fleetdeck(
        dir.path(),
        &[],
        &[
            "token", "new", "--user", "bob", "--role", "boss", "--tokens", &tf,
        ],
    );
    assert_eq!(code(&out), 2);
    assert!(one_line(&out).contains("unknown role 'boss'"));
    assert_eq!(std::fs::read_to_string(&tokens).unwrap(), file);
}

#[test]
fn a_broken_keymap_stops_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let keymap = dir.path().join("keys.toml");
    std::fs::write(&keymap, "[global]\nquit = \"q\"\nteleport = \"t\"\n").unwrap();
    let out = fleetdeck(
        dir.path(),
        &[],
        &["--keymap", &keymap.display().to_string()],
    );
    assert_eq!(code(&out), 2);
    let line = one_line(&out);
    assert!(line.contains("keys.toml"), "{line}");
    assert!(
        !dir.path().join("data/fleetdeck/demo.sqlite").exists(),
        "the demo started despite the bad keymap"
    );
}

#[test]
fn bad_flags_are_usage_errors() {
    let home = tempfile::tempdir().unwrap();
    let out = fleetdeck(home.path(), &[], &["--no-such-flag"]);
    assert_eq!(code(&out), 2);
    let out = fleetdeck(home.path(), &[], &["serve", "--state", "x"]);
    assert_eq!(code(&out), 2);
    assert!(!home.path().join("x").exists());
}

#[test]
fn a_demo_fleet_over_the_limit_is_refused_before_anything_starts() {
    let home = tempfile::tempdir().unwrap();
    for args in [
        &["--demo-fleet", "100001"][..],
        &["--demo-fleet", "0"][..],
        &[
            "serve",
            "--state",
            "x",
            "--tokens",
            "t",
            "--demo",
            "--demo-fleet",
            "250000",
        ][..],
    ] {
        let out = fleetdeck(home.path(), &[], args);
        assert_eq!(code(&out), 2, "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("a demo fleet has 1 to 100000 databases"),
            "{args:?}: {err}"
        );
    }
    assert!(
        !home.path().join("data").exists() && !home.path().join("x").exists(),
        "something was written"
    );
}
