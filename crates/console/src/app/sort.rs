//! Sorting the table panes: `s` (next column), `S` (reverse) and `:sort COLUMN` (again
//! to reverse), each on the focused pane. Changing a sort is the user's choice, so it
//! re-sorts once; events then keep the new order incrementally.

use super::App;
use super::indexes::Collection;
use super::order::{ApprovalsColumn, Column, EvidenceColumn, FleetColumn, RingsColumn, Sort};
use super::view::{NoticeKind, Pane};
use fleetdeck_api::text::sanitize_line;

/// How a sort changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortChange<'a> {
    /// The next column, ascending.
    Next,
    /// The same column, the other way.
    Reverse,
    /// This column; the same one again reverses.
    Column(&'a str),
}

/// A pane's sort as drawing needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortShown {
    /// The sorted column's place among the pane's columns.
    pub index: usize,
    pub word: &'static str,
    pub descending: bool,
    /// The pane's own order (worst first, soonest expiry first, …).
    pub is_default: bool,
}

impl SortShown {
    pub fn arrow(&self) -> &'static str {
        if self.descending { "▼" } else { "▲" }
    }
}

/// The `:sort` words of a pane's columns, in display order; none for the log.
pub fn columns_of(pane: Pane) -> Vec<&'static str> {
    fn words<C: Column>() -> Vec<&'static str> {
        C::ALL.iter().map(|c| c.word()).collect()
    }
    match pane {
        Pane::Fleet => words::<FleetColumn>(),
        Pane::Rings => words::<RingsColumn>(),
        Pane::Evidence => words::<EvidenceColumn>(),
        Pane::Approvals => words::<ApprovalsColumn>(),
        Pane::Log => Vec::new(),
    }
}

fn shown<C: Column>(sort: &Sort<C>) -> SortShown {
    SortShown {
        index: sort.column.index(),
        word: sort.column.word(),
        descending: sort.descending,
        is_default: sort.is_default(),
    }
}

/// Applies `how` to one collection's sort; an unknown column leaves it as it was.
fn change<C: Column>(
    items: &mut Collection<C::Row, Sort<C>>,
    how: SortChange,
) -> Result<(), String> {
    let old = *items.spec();
    let new = match how {
        SortChange::Next => old.next(),
        SortChange::Reverse => old.reversed(),
        SortChange::Column(word) => old.by(C::parse(word).ok_or_else(|| {
            let words: Vec<&str> = C::ALL.iter().map(|c| c.word()).collect();
            format!("no column '{word}' here (columns: {})", words.join(", "))
        })?),
    };
    items.set_spec(new);
    Ok(())
}

impl App {
    pub(crate) fn sort_of(&self, pane: Pane) -> Option<SortShown> {
        Some(match pane {
            Pane::Fleet => shown(self.data.databases.spec()),
            Pane::Rings => shown(self.data.campaigns.spec()),
            Pane::Evidence => shown(self.data.evidence.spec()),
            Pane::Approvals => shown(self.data.approvals.spec()),
            Pane::Log => return None,
        })
    }

    /// Sorts a table pane and shows its first rows (the worst, in a worst-first
    /// order), not the page the selection was on. The selection stays on its item when
    /// that item is among them; else it goes to the first row, and the footer says
    /// where the item went.
    pub(crate) fn sort_pane(&mut self, pane: Pane, how: SortChange) -> Result<(), String> {
        match pane {
            Pane::Fleet => change(&mut self.data.databases, how)?,
            Pane::Rings => change(&mut self.data.campaigns, how)?,
            Pane::Evidence => change(&mut self.data.evidence, how)?,
            Pane::Approvals => change(&mut self.data.approvals, how)?,
            Pane::Log => {
                return Err("the log has no columns: focus a table pane (1-4)".into());
            }
        }
        // Cards are several lines each: only the first is sure to be in view.
        let page = if pane == Pane::Rings { 1 } else { self.page() };
        let old = self.selected_id(pane);
        let pos = self.selected_index(pane).unwrap_or(0);
        let to = if pos < page { pos } else { 0 };
        let id = self.id_at(pane, to);
        if let Some(sel) = self.selection_mut(pane) {
            sel.offset = 0;
            sel.set(to, id.clone(), page);
        }
        if let (Some(old), Some(new)) = (old, id)
            && old != new
        {
            self.notify(
                NoticeKind::Info,
                format!(
                    "sorted: the top rows show; the cursor is on {} (first), {} is row {} of {}",
                    sanitize_line(&new),
                    sanitize_line(&old),
                    pos + 1,
                    self.pane_len(pane)
                ),
            );
        }
        Ok(())
    }
}
