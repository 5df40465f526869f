//! The embedded control plane: what `fleetdeck` runs when no server is configured. A
//! real control plane, in-process, on a free loopback port, with the simulated demo
//! fleet and a token for the local user.
//!
//! One control plane per state file (see `fleetdeck_control_plane::store::lock`): the
//! first console on the demo state hosts it and writes a join file ([`join`]); a second
//! console finds the lock held, reads the join file and connects as a client. Should the
//! host quit, a joined console takes the lock as soon as it is free and starts the
//! control plane itself on the same address with the same token, so every console still
//! open reconnects to it on its own; the start event in the log says who took over.

mod join;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use fleetdeck_api::Role;
use fleetdeck_control_plane::auth::{TokenEntry, generate_token, hash_token, valid_user};
use fleetdeck_control_plane::server::{
    self, DemoOptions, RunningServer, ServeOptions, TokenSource,
};
use fleetdeck_control_plane::store::lock::{Holder, LockError, StateLock};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Databases in the demo fleet unless `--demo-fleet` says otherwise.
pub const DEMO_FLEET: usize = 240;
/// Seed of the demo fleet, so two people looking at "the demo" see the same fleet.
pub const DEMO_SEED: u64 = 7;
/// Simulated seconds per real second: a demo campaign moves visibly within a minute.
pub const DEMO_TIME_SCALE: f64 = 60.0;

/// The header's context for the embedded control plane.
pub const CONTEXT: &str = "embedded demo";

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

/// Deletes the demo's SQLite file and its WAL companions (with its lock held).
fn reset(state: &Path) -> Result<(), String> {
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

/// How long a console waits for the console holding the demo state to say how to join
/// it (it writes the join file once its control plane is ready; a large new demo fleet
/// takes a while to generate).
const JOIN_WAIT: Duration = Duration::from_secs(60);
/// How often a joined console looks whether its host has gone.
const WATCH_EVERY: Duration = Duration::from_millis(200);

/// The embedded control plane as one console sees it.
pub struct Embedded {
    pub base_url: String,
    /// The local user's token; kept in memory and in the join file only.
    pub token: String,
    /// The console whose control plane this one joined, if it joined one.
    pub joined: Option<Holder>,
    stop: oneshot::Sender<()>,
    keeper: JoinHandle<()>,
}

/// What a console starting the embedded control plane asks.
pub struct Demo<'a> {
    pub state: &'a Path,
    pub fleet_size: usize,
    /// `--demo-reset`: only when no other console uses the demo.
    pub reset: bool,
}

