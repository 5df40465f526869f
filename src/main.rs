//! The `fleetdeck` binary: command-line wiring only. The console, the control plane and
//! their contract live in the workspace crates.

mod appearance;
mod cli;
mod cli_script;
mod config;
mod config_cmd;
mod console;
mod context;
mod embedded;
mod failure;
mod generate;
mod logging;
mod paths;
mod script;
mod serve;

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command, TokenCommand};

fn main() -> ExitCode {
    // A bad flag exits here with clap's message and code 2.
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Token(TokenCommand::New(args))) => serve::token_new(args),
        Some(Command::Serve(args)) => runtime().and_then(|rt| rt.block_on(serve::serve(args))),
        Some(Command::Config(command)) => config_cmd::run(command),
        Some(Command::Completions(args)) => generate::completions(&args),
        Some(Command::Man(args)) => generate::man(&args),
        Some(command) => {
            let outer = cli.console.connect;
            runtime().and_then(|rt| rt.block_on(script::run(command, &outer)))
        }
        None => runtime().and_then(|rt| rt.block_on(console::run(cli.console))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            // Not eprintln!: it panics when the terminal is gone (SIGHUP).
            let _ = writeln!(std::io::stderr(), "fleetdeck: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, failure::Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| failure::Failure::runtime(format!("cannot start the async runtime: {e}")))
}
