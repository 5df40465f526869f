//! The real binary in a real terminal: a private tmux server (its own socket, so a
//! developer's sessions are never touched), `send-keys` to type, `capture-pane` to read.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub struct Tmux {
    socket: String,
    session: String,
}

/// Whether tmux can run here.
pub fn available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// True, with a note on stderr, when tmux cannot run here: the test then passes
/// without running (CI installs tmux, so it never skips there).
pub fn skipped() -> bool {
    if available() {
        return false;
    }
    eprintln!("SKIPPED: tmux is not installed; this test needs it (CI installs it)");
    true
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

impl Tmux {
    /// Starts `program` in a detached session of `width`×`height`, with the user's
    /// directories under `home` and `env` added. When the program ends the pane shows
    /// `FLEETDECK_EXIT=<code>` and stays open.
    pub fn start(
        name: &str,
        (width, height): (u16, u16),
        home: &Path,
        env: &[(&str, &str)],
        program: &str,
        args: &[&str],
    ) -> Tmux {
        let socket = format!("fleetdeck-{name}-{}", std::process::id());
        let h = home.display();
        let mut command = format!(
            "env HOME={home} XDG_DATA_HOME={home}/data XDG_STATE_HOME={home}/state \
             XDG_CACHE_HOME={home}/cache XDG_CONFIG_HOME={home}/config USER=e2e-tester",
            home = quote(&h.to_string())
        );
        for (k, v) in env {
            command.push_str(&format!(" {k}={}", quote(v)));
        }
        command.push(' ');
        command.push_str(&quote(program));
        for a in args {
            command.push(' ');
            command.push_str(&quote(a));
        }
        command.push_str("; echo FLEETDECK_EXIT=$?; sleep 600");
        let t = Tmux {
            socket,
            session: "main".into(),
        };
        let out = t.run(&[
            "new-session",
            "-d",
            "-s",
            &t.session,
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            &command,
        ]);
        assert!(
            out.status.success(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        t
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("-f")
            .arg("/dev/null")
            .args(args)
            .output()
            .expect("tmux runs")
    }

    /// Runs any tmux command on this test's own server (options, buffers, formats).
    pub fn command(&self, args: &[&str]) -> Output {
        self.run(args)
    }

    /// Types keys (tmux key names: `Tab`, `Enter`, `Escape`, or literal text).
    pub fn keys(&self, keys: &[&str]) {
        for k in keys {
            let out = self.run(&["send-keys", "-t", &self.session, k]);
            assert!(out.status.success(), "send-keys {k}");
            // One key at a time, as a person types: the console sees separate events.
            std::thread::sleep(Duration::from_millis(80));
        }
    }

    /// The screen as text.
    pub fn screen(&self) -> String {
        let out = self.run(&["capture-pane", "-p", "-t", &self.session]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The screen with colours, as escape sequences (for screenshots).
    pub fn screen_ansi(&self) -> String {
        let out = self.run(&["capture-pane", "-p", "-e", "-t", &self.session]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Whether the pane is on the alternate screen.
    pub fn alternate_on(&self) -> bool {
        let out = self.run(&[
            "display-message",
            "-p",
            "-t",
            &self.session,
            "#{alternate_on}",
        ]);
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    }

    /// The pane's window title, as the program set it (or tmux's default, the host name).
    pub fn title(&self) -> String {
        self.format("#{pane_title}")
    }

    /// Whether the program in the pane has asked for mouse events.
    pub fn mouse_captured(&self) -> bool {
        self.format("#{mouse_any_flag}") == "1"
    }

    fn format(&self, format: &str) -> String {
        let out = self.run(&["display-message", "-p", "-t", &self.session, format]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// The process id of the program started in the pane (the pane's shell's child).
    pub fn program_pid(&self) -> u32 {
        let shell = self.format("#{pane_pid}");
        let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children"))
            .unwrap_or_default();
        children
            .split_whitespace()
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no program under the pane's shell {shell}"))
    }

    /// Starts `program --server base extra…` with `token` in `FLEETDECK_TOKEN` and waits
    /// until its header says it is connected.
    pub fn connected(
        name: &str,
        size: (u16, u16),
        home: &Path,
        token: &str,
        program: &str,
        base: &str,
        extra: &[&str],
    ) -> Tmux {
        let mut args = vec!["--server", base];
        args.extend_from_slice(extra);
        let t = Tmux::start(
            name,
            size,
            home,
            &[("FLEETDECK_TOKEN", token)],
            program,
            &args,
        );
        t.wait_for("connected", Duration::from_secs(30), |s| {
            s.contains("● connected")
        });
        t
    }

    /// Waits until `check` holds for the screen; panics with the last screen if not.
    pub fn wait_for(&self, what: &str, timeout: Duration, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let screen = self.screen();
            if check(&screen) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; the screen was:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}
