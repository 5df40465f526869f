//! Dialogs drawn over everything else, one file each.

mod action;
mod quit;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::app::App;
use crate::app::dialogs::{Dialog, Focus};
use crate::theme::Theme;

pub fn draw(frame: &mut Frame, app: &App, dialog: &Dialog, area: Rect) {
    match dialog {
        Dialog::Action(d) => action::draw(frame, app, d, area),
        Dialog::Quit { focus } => quit::draw(frame, app, *focus, area),
    }
}

/// A `w`×`h` box centred in `area` (shrunk to fit).
fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// `[ Cancel ]   » Confirm «`: focus is marked by the brackets, not colour alone; a
/// button that cannot be pressed says `locked`.
fn buttons(t: &Theme, focus: Focus, confirm: &str, enabled: bool) -> Line<'static> {
    let button = |label: &str, focused: bool, style: Style| {
        if focused {
            Span::styled(format!("» {label} «"), t.button_focused)
        } else {
            Span::styled(format!("[ {label} ]"), style)
        }
    };
    let confirm_label = if enabled {
        confirm.to_string()
    } else {
        format!("{confirm} · locked")
    };
    Line::from(vec![
        button("Cancel", focus == Focus::Cancel, t.button),
        Span::raw("   "),
        button(
            &confirm_label,
            focus == Focus::Confirm,
            if enabled { t.button } else { t.button_disabled },
        ),
    ])
    .centered()
}
