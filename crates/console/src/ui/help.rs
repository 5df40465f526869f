//! The help overlay, generated from the active keymap so it never drifts from the
//! bindings: one section per layer, entries flowed into columns.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::format::{ellipsize, width};
use super::widgets::frame_block;
use crate::app::App;
use crate::keymap::{KeyBinding, Layer};

pub fn draw(frame: &mut Frame, app: &App, scroll: u16, area: Rect) {
    let t = &app.config.theme;
    let km = &app.config.keymap;
    let rect = Rect::new(
        area.x + 1,
        area.y + 1,
        area.width.saturating_sub(2),
        area.height.saturating_sub(2),
    );
    let inner_w = usize::from(rect.width.saturating_sub(2));
    let mut lines: Vec<Line> = Vec::new();
    for layer in Layer::ALL {
        let entries: Vec<(String, &str)> = km
            .describe_layer(layer)
            .into_iter()
            .map(|(a, keys)| (keys_label(&keys), a.describe()))
            .collect();
        if entries.is_empty() {
            continue;
        }
        lines.push(Line::styled(format!(" {}", layer.title()), t.title));
        let key_w = entries
            .iter()
            .map(|(k, _)| width(k))
            .max()
            .unwrap_or(1)
            .min(18);
        let desc_w = entries.iter().map(|(_, d)| width(d)).max().unwrap_or(1);
        let cell = key_w + 1 + desc_w + 3;
        let cols = (inner_w.saturating_sub(2) / cell).max(1);
        let rows = entries.len().div_ceil(cols);
        for r in 0..rows {
            let mut spans = vec![Span::raw("  ")];
            for c in 0..cols {
                let Some((k, d)) = entries.get(c * rows + r) else {
                    break;
                };
                spans.push(Span::styled(
                    format!("{:>key_w$}", ellipsize(k, key_w)),
                    t.key,
                ));
                spans.push(Span::styled(format!(" {d:<desc_w$}   "), t.text));
            }
            lines.push(Line::from(spans));
        }
    }
    let inner_h = usize::from(rect.height.saturating_sub(2));
    let max_scroll = lines.len().saturating_sub(inner_h);
    let scroll = usize::from(scroll).min(max_scroll);
    let mut title = vec![Span::styled("Keys", t.title_focused)];
    if max_scroll > 0 {
        title.push(Span::styled(
            format!(
                " · lines {}-{} of {} (j/k scroll)",
                scroll + 1,
                (scroll + inner_h).min(lines.len()),
                lines.len()
            ),
            t.muted,
        ));
    }
    title.push(Span::styled(" · ? or Esc closes", t.muted));
    let block = frame_block(t, title, true);
    let inner = block.inner(rect);
    frame.render_widget(Clear, rect);
    frame.render_widget(block, rect);
    let visible: Vec<Line> = lines.into_iter().skip(scroll).take(inner_h).collect();
    frame.render_widget(Paragraph::new(visible), inner);
}

fn keys_label(keys: &[KeyBinding]) -> String {
    keys.iter()
        .map(KeyBinding::label)
        .collect::<Vec<_>>()
        .join("/")
}
