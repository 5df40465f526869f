//! The terminal, entered and always left: raw mode, alternate screen, mouse capture and
//! bracketed paste are undone on drop, on error, and by the panic hook (which restores
//! first, so the report lands on the normal screen, then chains to color-eyre's hook).
//! The window title is pushed on the terminal's title stack on entry and popped on the
//! way out, so a title the console set (notifications) never outlives it. The escape
//! sequences are written by [`write_enter`] and [`write_leave`], which take any writer
//! so their order can be checked without a terminal.

use std::io::{self, Stdout, Write};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, SetTitle, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, queue};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use crate::message::HostRequest;

/// True while the terminal is in the console's modes; the panic hook restores only then,
/// so a panic in `fleetdeck serve` prints no stray escape sequences.
static ENTERED: AtomicBool = AtomicBool::new(false);
static HOOKS: Once = Once::new();

/// XTWINOPS: save the window and icon titles on the terminal's title stack, and
/// restore them. xterm, tmux, VTE, kitty and others keep the stack; terminals without
/// one ignore both.
pub const PUSH_TITLE: &[u8] = b"\x1b[22;0t";
pub const POP_TITLE: &[u8] = b"\x1b[23;0t";

/// The sequences that take the terminal (raw mode aside): the title is saved before
/// anything can change it.
pub fn write_enter(out: &mut impl Write, mouse: bool) -> io::Result<()> {
    out.write_all(PUSH_TITLE)?;
    queue!(out, EnterAlternateScreen, EnableBracketedPaste)?;
    if mouse {
        queue!(out, EnableMouseCapture)?;
    }
    out.flush()
}

/// The sequences that give the terminal back, each on its own: one failing must not
/// keep the others from running. The title is restored last, on the normal screen.
pub fn write_leave(out: &mut impl Write) {
    let _ = queue!(out, DisableBracketedPaste);
    let _ = queue!(out, DisableMouseCapture);
    let _ = queue!(out, LeaveAlternateScreen);
    let _ = queue!(out, cursor::Show);
    let _ = out.write_all(POP_TITLE);
    let _ = out.flush();
}

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
    write_leave(&mut io::stdout());
    let _ = disable_raw_mode();
    true
}

/// Owns the terminal while the console runs; dropping it restores the terminal.
pub struct TerminalGuard {
    /// Always `Some` until the guard is dropped.
    terminal: Option<Terminal<CrosstermBackend<Stdout>>>,
}

