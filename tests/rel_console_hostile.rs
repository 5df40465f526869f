//! Hostile text. Reasons, comments and executor output (from a command-executor
//! script) through a real control plane, database names and a problem detail through a
//! scripted server in front of it, all carrying OSC 52 (clipboard), OSC 0/2 (title),
//! OSC 8 (links), CSI clear-screen and cursor moves, 8-bit C1 controls, a
//! bidirectional override and a very long line, shown by the real binary in a real
//! terminal: the screen and the window title are untouched, the clipboard stays empty,
//! and the text is shown inert with the marker. Then property tests: the client's JSON
//! decoding and the sanitiser never panic, whatever the input.

mod common;
mod rel_console_support;
mod tmux;

use std::time::Duration;

use fleetdeck_api::text::{MARKER, sanitize, sanitize_line};
use fleetdeck_api::{Event, EventsPage, Problem, Snapshot, WhoAmI};
use proptest::prelude::*;
use rel_console_support::{BIN, Reply, Scripted, ServeProcess, new_token, wait_until};

/// Every trick at once; `tag` names where it was injected. The long tail stays under
/// the 2000 characters a reason may have.
fn hostile(tag: &str) -> String {
    format!(
        "{tag}\u{1b}]52;c;Q0xJUEJPQVJE\u{7}\u{1b}]0;PWNED-TITLE\u{7}\u{1b}]2;PWNED-TITLE2\u{1b}\\\
         \u{1b}]8;;http://evil.example/\u{7}click\u{1b}]8;;\u{7}\u{1b}[2J\u{1b}[H\u{1b}[10;10H\
         \u{9b}31m\u{9d}2;C1-TITLE\u{9c}\u{202e}desrever{}",
        "W".repeat(1800)
    )
}

/// The executor section: every operation succeeds; patch and drill print the hostile
/// file first.
fn command_executor(dir: &std::path::Path) -> String {
    let out = dir.join("hostile.txt").display().to_string();
    format!(
        "[executor]\nkind = \"command\"\nshell = \"/bin/sh\"\n\
         [executor.patch]\ncommand = \"cat '{out}'\"\n\
         [executor.rollback]\ncommand = \"true\"\n\
         [executor.health]\ncommand = \"echo '{{\\\"status\\\": \\\"healthy\\\"}}'\"\n\
         [executor.version]\ncommand = \"echo 16.3\"\n\
         [executor.drill]\ncommand = \"cat '{out}'; echo '{{\\\"backup_id\\\": \\\"b1\\\", \\\"recovery_point\\\": \\\"2026-11-21T20:15:00Z\\\", \\\"checksum_ok\\\": true, \\\"restore_seconds\\\": 1}}'\"\n"
    )
}

