//! The terminal runtime: one loop owns the screen. Terminal input, the clock, the event
//! stream and the answers to requests all arrive as [`Msg`]s on one channel; the loop
//! hands every pending message to the app, then draws once if anything changed: at once
//! after a batch that held the user's input or an answer to their request (so a key is
//! never kept waiting for a frame slot), otherwise as the frame budget allows (see
//! [`pacing`]: a few frames at once after a quiet moment, so an action's own events show
//! as they arrive; one per frame interval under a flood or a backlog, so a flood of
//! server events costs at most about 60 frames a second). Effects run as tasks that answer with a message, so
//! the loop never waits on the network. An idle console sleeps in `recv`. Requests for
//! the terminal itself (bell, window title, mouse) are carried out between updates; a
//! context switch ends the loop so the caller can connect to the other control plane.

pub mod effects;
pub mod pacing;
pub mod sources;
pub mod terminal;

use std::time::Duration;

use color_eyre::eyre::WrapErr;
use fleetdeck_api::{Snapshot, WhoAmI};
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::app::App;
use crate::client::{Client, StreamOptions, spawn_event_stream};
use crate::message::{Effect, HostRequest, Msg};
pub use effects::EffectRunner;
use pacing::FrameBudget;
pub use terminal::{TerminalGuard, install_hooks, restore};

/// What the loop needs from the state machine. [`App`] is the real one; the trait keeps
/// the loop testable on its own.
pub trait Screen {
    fn update(&mut self, msg: Msg) -> Vec<Effect>;
    fn draw(&self, frame: &mut ratatui::Frame);
    fn is_dirty(&self) -> bool;
    fn mark_drawn(&mut self);
    /// Requests for the terminal host since the last call.
    fn take_host_requests(&mut self) -> Vec<HostRequest> {
        Vec::new()
    }
}

impl Screen for App {
    fn update(&mut self, msg: Msg) -> Vec<Effect> {
        App::update(self, msg)
    }
    fn draw(&self, frame: &mut ratatui::Frame) {
        App::draw(self, frame)
    }
    fn is_dirty(&self) -> bool {
        App::is_dirty(self)
    }
    fn mark_drawn(&mut self) {
        App::mark_drawn(self)
    }
    fn take_host_requests(&mut self) -> Vec<HostRequest> {
        App::take_host_requests(self)
    }
}

/// Why the loop ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// The user quit (or every message source closed).
    Quit,
    /// The user asked for another context (`:ctx NAME`): connect to it and run again.
    SwitchContext(String),
}

#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    pub stream: StreamOptions,
    /// The shortest time between two frames (16 ms: at most about 60 a second).
    pub frame_interval: Duration,
    pub tick_every: Duration,
    /// Messages that may queue before their senders wait.
    pub channel_capacity: usize,
    /// Capture the mouse (clicks and wheel); off leaves the terminal's own text
    /// selection working.
    pub mouse_capture: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            stream: StreamOptions::default(),
            frame_interval: Duration::from_millis(16),
            tick_every: Duration::from_secs(1),
            channel_capacity: 4096,
            mouse_capture: true,
        }
    }
}

/// Runs the console on the real terminal until the app quits, asks for another context,
/// or the process is told to stop (SIGTERM, SIGHUP): the terminal is restored in every
/// case. `whoami` and `snapshot` were fetched before (so a refused token or an
/// unreachable server is reported on the normal screen, never in a half-drawn TUI).
/// `opts.mouse_capture` follows `:mouse`, so a run after a context switch keeps the
/// user's choice. Call [`install_hooks`] first.
pub async fn run(
    mut app: App,
    client: Client,
    whoami: WhoAmI,
    snapshot: Snapshot,
    opts: &mut RunOptions,
) -> color_eyre::Result<Exit> {
    let (tx, mut rx) = mpsc::channel(opts.channel_capacity.max(16));
    let after = snapshot.last_seq;
    let mut guard =
        TerminalGuard::enter(opts.mouse_capture).wrap_err("cannot take over the terminal")?;
    let size = guard
        .terminal()
        .size()
        .wrap_err("cannot read the terminal's size")?;
    // The first messages go through the loop like every other, so whatever effects
    // they ask for are run too. The channel is new and empty: these cannot block.
    for first in [
        Msg::Loaded {
            whoami,
            snapshot: Box::new(snapshot),
        },
        Msg::Resize(size.width, size.height),
        Msg::Tick(chrono::Utc::now()),
    ] {
        tx.try_send(first)
            .map_err(|e| color_eyre::eyre::eyre!("cannot queue the first messages: {e}"))?;
    }
    let tasks = [
        sources::spawn_input(tx.clone()),
        sources::spawn_ticks(tx.clone(), opts.tick_every),
        spawn_event_stream(client.clone(), after, tx.clone(), opts.stream),
    ];
    let runner = EffectRunner::new(client, tx);
    let mouse = &mut opts.mouse_capture;
    let result = tokio::select! {
        result = event_loop_with_host(
            &mut app,
            guard.terminal(),
            &mut rx,
            |e| runner.run(e),
            |request| {
                if let HostRequest::MouseCapture(on) = request {
                    *mouse = *on;
                }
                terminal::perform(request);
            },
            opts.frame_interval,
        ) => result,
        signal = sources::stop_signal() => {
            tracing::info!(signal, "stopping on a signal");
            Ok(Exit::Quit)
        }
    };
    drop(guard);
    for task in tasks {
        task.abort();
    }
    result
}

