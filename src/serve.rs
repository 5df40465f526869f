//! `fleetdeck serve` and `fleetdeck token new`: the control plane's side of the binary.

use fleetdeck_control_plane::auth::{append_token, parse_roles, valid_user};
use fleetdeck_control_plane::server::{self, DemoOptions, ServeOptions, TokenSource};
use fleetdeck_control_plane::tls::{TlsFiles, Transport};

use crate::cli::{ServeArgs, TokenNewArgs};
use crate::embedded::DEMO_TIME_SCALE;
use crate::failure::Failure;
use crate::{logging, paths};

/// Runs the control plane until SIGTERM or Ctrl-C. Every start-up problem is a usage
/// error (exit 2): the server checks its inputs before it writes anything.
pub async fn serve(args: ServeArgs) -> Result<(), Failure> {
    logging::to_stderr();
    let opts = ServeOptions {
        listen: args.listen,
        state: args.state,
        tokens: TokenSource::File(args.tokens),
        config: args.config,
        demo: args.demo.then_some(DemoOptions {
            fleet_size: args.demo_fleet as usize,
            seed: args.demo_seed,
            time_scale: DEMO_TIME_SCALE,
        }),
    };
    let transport = Transport {
        tls: args
            .tls_cert
            .zip(args.tls_key)
            .map(|(cert, key)| TlsFiles { cert, key }),
        insecure_listen: args.insecure_listen,
    };
    let running = server::start_with_transport(opts, transport)
        .await
        .map_err(|e| Failure::usage(e.to_string()))?;
    eprintln!(
        "fleetdeck: control plane listening on {} (Ctrl-C or SIGTERM stops it)",
        running.base_url()
    );
    running.run_until_signal().await;
    Ok(())
}

/// Creates a token, appends its hash to the token file and prints the token once.
pub fn token_new(args: TokenNewArgs) -> Result<(), Failure> {
    let roles = parse_roles(&args.role.join(",")).map_err(Failure::usage)?;
    if !valid_user(&args.user) {
        return Err(Failure::usage(format!(
            "user '{}' is not 1-64 letters, digits, '.', '_', '-' or '@'",
            fleetdeck_api::text::sanitize_line(&args.user)
        )));
    }
    let path = match args.tokens {
        Some(path) => path,
        None => {
            let path = paths::default_token_file().map_err(Failure::usage)?;
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| {
                    Failure::usage(format!(
                        "config directory {}: cannot create it: {e}",
                        dir.display()
                    ))
                })?;
            }
            path
        }
    };
    let token = append_token(&path, &args.user, &roles).map_err(Failure::usage)?;
    let role_names: Vec<_> = roles.iter().map(|r| r.as_str()).collect();
    eprintln!(
        "fleetdeck: token for {} ({}) added to {}; it is shown only this once:",
        args.user,
        role_names.join(", "),
        path.display()
    );
    println!("{token}");
    Ok(())
}
