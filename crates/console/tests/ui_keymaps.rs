//! Keymaps: the vim keymap, user overrides per layer, conflicts naming both actions,
//! and every action still reachable from command mode after remapping.

mod ui_support;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fleetdeck_console::Effect;
use fleetdeck_console::keymap::{Keymap, Layer, NamedAction};
use ui_support::*;

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/keymaps/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn k(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

#[test]
fn an_override_rebinds_only_what_it_names() {
    let km = Keymap::default()
        .with_overrides(&fixture("override.toml"))
        .unwrap();
    assert_eq!(
        km.lookup(Layer::Approvals, &k('y')),
        Some(NamedAction::Approve)
    );
    assert_eq!(
        km.lookup(Layer::Approvals, &k('n')),
        Some(NamedAction::Reject)
    );
    // The old keys of the rebound actions are gone; everything else stays.
    assert_eq!(km.lookup(Layer::Approvals, &k('a')), None);
    assert_eq!(km.lookup(Layer::Approvals, &k('x')), None);
    assert_eq!(km.lookup(Layer::Global, &k('q')), Some(NamedAction::Quit));
    assert_eq!(km.lookup(Layer::Fleet, &k('s')), Some(NamedAction::Sort));
    let f11 = KeyEvent::new(KeyCode::F(11), KeyModifiers::NONE);
    assert_eq!(km.lookup(Layer::Global, &f11), Some(NamedAction::Zoom));
    assert_eq!(km.lookup(Layer::Global, &k('z')), Some(NamedAction::Zoom));
}

#[test]
fn conflicts_name_both_actions() {
    let err = Keymap::default()
        .with_overrides(&fixture("conflict.toml"))
        .unwrap_err();
    assert_eq!(err.line, 3, "{err}");
    assert!(
        err.message.contains(
            "'s' in [fleet] is bound to both sort (the keymap it overrides) and drill (line 3)"
        ),
        "{err}"
    );
    let err = Keymap::default()
        .with_overrides(&fixture("hides-global.toml"))
        .unwrap_err();
    assert_eq!(err.line, 2, "{err}");
    assert!(err.message.contains("would hide quit of [global]"), "{err}");
    // Two actions of one file on one key.
    let err = Keymap::default()
        .with_overrides("[rings]\npause = \"p\"\nresume = \"p\"\n")
        .unwrap_err();
    assert!(
        err.message.contains("pause (line 2) and resume (line 3)"),
        "{err}"
    );
}

#[test]
fn vim_keymap_adds_vim_keys_and_keeps_the_rest() {
    let vim = Keymap::by_name("vim").unwrap();
    assert_eq!(
        vim.lookup(Layer::Global, &k('l')),
        Some(NamedAction::NextPane)
    );
    assert_eq!(
        vim.lookup(Layer::Global, &k('h')),
        Some(NamedAction::PrevPane)
    );
    let ctrl_d = KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL);
    assert_eq!(
        vim.lookup(Layer::Global, &ctrl_d),
        Some(NamedAction::PageDown)
    );
    assert_eq!(
        vim.lookup(Layer::Global, &k(':')),
        Some(NamedAction::Command)
    );
    assert_eq!(
        vim.lookup(Layer::Approvals, &k('a')),
        Some(NamedAction::Approve)
    );
    assert!(Keymap::by_name("emacs").is_none());
}

#[test]
fn a_remapped_away_action_is_still_a_command() {
    // A keymap that leaves zoom and approve without keys.
    let km = Keymap::default()
        .with_overrides("[global]\nzoom = []\n[approvals]\napprove = []\n")
        .unwrap();
    assert!(km.keys(Layer::Global, NamedAction::Zoom).is_empty());
    let mut config = config();
    config.keymap = km;
    let mut app = app_with(alice(), config, Default::default(), 80, 24);
    typed(&mut app, "z");
    assert!(!screen(&app, 80, 24).contains("(zoomed)"));
    command(&mut app, "zoom");
    typed(&mut app, "1");
    assert!(
        screen(&app, 80, 24).contains("(zoomed)"),
        "{}",
        screen(&app, 80, 24)
    );
    typed(&mut app, "4");
    let effects: Vec<Effect> = command(&mut app, "approve");
    assert!(effects.is_empty());
    assert!(
        screen(&app, 80, 24).contains("Approve apr-2"),
        "{}",
        screen(&app, 80, 24)
    );
}

#[test]
fn every_commandable_action_is_a_command() {
    let words = fleetdeck_console::app::commands::command_words();
    for layer in Layer::ALL.into_iter().filter(|l| l.commandable()) {
        for a in NamedAction::ALL.iter().filter(|a| layer.allows(**a)) {
            assert!(words.contains(&a.name()), ":{} is missing", a.name());
        }
    }
}