impl TerminalGuard {
    /// Takes the terminal: raw mode, alternate screen, bracketed paste, and the mouse
    /// when `mouse` is set.
    pub fn enter(mouse: bool) -> io::Result<TerminalGuard> {
        enable_raw_mode()?;
        // From here on a failure must undo what was done.
        ENTERED.store(true, Ordering::SeqCst);
        let entered = write_enter(&mut io::stdout(), mouse)
            .and_then(|()| Terminal::new(CrosstermBackend::new(io::stdout())));
        match entered {
            Ok(mut terminal) => {
                // A failure here drops the terminal before the guard exists: undo too.
                if let Err(e) = terminal.clear() {
                    restore();
                    return Err(e);
                }
                Ok(TerminalGuard {
                    terminal: Some(terminal),
                })
            }
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }

    pub fn terminal(&mut self) -> &mut Terminal<CrosstermBackend<Stdout>> {
        self.terminal
            .as_mut()
            .expect("the terminal is only taken when the guard is dropped")
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        // ratatui's own drop shows a hidden cursor and reports a failure with eprintln!,
        // which panics when the terminal is gone (SIGHUP after its window closed). Show
        // it here; if even that fails there is no terminal left to tidy, so the
        // Terminal is forgotten rather than dropped.
        if let Some(mut terminal) = self.terminal.take()
            && terminal.show_cursor().is_err()
        {
            std::mem::forget(terminal);
        }
        restore();
    }
}

/// Carries out a request for the terminal itself on standard output.
pub fn perform(request: &HostRequest) {
    if let Err(e) = perform_on(&mut io::stdout(), request) {
        tracing::warn!(error = %e, ?request, "terminal request failed");
    }
}

/// Writes what `request` asks of the terminal to `out`. The title is sanitised: it is
/// written inside an escape sequence, where a control character could end it early.
pub fn perform_on(out: &mut impl Write, request: &HostRequest) -> io::Result<()> {
    match request {
        HostRequest::Bell => out.write_all(b"\x07")?,
        HostRequest::SetTitle(title) => {
            queue!(out, SetTitle(fleetdeck_api::text::sanitize_line(title)))?
        }
        HostRequest::MouseCapture(true) => queue!(out, EnableMouseCapture)?,
        HostRequest::MouseCapture(false) => queue!(out, DisableMouseCapture)?,
        // The loop ends on a context switch; nothing to do on the terminal.
        HostRequest::SwitchContext(_) => return Ok(()),
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
        haystack.windows(needle.len()).position(|w| w == needle)
    }

    /// Where each sequence first appears in `out`, failing if one is missing.
    fn positions(out: &[u8], sequences: &[&[u8]]) -> Vec<usize> {
        sequences
            .iter()
            .map(|s| {
                find(out, s).unwrap_or_else(|| {
                    panic!(
                        "{:?} not written in {:?}",
                        String::from_utf8_lossy(s),
                        String::from_utf8_lossy(out)
                    )
                })
            })
            .collect()
    }

    const ALT_ON: &[u8] = b"\x1b[?1049h";
    const ALT_OFF: &[u8] = b"\x1b[?1049l";
    const MOUSE_ON: &[u8] = b"\x1b[?1000h";
    const MOUSE_OFF: &[u8] = b"\x1b[?1000l";

    #[test]
    fn the_title_is_pushed_before_the_console_can_set_it_and_popped_after() {
        let mut out = Vec::new();
        write_enter(&mut out, false).unwrap();
        perform_on(&mut out, &HostRequest::SetTitle("fleetdeck · ⧗2".into())).unwrap();
        write_leave(&mut out);
        let at = positions(
            &out,
            &[PUSH_TITLE, ALT_ON, b"\x1b]0;fleetdeck", ALT_OFF, POP_TITLE],
        );
        assert!(at.is_sorted(), "out of order: {at:?} in {out:?}");
        assert_eq!(at[0], 0, "the title is saved first");
        assert!(out.ends_with(POP_TITLE), "the title is restored last");
        assert_eq!(
            find(&out, MOUSE_ON),
            None,
            "mouse capture was not asked for"
        );
    }

    #[test]
    fn mouse_capture_follows_the_request_and_is_always_released() {
        let mut out = Vec::new();
        write_enter(&mut out, true).unwrap();
        assert!(find(&out, MOUSE_ON).is_some());
        let mut toggled = Vec::new();
        perform_on(&mut toggled, &HostRequest::MouseCapture(false)).unwrap();
        assert!(find(&toggled, MOUSE_OFF).is_some(), "{toggled:?}");
        toggled.clear();
        perform_on(&mut toggled, &HostRequest::MouseCapture(true)).unwrap();
        assert!(find(&toggled, MOUSE_ON).is_some(), "{toggled:?}");
        let mut left = Vec::new();
        write_leave(&mut left);
        assert!(find(&left, MOUSE_OFF).is_some(), "{left:?}");
    }

    #[test]
    fn a_hostile_title_cannot_end_its_sequence() {
        let mut out = Vec::new();
        perform_on(
            &mut out,
            &HostRequest::SetTitle("x\x07\x1b]0;owned\x1b\\".into()),
        )
        .unwrap();
        let text = String::from_utf8_lossy(&out);
        assert_eq!(text.matches('\x1b').count(), 1, "{text:?}");
        assert_eq!(text.matches('\x07').count(), 1, "{text:?}");
    }
}
