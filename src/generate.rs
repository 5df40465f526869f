//! Shell completions and man pages, generated from the same clap definitions that
//! parse the command line, so they cannot disagree with it.

use std::path::Path;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::cli_script::{CompletionsArgs, ManArgs};
use crate::failure::Failure;

pub fn completions(args: &CompletionsArgs) -> Result<(), Failure> {
    let mut cmd = Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "fleetdeck", &mut std::io::stdout());
    Ok(())
}

pub fn man(args: &ManArgs) -> Result<(), Failure> {
    let cmd = Cli::command();
    match &args.out {
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .map_err(|e| Failure::runtime(format!("cannot render the man page: {e}")))?;
            use std::io::Write;
            std::io::stdout()
                .write_all(&out)
                .map_err(|e| Failure::runtime(format!("cannot write the man page: {e}")))
        }
        Some(dir) => write_pages(cmd, dir),
    }
}

/// `fleetdeck.1` and `fleetdeck-SUBCOMMAND.1` for each subcommand.
fn write_pages(cmd: clap::Command, dir: &Path) -> Result<(), Failure> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::usage(format!("{}: cannot create it: {e}", dir.display())))?;
    clap_mangen::generate_to(cmd, dir)
        .map_err(|e| Failure::runtime(format!("{}: cannot write man pages: {e}", dir.display())))?;
    eprintln!("fleetdeck: man pages written to {}", dir.display());
    Ok(())
}
