//! Operator safety: one test per classic mistake, the real App against a real control
//! plane. Already proven elsewhere and not repeated here: the App refusing a
//! self-approval and acting while disconnected (`app_approvals.rs`), a second Enter
//! (`app_approvals.rs`), production rollback without the typed id
//! (`app_campaigns.rs`). This suite adds the server's own refusal of a self-approval,
//! stale data, key repeat, every destructive key of every shipped keymap, the viewer
//! role and read-only.

mod app_harness;
mod common;

use std::time::Duration;

use app_harness::Harness;
use chrono::Utc;
use common::Fixture;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use fleetdeck_api::{ApprovalState, CampaignState, WhoAmI};
use fleetdeck_console::app::{App, AppConfig};
use fleetdeck_console::keymap::{KeyBinding, Keymap, Layer, NamedAction};
use fleetdeck_console::message::{Action, ActionError, ActionRequest, ConnState, Effect, Msg};
use fleetdeck_console::theme::Theme;

/// Replaces the harness's App with one on `keymap`, loaded as `whoami`.
async fn reload(h: &mut Harness, keymap: Keymap, whoami: Option<WhoAmI>) {
    let whoami = match whoami {
        Some(w) => w,
        None => h.client.whoami().await.unwrap(),
    };
    let snapshot = h.client.snapshot().await.unwrap();
    let mut app = App::new(AppConfig {
        context: "test".into(),
        keymap,
        theme: Theme::default(),
        stale_after: Duration::from_secs(30),
        log_cap: 2000,
    });
    let now = Utc::now();
    app.update(Msg::Loaded {
        whoami,
        snapshot: Box::new(snapshot),
    });
    app.update(Msg::Resize(160, 48));
    app.update(Msg::Connection(ConnState::Connected { since: now }));
    app.update(Msg::Tick(now));
    h.app = app;
    h.pending.clear();
}

fn press(h: &mut Harness, key: KeyBinding) {
    h.key_event(KeyEvent::new(key.code, key.mods));
}

trait KeyEvents {
    fn key_event(&mut self, key: KeyEvent);
}

impl KeyEvents for Harness {
    /// Feeds a key exactly as given (kind included), recording what it asks to send.
    fn key_event(&mut self, key: KeyEvent) {
        for effect in self.app.update(Msg::Key(key)) {
            if let Effect::Send(req) = &effect {
                self.sent.push(req.clone());
            }
            self.pending.push(effect);
        }
    }
}

const CANCEL_FOCUSED: &str = "» Cancel «";

#[tokio::test]
async fn the_server_refuses_a_self_approval_the_app_let_through() {
    let fx = Fixture::start().await;
    let a = fx.raise_approval("ann", 1).await;
    let mut h = Harness::new(fx.client("ann")).await;
    // The App believes it is someone else, so only the server stands in the way.
    let disguise = WhoAmI {
        user: "not-ann".into(),
        roles: vec![fleetdeck_api::Role::Approver],
    };
    reload(&mut h, Keymap::default(), Some(disguise)).await;
    h.key(KeyCode::Char('4'));
    h.key(KeyCode::Char('a'));
    h.tab();
    h.enter();
    assert_eq!(h.sends(), 1, "{}", h.screen(160, 48));
    h.run_effects().await;
    let problem = match h.answers.as_slice() {
        [Err(ActionError::Refused(p))] => p.clone(),
        other => panic!("expected the server's refusal, got {other:?}"),
    };
    assert!((400..500).contains(&problem.status), "{problem}");
    let head: String = problem
        .detail
        .split_whitespace()
        .take(4)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        h.text().contains(&head),
        "the server's reason ({}) is not on screen:\n{}",
        problem.detail,
        h.screen(160, 48)
    );
    let after = fx.approval(&a.id).await;
    assert_eq!(after.state, ApprovalState::Pending);
    assert!(after.decisions.is_empty());
}

#[tokio::test]
async fn data_older_than_the_limit_is_not_acted_on() {
    let fx = Fixture::start().await;
    let a = fx.raise_approval("olga", 1).await;
    let mut h = Harness::new(fx.client("abe")).await;
    h.sync().await;
    // A minute passes with no word from the server (limit: 30 s).
    h.app
        .update(Msg::Tick(Utc::now() + chrono::Duration::seconds(60)));
    h.key(KeyCode::Char('4'));
    h.key(KeyCode::Char('a'));
    assert!(
        !h.text().contains(CANCEL_FOCUSED),
        "a dialog opened on stale data"
    );
    h.tab();
    h.enter();
    assert_eq!(h.sends(), 0);
    assert!(
        h.text().contains("old (limit"),
        "no reason:\n{}",
        h.screen(160, 48)
    );
    assert_eq!(fx.approval(&a.id).await.state, ApprovalState::Pending);
}

