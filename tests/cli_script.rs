//! The scripting CLI against a real control plane: every command, its JSON shape, and
//! each exit code (0 ok, 1 error, 2 usage, 3 refused by policy or state, 4 timed out).

mod cli_support;
mod common;

use std::time::Duration;

use cli_support::Home;
use fleetdeck_api::{ApprovalState, CampaignState};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_prints_tables_and_stable_json() {
    let fx = common::Fixture::start().await;
    let home = Home::new();
    let apr = fx.raise_approval("ann", 1).await;
    let campaign = fx.create_campaign("olga").await;

    let fleet = home
        .as_user(&fx.base, "vic", &["get", "fleet", "-o", "json"])
        .await;
    let fleet = fleet.ok().json();
    let ids: Vec<&str> = fleet
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 5, "{ids:?}");
    assert!(ids.contains(&"pg-prod-01-r1"));
    for key in [
        "engine",
        "engine_version",
        "environment",
        "tier",
        "ring",
        "role",
        "health",
        "version",
    ] {
        assert!(
            fleet[0].get(key).is_some(),
            "fleet JSON lacks {key}: {}",
            fleet[0]
        );
    }

    let table = home.as_user(&fx.base, "vic", &["get", "fleet"]).await;
    let lines: Vec<&str> = table.ok().stdout.lines().collect();
    assert_eq!(lines.len(), 6, "{}", table.stdout);
    assert!(lines[0].starts_with("ID "), "{}", lines[0]);
    // Aligned: every row's second column starts where the header's does.
    let col = lines[0].find("ENGINE").unwrap();
    for row in &lines[1..] {
        assert_eq!(&row[col..col + 8], "postgres", "{row}");
    }

    let campaigns = home
        .as_user(&fx.base, "vic", &["get", "campaigns", "--output", "json"])
        .await;
    let campaigns = campaigns.ok().json();
    assert_eq!(campaigns[0]["id"], campaign.id.as_str());
    assert!(campaigns[0]["rings"].is_array());
    let table = home.as_user(&fx.base, "vic", &["get", "campaigns"]).await;
    assert!(table.ok().stdout.contains(&campaign.id));

    let evidence = home
        .as_user(&fx.base, "vic", &["get", "evidence", "-o", "json"])
        .await;
    let evidence = evidence.ok().json();
    assert_eq!(evidence.as_array().unwrap().len(), 5);
    assert!(evidence[0]["freshness"].is_string());
    let table = home.as_user(&fx.base, "vic", &["get", "evidence"]).await;
    assert!(table.ok().stdout.starts_with("DATABASE"));

    let approvals = home
        .as_user(&fx.base, "vic", &["get", "approvals", "-o", "json"])
        .await;
    let approvals = approvals.ok().json();
    assert!(
        approvals
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == apr.id.as_str()),
        "{approvals}"
    );
    let table = home.as_user(&fx.base, "vic", &["get", "approvals"]).await;
    assert!(table.ok().stdout.contains(&apr.id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_page_as_json_lines_and_follow_new_ones() {
    let fx = common::Fixture::start().await;
    let home = Home::new();
    fx.raise_approval("ann", 1).await;
    let all = home
        .as_user(
            &fx.base,
            "vic",
            &["get", "events", "--after", "0", "-o", "json"],
        )
        .await;
    let lines: Vec<serde_json::Value> = all
        .ok()
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one event per line"))
        .collect();
    assert!(!lines.is_empty());
    let seqs: Vec<u64> = lines.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    let last = *seqs.last().unwrap();

    let after = home
        .as_user(
            &fx.base,
            "vic",
            &["get", "events", "--after", &(last - 1).to_string()],
        )
        .await;
    // The simulated fleet keeps working, so more events may follow; the first row is
    // the one asked for, and none before it.
    let text = &after.ok().stdout;
    let first_row = text.lines().nth(1).unwrap_or_default();
    assert!(first_row.starts_with(&format!("{last} ")), "{text}");

    // Follow: the new approval's event arrives on stdout while the command runs.
    let token = home.token_file("vic");
    let mut child = home
        .command(
            &[],
            &[
                "get",
                "events",
                "--follow",
                "-o",
                "json",
                "--after",
                &last.to_string(),
                "--server",
                &fx.base,
                "--token-file",
                &token.display().to_string(),
            ],
        )
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let apr = fx.raise_approval("ann", 1).await;
    let mut reader = tokio::io::BufReader::new(stdout);
    let mut line = String::new();
    let found = tokio::time::timeout(Duration::from_secs(15), async {
        use tokio::io::AsyncBufReadExt;
        loop {
            line.clear();
            if reader.read_line(&mut line).await.unwrap() == 0 {
                return false;
            }
            let e: serde_json::Value = serde_json::from_str(&line).unwrap();
            assert!(e["seq"].as_u64().unwrap() > last);
            if e["subject"]["approval_id"] == apr.id.as_str() {
                return true;
            }
        }
    })
    .await
    .expect("the followed event arrives in time");
    assert!(found);
    child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approve_and_reject_with_the_servers_refusals() {
    let fx = common::Fixture::start().await;
    let home = Home::new();
    let mine = fx.raise_approval("ann", 1).await;

    // Deciding your own request: the server's policy refuses it, exit 3 with its reason.
    let own = home
        .as_user(&fx.base, "ann", &["approve", &mine.id, "--comment", "lgtm"])
        .await;
    assert_eq!(own.code, 3, "{own:#?}");
    let line = own.error_line();
    assert!(line.contains("refused") && line.contains("403"), "{line}");
    assert_eq!(fx.approval(&mine.id).await.state, ApprovalState::Pending);

    // A viewer may not decide either.
    let viewer = home.as_user(&fx.base, "vic", &["approve", &mine.id]).await;
    assert_eq!(viewer.code, 3, "{viewer:#?}");

    let ok = home
        .as_user(&fx.base, "abe", &["approve", &mine.id, "-o", "json"])
        .await;
    let accepted = ok.ok().json();
    assert_eq!(accepted["action"], "approve");
    assert_eq!(accepted["id"], mine.id.as_str());
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(accepted["if_match"], mine.version);
    assert!(uuid::Uuid::parse_str(accepted["idempotency_key"].as_str().unwrap()).is_ok());
    assert_eq!(fx.approval(&mine.id).await.state, ApprovalState::Approved);

    // No longer pending: a state refusal (409).
    let again = home
        .as_user(&fx.base, "abe", &["reject", &mine.id, "--comment", "no"])
        .await;
    assert_eq!(again.code, 3, "{again:#?}");
    assert!(again.error_line().contains("409"));

    let other = fx.raise_approval("ann", 1).await;
    let rejected = home
        .as_user(
            &fx.base,
            "abe",
            &["reject", &other.id, "--comment", "evidence too old"],
        )
        .await;
    assert!(rejected.ok().stdout.contains("accepted"));
    assert_eq!(fx.approval(&other.id).await.state, ApprovalState::Rejected);

    // Usage: reject needs a comment (clap), and a blank one is no comment.
    let missing = home.as_user(&fx.base, "abe", &["reject", &other.id]).await;
    assert_eq!(missing.code, 2);
    let blank = home
        .as_user(&fx.base, "abe", &["reject", &other.id, "--comment", "  "])
        .await;
    assert_eq!(blank.code, 2, "{blank:#?}");

    // An approval that does not exist: an error, not a refusal.
    let unknown = home
        .as_user(&fx.base, "abe", &["approve", "apr-nope"])
        .await;
    assert_eq!(unknown.code, 1, "{unknown:#?}");
    assert!(unknown.error_line().contains("no such approval"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_resume_rollback_drill_and_wait() {
    let fx = common::Fixture::start().await;
    let home = Home::new();
    let c = fx.create_campaign("olga").await;

    let viewer = home
        .as_user(&fx.base, "vic", &["pause", &c.id, "--reason", "look"])
        .await;
    assert_eq!(viewer.code, 3, "{viewer:#?}");

    let paused = home
        .as_user(
            &fx.base,
            "olga",
            &["pause", &c.id, "--reason", "error rate up"],
        )
        .await;
    paused.ok();
    assert_eq!(fx.campaign(&c.id).await.state, CampaignState::Paused);

    // Already paused: exit 0 when waiting for it, 3 when pausing again.
    let waited = home
        .as_user(
            &fx.base,
            "vic",
            &["wait", &c.id, "--until", "paused", "-o", "json"],
        )
        .await;
    let waited = waited.ok().json();
    assert_eq!(waited["campaign"], c.id.as_str());
    assert_eq!(waited["state"], "paused");
    assert!(waited["waited_seconds"].is_number());
    let twice = home
        .as_user(&fx.base, "olga", &["pause", &c.id, "--reason", "again"])
        .await;
    assert_eq!(twice.code, 3, "{twice:#?}");

    home.as_user(&fx.base, "olga", &["resume", &c.id])
        .await
        .ok();
    assert_ne!(fx.campaign(&c.id).await.state, CampaignState::Paused);

    // The bake is an hour: completed cannot come within a second.
    let timeout = home
        .as_user(
            &fx.base,
            "vic",
            &["wait", &c.id, "--until", "completed", "--timeout", "1s"],
        )
        .await;
    assert_eq!(timeout.code, 4, "{timeout:#?}");
    assert!(timeout.error_line().contains("timed out"));

    let rollback = home
        .as_user(
            &fx.base,
            "olga",
            &["rollback", &c.id, "--reason", "bad patch", "-o", "json"],
        )
        .await;
    assert_eq!(rollback.ok().json()["action"], "rollback");
    let done = home
        .as_user(
            &fx.base,
            "vic",
            &["wait", &c.id, "--until", "rolled-back", "--timeout", "60s"],
        )
        .await;
    assert!(done.ok().stdout.contains("rolled_back"), "{done:#?}");
    // Rolled back can never become completed: refused by state.
    let never = home
        .as_user(&fx.base, "vic", &["wait", &c.id, "--until", "completed"])
        .await;
    assert_eq!(never.code, 3, "{never:#?}");

    let unknown = home
        .as_user(&fx.base, "olga", &["pause", "cmp-nope", "--reason", "x"])
        .await;
    assert_eq!(unknown.code, 1, "{unknown:#?}");

    let before = fx.events_after(0).await.len();
    let drill = home
        .as_user(&fx.base, "olga", &["drill", "pg-dev-01"])
        .await;
    drill.ok();
    let events = fx.events_after(0).await;
    assert!(
        events[before..]
            .iter()
            .any(|e| e.subject.database_id.as_deref() == Some("pg-dev-01")
                && e.subject.drill_id.is_some()),
        "no drill event after the drill command"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_sends_nothing() {
    let fx = common::Fixture::start().await;
    let home = Home::new();
    let apr = fx.raise_approval("ann", 1).await;
    let flag = home
        .as_user(&fx.base, "abe", &["approve", &apr.id, "--readonly"])
        .await;
    assert_eq!(flag.code, 3, "{flag:#?}");
    assert!(flag.error_line().contains("--readonly"));

    let token = home.token_file("abe");
    home.write_config(&format!(
        "[contexts.prod]\nserver = \"{}\"\ntoken_file = \"{}\"\nread_only = true\nproduction = true\n",
        fx.base,
        token.display()
    ));
    let ctx = home
        .run(&[], &["approve", &apr.id, "--context", "prod"])
        .await;
    assert_eq!(ctx.code, 3, "{ctx:#?}");
    assert!(ctx.error_line().contains("context 'prod' is read-only"));
    // Reading is fine in a read-only context.
    home.run(&[], &["--context", "prod", "get", "approvals"])
        .await
        .ok();

    // The simulated fleet logs on its own; nothing in the log is abe's.
    let sent: Vec<_> = fx
        .events_after(0)
        .await
        .into_iter()
        .filter(|e| e.actor == "abe")
        .collect();
    assert!(sent.is_empty(), "something was sent: {sent:?}");
    assert_eq!(fx.approval(&apr.id).await.state, ApprovalState::Pending);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_come_from_a_file_a_variable_or_a_command() {
    let fx = common::Fixture::start().await;
    let home = Home::new();
    let file = home.token_file("vic");
    home.write_config(&format!(
        "default_context = \"by-file\"\n\
         [contexts.by-file]\nserver = \"{b}\"\ntoken_file = \"{f}\"\n\
         [contexts.by-env]\nserver = \"{b}\"\ntoken_env = \"FD_TEST_TOKEN\"\n\
         [contexts.by-command]\nserver = \"{b}\"\ntoken_command = [\"cat\", \"{f}\"]\n\
         [contexts.failing-command]\nserver = \"{b}\"\ntoken_command = [\"false\"]\n",
        b = fx.base,
        f = file.display()
    ));
    let token = common::token("vic");
    home.run(&[], &["get", "fleet"]).await.ok();
    home.run(
        &[("FD_TEST_TOKEN", &token)],
        &["get", "fleet", "--context", "by-env"],
    )
    .await
    .ok();
    home.run(&[], &["get", "fleet", "--context", "by-command"])
        .await
        .ok();

    let unset = home
        .run(&[], &["get", "fleet", "--context", "by-env"])
        .await;
    assert_eq!(unset.code, 2);
    assert_eq!(
        unset.error_line(),
        "fleetdeck: context 'by-env': environment variable FD_TEST_TOKEN is not set"
    );
    let failing = home
        .run(&[], &["get", "fleet", "--context", "failing-command"])
        .await;
    assert_eq!(failing.code, 2);
    assert!(
        failing
            .error_line()
            .contains("token command 'false': it failed")
    );

    let wrong = home
        .run(
            &[("FD_TEST_TOKEN", "not-a-token")],
            &["get", "fleet", "--context", "by-env"],
        )
        .await;
    assert_eq!(wrong.code, 1, "{wrong:#?}");
    assert!(
        !wrong.stderr.contains("not-a-token"),
        "the token was printed"
    );

    let unknown = home.run(&[], &["get", "fleet", "--context", "nope"]).await;
    assert_eq!(unknown.code, 2);
    assert!(
        unknown
            .error_line()
            .contains("the contexts are: by-command, by-env, by-file, failing-command")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_and_unreachable_errors() {
    let home = Home::new();
    let none = home.run(&[], &["get", "fleet"]).await;
    assert_eq!(none.code, 2);
    assert!(none.error_line().contains("no control plane"));

    let bad = home
        .run(
            &[],
            &["get", "fleet", "--follow", "--server", "http://127.0.0.1:9"],
        )
        .await;
    assert_eq!(bad.code, 2, "{bad:#?}");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let gone = home
        .run(
            &[("FLEETDECK_TOKEN", "t")],
            &["get", "campaigns", "--server", &url],
        )
        .await;
    assert_eq!(gone.code, 1, "{gone:#?}");
    assert!(gone.error_line().contains("cannot reach"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_and_man_page_come_from_the_same_definitions() {
    let home = Home::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = home.run(&[], &["completions", shell]).await;
        assert!(out.ok().stdout.contains("approve"), "{shell}");
        assert!(
            out.stdout.contains("rolled-back"),
            "{shell}: values of --until"
        );
    }
    let man = home.run(&[], &["man"]).await;
    let page = &man.ok().stdout;
    assert!(
        page.starts_with(".ie") || page.contains(".TH fleetdeck"),
        "{}",
        &page[..200.min(page.len())]
    );
    assert!(page.contains("wait"));
    let dir = home.path().join("man");
    home.run(&[], &["man", "--out", &dir.display().to_string()])
        .await
        .ok();
    assert!(dir.join("fleetdeck.1").is_file());
    assert!(dir.join("fleetdeck-wait.1").is_file());
}
