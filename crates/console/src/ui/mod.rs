//! Drawing: a pure function of [`App`] state. One file per region, pane, dialog and
//! detail view; drawing code asks the theme for meanings, never for colours.

pub mod detail;
pub mod dialogs;
pub mod footer;
pub mod format;
pub mod header;
pub mod help;
pub mod layout;
pub mod panes;
pub mod prompt;
pub mod status;
pub mod widgets;

use ratatui::Frame;

use crate::app::App;

/// Base layout first, overlays after, in a fixed order: detail, dialog, help.
pub fn draw(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let screen = layout::screen(area, app.focus, app.zoom);
    header::draw(frame, app, screen.header);
    if let Some(tabs) = screen.tabs {
        panes::draw_tabs(frame, app, tabs);
    }
    for (pane, rect) in &screen.panes {
        panes::draw(frame, app, *pane, *rect);
    }
    if let Some(d) = &app.detail {
        detail::draw(frame, app, d, screen.body);
    }
    match &app.prompt {
        Some(p) => prompt::draw(frame, app, p, screen.footer),
        None => footer::draw(frame, app, screen.footer),
    }
    if let Some(d) = &app.dialog {
        dialogs::draw(frame, app, d, area);
    }
    if let Some(scroll) = app.help {
        help::draw(frame, app, scroll, area);
    }
}
