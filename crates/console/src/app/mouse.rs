//! The mouse: a click focuses the pane under it (or its tab) and selects the row, card
//! or log line under it; the wheel scrolls whatever is on top. Where things are comes from the same
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
        match pane {
            Pane::Rings => self.click_card(rect, at),
            Pane::Log => self.click_line(rect, at),
            _ => self.click_row(pane, rect, at),
        }
        true
    }

    /// Table panes: a border row, then the column headings, then one row per item.
    fn click_row(&mut self, pane: Pane, rect: Rect, at: Position) {
        let first_row = rect.y + 2;
        let height = usize::from(rect.height.saturating_sub(3));
        if at.y < first_row || usize::from(at.y - first_row) >= height {
            return;
        }
        let (start, _) = panes::table_window(self, pane, height);
        self.select_at(pane, start + usize::from(at.y - first_row), self.page());
    }

    /// The Rings pane: a card of several lines per campaign; a click on any of its
    /// lines selects it.
    fn click_card(&mut self, rect: Rect, at: Position) {
        let inner = inner(rect);
        if !inner.contains(at) {
            return;
        }
        if let Some(pos) = panes::card_at(self, inner, at.y - inner.y) {
            self.select_at(Pane::Rings, pos, 1);
        }
    }

    /// The log: a click selects (holds) the line under it, which stops following as
    /// scrolling up does.
    fn click_line(&mut self, rect: Rect, at: Position) {
        let inner = inner(rect);
        if !inner.contains(at) {
            return;
        }
        let drawn = panes::log_window(self, usize::from(inner.width), usize::from(inner.height));
        let Some(&(top, _)) = drawn.first() else {
            return;
        };
        let mut row = usize::from(at.y - inner.y);
        for (abs, rows) in &drawn {
            if row < rows.len() {
                let page = self.page();
                self.log.select(*abs, top, page);
                return;
            }
            row -= rows.len();
        }
    }

    fn select_at(&mut self, pane: Pane, pos: usize, page: usize) {
        if pos < self.pane_len(pane) {
            let id = self.id_at(pane, pos);
            if let Some(sel) = self.selection_mut(pane) {
                sel.set(pos, id, page);
            }
        }
    }
}

/// Inside a pane's border.
fn inner(rect: Rect) -> Rect {
    ratatui::widgets::Block::bordered().inner(rect)
}
