//! Two consoles on the embedded demo, the same user in two terminals (tmux): the first
//! starts the embedded control plane, the second joins it through the join file in the
//! data directory (mode 0600), and both show the same live data (an approval decided in
//! the second leaves the first's queue). When the first quits, the second takes the control
//! plane over on the same address, says so in its log, reconnects and acts again. When
//! the last one quits, the join file is gone. `--demo-reset` meanwhile is refused.

mod tmux;

use std::path::Path;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_fleetdeck");

/// Every pane drawn with the demo's data, connected.
fn has_data(s: &str) -> bool {
    s.contains("embedded demo")
        && s.contains("● connected")
        && ["1 Fleet", "2 Rings", "3 Evidence", "4 Approvals", "5 Log"]
            .iter()
            .all(|p| s.contains(p))
        && s.contains("240 databases")
        && s.contains("cmp-")
        && s.contains(" INF ")
        && pending_approvals(s) > 0
}

/// The count in the Approvals pane's title (`4 Approvals · 3 pending`).
fn pending_approvals(screen: &str) -> u32 {
    let Some(at) = screen.find("4 Approvals · ") else {
        return 0;
    };
    let rest = &screen[at + "4 Approvals · ".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    if rest[digits.len()..].starts_with(" pending") {
        digits.parse().unwrap_or(0)
    } else {
        0
    }
}

fn join_file(home: &Path) -> std::path::PathBuf {
    home.join("data/fleetdeck/demo.sqlite.join")
}

fn join_pid(home: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(join_file(home)).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["pid"].as_u64().map(|p| p as u32)
}

/// Whether the Approvals pane lists `id` (its id, then its kind).
fn pending_row(screen: &str, id: &str) -> bool {
    screen.lines().any(|l| {
        let words: Vec<&str> = l.split_whitespace().collect();
        words
            .windows(2)
            .any(|w| w[0] == id && matches!(w[1], "exception" | "promotion"))
    })
}

/// Approves the selected pending approval through the dialog; returns its id.
fn approve_one(t: &tmux::Tmux) -> String {
    t.keys(&["4", "a"]);
    let dialog = t.wait_for("the approve dialog", Duration::from_secs(10), |s| {
        s.contains("Approve apr-") && s.contains("» Cancel «")
    });
    let start = dialog.find("Approve apr-").unwrap() + "Approve ".len();
    let id: String = dialog[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    t.keys(&["Tab", "Enter"]);
    t.wait_for("the approval's notice", Duration::from_secs(15), |s| {
        s.contains(&format!("approved {id}"))
    });
    id
}

#[test]
fn two_consoles_share_the_embedded_control_plane_and_the_second_takes_it_over() {
    if tmux::skipped() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let first = tmux::Tmux::start("join-a", (160, 48), home.path(), &[], BIN, &[]);
    first.wait_for(
        "the first console with data",
        Duration::from_secs(60),
        has_data,
    );
    let host = first.program_pid();
    assert_eq!(
        join_pid(home.path()),
        Some(host),
        "the host wrote the join file"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(join_file(home.path()))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the join file holds a token");
    }

    let second = tmux::Tmux::start("join-b", (160, 48), home.path(), &[], BIN, &[]);
    second.wait_for(
        "the second console with data",
        Duration::from_secs(60),
        has_data,
    );
    assert_eq!(
        join_pid(home.path()),
        Some(host),
        "the second console joined; it started no control plane of its own"
    );

    // A reset would pull the state from under them: refused while they run.
    let reset = std::process::Command::new(BIN)
        .arg("--demo-reset")
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_STATE_HOME", home.path().join("state"))
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_CACHE_HOME", home.path().join("cache"))
        .env("USER", "e2e-tester")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&reset.stderr);
    assert!(
        !reset.status.success()
            && err.contains("cannot reset the demo: another fleetdeck console uses it")
            && err.contains(&format!("pid {host}")),
        "{err}"
    );

    // One control plane: what the second does, the first sees.
    let before = first.screen();
    let id = approve_one(&second);
    assert!(
        pending_row(&before, &id),
        "{id} was not pending in the first:\n{before}"
    );
    first.wait_for(
        "the first console to drop the approval decided in the second",
        Duration::from_secs(15),
        |s| has_data(s) && !pending_row(s, &id),
    );

    // The host quits; the second takes over on the same address and carries on.
    first.keys(&["q"]);
    let gone = first.wait_for("the first console to exit", Duration::from_secs(15), |s| {
        s.contains("FLEETDECK_EXIT=")
    });
    assert!(gone.contains("FLEETDECK_EXIT=0"), "{gone}");
    let taken = second.wait_for(
        "the second console to say it took over, connected",
        Duration::from_secs(30),
        |s| s.contains("took it over") && s.contains("● connected"),
    );
    let me = second.program_pid();
    assert!(
        taken.contains(&format!("pid {host}) quit; console pid {me} took it over")),
        "{taken}"
    );
    assert_eq!(join_pid(home.path()), Some(me));
    second.wait_for("data again", Duration::from_secs(30), has_data);
    approve_one(&second);

    second.keys(&["q"]);
    let gone = second.wait_for("the second console to exit", Duration::from_secs(15), |s| {
        s.contains("FLEETDECK_EXIT=")
    });
    assert!(gone.contains("FLEETDECK_EXIT=0"), "{gone}");
    assert!(
        !join_file(home.path()).exists(),
        "the join file outlived the last console"
    );
}
