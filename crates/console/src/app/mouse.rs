//! The mouse: a click focuses the pane under it (or its tab) and selects the row under
//! it; the wheel scrolls whatever is on top. Where things are comes from the same
//! layout function drawing uses, computed from the terminal size, so drawing stays pure.

use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use super::App;
use super::view::Pane;
use crate::ui::{layout, panes};

impl App {
    /// False when nothing changed.
    pub(super) fn on_mouse(&mut self, mouse: MouseEvent) -> bool {
        let at = Position::new(mouse.column, mouse.row);
        let delta: i64 = match mouse.kind {
            MouseEventKind::ScrollUp => -1,
            MouseEventKind::ScrollDown => 1,
            MouseEventKind::Down(MouseButton::Left) => return self.click(at),
            _ => return false,
        };
        if self.dialog.is_some() {
            return false;
        }
        if let Some(scroll) = &mut self.help {
            *scroll = scroll.saturating_add_signed(delta as i16);
        } else if let Some(detail) = &mut self.detail {
            detail.scroll = detail.scroll.saturating_add_signed(delta as i16);
        } else {
            // The wheel scrolls the pane under the pointer, as in any other program.
            if let Some(pane) = self.pane_at(at) {
                self.focus = pane;
            }
            self.move_selection(delta);
        }
        true
    }

    fn screen(&self) -> layout::Screen {
        let (w, h) = if self.size == (0, 0) {
            (80, 24)
        } else {
            self.size
        };
        layout::screen(Rect::new(0, 0, w, h), self.focus, self.zoom)
    }

    fn pane_at(&self, at: Position) -> Option<Pane> {
        self.screen()
            .panes
            .iter()
            .find(|(_, r)| r.contains(at))
            .map(|(p, _)| *p)
    }

    fn click(&mut self, at: Position) -> bool {
        // Overlays and the command line take the keyboard; a click elsewhere would act
        // behind them, so it does nothing.
        if self.dialog.is_some() || self.help.is_some() || self.detail.is_some() {
            return false;
        }
        let screen = self.screen();
        if let Some(tabs) = screen.tabs
            && tabs.contains(at)
        {
            let hit = panes::tab_spans(self, tabs.x)
                .into_iter()
                .find(|(_, x, w)| (*x..x + w).contains(&at.x));
            if let Some((pane, _, _)) = hit {
                self.focus = pane;
                return true;
            }
            return false;
        }
        let Some(&(pane, rect)) = screen.panes.iter().find(|(_, r)| r.contains(at)) else {
            return false;
        };
        self.focus = pane;
        // Table panes: a border row, then the column headings, then one row per item.
        // The rings pane draws several lines per campaign and the log its own window,
        // so a click there only focuses.
        if matches!(pane, Pane::Rings | Pane::Log) {
            return true;
        }
        let first_row = rect.y + 2;
        let height = usize::from(rect.height.saturating_sub(3));
        if at.y < first_row || usize::from(at.y - first_row) >= height {
            return true;
        }
        let (start, _) = panes::table_window(self, pane, height);
        let pos = start + usize::from(at.y - first_row);
        if pos < self.pane_len(pane) {
            let id = self.id_at(pane, pos);
            let page = self.page();
            if let Some(sel) = self.selection_mut(pane) {
                sel.set(pos, id, page);
            }
        }
        true
    }
}