#[tokio::test]
async fn a_held_enter_sends_one_request() {
    let fx = Fixture::start().await;
    let a = fx.raise_approval("olga", 1).await;
    let mut h = Harness::new(fx.client("abe")).await;
    h.key(KeyCode::Char('4'));
    // A held key: the press, then the terminal's repeats.
    let mut held = KeyEvent::new(KeyCode::Char('a'), KeyModifiers::NONE);
    h.key_event(held);
    held.kind = KeyEventKind::Repeat;
    for _ in 0..5 {
        h.key_event(held);
    }
    h.tab();
    let mut enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
    h.key_event(enter);
    enter.kind = KeyEventKind::Repeat;
    for _ in 0..20 {
        h.key_event(enter);
    }
    assert_eq!(h.sends(), 1, "a held Enter sent {} requests", h.sends());
    h.run_effects().await;
    for _ in 0..5 {
        h.key_event(enter);
    }
    let after = fx.approval(&a.id).await;
    assert_eq!(after.decisions.len(), 1);
    assert_eq!(after.state, ApprovalState::Approved);
}

/// How to reach `layer` from the dashboard: its focus key, and for the detail view the
/// open key on the pane that holds the action's subject.
fn reach(km: &Keymap, layer: Layer, action: NamedAction) -> Vec<KeyBinding> {
    let focus = |a| km.keys(Layer::Global, a)[0];
    let pane_of = |action| match action {
        NamedAction::Approve | NamedAction::Reject => NamedAction::FocusApprovals,
        NamedAction::Drill => NamedAction::FocusFleet,
        _ => NamedAction::FocusRings,
    };
    match layer {
        Layer::Fleet => vec![focus(NamedAction::FocusFleet)],
        Layer::Rings => vec![focus(NamedAction::FocusRings)],
        Layer::Evidence => vec![focus(NamedAction::FocusEvidence)],
        Layer::Approvals => vec![focus(NamedAction::FocusApprovals)],
        Layer::Detail => vec![focus(pane_of(action)), focus(NamedAction::Open)],
        other => panic!("destructive action in layer {other:?}"),
    }
}

