//! Pieces every pane uses: its frame, column fitting, clipped cells and the visible
//! window of a long list (only visible rows are ever built).

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Cell, Row, Table};

use unicode_width::UnicodeWidthChar;

use super::format::{ellipsize, middle_cut, width};
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

/// Fits styled spans into `max` columns; when they are too wide, cuts the middle and
/// keeps the end (see [`middle_cut`]), so values that share a prefix stay apart.
pub fn fit_spans_middle(spans: Vec<Span<'_>>, max: usize) -> Line<'static> {
    let chars: Vec<(char, Style)> = spans
        .iter()
        .flat_map(|s| s.content.chars().map(move |c| (c, s.style)))
        .collect();
    let text: String = chars.iter().map(|(c, _)| *c).collect();
    let Some((head, tail)) = middle_cut(&text, max) else {
        return Line::from(
            spans
                .into_iter()
                .map(|s| Span::styled(s.content.into_owned(), s.style))
                .collect::<Vec<_>>(),
        );
    };
    let cut_style = chars.get(head).map_or(Style::default(), |(_, st)| *st);
    let kept = chars[..head]
        .iter()
        .copied()
        .chain(std::iter::once(('…', cut_style)))
        .chain(chars[chars.len() - tail..].iter().copied());
    Line::from(runs(kept))
}

/// Characters with their styles as spans, one per run of a style.
fn runs(chars: impl IntoIterator<Item = (char, Style)>) -> Vec<Span<'static>> {
    let mut out: Vec<Span<'static>> = Vec::new();
    let mut text = String::new();
    let mut style: Option<Style> = None;
    for (c, st) in chars {
        if style.is_some_and(|s| s != st) {
            out.push(Span::styled(
                std::mem::take(&mut text),
                style.unwrap_or_default(),
            ));
        }
        style = Some(st);
        text.push(c);
    }
    if !text.is_empty() {
        out.push(Span::styled(text, style.unwrap_or_default()));
    }
    out
}

/// Characters with their styles.
type Styled = Vec<(char, Style)>;

/// Styled spans wrapped at spaces into lines of `max` columns, continuation lines
/// indented by `indent`; a word longer than a line is split. Nothing is cut.
pub fn wrap_spans(spans: Vec<Span<'_>>, max: usize, indent: usize) -> Vec<Line<'static>> {
    let max = max.max(indent + 1);
    let chars: Vec<(char, Style)> = spans
        .iter()
        .flat_map(|s| s.content.chars().map(move |c| (c, s.style)))
        .collect();
    // Words with the spaces before them; the spaces are dropped at a line break.
    let mut words: Vec<(Styled, Styled)> = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        let spaces_end = chars[at..]
            .iter()
            .position(|(c, _)| *c != ' ')
            .map_or(chars.len(), |p| at + p);
        let word_end = chars[spaces_end..]
            .iter()
            .position(|(c, _)| *c == ' ')
            .map_or(chars.len(), |p| spaces_end + p);
        words.push((
            chars[at..spaces_end].to_vec(),
            chars[spaces_end..word_end].to_vec(),
        ));
        at = word_end;
    }
    let w = |cs: &[(char, Style)]| {
        cs.iter()
            .map(|(c, _)| c.width().unwrap_or(0))
            .sum::<usize>()
    };
    let pad = |st: Style| vec![(' ', st); indent];
    let mut lines: Vec<Styled> = Vec::new();
    let mut line: Styled = Vec::new();
    for (i, (spaces, word)) in words.into_iter().enumerate() {
        let used = w(&line);
        if i == 0 || used + w(&spaces) + w(&word) <= max {
            line.extend(spaces);
        } else {
            let st = word.first().map_or(Style::default(), |(_, s)| *s);
            lines.push(std::mem::replace(&mut line, pad(st)));
        }
        for (c, st) in word {
            if w(&line) + c.width().unwrap_or(0) > max && w(&line) > indent {
                lines.push(std::mem::replace(&mut line, pad(st)));
            }
            line.push((c, st));
        }
    }
    lines.push(line);
    lines.into_iter().map(|l| Line::from(runs(l))).collect()
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
    /// Its values are never cut (identifiers, versions, a policy): other columns give
    /// way and optional ones are left out first; only when nothing else is left is it
    /// cut, in the middle, keeping the end that tells values apart (`pg-prod-e…-017`).
    pub whole: bool,
}

