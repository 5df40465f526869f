//! docs/config.md lists every theme meaning, keymap action and command; this test
//! keeps those lists equal to the code, so the documentation cannot drift. On a
//! mismatch it prints the block the file should hold.

use fleetdeck_console::app::commands::COMMANDS;
use fleetdeck_console::keymap::{Keymap, Layer, NamedAction};
use fleetdeck_console::theme::MEANINGS;

fn doc() -> String {
    let path = format!("{}/../../docs/config.md", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The text between `<!-- NAME:start -->` and `<!-- NAME:end -->`.
fn block(doc: &str, name: &str) -> String {
    let start = format!("<!-- {name}:begin -->\n");
    let end = format!("<!-- {name}:end -->");
    let from = doc
        .find(&start)
        .unwrap_or_else(|| panic!("docs/config.md lacks {start}"))
        + start.len();
    let to = doc[from..]
        .find(&end)
        .unwrap_or_else(|| panic!("docs/config.md lacks {end}"))
        + from;
    doc[from..to].to_string()
}

fn check(name: &str, want: String) {
    let got = block(&doc(), name);
    assert!(
        got == want,
        "docs/config.md block '{name}' differs from the code; it should read:\n{want}"
    );
}

#[test]
fn theme_meanings_match_the_code() {
    let mut want = String::from("| meaning | used for |\n|---|---|\n");
    for (name, what) in MEANINGS {
        want.push_str(&format!("| `{name}` | {what} |\n"));
    }
    check("theme-meanings", want);
}

#[test]
fn keymap_actions_match_the_code() {
    let km = Keymap::default();
    let mut want = String::new();
    for layer in Layer::ALL {
        want.push_str(&format!(
            "\n#### `[{}]` — {}\n\n| action | default keys | does |\n|---|---|---|\n",
            layer.name(),
            layer.title()
        ));
        for a in NamedAction::ALL.iter().filter(|a| layer.allows(**a)) {
            let keys: Vec<String> = km
                .keys(layer, *a)
                .iter()
                .map(|k| format!("`{}`", k.label()))
                .collect();
            let keys = if keys.is_empty() {
                "—".to_string()
            } else {
                keys.join(" ")
            };
            want.push_str(&format!("| `{}` | {keys} | {} |\n", a.name(), a.describe()));
        }
    }
    want.push('\n');
    check("keymap-actions", want);
}

#[test]
fn commands_match_the_code() {
    let mut want = String::from("| command | does |\n|---|---|\n");
    for (name, what) in COMMANDS {
        want.push_str(&format!("| `:{name}` | {what} |\n"));
    }
    check("commands", want);
}
