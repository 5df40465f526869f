//! The bottom row: the latest notice, or key hints generated from the active keymap
//! for what can be done right here (actions only when role and state allow them).

use fleetdeck_api::text::sanitize_line;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::format::width;
use super::widgets::fit_spans;
use crate::app::App;
use crate::app::dialogs::{ActionKind, Dialog};
use crate::app::view::{NoticeKind, Pane};
use crate::keymap::{Layer, NamedAction as A};

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.config.theme;
    let w = usize::from(area.width);
    if let Some(n) = &app.notice {
        let style = match n.kind {
            NoticeKind::Ok => t.notice.patch(t.ok),
            NoticeKind::Info => t.notice,
            NoticeKind::Refused => t.notice.patch(t.critical),
        };
        let text = format!(" {} ", sanitize_line(&n.text));
        frame.render_widget(
            Paragraph::new(fit_spans(vec![Span::styled(text, style)], w)).style(t.notice),
            area,
        );
        return;
    }
    frame.render_widget(Paragraph::new(hint_line(app, w)), area);
}

/// `(layer, action)` pairs to hint at, most useful first; `help` is always last.
fn hints(app: &App) -> Vec<(Layer, A)> {
    if app.help.is_some() {
        return vec![
            (Layer::Global, A::Down),
            (Layer::Global, A::Up),
            (Layer::Global, A::Help),
        ];
    }
    if let Some(dialog) = &app.dialog {
        let mut v = vec![(Layer::Dialog, A::NextField), (Layer::Dialog, A::Activate)];
        if matches!(dialog, Dialog::Action(_) | Dialog::Quit { .. }) {
            v.push((Layer::Dialog, A::Cancel));
        }
        return v;
    }
    let offered = |kind: ActionKind| {
        app.read_only_gate(kind).is_ok()
            && app
                .subject_for(kind)
                .is_some_and(|id| app.permitted(kind, &id).is_ok())
    };
    let actions = [
        (A::Approve, ActionKind::Approve),
        (A::Reject, ActionKind::Reject),
        (A::Pause, ActionKind::Pause),
        (A::Resume, ActionKind::Resume),
        (A::Rollback, ActionKind::Rollback),
        (A::Drill, ActionKind::Drill),
    ];
    if app.detail.is_some() {
        let mut v: Vec<(Layer, A)> = actions
            .iter()
            .filter(|(_, k)| offered(*k))
            .map(|(a, _)| (Layer::Detail, *a))
            .collect();
        v.extend([(Layer::Detail, A::Close), (Layer::Detail, A::Down)]);
        v.push((Layer::Global, A::Help));
        return v;
    }
    let layer = app.focus.layer();
    let mut v: Vec<(Layer, A)> = actions
        .iter()
        .filter(|(a, k)| layer.allows(*a) && offered(*k))
        .map(|(a, _)| (layer, *a))
        .collect();
    match app.focus {
        Pane::Log => v.extend([(layer, A::Follow), (layer, A::Wrap)]),
        _ => v.extend([(layer, A::Sort), (layer, A::ReverseSort)]),
    }
    v.extend([
        (Layer::Global, A::Open),
        (Layer::Global, A::NextPane),
        (Layer::Global, A::Quit),
        (Layer::Global, A::Zoom),
        (Layer::Global, A::Help),
    ]);
    v
}

fn hint_line(app: &App, max: usize) -> Line<'static> {
    let t = &app.config.theme;
    let km = &app.config.keymap;
    let in_help = app.help.is_some();
    let items: Vec<(String, &str)> = hints(app)
        .into_iter()
        .filter_map(|(layer, a)| {
            // Inside the help overlay its own key closes it.
            let desc = match a {
                A::Help if in_help => "close",
                other => other.describe(),
            };
            km.hint(layer, a).map(|k| (k, desc))
        })
        .collect();
    let Some((last, rest)) = items.split_last() else {
        return Line::default();
    };
    // Always keep the last hint (help); fill the rest while whole hints fit.
    let item_width = |(k, d): &(String, &str)| width(k) + 1 + width(d) + 2;
    let mut room = max.saturating_sub(item_width(last) + 1);
    let mut spans = vec![Span::raw(" ")];
    for item in rest {
        let w = item_width(item);
        if w > room {
            break;
        }
        room -= w;
        spans.extend(hint_spans(t, item));
    }
    spans.extend(hint_spans(t, last));
    fit_spans(spans, max)
}

fn hint_spans(t: &crate::theme::Theme, (key, desc): &(String, &str)) -> [Span<'static>; 3] {
    [
        Span::styled(key.clone(), t.key),
        Span::styled(format!(" {desc}"), t.muted),
        Span::raw("  "),
    ]
}
