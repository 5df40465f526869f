//! The command line: what a user may type, with help text. Parsing only; nothing here
//! touches a file or the network.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "fleetdeck",
    version,
    about = "Terminal operations console for a database-fleet automation control plane, and that control plane",
    long_about = "Without a context or --server, fleetdeck starts an embedded control plane with a \
                  simulated demo fleet and opens the console on it. With --context NAME (from \
                  config.toml) or --server URL it connects to a running control plane. The \
                  subcommands get, approve, reject, pause, resume, rollback, drill and wait do the \
                  same things without the console, for scripts; plan and apply start campaigns \
                  from campaign files reviewed in git.",
    after_long_help = "Exit codes: 0 ok, 1 error, 2 usage or configuration, 3 refused by policy or state \
                       (the server's reason on stderr), 4 timed out.\n\n\
                       Files: `fleetdeck config paths` prints where config.toml, themes, keymaps, logs \
                       and state live (the XDG_* variables move them on Linux)."
)]
pub struct Cli {
    #[command(flatten)]
    pub console: ConsoleArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Which control plane, and how to sign in: shared by the console and every scripting
/// command (given before or after the subcommand).
#[derive(Debug, Clone, Default, Args)]
pub struct ConnectArgs {
    /// A context from config.toml (default: its default_context, else the embedded demo).
    #[arg(long, value_name = "NAME", conflicts_with = "server")]
    pub context: Option<String>,

    /// Control plane to connect to, e.g. https://fleetdeck.internal:7300 (or set
    /// FLEETDECK_SERVER; --context wins over the variable).
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,

    /// File holding the bearer token for --server (otherwise FLEETDECK_TOKEN is used).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,

    /// PEM file of certificate authorities to trust for --server, besides the system's.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,

    /// Send no action: the console refuses them, scripting actions exit 3.
    #[arg(long)]
    pub readonly: bool,

    /// The config file [default: config.toml in fleetdeck's config directory].
    #[arg(long, env = "FLEETDECK_CONFIG", value_name = "FILE")]
    pub config_file: Option<PathBuf>,
}

impl ConnectArgs {
    /// The subcommand's own flags, completed by those given before the subcommand.
    pub fn or(self, outer: &ConnectArgs) -> ConnectArgs {
        let outer = outer.clone();
        ConnectArgs {
            context: self.context.or(outer.context),
            server: self.server.or(outer.server),
            token_file: self.token_file.or(outer.token_file),
            ca_file: self.ca_file.or(outer.ca_file),
            readonly: self.readonly || outer.readonly,
            config_file: self.config_file.or(outer.config_file),
        }
    }
}

/// The largest demo fleet: generated in memory and written in one transaction at its
/// first start, and what the performance benchmarks run the console at.
pub const MAX_DEMO_FLEET: u32 = 100_000;

/// `--demo-fleet N`: 1 to [`MAX_DEMO_FLEET`] databases.
fn demo_fleet_size(s: &str) -> Result<u32, String> {
    let n: u64 = s.trim().parse().map_err(|_| {
        format!(
            "'{}' is not a number of databases",
            fleetdeck_api::text::sanitize_line(s)
        )
    })?;
    match u32::try_from(n) {
        Ok(n) if (1..=MAX_DEMO_FLEET).contains(&n) => Ok(n),
        _ => Err(format!(
            "a demo fleet has 1 to {MAX_DEMO_FLEET} databases, not {n}"
        )),
    }
}

#[derive(Debug, Args)]
pub struct ConsoleArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,

    /// Start the embedded demo over: delete its state first.
    #[arg(long, conflicts_with_all = ["server", "context"])]
    pub demo_reset: bool,

    /// Databases in a new embedded demo fleet [default: 240]; an existing demo of
    /// another size needs --demo-reset.
    #[arg(long, value_name = "N", value_parser = demo_fleet_size, conflicts_with_all = ["server", "context"])]
    pub demo_fleet: Option<u32>,

    /// Key bindings file (default: the config's keymap, else keymap.toml in fleetdeck's
    /// config directory, if present).
    #[arg(long, value_name = "FILE")]
    pub keymap: Option<PathBuf>,

    /// Colours and styles file (default: the config's theme, else theme.toml in
    /// fleetdeck's config directory, if present).
    #[arg(long, value_name = "FILE")]
    pub theme: Option<PathBuf>,

