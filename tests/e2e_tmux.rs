//! The real `fleetdeck` binary in a real terminal (tmux, 120×40): it starts on the
//! embedded demo, shows all five panes with data, approves a pending approval through
//! the dialog, quits with `q`, and leaves the terminal as it found it. The approval is
//! then checked in the demo's state file, where the control plane recorded it. A panic
//! and a SIGTERM each leave the terminal as it was, window title included.

mod common;
mod tmux;

use std::time::Duration;

use fleetdeck_api::Verdict;
use fleetdeck_control_plane::store::{Store, approvals};

const BIN: &str = env!("CARGO_BIN_EXE_fleetdeck");

fn approval_id_in_dialog(screen: &str) -> String {
    let start = screen.find("Approve apr-").expect("dialog title") + "Approve ".len();
    screen[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}

/// All five panes drawn, each with data from the demo.
fn has_data(s: &str) -> bool {
    s.contains("embedded demo")
        && s.contains("connected")
        && ["1 Fleet", "2 Rings", "3 Evidence", "4 Approvals", "5 Log"]
            .iter()
            .all(|p| s.contains(p))
        && s.contains("240 databases")
        && pending_approvals(s) > 0
        && s.contains("cmp-")
        && s.contains(" INF ")
}

/// The count in the Approvals pane's title (`4 Approvals · 3 pending`); the demo raises
/// its approvals a moment after it starts.
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

#[test]
fn embedded_demo_approve_and_quit_in_a_real_terminal() {
    if tmux::skipped() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let t = tmux::Tmux::start("e2e", (120, 40), home.path(), &[], BIN, &[]);

    let dashboard = t.wait_for("the dashboard with data", Duration::from_secs(30), has_data);
    assert!(
        t.alternate_on(),
        "the console draws on the alternate screen"
    );
    assert!(
        dashboard.contains("R0 ") && dashboard.contains("fresh"),
        "rings or evidence without data:\n{dashboard}"
    );

    // Approvals pane, approve the selected one; the dialog opens with focus on Cancel.
    t.keys(&["4", "a"]);
    let dialog = t.wait_for("the approve dialog", Duration::from_secs(5), |s| {
        s.contains("Approve apr-") && s.contains("POST /v1/approvals/")
    });
    let id = approval_id_in_dialog(&dialog);
    assert!(
        dialog.contains("» Cancel «"),
        "focus must start on Cancel:\n{dialog}"
    );
    t.keys(&["Tab"]);
    t.wait_for("focus on Approve", Duration::from_secs(5), |s| {
        s.contains("» Approve «")
    });
    t.keys(&["Enter"]);
    t.wait_for("the approval's notice", Duration::from_secs(10), |s| {
        s.contains(&format!("approved {id}"))
    });

    t.keys(&["q"]);
    let after = t.wait_for("the program to exit", Duration::from_secs(15), |s| {
        s.contains("FLEETDECK_EXIT=")
    });
    assert!(after.contains("FLEETDECK_EXIT=0"), "{after}");
    assert!(!t.alternate_on(), "the alternate screen was not left");
    assert!(
        !after.contains("4 Approvals"),
        "the dashboard is still on the normal screen:\n{after}"
    );

    // The control plane recorded the decision by the local user.
    let state = home.path().join("data/fleetdeck/demo.sqlite");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let decided = rt.block_on(async {
        let store = Store::open(&state).await.expect("demo state opens");
        let all = approvals::list(store.pool(), None).await.unwrap();
        store.close().await;
        all.into_iter().find(|a| a.id == id).expect("the approval")
    });
    assert!(
        decided
            .decisions
            .iter()
            .any(|d| d.approver == "e2e-tester" && d.verdict == Verdict::Approve),
        "no approve decision by the local user on {id}: {:?}",
        decided.decisions
    );
}

#[test]
fn a_panic_restores_the_terminal_before_the_report() {
    if tmux::skipped() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let env = [
        ("FLEETDECK_DEBUG_PANIC", "2000"),
        ("RUST_BACKTRACE", "0"),
        ("RUST_LIB_BACKTRACE", "0"),
    ];
    let t = tmux::Tmux::start("panic", (120, 40), home.path(), &env, BIN, &[]);
    t.wait_for("the dashboard", Duration::from_secs(30), has_data);
    let after = t.wait_for("the program to exit", Duration::from_secs(15), |s| {
        s.contains("FLEETDECK_EXIT=")
    });
    assert!(after.contains("FLEETDECK_EXIT=101"), "{after}");
    assert!(!t.alternate_on(), "the alternate screen was not left");
    assert!(
        after.contains("deliberate panic"),
        "the panic report is not on the normal screen:\n{after}"
    );
    assert!(
        !after.contains("1 Fleet"),
        "the dashboard is still drawn:\n{after}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_header_tracks_a_remote_server_going_away_and_coming_back() {
    if tmux::skipped() {
        return;
    }
    let fx = common::Fixture::start().await;
    let home = tempfile::tempdir().unwrap();
    let token = common::token("ann");
    // The most verbose log there is, to prove the token reaches none of it.
    let env = [
        ("FLEETDECK_TOKEN", token.as_str()),
        ("FLEETDECK_LOG", "trace"),
    ];
    let base = fx.base.clone();
    let t = tmux::Tmux::start(
        "outage",
        (120, 40),
        home.path(),
        &env,
        BIN,
        &["--server", &base],
    );
    let connected = |s: &str| s.contains("● connected") && s.contains(&base);
    t.wait_for(
        "connected to the remote server",
        Duration::from_secs(30),
        connected,
    );

    // The server stops in the background (its shutdown may wait for work in flight);
    // the header must not wait for that.
    let stopping = std::time::Instant::now();
    let stopped = tokio::spawn(async move {
        let mut fx = fx;
        fx.stop().await;
        fx
    });
    t.wait_for(
        "the header to say disconnected",
        Duration::from_secs(2),
        |s| s.contains("DISCONNECTED"),
    );
    assert!(stopping.elapsed() < Duration::from_millis(2500));
    let mut fx = stopped.await.unwrap();

    fx.restart().await;
    t.wait_for(
        "the header to say connected again",
        Duration::from_secs(5),
        connected,
    );
    t.keys(&["q"]);
    t.wait_for("the program to exit", Duration::from_secs(10), |s| {
        s.contains("FLEETDECK_EXIT=0")
    });

    let logs = home.path().join("state/fleetdeck/logs");
    let mut text = String::new();
    for entry in std::fs::read_dir(&logs).expect("a log directory") {
        text.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    assert!(
        text.contains("event stream lost"),
        "the outage is not in the log"
    );
    assert!(!text.contains(&token), "the token is in the log file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_restores_the_terminal_and_the_window_title() {
    if tmux::skipped() {
        return;
    }
    let fx = common::Fixture::start().await;
    let home = tempfile::tempdir().unwrap();
    let config_dir = home.path().join("config/fleetdeck");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::write(config_dir.join("config.toml"), "[notify]\ntitle = true\n").unwrap();
    let token = common::token("ann");
    let t = tmux::Tmux::connected(
        "sigterm",
        (120, 40),
        home.path(),
        &token,
        BIN,
        &fx.base,
        &[],
    );
    let before = t.title();
    assert!(t.mouse_captured() && t.alternate_on());

    fx.raise_approval("abe", 1).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !t.title().contains("to approve") {
        assert!(
            std::time::Instant::now() < deadline,
            "the title never changed: {:?}",
            t.title()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let pid = t.program_pid();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success(), "kill -TERM {pid}");
    let after = t.wait_for("the program to exit", Duration::from_secs(10), |s| {
        s.contains("FLEETDECK_EXIT=")
    });
    assert!(after.contains("FLEETDECK_EXIT=0"), "{after}");
    assert!(!t.alternate_on(), "the alternate screen was not left");
    assert!(!t.mouse_captured(), "the mouse is still captured");
    assert_eq!(t.title(), before, "the window title was not restored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_window_ends_the_console_quietly() {
    if tmux::skipped() {
        return;
    }
    let fx = common::Fixture::start().await;
    let home = tempfile::tempdir().unwrap();
    let token = common::token("ann");
    let t = tmux::Tmux::connected("hangup", (100, 30), home.path(), &token, BIN, &fx.base, &[]);
    let pid = t.program_pid();
    // The window goes away: the console gets SIGHUP and its terminal is gone, so every
    // write to it fails. That must end the program, not panic it.
    t.command(&["kill-server"]);
    // Gone, or a zombie nobody has reaped yet (a container's init may not).
    let running = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            let state = stat.rsplit_once(") ").map(|(_, rest)| rest.chars().next());
            state != Some(Some('Z'))
        })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while running() {
        assert!(
            std::time::Instant::now() < deadline,
            "fleetdeck {pid} still runs after its window closed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let logs = home.path().join("state/fleetdeck/logs");
    let mut text = String::new();
    for entry in std::fs::read_dir(&logs).expect("the log directory") {
        text.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    // It may stop on the SIGHUP or on its next write failing, whichever comes first
    // (under load, either); both end the same way, and neither may panic.
    assert!(text.contains("signed in"), "not this run's log:\n{text}");
    assert!(!text.contains("panic"), "a panic on hang-up:\n{text}");
}
