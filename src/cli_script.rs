//! The scripting subcommands' arguments: parsing only. Every one takes the same
//! [`ConnectArgs`] as the console and `--output table|json`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};

use crate::cli::ConnectArgs;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Output {
    /// Aligned columns for people; control characters removed.
    #[default]
    Table,
    /// Stable JSON for programs (see docs/cli.md).
    Json,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Resource {
    Fleet,
    Campaigns,
    /// One campaign ring by ring, target by target (give its id).
    Campaign,
    Evidence,
    Approvals,
    Events,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ApprovalFilter {
    Pending,
    Approved,
    Rejected,
    Expired,
    All,
}

impl ApprovalFilter {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalFilter::Pending => "pending",
            ApprovalFilter::Approved => "approved",
            ApprovalFilter::Rejected => "rejected",
            ApprovalFilter::Expired => "expired",
            ApprovalFilter::All => "all",
        }
    }
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// What to print.
    #[arg(value_enum)]
    pub what: Resource,

    /// `get campaign` only: the campaign's id.
    #[arg(value_name = "ID")]
    pub id: Option<String>,

    /// Events only: start after this sequence number [default: the most recent 100].
    #[arg(long, value_name = "SEQ")]
    pub after: Option<u64>,

    /// Events only: keep printing new events as they happen, until interrupted.
    #[arg(long)]
    pub follow: bool,

    /// Approvals only: which states.
    #[arg(long, value_enum, default_value_t = ApprovalFilter::Pending)]
    pub state: ApprovalFilter,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub connect: ConnectArgs,
}

#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The approval's id.
    pub id: String,
    /// Why you approve (optional).
    #[arg(long)]
    pub comment: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

#[derive(Debug, Args)]
pub struct RejectArgs {
    /// The approval's id.
    pub id: String,
    /// Why you reject.
    #[arg(long, required = true)]
    pub comment: String,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

#[derive(Debug, Args)]
pub struct CampaignArgs {
    /// The campaign's id.
    pub campaign: String,
    /// Why; recorded in the audit log.
    #[arg(long, required = true)]
    pub reason: String,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The campaign's id.
    pub campaign: String,
    /// Why (optional); recorded in the audit log.
    #[arg(long)]
    pub reason: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

#[derive(Debug, Args)]
pub struct DrillArgs {
    /// The database's id.
    pub database: String,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WaitFor {
    Completed,
    Paused,
    RolledBack,
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// The campaign's id.
    pub campaign: String,
    /// The state to wait for.
    #[arg(long, value_enum)]
    pub until: WaitFor,
    /// Give up after this long (exit 4): 90s, 10m, 1h, or seconds.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub timeout: Duration,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The campaign file (TOML with the keys of the create body; see docs/cli.md).
    pub file: PathBuf,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The campaign file (TOML with the keys of the create body; see docs/cli.md).
    pub file: PathBuf,
    /// Start it only if its plan is still the one `fleetdeck plan` showed with this
    /// hash; otherwise exit 3 and show what changed.
    #[arg(long, value_name = "HASH")]
    pub plan_hash: Option<String>,
    /// Then wait until the campaign is completed (exit 4 after --timeout).
    #[arg(long)]
    pub wait: bool,
    /// With --wait: give up after this long: 90s, 10m, 1h, or seconds.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration, requires = "wait")]
    pub timeout: Duration,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check config.toml and every theme and keymap it uses; exit 0 or 1.
    Check(ConfigArgs),
    /// Print where config, themes, keymaps, logs and state live.
    Paths(ConfigArgs),
    /// Print the table of config keys (Markdown, as in docs/config.md).
    Keys,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The config file [default: config.toml in fleetdeck's config directory].
    #[arg(long, env = "FLEETDECK_CONFIG", value_name = "FILE")]
    pub config_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write fleetdeck.1 (and one page per subcommand) into this directory instead of
    /// printing the main page.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `90s`, `10m`, `1h`, `500ms` or plain seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("'{t}' is not a duration like 90s, 10m or 1h"))?;
    let d = match unit {
        "" | "s" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        _ => return Err(format!("'{t}': unknown unit '{unit}' (use ms, s, m or h)")),
    };
    if d.is_zero() {
        return Err("the timeout must be longer than zero".into());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5d").is_err());
    }

    #[test]
    fn connect_flags_go_before_or_after_the_subcommand() {
        let cli = Cli::try_parse_from([
            "fleetdeck",
            "--context",
            "prod",
            "get",
            "fleet",
            "-o",
            "json",
        ])
        .unwrap();
        let Some(Command::Get(get)) = cli.command else {
            panic!("not get")
        };
        assert_eq!(get.output.output, Output::Json);
        let merged = get.connect.or(&cli.console.connect);
        assert_eq!(merged.context.as_deref(), Some("prod"));

        let cli = Cli::try_parse_from(["fleetdeck", "pause", "c-1", "--reason", "r", "--readonly"])
            .unwrap();
        let Some(Command::Pause(p)) = cli.command else {
            panic!("not pause")
        };
        assert!(p.connect.readonly);
    }

    #[test]
    fn required_words_are_usage_errors() {
        for args in [
            &["fleetdeck", "reject", "apr-1"][..],
            &["fleetdeck", "pause", "c-1"][..],
            &["fleetdeck", "rollback", "c-1"][..],
            &["fleetdeck", "wait", "c-1"][..],
            &["fleetdeck", "wait", "c-1", "--until", "done"][..],
            &["fleetdeck", "get", "nothing"][..],
        ] {
            assert_eq!(
                Cli::try_parse_from(args).unwrap_err().exit_code(),
                2,
                "{args:?}"
            );
        }
    }
}
