//! Which control plane to use, and how to sign in to it: `--server URL` (token from
//! `--token-file` or `FLEETDECK_TOKEN`), else `--context NAME`, else
//! `FLEETDECK_SERVER`, else the config's `default_context`, else the embedded demo.
//! The console and the scripting commands share these rules.

use std::path::{Path, PathBuf};

use fleetdeck_api::text::sanitize_line;
use fleetdeck_console::client::tls::read_ca_file;
use fleetdeck_console::client::{Client, Timeouts};

use crate::cli::ConnectArgs;
use crate::config::{Config, Context, TokenSource};
use crate::failure::Failure;
use crate::paths;

const TOKEN_VAR: &str = "FLEETDECK_TOKEN";
const SERVER_VAR: &str = "FLEETDECK_SERVER";

/// A control plane to connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    /// The context's name, or the URL when none was used.
    pub label: String,
    /// The config context this came from.
    pub context: Option<String>,
    pub server: String,
    pub token: TokenSource,
    pub production: bool,
    pub read_only: bool,
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Embedded,
    Remote(Remote),
}

/// The config file named by the flag, else `config.toml` in the config directory. A
/// file named on the command line must exist; the default one need not.
pub fn load_config(flag: Option<&Path>) -> Result<Config, Failure> {
    let path = match flag {
        Some(p) => {
            if !p.is_file() {
                return Err(Failure::usage(format!(
                    "config file {}: no such file",
                    p.display()
                )));
            }
            p.to_path_buf()
        }
        None => paths::config_file().map_err(Failure::usage)?,
    };
    Config::load(&path).map_err(|problems| {
        let more = match problems.len() {
            1 => String::new(),
            n => format!(" (and {} more: run `fleetdeck config check`)", n - 1),
        };
        Failure::usage(format!("{}{more}", problems[0]))
    })
}

/// Picks the target by the rules above.
pub fn choose(args: &ConnectArgs, config: &Config) -> Result<Target, Failure> {
    if let Some(url) = &args.server {
        return Ok(Target::Remote(from_url(url, args)));
    }
    if (args.token_file.is_some() || args.ca_file.is_some()) && args.context.is_some() {
        return Err(Failure::usage(
            "--token-file and --ca-file go with --server; a context names its own",
        ));
    }
    if let Some(name) = &args.context {
        return by_name(config, name).map(Target::Remote);
    }
    if let Ok(url) = std::env::var(SERVER_VAR)
        && !url.trim().is_empty()
    {
        return Ok(Target::Remote(from_url(&url, args)));
    }
    if args.token_file.is_some() || args.ca_file.is_some() {
        return Err(Failure::usage(
            "--token-file and --ca-file need --server URL",
        ));
    }
    match &config.default_context {
        Some(name) => by_name(config, name).map(Target::Remote),
        None => Ok(Target::Embedded),
    }
}

/// A context of the config by name.
pub fn by_name(config: &Config, name: &str) -> Result<Remote, Failure> {
    let Some(ctx) = config.context(name) else {
        let known = config.context_names();
        let hint = if known.is_empty() {
            match &config.path {
                Some(p) => format!("{} defines no contexts", p.display()),
                None => "there is no config.toml; `fleetdeck config paths` says where it goes"
                    .to_string(),
            }
        } else {
            format!("the contexts are: {}", known.join(", "))
        };
        return Err(Failure::usage(format!(
            "no context '{}' ({hint})",
            sanitize_line(name)
        )));
    };
    Ok(from_context(ctx))
}

fn from_context(ctx: &Context) -> Remote {
    Remote {
        label: ctx.name.clone(),
        context: Some(ctx.name.clone()),
        server: ctx.server.clone(),
        token: ctx.token.clone(),
        production: ctx.production,
        read_only: ctx.read_only,
        ca_file: ctx.ca_file.clone(),
    }
}

