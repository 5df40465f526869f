//! Running the real `fleetdeck` binary as a script would: its directories in a temp
//! home, no server or token inherited from the caller, no terminal on stdin.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_fleetdeck");

pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Home {
    pub fn new() -> Home {
        Home {
            dir: tempfile::tempdir().expect("temp home"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Where `config.toml` goes for this home.
    pub fn config_dir(&self) -> PathBuf {
        self.path().join("config").join("fleetdeck")
    }

    pub fn write_config(&self, text: &str) -> PathBuf {
        let dir = self.config_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// A token file for `user` of the test control plane.
    pub fn token_file(&self, user: &str) -> PathBuf {
        let path = self.path().join(format!("{user}.token"));
        std::fs::write(&path, format!("{}\n", super::common::token(user))).unwrap();
        path
    }

    pub fn command(&self, env: &[(&str, &str)], args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(BIN);
        let home = self.path();
        cmd.args(args)
            .env("HOME", home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_STATE_HOME", home.join("state"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env_remove("FLEETDECK_SERVER")
            .env_remove("FLEETDECK_TOKEN")
            .env_remove("FLEETDECK_CONFIG")
            .env_remove("NO_COLOR")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    pub async fn run(&self, env: &[(&str, &str)], args: &[&str]) -> Run {
        let out = self
            .command(env, args)
            .output()
            .await
            .expect("fleetdeck runs");
        Run::from(out)
    }

    /// `fleetdeck ARGS --server BASE --token-file USER.token`.
    pub async fn as_user(&self, base: &str, user: &str, args: &[&str]) -> Run {
        let token = self.token_file(user);
        let mut all: Vec<&str> = args.to_vec();
        let token = token.display().to_string();
        all.extend(["--server", base, "--token-file", &token]);
        self.run(&[], &all).await
    }
}

#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().expect("exited, not killed"),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Run {
    pub fn ok(&self) -> &Run {
        assert_eq!(self.code, 0, "expected success: {self:#?}");
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {self:#?}"))
    }

    /// The one line of stderr, checked to be one inert line.
    pub fn error_line(&self) -> String {
        let lines: Vec<_> = self
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert_eq!(lines.len(), 1, "expected one line on stderr: {self:#?}");
        assert!(
            !self.stderr.contains('\u{1b}'),
            "escape in {:?}",
            self.stderr
        );
        lines[0].to_string()
    }
}
