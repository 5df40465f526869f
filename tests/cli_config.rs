//! config.toml through the real binary: the valid fixture passes `config check`, each
//! invalid fixture under tests/fixtures/config/ produces exactly its message with file
//! and line (from `config check`, exit 1, and from the console, exit 2, before the
//! screen changes); user themes and keymaps are checked too; `config paths` follows the
//! platform's directories.

mod cli_support;
mod common;

use std::path::{Path, PathBuf};

use cli_support::Home;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(name)
}

/// Each invalid fixture, the line and the exact message it must produce.
const INVALID: &[(&str, usize, &str)] = &[
    (
        "unknown-key.toml",
        2,
        "unknown field `colour`, expected one of `default_context`, `theme`, `keymap`, \
         `log_level`, `log_lines`, `stale_after`, `mouse`, `local_time`, `notify`, `contexts`",
    ),
    (
        "unknown-context-key.toml",
        4,
        "unknown field `prod`, expected one of `server`, `token_file`, `token_env`, \
         `token_command`, `production`, `read_only`, `ca_file`",
    ),
    (
        "wrong-type.toml",
        1,
        "invalid type: string \"yes\", expected a boolean",
    ),
    ("not-toml.toml", 1, "invalid basic string, expected `\"`"),
    (
        "bad-default-context.toml",
        2,
        "default_context 'production' is not a context in this file",
    ),
    (
        "two-token-sources.toml",
        3,
        "context 'prod' has more than one token source",
    ),
    ("no-token.toml", 1, "context 'prod' has no token source"),
    (
        "empty-command.toml",
        3,
        "context 'prod': token_command is empty",
    ),
    (
        "bad-server.toml",
        2,
        "context 'prod': server 'fleetdeck.internal:7300' is not an http:// or https:// URL",
    ),
    ("log-lines-range.toml", 1, "log_lines = 5 is out of range"),
    (
        "bad-log-level.toml",
        1,
        "log_level 'loud' is not a log level",
    ),
    ("unknown-theme.toml", 2, "unknown theme 'solarized'"),
    ("unknown-keymap.toml", 1, "unknown keymap 'emacs'"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_valid_fixture_passes() {
    let home = Home::new();
    let path = fixture("valid.toml");
    let out = home
        .run(
            &[],
            &[
                "config",
                "check",
                "--config-file",
                &path.display().to_string(),
            ],
        )
        .await;
    out.ok();
    assert_eq!(
        out.stdout.trim(),
        format!(
            "{}: OK (3 contexts, 0 user keymaps checked)",
            path.display()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_invalid_fixture_names_its_file_line_and_problem() {
    let home = Home::new();
    for (name, line, message) in INVALID {
        let path = fixture(name).display().to_string();
        let expected = format!("{path}:{line}: {message}");
        let check = home
            .run(&[], &["config", "check", "--config-file", &path])
            .await;
        assert_eq!(check.code, 1, "{name}: {check:#?}");
        let lines: Vec<&str> = check.stdout.lines().collect();
        assert_eq!(
            lines.first(),
            Some(&expected.as_str()),
            "{name}: {check:#?}"
        );
        assert!(
            lines.get(1).is_some_and(|l| l.starts_with("  hint: ")),
            "{name}: no hint: {check:#?}"
        );
        assert_eq!(check.error_line(), "fleetdeck: 1 problem found");

        // The console stops on the same problem, before it takes the terminal.
        let console = home.run(&[], &["--config-file", &path]).await;
        assert_eq!(console.code, 2, "{name}: {console:#?}");
        let err = console.error_line();
        assert!(
            err.starts_with(&format!("fleetdeck: {expected} (hint: ")),
            "{name}: {err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reads_the_default_file_and_every_user_theme_and_keymap() {
    let home = Home::new();
    let none = home.run(&[], &["config", "check"]).await;
    assert!(none.ok().stdout.contains("no config file at"));

    let config = home.write_config("theme = \"mine\"\nkeymap = \"mine\"\n");
    let dir = home.config_dir();
    std::fs::create_dir_all(dir.join("themes")).unwrap();
    std::fs::create_dir_all(dir.join("keymaps")).unwrap();
    std::fs::write(dir.join("themes/mine.toml"), "parent = \"light\"\n").unwrap();
    std::fs::write(dir.join("keymaps/mine.toml"), "[global]\nquit = \"f10\"\n").unwrap();
    std::fs::write(
        dir.join("themes/broken.toml"),
        "parent = \"mine\"\nok = { fg = \"blurple\" }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("keymaps/clash.toml"),
        "[global]\nhelp = \"f10\"\nquit = \"f10\"\n",
    )
    .unwrap();
    let out = home.run(&[], &["config", "check"]).await;
    assert_eq!(out.code, 1, "{out:#?}");
    let theme = format!(
        "{}:2: 'ok': unknown colour 'blurple'",
        dir.join("themes/broken.toml").display()
    );
    assert!(out.stdout.contains(&theme), "{out:#?}");
    let keymap = dir.join("keymaps/clash.toml").display().to_string();
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with(&format!("{keymap}:"))
                && l.contains("help")
                && l.contains("quit")),
        "the conflict names both actions: {out:#?}"
    );
    assert_eq!(out.error_line(), "fleetdeck: 2 problems found");

    std::fs::remove_file(dir.join("themes/broken.toml")).unwrap();
    std::fs::remove_file(dir.join("keymaps/clash.toml")).unwrap();
    let fixed = home.run(&[], &["config", "check"]).await;
    assert_eq!(
        fixed.ok().stdout.trim(),
        format!(
            "{}: OK (0 contexts, 1 user keymap checked)",
            config.display()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_follow_the_platform_directories() {
    let home = Home::new();
    let out = home.run(&[], &["config", "paths"]).await;
    let h = home.path().display().to_string();
    let expected = format!(
        "config   {h}/config/fleetdeck/config.toml\n\
         themes   {h}/config/fleetdeck/themes\n\
         keymaps  {h}/config/fleetdeck/keymaps\n\
         tokens   {h}/config/fleetdeck/tokens\n\
         logs     {h}/state/fleetdeck/logs\n\
         state    {h}/data/fleetdeck\n\
         demo     {h}/data/fleetdeck/demo.sqlite\n"
    );
    assert_eq!(out.ok().stdout, expected);
    let named = home
        .run(
            &[("FLEETDECK_CONFIG", "/etc/fleetdeck.toml")],
            &["config", "paths"],
        )
        .await;
    assert!(
        named
            .ok()
            .stdout
            .starts_with("config   /etc/fleetdeck.toml\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keys_table_is_printed_for_the_docs() {
    let home = Home::new();
    let out = home.run(&[], &["config", "keys"]).await;
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/config.md"))
        .unwrap();
    assert!(
        doc.contains(&out.ok().stdout),
        "docs/config.md holds an old table"
    );
}
