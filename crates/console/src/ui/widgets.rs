//! Pieces every pane uses: its frame, column fitting, clipped cells and the visible
//! window of a long list (only visible rows are ever built).

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Cell, Row, Table};

use super::format::{ellipsize, width};
use crate::theme::Theme;

/// A bordered block with a title that says what the pane holds.
pub fn frame_block<'a>(theme: &Theme, title: Vec<Span<'a>>, focused: bool) -> Block<'a> {
    let mut spans = vec![Span::raw(" ")];
    spans.extend(title);
    spans.push(Span::raw(" "));
    Block::bordered()
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(theme.border_for(focused))
        .title(Line::from(spans))
}

/// Fits styled spans into `max` columns, cutting the last one with `…`.
pub fn fit_spans(spans: Vec<Span<'_>>, max: usize) -> Line<'static> {
    let mut out: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    for span in spans {
        let w = width(&span.content);
        if used + w <= max {
            used += w;
            out.push(Span::styled(span.content.into_owned(), span.style));
            continue;
        }
        let room = max.saturating_sub(used);
        if room > 0 {
            out.push(Span::styled(ellipsize(&span.content, room), span.style));
        } else if let Some(last) = out.pop() {
            // No room at all: mark the cut on the span before.
            let w = width(&last.content);
            out.push(Span::styled(
                ellipsize(&format!("{}…", last.content), w),
                last.style,
            ));
        }
        break;
    }
    Line::from(out)
}

/// One column: the width it would like, the least it can live with, and whether it
/// may be left out when even the least does not fit.
#[derive(Debug, Clone, Copy)]
pub struct Col {
    pub title: &'static str,
    pub want: u16,
    pub min: u16,
    /// Takes the spare room when there is some (the pane's main text).
    pub grow: bool,
    /// 0: always shown; otherwise left out when space runs short, highest first.
    pub drop: u8,
}

pub const fn col(title: &'static str, want: u16, min: u16) -> Col {
    Col {
        title,
        want,
        min,
        grow: false,
        drop: 0,
    }
}

pub const fn grow(title: &'static str, want: u16, min: u16) -> Col {
    Col {
        grow: true,
        ..col(title, want, min)
    }
}

impl Col {
    /// May be left out on a narrow pane; higher numbers go first.
    pub const fn drops(self, order: u8) -> Col {
        Col {
            drop: order,
            ..self
        }
    }
}

/// Widths for `cols` in `total` columns (one space between), 0 for a column left out.
/// Optional columns go first when even the minimums do not fit; then the columns with
/// the most slack shrink (the growing one last); spare room goes to the growing column.
pub fn fit_columns(cols: &[Col], total: u16) -> Vec<u16> {
    // A column never shrinks below its own heading.
    let mins: Vec<u16> = cols
        .iter()
        .map(|c| c.min.max(width(c.title) as u16))
        .collect();
    let mut kept: Vec<bool> = vec![true; cols.len()];
    let need = |kept: &[bool]| -> u16 {
        let n = kept.iter().filter(|k| **k).count() as u16;
        let sum: u16 = mins
            .iter()
            .zip(kept)
            .filter(|(_, k)| **k)
            .map(|(m, _)| *m)
            .sum();
        sum + n.saturating_sub(1)
    };
    while need(&kept) > total {
        let Some(i) = (0..cols.len())
            .filter(|i| kept[*i] && cols[*i].drop > 0)
            .max_by_key(|i| cols[*i].drop)
        else {
            break;
        };
        kept[i] = false;
    }
    let gaps = (kept.iter().filter(|k| **k).count() as u16).saturating_sub(1);
    let avail = total.saturating_sub(gaps);
    let mut widths: Vec<u16> = cols
        .iter()
        .zip(&mins)
        .zip(&kept)
        .map(|((c, m), k)| if *k { c.want.max(*m) } else { 0 })
        .collect();
    let mut sum: u16 = widths.iter().sum();
    while sum > avail {
        // Other columns give way first; the growing (main text) column last.
        let Some((i, _)) = widths
            .iter()
            .enumerate()
            .filter(|(i, w)| kept[*i] && **w > mins[*i])
            .max_by_key(|(i, w)| (!cols[*i].grow, **w - mins[*i], usize::MAX - i))
        else {
            break;
        };
        widths[i] -= 1;
        sum -= 1;
    }
    // The growing column takes spare room up to twice its wish; beyond that a wider
    // terminal leaves the right side free rather than stretching ids across it.
    let grower = cols.iter().position(|c| c.grow).unwrap_or(0);
    if sum < avail
        && let Some(w) = widths.get_mut(grower)
    {
        *w += (avail - sum).min(cols[grower].want);
    }
    widths
}

/// First row to draw so that `selected` is visible, starting from the stored offset.
pub fn window(offset: usize, selected: Option<usize>, len: usize, height: usize) -> usize {
    let height = height.max(1);
    let mut start = offset.min(len.saturating_sub(height));
    if let Some(sel) = selected {
        if sel < start {
            start = sel;
        } else if sel >= start + height {
            start = sel + 1 - height;
        }
    }
    start
}

/// A table's visible rows, already built; each cell is a list of styled spans.
pub struct TableRows<'c> {
    pub cols: &'c [Col],
    /// The sorted column's index and its arrow (▲/▼), shown after its heading.
    pub sorted: Option<(usize, &'static str)>,
    pub rows: Vec<Vec<Vec<Span<'static>>>>,
    /// Position of the selected row among `rows`.
    pub selected: Option<usize>,
    pub focused: bool,
    /// Which of `rows` are marked (Space); empty when none are.
    pub marked: Vec<bool>,
}

/// Draws a table of already-built rows (only the visible ones), with cells clipped
/// with an ellipsis to their column.
pub fn table(frame: &mut Frame, area: Rect, theme: &Theme, rows: TableRows<'_>) {
    let TableRows {
        cols,
        sorted,
        rows,
        selected,
        focused,
        marked,
    } = rows;
    // The sorted column is one wider for its arrow, so the arrow is never cut off.
    let cols: Vec<Col> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| match sorted {
            Some((s, _)) if s == i => {
                let need = width(c.title) as u16 + 1;
                Col {
                    want: c.want.max(need),
                    min: c.min.max(need),
                    ..*c
                }
            }
            _ => *c,
        })
        .collect();
    // A marker column, so the selection shows without colour too.
    let widths = fit_columns(&cols, area.width.saturating_sub(2));
    let heading = |i: usize, w: usize| match sorted {
        Some((s, arrow)) if s == i => {
            format!("{}{arrow}", ellipsize(cols[i].title, w.saturating_sub(1)))
        }
        _ => ellipsize(cols[i].title, w),
    };
    let cells = |spans: Vec<Vec<Span<'static>>>, marker: &'static str| {
        Row::new(
            std::iter::once(Cell::from(marker))
                .chain(
                    spans
                        .into_iter()
                        .zip(&widths)
                        .filter(|(_, w)| **w > 0)
                        .map(|(s, w)| Cell::from(fit_spans(s, usize::from(*w)))),
                )
                .collect::<Vec<_>>(),
        )
    };
    let head = Row::new(
        std::iter::once(Cell::from(""))
            .chain(
                widths
                    .iter()
                    .enumerate()
                    .filter(|(_, w)| **w > 0)
                    .map(|(i, w)| Cell::from(heading(i, usize::from(*w)))),
            )
            .collect::<Vec<_>>(),
    )
    .style(theme.table_header);
    let body: Vec<Row> = rows
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let is_marked = marked.get(i).copied().unwrap_or(false);
            if Some(i) == selected {
                let row = cells(r, if is_marked { "✓" } else { "›" });
                row.style(if focused {
                    theme.selection
                } else {
                    theme
                        .selection
                        .remove_modifier(ratatui::style::Modifier::BOLD)
                })
            } else if is_marked {
                cells(r, "✓").style(theme.marked)
            } else {
                cells(r, " ")
            }
        })
        .collect();
    let constraints = std::iter::once(Constraint::Length(1)).chain(
        widths
            .iter()
            .filter(|w| **w > 0)
            .map(|w| Constraint::Length(*w)),
    );
    let t = Table::new(body, constraints).header(head).column_spacing(1);
    frame.render_widget(t, area);
}

/// A message in the middle of an empty pane.
pub fn empty(frame: &mut Frame, area: Rect, style: Style, text: &str) {
    let line = Line::styled(ellipsize(text, usize::from(area.width)), style);
    let y = area.y + area.height / 2;
    if area.height > 0 {
        frame.render_widget(line.centered(), Rect::new(area.x, y, area.width, 1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_columns_go_first_then_slack_shrinks() {
        let cols = [
            grow("NAME", 20, 8),
            col("A", 6, 4).drops(1),
            col("B", 6, 4).drops(2),
            col("STATUS", 10, 8),
        ];
        // Everything fits at its wish; spare goes to the growing column (up to 2x).
        assert_eq!(fit_columns(&cols, 60), vec![35, 6, 6, 10]);
        // Shrinking: the non-growing columns give way first.
        assert_eq!(fit_columns(&cols, 40), vec![20, 4, 4, 9]);
        // Not even the minimums fit: B (dropped first), then A.
        assert_eq!(fit_columns(&cols, 24), vec![10, 4, 0, 8]);
        assert_eq!(fit_columns(&cols, 17), vec![8, 0, 0, 8]);
    }
}