async fn post(base: &str, token: &str, path: &str, body: serde_json::Value) -> u16 {
    reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .json(&body)
        .send()
        .await
        .expect("POST")
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_text_is_inert_on_screen_in_the_title_and_the_clipboard() {
    if tmux::skipped() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hostile.txt"),
        format!("{}\n{}\n", hostile("EXEC-OUT"), hostile("EXEC-ERR")),
    )
    .unwrap();
    let fleet = common::fleet_config();
    let databases = &fleet[fleet.find("\n[[database]]").unwrap()..];
    let config = format!("{}{databases}", command_executor(dir.path()));
    let tokens = dir.path().join("tokens.src");
    let token = new_token(&tokens, "ann", "operator,approver");
    let server = ServeProcess::start(dir.path(), &config, &tokens);
    let base = server.base.clone();

    // Through the real control plane: a drill's output, a pause reason. The drill
    // scheduler also drills never-drilled databases, in id order two at a time:
    // pg-stg-01 sorts last, so it is free now; were it taken (409), the scheduler's
    // drill runs the same hostile command.
    let drill = post(
        &base,
        &token,
        "/v1/databases/pg-stg-01/drills",
        serde_json::json!({}),
    )
    .await;
    assert!(
        (200..300).contains(&drill) || drill == 409,
        "drill: {drill}"
    );
    let campaign = {
        let body = serde_json::json!({
            "title": "postgres 16.4",
            "target_version": "16.4",
            "gate": fleetdeck_api::GateSettings { bake_seconds: 3600, ..Default::default() },
        });
        let resp = reqwest::Client::new()
            .post(format!("{base}/v1/campaigns"))
            .bearer_auth(&token)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success());
        resp.json::<fleetdeck_api::Campaign>().await.unwrap().id
    };
    let reason = hostile("REASON");
    let status = post(
        &base,
        &token,
        &format!("/v1/campaigns/{campaign}/pause"),
        serde_json::json!({ "reason": reason }),
    )
    .await;
    assert_eq!(status, 200, "pause with a hostile reason");

    // Through a scripted server in front of it: a database name the config would
    // refuse, and a problem detail on any action.
    let client = fleetdeck_console::client::Client::new(&base, &token).unwrap();
    let snapshot = serde_json::to_string(&client.snapshot().await.unwrap()).unwrap();
    let evil_name = serde_json::to_string(&hostile("DBNAME")).unwrap();
    let snapshot = snapshot.replace("\"pg-stg-01\"", &evil_name);
    let problem =
        serde_json::to_string(&Problem::new(409, "Conflict", hostile("PROBLEM"))).unwrap();
    let upstream = std::net::SocketAddr::from(([127, 0, 0, 1], server.port));
    let proxy = Scripted::start(Some(upstream), move |req| {
        if req.path == "/v1/snapshot" {
            Reply::ok_json(&snapshot)
        } else if req.method == "POST" {
            Reply::json(409, "application/problem+json", &problem)
        } else {
            Reply::Forward
        }
    })
    .await;

    let home = tempfile::tempdir().unwrap();
    let t = tmux::Tmux::start(
        "rel-hostile",
        (160, 60),
        home.path(),
        &[("FLEETDECK_TOKEN", token.as_str())],
        BIN,
        &["--server", &proxy.base],
    );
    let set = t.command(&["set-option", "-g", "set-clipboard", "on"]);
    assert!(set.status.success());
    let title_before = pane_title(&t);

    // The resume dialog of the paused campaign, then its refusal with the hostile
    // problem detail.
    t.wait_for("the dashboard", Duration::from_secs(30), |s| {
        s.contains("● connected") && s.contains(&campaign)
    });
    t.keys(&["2", "r"]);
    t.wait_for("the resume dialog", Duration::from_secs(5), |s| {
        s.contains(&format!("Resume {campaign}"))
    });
    t.keys(&["Tab", "Tab", "x", "Tab", "Tab", "Enter"]);
    t.wait_for("the refusal", Duration::from_secs(5), |s| {
        s.contains("PROBLEM")
    });
    t.keys(&["Escape"]);
    // The log, zoomed, with the drill's output and the reason in it.
    t.keys(&["5", "z"]);
    let screen = t.wait_for(
        "the hostile lines in the log",
        Duration::from_secs(20),
        |s| s.contains("EXEC-OUT") && s.contains("REASON"),
    );
    t.keys(&["z", "1"]);
    let fleet = t.wait_for("the hostile database name", Duration::from_secs(5), |s| {
        s.contains("DBNAME")
    });

    for s in [&screen, &fleet] {
        assert!(s.contains(MARKER), "no visible marker:\n{s}");
        assert!(
            s.contains("desrever"),
            "the text after the override is gone:\n{s}"
        );
        for leaked in ["PWNED", "C1-TITLE", "evil.example", "Q0xJUEJPQVJE"] {
            assert!(!s.contains(leaked), "{leaked} reached the screen:\n{s}");
        }
        // Nothing cleared or moved the screen: the header is on the first row and
        // the frame is whole.
        let first = s.lines().next().unwrap_or_default();
        assert!(first.contains("connected"), "the header moved:\n{s}");
    }
    assert!(
        ["1 Fleet", "2 Rings", "3 Evidence", "4 Approvals"]
            .iter()
            .all(|p| fleet.contains(p)),
        "a pane is missing:\n{fleet}"
    );
    let title = pane_title(&t);
    assert_eq!(title, title_before, "the window title changed");
    assert!(!title.contains("PWNED") && !title.contains("C1-TITLE"));
    let buffers = t.command(&["list-buffers"]);
    assert!(
        String::from_utf8_lossy(&buffers.stdout).trim().is_empty(),
        "the clipboard was written: {}",
        String::from_utf8_lossy(&buffers.stdout)
    );

    // What is printed after the TUI leaves is as inert: checked with the title and
    // the clipboard once the program has exited.
    t.keys(&["q"]);
    let after = t.wait_for("the program to exit", Duration::from_secs(10), |s| {
        s.contains("FLEETDECK_EXIT=")
    });
    assert!(after.contains("FLEETDECK_EXIT=0"), "{after}");
    assert_eq!(pane_title(&t), title_before, "the title changed at exit");
    let buffers = t.command(&["list-buffers"]);
    assert!(String::from_utf8_lossy(&buffers.stdout).trim().is_empty());

    // The CLI's table output is inert; its JSON output is faithful and escapes every
    // character a terminal would act on: below U+0020, 8-bit C1, bidirectional controls
    // and the Unicode line and paragraph separators.
    for what in ["campaigns", "events"] {
        let table = cli(&base, &token, &["get", what]);
        assert!(
            !table
                .chars()
                .any(|c| (c.is_control() && c != '\n') || is_bidi(c)),
            "get {what}: a control character in the table:\n{table:?}"
        );
        assert!(table.contains("REASON"), "get {what}: {table}");
        let json = cli(&base, &token, &["get", what, "-o", "json"]);
        assert!(
            !json
                .chars()
                .any(|c| (c.is_control() && c != '\n') || is_bidi(c) || is_separator(c)),
            "get {what}: a raw control character in the JSON:\n{json:?}"
        );
        // The payload's C1 CSI and right-to-left override are there, escaped.
        assert!(
            json.contains("\\u009b") && json.contains("\\u202e"),
            "get {what}: {json}"
        );
        // One document, or one per line (events).
        let docs: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&json)
            .into_iter()
            .collect::<Result<_, _>>()
            .expect("valid JSON");
        assert!(
            docs.iter().any(|d| d.to_string().contains("PWNED-TITLE")),
            "get {what} -o json is not faithful"
        );
    }
    wait_until(
        "the proxy saw the refused action",
        Duration::from_secs(1),
        || proxy.requests("POST", "/v1/campaigns/") == 1,
    );
}