/// Starts the embedded control plane on the demo state, or joins the one another
/// console runs on it.
pub async fn open(demo: Demo<'_>) -> Result<Embedded, String> {
    let state = demo.state;
    if let Some(dir) = state.parent() {
        std::fs::create_dir_all(dir).map_err(|e| {
            format!(
                "demo state directory {}: cannot create it: {e}",
                dir.display()
            )
        })?;
    }
    let deadline = tokio::time::Instant::now() + JOIN_WAIT;
    loop {
        match StateLock::try_acquire(state) {
            Ok(lock) => {
                if demo.reset {
                    reset(state)?;
                    tracing::info!(state = %state.display(), "demo state removed");
                }
                let plane = Plane {
                    state: state.to_path_buf(),
                    fleet_size: demo.fleet_size,
                    token: generate_token(),
                };
                let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
                let server = plane.host(lock, listen, None).await?;
                let base_url = server.base_url();
                return Ok(plane.keep(base_url, Keeper::Host(server), None));
            }
            Err(LockError::Held { holder, .. }) => {
                if let Some(h) = holder.as_ref().filter(|h| !h.is_console()) {
                    return Err(format!(
                        "the demo state {} is in use by {h}: connect to it with --server http://{} and a token of its",
                        state.display(),
                        h.listen
                    ));
                }
                if demo.reset {
                    return Err(format!(
                        "cannot reset the demo: another fleetdeck console uses it ({}); quit it first",
                        holder.map_or_else(|| "still starting".to_string(), |h| h.to_string())
                    ));
                }
                if let Some(h) = holder
                    && let Some(j) = join::read(state).filter(|j| j.pid == h.pid)
                {
                    let plane = Plane {
                        state: state.to_path_buf(),
                        fleet_size: demo.fleet_size,
                        token: j.token,
                    };
                    return Ok(plane.keep(j.url, Keeper::Guest((*h).clone()), Some(*h)));
                }
            }
            Err(LockError::Io(e)) => return Err(e),
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "the demo state {} is held by another fleetdeck console that has not said how to join it within {JOIN_WAIT:?} (join file {})",
                state.display(),
                join::path(state).display()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Embedded {
    /// Stops the control plane this console hosts (or its watch over another's), waiting
    /// at most `wait`; past it the stop goes on in the background until the program ends.
    pub async fn stop(self, wait: Duration) {
        let _ = self.stop.send(());
        if tokio::time::timeout(wait, self.keeper).await.is_err() {
            tracing::info!(
                "embedded control plane still busy after {wait:?}; leaving it to resume next time"
            );
        }
    }
}

/// The embedded control plane's fixed parts: the state, the fleet a new demo gets, and
/// the one token every console on it uses.
struct Plane {
    state: PathBuf,
    fleet_size: usize,
    token: String,
}

/// What a console does for the embedded control plane.
enum Keeper {
    /// Runs it.
    Host(RunningServer),
    /// Uses the one this holder runs, ready to take over when it goes.
    Guest(Holder),
}

impl Plane {
    /// Starts the control plane on `listen` with the lock held, and writes the join file.
    async fn host(
        &self,
        lock: StateLock,
        listen: SocketAddr,
        note: Option<String>,
    ) -> Result<RunningServer, String> {
        let entry = TokenEntry {
            sha256_hex: hash_token(&self.token),
            user: local_user(),
            roles: vec![Role::Operator, Role::Approver],
        };
        let opts = ServeOptions {
            listen,
            state: self.state.clone(),
            tokens: TokenSource::Entries(vec![entry]),
            config: None,
            demo: Some(DemoOptions {
                fleet_size: self.fleet_size,
                seed: DEMO_SEED,
                time_scale: DEMO_TIME_SCALE,
            }),
        };
        let server = server::start_locked(opts, lock, note)
            .await
            .map_err(|e| format!("embedded control plane: {e}"))?;
        let written = join::write(
            &self.state,
            &join::Join {
                url: server.base_url(),
                token: self.token.clone(),
                pid: std::process::id(),
            },
        );
        if let Err(e) = written {
            // This console works; another one cannot join it and says so.
            tracing::warn!(error = %e, "other consoles cannot join this one");
        }
        Ok(server)
    }

    /// Runs `keeper` until [`Embedded::stop`].
    fn keep(self, base_url: String, keeper: Keeper, joined: Option<Holder>) -> Embedded {
        let (stop, stopped) = oneshot::channel();
        let token = self.token.clone();
        let url = base_url.clone();
        let keeper = tokio::spawn(self.run(url, keeper, stopped));
        Embedded {
            base_url,
            token,
            joined,
            stop,
            keeper,
        }
    }

    async fn run(self, base_url: String, mut keeper: Keeper, mut stopped: oneshot::Receiver<()>) {
        let mut failed_once = false;
        loop {
            match keeper {
                Keeper::Host(server) => {
                    let _ = stopped.await;
                    join::remove_own(&self.state);
                    server.shutdown().await;
                    return;
                }
                Keeper::Guest(host) => {
                    tokio::select! {
                        _ = &mut stopped => return,
                        () = tokio::time::sleep(WATCH_EVERY) => {}
                    }
                    let lock = match StateLock::try_acquire(&self.state) {
                        Ok(lock) => lock,
                        Err(_) => {
                            keeper = Keeper::Guest(host);
                            continue;
                        }
                    };
                    match self.take_over(lock, &base_url, &host).await {
                        Ok(server) => keeper = Keeper::Host(server),
                        Err(e) => {
                            // Said once; tried again while the console runs (the
                            // address may be free again in a moment).
                            if !failed_once {
                                tracing::error!(error = %e, "cannot take over the embedded control plane");
                                failed_once = true;
                            }
                            keeper = Keeper::Guest(host);
                        }
                    }
                }
            }
        }
    }

    /// The host quit: the control plane again, on the address every console uses.
    async fn take_over(
        &self,
        lock: StateLock,
        base_url: &str,
        host: &Holder,
    ) -> Result<RunningServer, String> {
        let listen: SocketAddr = base_url
            .trim_start_matches("http://")
            .parse()
            .map_err(|e| format!("join URL {base_url}: {e}"))?;
        let note = format!(
            "the console hosting the embedded control plane (pid {}) quit; console pid {} took it over",
            host.pid,
            std::process::id()
        );
        tracing::info!(previous = host.pid, %listen, "taking over the embedded control plane");
        self.host(lock, listen, Some(note)).await
    }
}