fn from_url(url: &str, args: &ConnectArgs) -> Remote {
    let token = match args.token_file.as_deref() {
        Some(p) => TokenSource::File(p.to_path_buf()),
        None => TokenSource::Env(TOKEN_VAR.to_string()),
    };
    Remote {
        label: sanitize_line(url.trim().trim_end_matches('/')).into_owned(),
        context: None,
        server: url.trim().to_string(),
        token,
        production: false,
        read_only: false,
        ca_file: args.ca_file.clone(),
    }
}

impl Remote {
    /// Reads the token and builds the client; every failure is a usage error naming
    /// where the token was to come from.
    pub fn client(&self) -> Result<Client, Failure> {
        let token = match (&self.token, self.context.is_none()) {
            // The flags' own messages, which the console has always given.
            (TokenSource::Env(var), true)
                if std::env::var(var).unwrap_or_default().trim().is_empty() =>
            {
                return Err(Failure::usage(format!(
                    "no token for {}: pass --token-file FILE or set {TOKEN_VAR}",
                    sanitize_line(&self.server)
                )));
            }
            (TokenSource::File(p), true) => {
                let text = std::fs::read_to_string(p).map_err(|e| {
                    Failure::usage(format!("token file {}: cannot read it: {e}", p.display()))
                })?;
                if text.trim().is_empty() {
                    return Err(Failure::usage(format!(
                        "token file {}: it is empty",
                        p.display()
                    )));
                }
                text.trim().to_string()
            }
            (source, _) => source.read().map_err(|e| match &self.context {
                Some(name) => Failure::usage(format!("context '{name}': {e}")),
                None => Failure::usage(e),
            })?,
        };
        let roots = match &self.ca_file {
            Some(path) => read_ca_file(path)
                .map_err(|e| Failure::usage(format!("{}: {e}", sanitize_line(&self.label))))?,
            None => Vec::new(),
        };
        Client::with_extra_roots(&self.server, &token, Timeouts::default(), &roots)
            .map_err(|e| Failure::usage(format!("{}: {e}", sanitize_line(&self.label))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_with(text: &str) -> Config {
        Config::parse(Path::new("/etc/fleetdeck/config.toml"), text).unwrap()
    }

    const TWO: &str = "default_context = \"staging\"\n\
        [contexts.staging]\nserver = \"http://127.0.0.1:1\"\ntoken_env = \"FD_TEST_UNSET_VAR\"\n\
        [contexts.prod]\nserver = \"https://prod:7300\"\ntoken_file = \"prod.token\"\nproduction = true\nread_only = true\n";

    #[test]
    fn the_rules_pick_in_order() {
        let config = config_with(TWO);
        let none = ConnectArgs::default();
        let Target::Remote(r) = choose(&none, &config).unwrap() else {
            panic!("embedded")
        };
        assert_eq!(r.label, "staging");
        let prod = ConnectArgs {
            context: Some("prod".into()),
            ..ConnectArgs::default()
        };
        let Target::Remote(r) = choose(&prod, &config).unwrap() else {
            panic!("embedded")
        };
        assert!(r.production && r.read_only);
        assert_eq!(
            r.token,
            TokenSource::File("/etc/fleetdeck/prod.token".into())
        );
        assert_eq!(choose(&none, &Config::default()).unwrap(), Target::Embedded);
    }

    #[test]
    fn an_unknown_context_lists_the_known_ones() {
        let config = config_with(TWO);
        let f = by_name(&config, "qa").unwrap_err();
        assert_eq!(f.code, crate::failure::USAGE);
        assert!(
            f.message.contains("the contexts are: prod, staging"),
            "{}",
            f.message
        );
    }

    #[test]
    fn a_missing_env_token_names_the_context_and_variable() {
        let config = config_with(TWO);
        let f = by_name(&config, "staging").unwrap().client().unwrap_err();
        assert_eq!(
            f.message,
            "context 'staging': environment variable FD_TEST_UNSET_VAR is not set"
        );
    }
}
