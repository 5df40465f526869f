//! The embedded control plane: what `fleetdeck` runs when no server is configured. A
//! real control plane, in-process, on a free loopback port, with the simulated demo
//! fleet and a token that exists only in memory for the local user.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

use fleetdeck_api::Role;
use fleetdeck_control_plane::auth::{TokenEntry, generate_token, hash_token, valid_user};
use fleetdeck_control_plane::server::{
    self, DemoOptions, RunningServer, ServeOptions, TokenSource,
};

/// Databases in the demo fleet unless `--demo-fleet` says otherwise.
pub const DEMO_FLEET: usize = 240;
/// Seed of the demo fleet, so two people looking at "the demo" see the same fleet.
pub const DEMO_SEED: u64 = 7;
/// Simulated seconds per real second: a demo campaign moves visibly within a minute.
pub const DEMO_TIME_SCALE: f64 = 60.0;

/// The header's context for the embedded control plane.
pub const CONTEXT: &str = "embedded demo";

pub struct Embedded {
    pub server: RunningServer,
    pub base_url: String,
    /// The in-memory token; never written anywhere.
    pub token: String,
}

/// The local user's name as the control plane accepts it.
pub fn local_user() -> String {
    let raw = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_default();
    let cleaned: String = raw
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
        .take(64)
        .collect();
    if valid_user(&cleaned) {
        cleaned
    } else {
        "local".to_string()
    }
}

/// Deletes the demo's SQLite file and its WAL companions.
pub fn reset(state: &Path) -> Result<(), String> {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = state.as_os_str().to_owned();
        name.push(suffix);
        match std::fs::remove_file(&name) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(format!(
                    "demo state {}: cannot remove it: {e}",
                    Path::new(&name).display()
                ));
            }
        }
    }
    Ok(())
}

/// Starts the embedded control plane on `state` and returns how to reach it.
pub async fn start(state: &Path, fleet_size: usize) -> Result<Embedded, String> {
    if let Some(dir) = state.parent() {
        std::fs::create_dir_all(dir).map_err(|e| {
            format!(
                "demo state directory {}: cannot create it: {e}",
                dir.display()
            )
        })?;
    }
    let token = generate_token();
    let entry = TokenEntry {
        sha256_hex: hash_token(&token),
        user: local_user(),
        roles: vec![Role::Operator, Role::Approver],
    };
    let opts = ServeOptions {
        listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        state: state.to_path_buf(),
        tokens: TokenSource::Entries(vec![entry]),
        config: None,
        demo: Some(DemoOptions {
            fleet_size,
            seed: DEMO_SEED,
            time_scale: DEMO_TIME_SCALE,
        }),
    };
    let server = server::start(opts)
        .await
        .map_err(|e| format!("embedded control plane: {e}"))?;
    let base_url = format!("http://{}", server.local_addr());
    Ok(Embedded {
        server,
        base_url,
        token,
    })
}
