//! Contexts from config.toml in a real terminal: the default context opens, `:ctx NAME`
//! reconnects to another control plane and reloads, one that cannot connect is
//! reported in the console that comes back, a production read-only context shows its
//! banner and READ-ONLY, `mouse = false` leaves the mouse to the terminal until `:mouse`
//! (which lasts across a switch), and `notify.title` retitles the window when an
//! approval arrives, until the console exits. SIGTERM while a switch waits for a server
//! that never answers ends the program at once.

mod common;
mod tmux;

use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_fleetdeck");

fn mouse_captured(t: &tmux::Tmux) -> bool {
    t.mouse_captured()
}

fn title(t: &tmux::Tmux) -> String {
    t.title()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctx_switches_to_a_production_read_only_context() {
    if tmux::skipped() {
        return;
    }
    let staging = common::Fixture::start().await;
    let prod = common::Fixture::start().await;
    let home = tempfile::tempdir().unwrap();
    let config_dir = home.path().join("config/fleetdeck");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::write(config_dir.join("ann.token"), common::token("ann")).unwrap();
    std::fs::write(
        config_dir.join("config.toml"),
        format!(
            "default_context = \"staging\"\nmouse = false\n\n[notify]\ntitle = true\n\n\
             [contexts.staging]\nserver = \"{}\"\ntoken_file = \"ann.token\"\n\n\
             [contexts.prod]\nserver = \"{}\"\ntoken_env = \"PROD_TOKEN\"\n\
             production = true\nread_only = true\n\n\
             [contexts.broken]\nserver = \"{}\"\ntoken_command = [\"false\"]\n",
            staging.base, prod.base, prod.base
        ),
    )
    .unwrap();
    let vic = common::token("vic");
    let t = tmux::Tmux::start(
        "contexts",
        (120, 40),
        home.path(),
        &[("PROD_TOKEN", vic.as_str())],
        BIN,
        &[],
    );
    let first = t.wait_for("the staging context", Duration::from_secs(30), |s| {
        s.contains("● connected") && s.contains("staging") && s.contains("pg-dev-01")
    });
    assert!(!first.contains("PRODUCTION"), "{first}");
    assert!(!first.contains("READ-ONLY"), "{first}");
    assert!(
        !mouse_captured(&t),
        "mouse = false must leave the mouse alone"
    );
    let title_before = title(&t);
    assert!(!title_before.contains("fleetdeck"), "{title_before}");

    // A new approval retitles the window (notify.title).
    staging.raise_approval("abe", 1).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !title(&t).contains("to approve") {
        assert!(
            std::time::Instant::now() < deadline,
            "the title never changed: {:?}",
            title(&t)
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // A context that cannot sign in: the console comes back on the one it was on and
    // says why in its footer.
    t.keys(&[":", "ctx broken", "Enter"]);
    std::thread::sleep(Duration::from_millis(500));
    t.wait_for(
        "staging again, with the failure",
        Duration::from_secs(30),
        |s| {
            s.contains("● connected")
                && s.contains("staging")
                && !s.contains("FLEETDECK_EXIT")
                && s.contains("could not switch to broken; still on staging: context 'broken'")
        },
    );
    // The run on staging ended there: the title it set went with it.
    assert_eq!(title(&t), title_before, "the window title was not restored");

    // `:mouse` captures the mouse in spite of the config, and says so.
    t.keys(&[":", "mouse", "Enter"]);
    t.wait_for("the mouse notice", Duration::from_secs(5), |s| {
        s.contains("mouse captured")
    });
    assert!(mouse_captured(&t), ":mouse did not capture the mouse");

    t.keys(&[":", "ctx prod", "Enter"]);
    let switched = t.wait_for("the prod context", Duration::from_secs(30), |s| {
        s.contains("● connected") && s.contains("PRODUCTION") && s.contains("READ-ONLY")
    });
    assert!(switched.contains("prod"), "{switched}");
    assert!(t.alternate_on(), "back on the console after the switch");
    assert!(mouse_captured(&t), "the switch forgot :mouse");
    t.keys(&[":", "mouse off", "Enter"]);
    t.wait_for("the mouse notice", Duration::from_secs(5), |s| {
        s.contains("mouse released")
    });
    assert!(!mouse_captured(&t), ":mouse off did not release the mouse");

    // Read-only: an action key explains instead of opening a dialog.
    t.keys(&["2", "p"]);
    t.wait_for("the read-only refusal", Duration::from_secs(5), |s| {
        s.contains("this context is read-only, so") && !s.contains("POST /v1/campaigns")
    });

    t.keys(&["q"]);
    let after = t.wait_for("the program to exit", Duration::from_secs(15), |s| {
        s.contains("FLEETDECK_EXIT=")
    });
    assert!(after.contains("FLEETDECK_EXIT=0"), "{after}");
    assert!(
        after.contains("fleetdeck: could not switch context: context 'broken': token command 'false': it failed"),
        "the failed switch is reported on exit:\n{after}"
    );
    assert_eq!(title(&t), title_before, "the window title was not restored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readonly_flag_and_an_unknown_context() {
    if tmux::skipped() {
        return;
    }
    let fx = common::Fixture::start().await;
    let home = tempfile::tempdir().unwrap();
    let token = common::token("ann");
    let t = tmux::Tmux::connected(
        "readonly",
        (120, 40),
        home.path(),
        &token,
        BIN,
        &fx.base,
        &["--readonly"],
    );
    let screen = t.wait_for("the console", Duration::from_secs(5), |s| {
        s.contains("READ-ONLY")
    });
    assert!(!screen.contains("PRODUCTION"), "{screen}");
    assert!(mouse_captured(&t), "the mouse is captured by default");

    // No contexts configured: `:ctx` names none and stays.
    t.keys(&[":", "ctx nowhere", "Enter"]);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        t.alternate_on(),
        "an unknown context must not end the console"
    );
    t.keys(&["Escape", "q"]);
    let after = t.wait_for("the program to exit", Duration::from_secs(15), |s| {
        s.contains("FLEETDECK_EXIT=")
    });
    assert!(after.contains("FLEETDECK_EXIT=0"), "{after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_a_switch_waits_for_a_silent_server_ends_the_program() {
    if tmux::skipped() {
        return;
    }
    let staging = common::Fixture::start().await;
    // Takes connections (the kernel completes them) and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let home = tempfile::tempdir().unwrap();
    let config_dir = home.path().join("config/fleetdeck");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::write(config_dir.join("ann.token"), common::token("ann")).unwrap();
    std::fs::write(
        config_dir.join("config.toml"),
        format!(
            "default_context = \"staging\"\n\n\
             [contexts.staging]\nserver = \"{}\"\ntoken_file = \"ann.token\"\n\n\
             [contexts.silent]\nserver = \"http://{}\"\ntoken_file = \"ann.token\"\n",
            staging.base,
            silent.local_addr().unwrap()
        ),
    )
    .unwrap();
    let t = tmux::Tmux::start("silent", (120, 40), home.path(), &[], BIN, &[]);
    t.wait_for("the staging context", Duration::from_secs(30), |s| {
        s.contains("● connected") && s.contains("staging")
    });
    t.keys(&[":", "ctx silent", "Enter"]);
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        !t.alternate_on(),
        "the switch is connecting on the normal screen"
    );
    let pid = t.program_pid();
    let asked = std::time::Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success(), "kill -TERM {pid}");
    let after = t.wait_for("the program to exit", Duration::from_secs(5), |s| {
        s.contains("FLEETDECK_EXIT=")
    });
    assert!(after.contains("FLEETDECK_EXIT=0"), "{after}");
    assert!(
        asked.elapsed() < Duration::from_secs(3),
        "it waited for the silent server: {:?}",
        asked.elapsed()
    );
    drop(silent);
}
