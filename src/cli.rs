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
    long_about = "Without --server, fleetdeck starts an embedded control plane with a simulated demo \
                  fleet and opens the console on it. With --server it connects to a running control \
                  plane (the token comes from --token-file or the FLEETDECK_TOKEN environment variable).",
    after_long_help = "Files (Linux; the XDG_* variables move them, other systems use their own places):\n  \
                       ~/.local/share/fleetdeck/demo.sqlite   the embedded demo's state (--demo-reset removes it)\n  \
                       ~/.local/state/fleetdeck/logs/         the console's log, one file a day (FLEETDECK_LOG sets the filter)\n  \
                       ~/.config/fleetdeck/                   keymap.toml, theme.toml, and the default token file"
)]
pub struct Cli {
    #[command(flatten)]
    pub console: ConsoleArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args)]
pub struct ConsoleArgs {
    /// Control plane to connect to, e.g. https://fleetdeck.internal:7300.
    #[arg(long, env = "FLEETDECK_SERVER", value_name = "URL")]
    pub server: Option<String>,

    /// File holding the bearer token (otherwise FLEETDECK_TOKEN is used).
    #[arg(long, value_name = "FILE", requires = "server")]
    pub token_file: Option<PathBuf>,

    /// Start the embedded demo over: delete its state first.
    #[arg(long, conflicts_with = "server")]
    pub demo_reset: bool,

    /// Databases in a new embedded demo fleet [default: 240]; an existing demo of
    /// another size needs --demo-reset.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=5000), conflicts_with = "server")]
    pub demo_fleet: Option<u32>,

    /// Key bindings (default: keymap.toml in fleetdeck's config directory, if present).
    #[arg(long, value_name = "FILE")]
    pub keymap: Option<PathBuf>,

    /// Colours and styles (default: theme.toml in fleetdeck's config directory, if present).
    #[arg(long, value_name = "FILE")]
    pub theme: Option<PathBuf>,

    /// Refuse actions when the data is older than this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(2..=3600))]
    pub stale_after: u64,
}

#[derive(Debug, Subcommand)]
pub enum Command {
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
    #[arg(long, value_name = "N", default_value_t = 240, value_parser = clap::value_parser!(u32).range(1..=5000), requires = "demo")]
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
    fn contradictions_are_usage_errors() {
        for args in [
            &["fleetdeck", "--server", "http://x", "--demo-reset"][..],
            &["fleetdeck", "--token-file", "t"][..],
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