/// Leaves whatever is open (dialog, detail view) for the dashboard.
fn back_out(h: &mut Harness, km: &Keymap) {
    for (layer, action) in [
        (Layer::Dialog, NamedAction::Cancel),
        (Layer::Detail, NamedAction::Close),
        (Layer::Global, NamedAction::ClearFilter),
    ] {
        if let Some(k) = km.keys(layer, action).first() {
            press(h, *k);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_destructive_key_of_every_keymap_opens_a_dialog_on_cancel() {
    let fx = Fixture::start().await;
    fx.raise_approval("olga", 1).await;
    let campaign = fx.create_campaign("olga").await;
    let operator = fx.client("ann");
    let mut h = Harness::new(operator.clone()).await;
    let mut checked = 0;
    for name in ["default", "vim"] {
        let km = Keymap::by_name(name).unwrap();
        for layer in Layer::ALL {
            for action in NamedAction::ALL.iter().copied() {
                let keys = km.keys(layer, action);
                if keys.is_empty() || !layer.allows(action) {
                    continue;
                }
                if !action.destructive() {
                    continue;
                }
                // The subject in a state that permits the action.
                let want_paused = action == NamedAction::Resume;
                let state = fx.campaign(&campaign.id).await.state;
                if want_paused != (state == CampaignState::Paused) {
                    let verb = if want_paused { "pause" } else { "resume" };
                    let req = ActionRequest {
                        id: 0,
                        action: if want_paused {
                            Action::Pause {
                                campaign_id: campaign.id.clone(),
                                reason: "safety test".into(),
                            }
                        } else {
                            Action::Resume {
                                campaign_id: campaign.id.clone(),
                                reason: None,
                            }
                        },
                        idempotency_key: uuid::Uuid::new_v4(),
                        if_match: None,
                    };
                    operator
                        .send(&req)
                        .await
                        .unwrap_or_else(|e| panic!("{verb}: {e}"));
                }
                for key in keys {
                    // A drill the scheduler just started refuses a second: wait it out.
                    let deadline = std::time::Instant::now() + Duration::from_secs(10);
                    loop {
                        reload(&mut h, km.clone(), None).await;
                        h.sync().await;
                        for k in reach(&km, layer, action) {
                            press(&mut h, k);
                        }
                        press(&mut h, key);
                        let text = h.text();
                        if text.contains(CANCEL_FOCUSED) {
                            break;
                        }
                        assert!(
                            text.contains("already running")
                                && std::time::Instant::now() < deadline,
                            "{name}: {} in {} ({}) opened no dialog on Cancel:\n{}",
                            action.name(),
                            layer.name(),
                            key.label(),
                            h.screen(160, 48)
                        );
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    assert_eq!(h.sends(), 0, "{name}: {} sent on one key", action.name());
                    // Enter right away lands on Cancel: still nothing sent.
                    press(&mut h, km.keys(Layer::Dialog, NamedAction::Activate)[0]);
                    assert_eq!(h.sends(), 0, "{name}: Enter after {} sent", action.name());
                    checked += 1;
                }
            }
        }
        // And no key of any layer, pressed on any pane, sends anything by itself.
        reload(&mut h, km.clone(), None).await;
        h.sync().await;
        let focus_keys: Vec<_> = [
            NamedAction::FocusFleet,
            NamedAction::FocusRings,
            NamedAction::FocusEvidence,
            NamedAction::FocusApprovals,
            NamedAction::FocusLog,
        ]
        .iter()
        .map(|a| km.keys(Layer::Global, *a)[0])
        .collect();
        for focus in &focus_keys {
            for layer in Layer::ALL {
                for (action, keys) in km.describe_layer(layer) {
                    if action == NamedAction::Quit {
                        continue;
                    }
                    for key in keys {
                        press(&mut h, *focus);
                        press(&mut h, key);
                        assert_eq!(
                            h.sends(),
                            0,
                            "{name}: {} ({}) sent a request by itself",
                            action.name(),
                            key.label()
                        );
                        back_out(&mut h, &km);
                    }
                }
            }
        }
    }
    // Both keymaps bind all six destructive actions in a pane and in the detail view.
    assert!(checked >= 24, "only {checked} destructive keys checked");
}

#[tokio::test]
async fn a_viewer_is_offered_no_action() {
    let fx = Fixture::start().await;
    fx.raise_approval("olga", 1).await;
    fx.create_campaign("olga").await;
    let mut h = Harness::new(fx.client("vic")).await;
    h.sync().await;
    let km = Keymap::default();
    for (focus, actions) in [
        ('1', &[NamedAction::Drill][..]),
        ('2', &[NamedAction::Pause, NamedAction::Rollback][..]),
        ('3', &[NamedAction::Drill][..]),
        ('4', &[NamedAction::Approve, NamedAction::Reject][..]),
    ] {
        h.key(KeyCode::Char(focus));
        let footer = h.screen(160, 48).lines().last().unwrap().to_string();
        for action in actions {
            assert!(
                !footer.contains(action.describe()),
                "the footer offers {} to a viewer: {footer}",
                action.name()
            );
        }
        for action in actions {
            let layer = match focus {
                '1' => Layer::Fleet,
                '2' => Layer::Rings,
                '3' => Layer::Evidence,
                _ => Layer::Approvals,
            };
            press(&mut h, km.keys(layer, *action)[0]);
            let text = h.text();
            assert!(
                !text.contains(CANCEL_FOCUSED),
                "a dialog opened for a viewer"
            );
            assert!(
                text.contains("your roles (viewer)"),
                "{}",
                h.screen(160, 48)
            );
            back_out(&mut h, &km);
        }
    }
    assert_eq!(h.sends(), 0);
}

#[tokio::test]
async fn read_only_sends_nothing() {
    let fx = Fixture::start().await;
    let a = fx.raise_approval("olga", 1).await;
    let mut h = Harness::new(fx.client("abe")).await;
    h.key(KeyCode::Char(':'));
    h.type_text("readonly");
    h.enter();
    assert!(h.text().contains("READ-ONLY"), "{}", h.screen(160, 48));
    h.key(KeyCode::Char('4'));
    for key in ['a', 'x'] {
        h.key(KeyCode::Char(key));
        h.tab();
        h.type_text("x");
        h.tab();
        h.tab();
        h.enter();
        h.key(KeyCode::Esc);
    }
    assert_eq!(h.sends(), 0, "a read-only console sent a request");
    assert_eq!(fx.approval(&a.id).await.state, ApprovalState::Pending);
}