    /// Refuse actions when the data is older than this many seconds [default: the
    /// config's stale_after, else 30].
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(2..=3600))]
    pub stale_after: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print fleet, campaigns, evidence, approvals or events.
    Get(crate::cli_script::GetArgs),
    /// Approve a pending approval.
    Approve(crate::cli_script::ApproveArgs),
    /// Reject a pending approval (a comment is required).
    Reject(crate::cli_script::RejectArgs),
    /// Pause a campaign (a reason is required).
    Pause(crate::cli_script::CampaignArgs),
    /// Resume a paused campaign.
    Resume(crate::cli_script::ResumeArgs),
    /// Roll a campaign back (a reason is required).
    Rollback(crate::cli_script::CampaignArgs),
    /// Start a restore drill of a database now.
    Drill(crate::cli_script::DrillArgs),
    /// Wait until a campaign is completed, paused or rolled back.
    Wait(crate::cli_script::WaitArgs),
    /// Show what a campaign file would do if started now; exit 3 when it would be refused.
    Plan(crate::cli_script::PlanArgs),
    /// Start the campaign of a campaign file; applying the same file again starts nothing new.
    Apply(crate::cli_script::ApplyArgs),
    /// Check the config file, or show where fleetdeck's files live.
    #[command(subcommand)]
    Config(crate::cli_script::ConfigCommand),
    /// Print shell completions.
    Completions(crate::cli_script::CompletionsArgs),
    /// Print the man page (roff), or write it with --out.
    Man(crate::cli_script::ManArgs),
    /// Run the control plane until SIGTERM or Ctrl-C.
    Serve(ServeArgs),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (loopback unless you mean otherwise).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7300")]
    pub listen: SocketAddr,

    /// SQLite state file (created if missing).
    #[arg(long, value_name = "PATH")]
    pub state: PathBuf,

    /// Token file (see `fleetdeck token new`).
    #[arg(long, value_name = "FILE")]
    pub tokens: PathBuf,

    /// Fleet and executor configuration (TOML).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Generate and run a simulated fleet.
    #[arg(long)]
    pub demo: bool,

    /// Databases in the simulated fleet.
    #[arg(long, value_name = "N", default_value_t = 240, value_parser = demo_fleet_size, requires = "demo")]
    pub demo_fleet: u32,

    /// Seed of the simulated fleet, so a demo can be repeated.
    #[arg(long, value_name = "S", default_value_t = crate::embedded::DEMO_SEED, requires = "demo")]
    pub demo_seed: u64,

    /// Serve HTTPS with this PEM certificate chain (needs --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Allow plain HTTP on a non-loopback --listen address (tokens then cross the
    /// network unencrypted; for a TLS-terminating proxy in front).
    #[arg(long)]
    pub insecure_listen: bool,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token, append its hash to the token file and print it once.
    New(TokenNewArgs),
}

#[derive(Debug, Args)]
pub struct TokenNewArgs {
    /// Who the token belongs to.
    #[arg(long, value_name = "NAME")]
    pub user: String,

    /// viewer, operator, approver or admin; repeat or separate with commas.
    #[arg(long, value_name = "ROLE", required = true, value_delimiter = ',')]
    pub role: Vec<String>,

    /// Token file to append to (default: tokens in fleetdeck's config directory).
    #[arg(long, value_name = "FILE")]
    pub tokens: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_and_token_parse() {
        let cli = Cli::try_parse_from([
            "fleetdeck",
            "serve",
            "--state",
            "s.db",
            "--tokens",
            "t",
            "--demo",
        ])
        .unwrap();
        let Some(Command::Serve(serve)) = cli.command else {
            panic!("not serve")
        };
        assert_eq!(serve.listen.to_string(), "127.0.0.1:7300");
        assert!(serve.demo);

        let cli = Cli::try_parse_from([
            "fleetdeck",
            "token",
            "new",
            "--user",
            "ann",
            "--role",
            "operator,approver",
        ])
        .unwrap();
        let Some(Command::Token(TokenCommand::New(t))) = cli.command else {
            panic!("not token new")
        };
        assert_eq!(t.role, vec!["operator", "approver"]);
    }

    #[test]
    fn the_demo_fleet_is_one_to_a_hundred_thousand() {
        let parse = |n: &str| Cli::try_parse_from(["fleetdeck", "--demo-fleet", n]);
        assert_eq!(parse("100000").unwrap().console.demo_fleet, Some(100_000));
        assert_eq!(parse("1").unwrap().console.demo_fleet, Some(1));
        for bad in ["0", "100001", "5000000000", "many"] {
            let err = parse(bad).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad}");
            let text = err.to_string();
            assert!(
                text.contains("1 to 100000 databases") || text.contains("not a number"),
                "{text}"
            );
        }
    }

    #[test]
    fn contradictions_are_usage_errors() {
        for args in [
            &["fleetdeck", "--server", "http://x", "--demo-reset"][..],
            &["fleetdeck", "--context", "a", "--server", "http://x"][..],
            &[
                "fleetdeck",
                "serve",
                "--state",
                "s",
                "--tokens",
                "t",
                "--demo-fleet",
                "5",
            ][..],
            &[
                "fleetdeck",
                "serve",
                "--state",
                "s",
                "--tokens",
                "t",
                "--listen",
                "nope",
            ][..],
            &["fleetdeck", "--demo-fleet", "0"][..],
        ] {
            let err = Cli::try_parse_from(args).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{args:?}");
        }
    }
}