pub const fn col(title: &'static str, want: u16, min: u16) -> Col {
    Col {
        title,
        want,
        min,
        grow: false,
        drop: 0,
        whole: false,
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

    /// Its values are never cut but as a last resort (see [`Col::whole`]).
    pub const fn whole(self) -> Col {
        Col {
            whole: true,
            ..self
        }
    }
}

/// Widths for `cols` in `total` columns (one space between), 0 for a column left out,
/// sized from `need`: the widest value each column has to show (its heading included).
///
/// Each column gets what it needs when everything fits. Otherwise, in order: optional
/// columns are left out (highest `drop` first) until every column's floor fits (a whole
/// column's floor is all it needs, another's its `min`); then the free text (the growing
/// column, unless whole) gives way, then the other cuttable columns, least important
/// first; whole columns are cut last. Spare room goes to the growing column, up to its
/// own wish again, so a wide terminal leaves the right side free rather than stretching
/// ids across it.
pub fn fit_columns(cols: &[Col], need: &[u16], total: u16) -> Vec<u16> {
    let n = cols.len();
    let heading = |i: usize| width(cols[i].title) as u16;
    // A column never shrinks below its own heading, nor asks for more than it shows.
    let need: Vec<u16> = (0..n)
        .map(|i| need.get(i).copied().unwrap_or(cols[i].want).max(heading(i)))
        .collect();
    let cut_floor: Vec<u16> = (0..n)
        .map(|i| cols[i].min.min(need[i]).max(heading(i)))
        .collect();
    let floor: Vec<u16> = (0..n)
        .map(|i| if cols[i].whole { need[i] } else { cut_floor[i] })
        .collect();
    let mut kept: Vec<bool> = vec![true; n];
    let fits = |kept: &[bool], floor: &[u16]| -> bool {
        let shown = kept.iter().filter(|k| **k).count() as u16;
        let sum: u16 = (0..n).filter(|i| kept[*i]).map(|i| floor[i]).sum();
        sum + shown.saturating_sub(1) <= total
    };
    while !fits(&kept, &floor) {
        let Some(i) = (0..n)
            .filter(|i| kept[*i] && cols[*i].drop > 0)
            .max_by_key(|i| cols[*i].drop)
        else {
            break;
        };
        kept[i] = false;
    }
    // Leaving out a wide column may free room for a narrower one left out before it:
    // take back what fits, the most important first.
    let mut back: Vec<usize> = (0..n).filter(|i| !kept[*i]).collect();
    back.sort_by_key(|i| cols[*i].drop);
    for i in back {
        kept[i] = true;
        if !fits(&kept, &floor) {
            kept[i] = false;
        }
    }
    let gaps = (kept.iter().filter(|k| **k).count() as u16).saturating_sub(1);
    let avail = total.saturating_sub(gaps);
    let mut widths: Vec<u16> = (0..n).map(|i| if kept[i] { need[i] } else { 0 }).collect();
    let mut sum: u16 = widths.iter().sum();
    while sum > avail {
        // Who gives way first: free text, then the other cuttable columns (optional
        // ones before the ones always shown), whole columns last; among equals the
        // widest, then the leftmost.
        let Some(i) = (0..n)
            .filter(|i| kept[*i] && widths[*i] > cut_floor[*i])
            .max_by_key(|&i| {
                let c = &cols[i];
                (!c.whole, c.grow, c.drop, widths[i], usize::MAX - i)
            })
        else {
            break;
        };
        widths[i] -= 1;
        sum -= 1;
    }
    let grower = cols.iter().position(|c| c.grow).unwrap_or(0);
    if sum < avail
        && kept.get(grower) == Some(&true)
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
    // The sorted column is one wider for its arrow, so the arrow is never cut off, and
    // is never left out: a pane sorted by a column it does not show is a puzzle.
    let cols: Vec<Col> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| match sorted {
            Some((s, _)) if s == i => {
                let need = width(c.title) as u16 + 1;
                Col {
                    want: c.want.max(need),
                    min: c.min.max(need),
                    drop: 0,
                    ..*c
                }
            }
            _ => *c,
        })
        .collect();
    // Each column as wide as its widest visible value (and its heading with the arrow).
    let need: Vec<u16> = (0..cols.len())
        .map(|i| {
            let head = width(cols[i].title) + usize::from(matches!(sorted, Some((s, _)) if s == i));
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|cell| cell.iter().map(|s| width(&s.content)).sum::<usize>())
                .max()
                .unwrap_or(usize::from(cols[i].want))
                .max(head) as u16
        })
        .collect();
    // A marker column, so the selection shows without colour too.
    let widths = fit_columns(&cols, &need, area.width.saturating_sub(2));
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
                        .zip(widths.iter().zip(&cols))
                        .filter(|(_, (w, _))| **w > 0)
                        .map(|(s, (w, c))| {
                            let w = usize::from(*w);
                            Cell::from(if c.whole {
                                fit_spans_middle(s, w)
                            } else {
                                fit_spans(s, w)
                            })
                        }),
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
    fn columns_get_what_they_show_and_cut_text_before_values() {
        let cols = [
            grow("NAME", 20, 8),
            col("A", 6, 4).drops(1),
            col("B", 6, 4).drops(2),
            col("STATUS", 10, 8),
        ];
        let need = [12, 6, 6, 10];
        // Everything fits as it is; spare goes to the growing column (up to its wish).
        assert_eq!(fit_columns(&cols, &need, 60), vec![12 + 20, 6, 6, 10]);
        assert_eq!(fit_columns(&cols, &need, 40), vec![15, 6, 6, 10]);
        // Short: the free text gives way first, then the optional columns, least
        // important first.
        assert_eq!(fit_columns(&cols, &need, 34), vec![9, 6, 6, 10]);
        assert_eq!(fit_columns(&cols, &need, 32), vec![8, 6, 5, 10]);
        // Not even the floors fit: B (dropped first), then A.
        assert_eq!(fit_columns(&cols, &need, 24), vec![8, 4, 0, 10]);
        assert_eq!(fit_columns(&cols, &need, 19), vec![8, 0, 0, 10]);
    }

    #[test]
    fn whole_columns_are_cut_last_and_keep_their_room() {
        let cols = [
            grow("DATABASE", 24, 16).whole(),
            col("ENGINE", 15, 13).drops(3).whole(),
            col("ROLE", 7, 7).drops(6),
            col("HEALTH", 19, 18),
        ];
        let need = [19, 14, 7, 18];
        // All fits: the id and the version whole.
        assert_eq!(fit_columns(&cols, &need, 61), vec![19, 14, 7, 18]);
        // One short: ROLE goes rather than a character of the id or the version.
        assert_eq!(fit_columns(&cols, &need, 60), vec![19 + 7, 14, 0, 18]);
        // Far too narrow: ENGINE goes too, then the id is cut (in the middle, by the
        // table) down to its minimum.
        assert_eq!(fit_columns(&cols, &need, 37), vec![18, 0, 0, 18]);
        // A wide optional column left out frees room for a narrow one left out first.
        let cols = [
            grow("NAME", 20, 8).whole(),
            col("A", 6, 6).drops(3),
            col("WIDE", 16, 16).drops(2),
        ];
        assert_eq!(fit_columns(&cols, &[30, 6, 16], 40), vec![33, 6, 0]);
    }

    #[test]
    fn wrapped_spans_keep_every_word_and_their_styles() {
        let bold = Style::default().add_modifier(ratatui::style::Modifier::BOLD);
        let lines = wrap_spans(
            vec![
                Span::raw("   ✗ gate failed: "),
                Span::styled("3 failed targets reached the budget of 3", bold),
            ],
            24,
            5,
        );
        let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        assert_eq!(
            text,
            [
                "   ✗ gate failed: 3",
                "     failed targets",
                "     reached the budget",
                "     of 3"
            ]
        );
        assert!(lines[1].spans.iter().any(|s| s.style == bold));
        let line = fit_spans_middle(vec![Span::raw("pg-prod-eu-west-017")], 14);
        assert_eq!(line.to_string(), "pg-prod-e…-017");
    }
}
