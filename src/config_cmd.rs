//! `fleetdeck config check|paths|keys`.

use std::path::{Path, PathBuf};

use crate::appearance::{self, Dirs, Flags};
use crate::cli_script::{ConfigArgs, ConfigCommand};
use crate::config::{Config, Problem, keys};
use crate::failure::Failure;
use crate::paths;

pub fn run(command: ConfigCommand) -> Result<(), Failure> {
    match command {
        ConfigCommand::Check(args) => check(&config_path(&args)?),
        ConfigCommand::Paths(args) => {
            print!("{}", paths_text(&config_path(&args)?)?);
            Ok(())
        }
        ConfigCommand::Keys => {
            print!("{}", keys::markdown());
            Ok(())
        }
    }
}

fn config_path(args: &ConfigArgs) -> Result<PathBuf, Failure> {
    match &args.config_file {
        Some(p) => Ok(p.clone()),
        None => paths::config_file().map_err(Failure::usage),
    }
}

/// Every problem of the config and of every theme and keymap it can use, each with
/// its file, line and a hint; exit 1 when there is any.
fn check(path: &Path) -> Result<(), Failure> {
    let dirs = Dirs::standard().map_err(Failure::usage)?;
    let (problems, summary) = check_all(path, &dirs);
    for p in &problems {
        println!("{}", p.headline());
        if !p.hint.is_empty() {
            println!("  hint: {}", fleetdeck_api::text::sanitize_line(&p.hint));
        }
    }
    if problems.is_empty() {
        println!("{summary}");
        Ok(())
    } else {
        Err(Failure::runtime(format!(
            "{} problem{} found",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" }
        )))
    }
}

pub fn check_all(path: &Path, dirs: &Dirs) -> (Vec<Problem>, String) {
    if !path.exists() {
        return (
            Vec::new(),
            format!(
                "no config file at {}: the defaults are in use (the embedded demo, the default theme and keymap)",
                path.display()
            ),
        );
    }
    let (config, mut problems) = match Config::load(path) {
        Ok(c) => (c, Vec::new()),
        // The rest is still checked against an empty config, so one run shows all.
        Err(p) => (Config::default(), p),
    };
    for ctx in &config.contexts {
        if let Some(ca) = &ctx.ca_file
            && let Err(e) = fleetdeck_console::client::tls::read_ca_file(ca)
        {
            problems.push(Problem {
                file: path.to_path_buf(),
                line: ctx.line,
                message: format!("context '{}': {e}", ctx.name),
                hint: "point ca_file at a PEM file of certificate authorities".into(),
            });
        }
        if let crate::config::TokenSource::File(f) = &ctx.token
            && !f.is_file()
        {
            problems.push(Problem {
                file: path.to_path_buf(),
                line: ctx.line,
                message: format!(
                    "context '{}': token_file {} does not exist",
                    ctx.name,
                    f.display()
                ),
                hint: "create it with the token on one line, or use token_env or token_command"
                    .into(),
            });
        }
    }
    if let Err(more) = appearance::load(Flags::default(), &config, dirs) {
        problems.extend(more);
    }
    let keymaps = appearance::check_user_keymaps(&dirs.keymaps, &mut problems);
    let summary = format!(
        "{}: OK ({} context{}, {} user keymap{} checked)",
        path.display(),
        config.contexts.len(),
        if config.contexts.len() == 1 { "" } else { "s" },
        keymaps,
        if keymaps == 1 { "" } else { "s" },
    );
    (problems, summary)
}

fn paths_text(config: &Path) -> Result<String, Failure> {
    let rows: Vec<(&str, PathBuf)> = vec![
        ("config", config.to_path_buf()),
        ("themes", paths::themes_dir().map_err(Failure::usage)?),
        ("keymaps", paths::keymaps_dir().map_err(Failure::usage)?),
        (
            "tokens",
            paths::default_token_file().map_err(Failure::usage)?,
        ),
        ("logs", paths::log_dir().map_err(Failure::usage)?),
        ("state", paths::data_dir().map_err(Failure::usage)?),
        ("demo", paths::demo_state().map_err(Failure::usage)?),
    ];
    let mut out = String::new();
    for (name, path) in rows {
        out.push_str(&format!("{name:<8} {}\n", path.display()));
    }
    Ok(out)
}