/// Most messages handled between two looks at the draw deadline, so a flood of events
/// cannot starve the screen.
const MAX_BATCH: usize = 1024;

/// [`event_loop_with_host`] for a screen that asks nothing of the terminal itself.
pub async fn event_loop<S, B, F>(
    screen: &mut S,
    terminal: &mut Terminal<B>,
    rx: &mut mpsc::Receiver<Msg>,
    run_effect: F,
    frame_interval: Duration,
) -> color_eyre::Result<Exit>
where
    S: Screen,
    B: Backend,
    B::Error: Send + Sync + 'static,
    F: FnMut(Effect),
{
    event_loop_with_host(screen, terminal, rx, run_effect, |_| {}, frame_interval).await
}

/// The loop itself: returns when the app asks to quit or for another context, or every
/// sender is gone. `run_effect` starts network work; `host` rings the bell or sets the
/// title.
pub async fn event_loop_with_host<S, B, F, H>(
    screen: &mut S,
    terminal: &mut Terminal<B>,
    rx: &mut mpsc::Receiver<Msg>,
    mut run_effect: F,
    mut host: H,
    frame_interval: Duration,
) -> color_eyre::Result<Exit>
where
    S: Screen,
    B: Backend,
    B::Error: Send + Sync + 'static,
    F: FnMut(Effect),
    H: FnMut(&HostRequest),
{
    let mut budget = FrameBudget::new(frame_interval);
    // Since the last frame: a message the user is waiting to see (their input, an
    // answer), and a change from anything else (the stream, the clock).
    let mut urgent = false;
    let mut paced = false;
    loop {
        let next_frame = if screen.is_dirty() {
            let now = Instant::now();
            if urgent || budget.allows(now) {
                terminal.draw(|f| screen.draw(f))?;
                screen.mark_drawn();
                // A frame for input alone is free; one that also shows paced changes
                // (or changes of unknown origin) counts against the budget.
                if paced || !urgent {
                    budget.spend(Instant::now());
                }
                urgent = false;
                paced = false;
                continue;
            }
            budget.next_allowed()
        } else {
            urgent = false;
            paced = false;
            None
        };
        let first = tokio::select! {
            msg = rx.recv() => match msg {
                Some(msg) => msg,
                None => return Ok(Exit::Quit),
            },
            () = sleep_until_opt(next_frame) => continue,
        };
        // A change arriving on a clean screen ends a quiet spell, which earns frames.
        let quiet_until = (!screen.is_dirty()).then(Instant::now);
        let mut next = Some(first);
        let mut handled = 0;
        while let Some(msg) = next {
            let at_once = draws_at_once(&msg);
            urgent |= at_once;
            if let Some(exit) = handle(screen, msg, &mut run_effect, &mut host) {
                return Ok(exit);
            }
            paced |= !at_once && screen.is_dirty();
            handled += 1;
            next = if handled < MAX_BATCH {
                rx.try_recv().ok()
            } else {
                None
            };
        }
        if let Some(at) = quiet_until
            && paced
        {
            budget.rested_until(at);
        }
    }
}

/// Messages the user is waiting on: their own input and the answers to their requests.
/// These are rare, so drawing right after them keeps the frame rate bounded; the event
/// stream and the clock wait for the frame budget.
fn draws_at_once(msg: &Msg) -> bool {
    matches!(
        msg,
        Msg::Key(_)
            | Msg::Mouse(_)
            | Msg::Paste(_)
            | Msg::Resize(..)
            | Msg::ActionDone { .. }
            | Msg::DatabaseLoaded(_)
    )
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// One message through the app; `Some` when the loop must end.
fn handle<S, F, H>(screen: &mut S, msg: Msg, run_effect: &mut F, host: &mut H) -> Option<Exit>
where
    S: Screen,
    F: FnMut(Effect),
    H: FnMut(&HostRequest),
{
    let effects = screen.update(msg);
    let mut exit = None;
    for request in screen.take_host_requests() {
        match request {
            HostRequest::SwitchContext(name) => exit = Some(Exit::SwitchContext(name)),
            other => host(&other),
        }
    }
    for effect in effects {
        if effect == Effect::Quit {
            return Some(Exit::Quit);
        }
        run_effect(effect);
    }
    exit
}

#[cfg(test)]
mod tests;
