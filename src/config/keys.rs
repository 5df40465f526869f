//! Every key of `config.toml`, with its type, default and meaning: the source of the
//! table in `docs/config.md`. Tests check this list against the parser's own fields
//! and the document against this list, so neither can drift.

/// `(key, type, default, meaning)`; `NAME` stands for a context's name.
pub const KEYS: &[(&str, &str, &str, &str)] = &[
    (
        "default_context",
        "string",
        "none: the embedded demo",
        "Context used when neither `--context` nor `--server` is given.",
    ),
    (
        "theme",
        "string",
        "`default` (`mono` when `NO_COLOR` is set)",
        "A built-in theme (`default`, `light`, `high-contrast`, `mono`) or `themes/NAME.toml` in the config directory.",
    ),
    (
        "keymap",
        "string",
        "`default`",
        "A built-in keymap (`default`, `vim`) or `keymaps/NAME.toml` in the config directory.",
    ),
    (
        "log_level",
        "string",
        "`info`",
        "Filter of the console's log file (`error` … `trace`, or a tracing filter). `FLEETDECK_LOG` overrides it.",
    ),
    (
        "log_lines",
        "integer, 100-1000000",
        "10000",
        "Execution-log lines the console keeps in memory; older ones are dropped and counted.",
    ),
    (
        "stale_after",
        "integer seconds, 2-3600",
        "30",
        "Actions are refused when the data is older than this. `--stale-after` overrides it.",
    ),
    (
        "mouse",
        "boolean",
        "true",
        "Capture the mouse (click to focus and select, wheel to scroll). Off leaves the terminal's own text selection working.",
    ),
    (
        "local_time",
        "boolean",
        "false",
        "Show absolute times in local time instead of UTC at start (a key toggles it).",
    ),
    (
        "notify.bell",
        "boolean",
        "false",
        "Ring the terminal bell when a new approval arrives or a campaign pauses itself.",
    ),
    (
        "notify.title",
        "boolean",
        "false",
        "Set the window title to the counts of waiting approvals and paused campaigns when one of those happens.",
    ),
    (
        "contexts.NAME.server",
        "string, required",
        "",
        "The control plane's URL, `http://` or `https://`.",
    ),
    (
        "contexts.NAME.token_file",
        "path",
        "",
        "File holding the bearer token. Relative paths are next to `config.toml`; `~/` is the home directory.",
    ),
    (
        "contexts.NAME.token_env",
        "string",
        "",
        "Environment variable holding the token.",
    ),
    (
        "contexts.NAME.token_command",
        "array of strings",
        "",
        "Program and arguments (no shell) whose standard output is the token. Exactly one of the three token keys is required.",
    ),
    (
        "contexts.NAME.production",
        "boolean",
        "false",
        "A production control plane: its own border colour and a banner in the header.",
    ),
    (
        "contexts.NAME.read_only",
        "boolean",
        "false",
        "No action can be sent, from the console or the scripting CLI; `:readonly` cannot turn it off.",
    ),
    (
        "contexts.NAME.ca_file",
        "path",
        "",
        "PEM file of certificate authorities to trust for this server, besides the system's.",
    ),
];

/// The keys as a Markdown table, as `docs/config.md` holds it.
pub fn markdown() -> String {
    let mut out = String::from("| key | type | default | meaning |\n|---|---|---|---|\n");
    for (key, kind, default, meaning) in KEYS {
        out.push_str(&format!("| `{key}` | {kind} | {default} | {meaning} |\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::super::file::{ContextForm, FileForm};
    use super::*;

    /// Every key path of a value, with map keys of `contexts` written as `NAME`.
    fn paths(prefix: &str, value: &serde_json::Value, out: &mut BTreeSet<String>) {
        let serde_json::Value::Object(map) = value else {
            out.insert(prefix.to_string());
            return;
        };
        for (k, v) in map {
            let k = if prefix == "contexts" {
                "NAME"
            } else {
                k.as_str()
            };
            let path = if prefix.is_empty() {
                k.to_string()
            } else {
                format!("{prefix}.{k}")
            };
            paths(&path, v, out);
        }
    }

    #[test]
    fn the_documented_keys_are_the_parsed_keys() {
        let mut form = FileForm::default();
        form.contexts
            .insert(toml::Spanned::new(0..0, "x".into()), ContextForm::default());
        let value = serde_json::to_value(&form).unwrap();
        let mut parsed = BTreeSet::new();
        paths("", &value, &mut parsed);
        let documented: BTreeSet<String> = KEYS.iter().map(|k| k.0.to_string()).collect();
        assert_eq!(parsed, documented);
    }

    #[test]
    fn the_document_holds_the_generated_table() {
        let doc = include_str!("../../docs/config.md");
        assert!(
            doc.contains(&markdown()),
            "docs/config.md is out of date: paste the output of `fleetdeck config keys` into it"
        );
    }
}