/// Runs the CLI against `base`; its stdout, which must be a success.
fn cli(base: &str, token: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(BIN)
        .args(args)
        .args(["--server", base])
        .env("FLEETDECK_TOKEN", token)
        .output()
        .expect("fleetdeck runs");
    assert!(
        out.status.success(),
        "fleetdeck {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn pane_title(t: &tmux::Tmux) -> String {
    let out = t.command(&["display-message", "-p", "#{pane_title}"]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

// ---- property tests ----

fn valid_event_json() -> String {
    serde_json::to_string(&Event {
        seq: 7,
        at: chrono::Utc::now(),
        actor: "runner".into(),
        kind: "campaign.paused".into(),
        level: fleetdeck_api::Level::Warn,
        subject: Default::default(),
        message: "paused".into(),
        correlation_id: Some("c".into()),
        change: None,
    })
    .unwrap()
}

fn decode_all(bytes: &[u8]) {
    let _ = serde_json::from_slice::<Event>(bytes);
    let _ = serde_json::from_slice::<EventsPage>(bytes);
    let _ = serde_json::from_slice::<Snapshot>(bytes);
    let _ = serde_json::from_slice::<WhoAmI>(bytes);
    let _ = serde_json::from_slice::<Problem>(bytes);
}

fn is_separator(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}')
}

fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{61c}')
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Any bytes decode to an answer or an error, never a panic.
    #[test]
    fn json_decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        decode_all(&bytes);
    }

    /// A valid event with bytes flipped, cut or repeated: the same.
    #[test]
    fn mutated_events_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = valid_event_json().into_bytes();
        for (at, b) in flips {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        decode_all(&bytes);
        decode_all(&bytes[..cut.index(bytes.len())]);
    }

    /// Whatever goes in, what comes out of the sanitiser holds no control character
    /// (but the kept newline) and no bidirectional control, and is never empty where
    /// something was removed.
    #[test]
    fn sanitised_text_is_inert(s in "(\\PC|\\pC|\u{1b}[\\[\\]P_^X]?|[\u{80}-\u{9f}]|[\u{202a}-\u{202e}\u{2066}-\u{2069}])*") {
        let line = sanitize_line(&s);
        prop_assert!(!line.chars().any(|c| c.is_control()), "{:?}", line);
        let text = sanitize(&s);
        prop_assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{:?}", text);
        for out in [&line, &text] {
            prop_assert!(!out.chars().any(is_bidi), "{:?}", out);
        }
        if s.contains('\u{1b}') {
            prop_assert!(line.contains(MARKER));
        }
    }
}
