//! Long names in a real terminal: the real `fleetdeck` binary at the default 160×48
//! against `fleetdeck serve` whose fleet has long database names that share a long
//! prefix and a two-digit minor version. The screen shows every name whole, the engine
//! with its whole version, and, once the server is gone, a header that still names the
//! server with its port.

mod common;
mod rel_console_support;
mod tmux;

use std::time::Duration;

use rel_console_support::{BIN, ServeProcess, new_token};

const NAMES: [&str; 4] = [
    "pg-prod-eu-west-payments-ledger-017",
    "pg-prod-eu-west-payments-ledger-018",
    "pg-prod-eu-west-payments-ledger-019",
    "pg-staging-eu-west-payments-ledger-001",
];

fn config() -> String {
    let mut text =
        String::from("[executor]\nkind = \"simulated\"\nseed = 7\ntime_scale = 1000.0\n");
    for (i, id) in NAMES.iter().enumerate() {
        let (env, ring) = if id.contains("staging") {
            ("staging", 1)
        } else {
            ("prod", 2)
        };
        text.push_str(&format!(
            "\n[[database]]\nid = \"{id}\"\nengine = \"postgres\"\nengine_version = \"15.1{i}\"\n\
             environment = \"{env}\"\ntier = 2\nregion = \"eu-west-1\"\nowner_team = \"payments\"\n\
             role = \"primary\"\nring = {ring}\nhost = \"{id}.db.internal\"\n\
             backup = {{ schedule = \"daily 02:00\", retention_days = 14 }}\n"
        ));
    }
    text
}

/// The screen's words (borders apart), to find names and versions whole.
fn words(s: &str) -> Vec<String> {
    s.replace(['│', '┃'], " ")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

#[test]
fn long_names_and_versions_are_whole_and_the_header_keeps_the_port() {
    if tmux::skipped() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.src");
    let token = new_token(&tokens, "ann", "operator,approver");
    let mut server = ServeProcess::start(dir.path(), &config(), &tokens);
    let base = server.base.clone();
    let home = tempfile::tempdir().unwrap();
    let env = [("FLEETDECK_TOKEN", token.as_str())];
    let t = tmux::Tmux::start(
        "fit",
        (160, 48),
        home.path(),
        &env,
        BIN,
        &["--server", &base],
    );
    let s = t.wait_for(
        "the fleet drawn with its evidence",
        Duration::from_secs(30),
        |s| s.contains("● connected") && s.contains("4 databases") && s.contains("3 Evidence"),
    );
    let shown = words(&s);
    for name in NAMES {
        // Once in the Fleet pane and once in the Evidence pane, whole.
        let n = shown.iter().filter(|w| *w == name).count();
        assert!(n >= 2, "{name} shown whole {n} times:\n{s}");
    }
    for i in 0..NAMES.len() {
        let version = format!("15.1{i}");
        assert!(
            s.contains(&format!("postgres {version}")),
            "postgres {version} cut:\n{s}"
        );
    }
    assert!(s.contains(&base), "the server cut in the header:\n{s}");

    // The server goes away: the header says so and still names it, port included.
    server.kill();
    let s = t.wait_for(
        "the header to say disconnected",
        Duration::from_secs(10),
        |s| s.contains("DISCONNECTED"),
    );
    let header = s.lines().next().unwrap_or_default();
    assert!(
        header.contains(&format!(":{}", server.port)),
        "the port is cut from the header:\n{header}"
    );
    t.keys(&["q"]);
    t.wait_for("the program to exit", Duration::from_secs(10), |s| {
        s.contains("FLEETDECK_EXIT=")
    });
}
