//! The terminal, entered and always left: raw mode, alternate screen, mouse capture and
//! bracketed paste are undone on drop, on error, and by the panic hook (which restores
//! first, so the report lands on the normal screen, then chains to color-eyre's hook).

use std::io::{self, Stdout, Write};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, SetTitle, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use crate::message::HostRequest;

/// True while the terminal is in the console's modes; the panic hook restores only then,
/// so a panic in `fleetdeck serve` prints no stray escape sequences.
static ENTERED: AtomicBool = AtomicBool::new(false);
static HOOKS: Once = Once::new();

/// Installs color-eyre's report hook and a panic hook that restores the terminal before
/// the panic report is printed. Call once, before [`TerminalGuard::enter`]; later calls
/// do nothing.
pub fn install_hooks() -> color_eyre::Result<()> {
    let mut result = Ok(());
    HOOKS.call_once(|| {
        let (panic_hook, eyre_hook) = color_eyre::config::HookBuilder::default()
            .display_env_section(false)
            .into_hooks();
        if let Err(e) = eyre_hook.install() {
            result = Err(e.into());
            return;
        }
        let panic_hook = panic_hook.into_panic_hook();
        std::panic::set_hook(Box::new(move |info| {
            let was_entered = restore();
            tracing::error!(panic = %info, "panic");
            panic_hook(info);
            if was_entered {
                // A panic in any task leaves the screen state unknown; the console
                // must not keep drawing over the report on the normal screen.
                std::process::exit(101);
            }
        }));
    });
    result
}

/// Undoes every mode the console enabled; returns whether it had entered them. Safe to
/// call any number of times.
pub fn restore() -> bool {
    if !ENTERED.swap(false, Ordering::SeqCst) {
        return false;
    }
    let mut out = io::stdout();
    // Each step on its own: one failing must not keep the others from running.
    let _ = execute!(out, DisableBracketedPaste);
    let _ = execute!(out, DisableMouseCapture);
    let _ = execute!(out, LeaveAlternateScreen);
    let _ = execute!(out, cursor::Show);
    let _ = disable_raw_mode();
    let _ = out.flush();
    true
}

/// Owns the terminal while the console runs; dropping it restores the terminal.
pub struct TerminalGuard {
    terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl TerminalGuard {
    /// Takes the terminal: raw mode, alternate screen, bracketed paste, and the mouse
    /// when `mouse` is set.
    pub fn enter(mouse: bool) -> io::Result<TerminalGuard> {
        enable_raw_mode()?;
        // From here on a failure must undo what was done.
        ENTERED.store(true, Ordering::SeqCst);
        let entered = execute!(io::stdout(), EnterAlternateScreen, EnableBracketedPaste)
            .and_then(|()| {
                if mouse {
                    execute!(io::stdout(), EnableMouseCapture)
                } else {
                    Ok(())
                }
            })
            .and_then(|()| Terminal::new(CrosstermBackend::new(io::stdout())));
        match entered {
            Ok(terminal) => {
                let mut guard = TerminalGuard { terminal };
                guard.terminal.clear()?;
                Ok(guard)
            }
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }

    pub fn terminal(&mut self) -> &mut Terminal<CrosstermBackend<Stdout>> {
        &mut self.terminal
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Carries out a request for the terminal itself. The title is sanitised: it is
/// written inside an escape sequence, where a control character could end it early.
pub fn perform(request: &HostRequest) {
    let mut out = io::stdout();
    let result = match request {
        HostRequest::Bell => out.write_all(b"\x07").and_then(|()| out.flush()),
        HostRequest::SetTitle(title) => {
            execute!(out, SetTitle(fleetdeck_api::text::sanitize_line(title)))
        }
        // The loop ends on a context switch; nothing to do on the terminal.
        HostRequest::SwitchContext(_) => Ok(()),
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, ?request, "terminal request failed");
    }
}
