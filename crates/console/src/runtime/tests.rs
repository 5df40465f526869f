//! The loop's promises, checked with a counting screen on ratatui's `TestBackend` and
//! tokio's paused clock: coalesced frames, input drawn at once, an action's own events
//! drawn as they arrive, the frame budget kept under a flood (with typing too), no frame
//! when idle, quit, effects in order.

use std::time::Duration;

use chrono::Utc;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::widgets::Paragraph;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::pacing::BURST;
use super::{Exit, Screen, event_loop, event_loop_with_host};
use crate::message::{Action, ActionRequest, Effect, HostRequest, Msg};

#[derive(Default)]
struct CountingScreen {
    dirty: bool,
    updates: usize,
    draws: usize,
    drawn_at: Vec<Instant>,
    host: Vec<HostRequest>,
    /// When each key not yet drawn was handled; how long each drawn key waited.
    keys_waiting: Vec<Instant>,
    key_waits: Vec<Duration>,
}

fn request(id: u64) -> ActionRequest {
    ActionRequest {
        id,
        action: Action::Drill {
            database_id: format!("db-{id}"),
        },
        idempotency_key: uuid::Uuid::new_v4(),
        if_match: None,
    }
}

impl Screen for CountingScreen {
    fn update(&mut self, msg: Msg) -> Vec<Effect> {
        self.updates += 1;
        self.dirty = true;
        if matches!(msg, Msg::Key(_)) {
            self.keys_waiting.push(Instant::now());
        }
        match msg {
            Msg::Key(k) if k.code == KeyCode::Char('q') => vec![Effect::Quit],
            Msg::Key(k) if k.code == KeyCode::Char('b') => {
                self.host.push(HostRequest::Bell);
                self.host
                    .push(HostRequest::SetTitle("fleetdeck · 1".into()));
                vec![]
            }
            Msg::Key(k) if k.code == KeyCode::Char('c') => {
                self.host.push(HostRequest::SwitchContext("prod".into()));
                vec![]
            }
            Msg::Key(k) if k.code == KeyCode::Char('s') => {
                vec![Effect::Send(request(1)), Effect::Send(request(2))]
            }
            Msg::Alive(_) => {
                // Proof of life that changes nothing on screen.
                self.dirty = self.draws == 0;
                vec![]
            }
            _ => vec![],
        }
    }
    fn draw(&self, frame: &mut ratatui::Frame) {
        frame.render_widget(
            Paragraph::new(format!("updates {}", self.updates)),
            frame.area(),
        );
    }
    fn is_dirty(&self) -> bool {
        self.dirty
    }
    fn mark_drawn(&mut self) {
        self.dirty = false;
        self.draws += 1;
        let now = Instant::now();
        self.drawn_at.push(now);
        for handled in self.keys_waiting.drain(..) {
            self.key_waits.push(now - handled);
        }
    }
    fn take_host_requests(&mut self) -> Vec<HostRequest> {
        std::mem::take(&mut self.host)
    }
}

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

const FRAME: Duration = Duration::from_millis(16);

#[tokio::test(start_paused = true)]
async fn a_flood_of_messages_costs_one_frame() {
    let mut screen = CountingScreen::default();
    let mut terminal = Terminal::new(TestBackend::new(40, 5)).unwrap();
    let (tx, mut rx) = mpsc::channel(4096);
    for _ in 0..1000 {
        tx.send(Msg::Tick(Utc::now())).await.unwrap();
    }
    tx.send(key('q')).await.unwrap();
    event_loop(&mut screen, &mut terminal, &mut rx, |_| {}, FRAME)
        .await
        .unwrap();
    assert_eq!(screen.updates, 1001);
    assert!(screen.draws <= 2, "{} frames for one burst", screen.draws);
}

#[tokio::test(start_paused = true)]
async fn frames_are_capped_at_sixty_a_second() {
    let mut screen = CountingScreen::default();
    let mut terminal = Terminal::new(TestBackend::new(40, 5)).unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let producer = tokio::spawn(async move {
        // One message every 2 ms for one second.
        for _ in 0..500 {
            tx.send(Msg::Tick(Utc::now())).await.unwrap();
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tx.send(key('q')).await.unwrap();
    });
    event_loop(&mut screen, &mut terminal, &mut rx, |_| {}, FRAME)
        .await
        .unwrap();
    producer.await.unwrap();
    assert_eq!(screen.updates, 501);
    // One frame per 16 ms, plus the burst a quiet console starts with.
    assert!(
        (30..=62 + BURST as usize).contains(&screen.draws),
        "{} frames in one second of constant change",
        screen.draws
    );
}

#[tokio::test(start_paused = true)]
async fn a_flood_with_typing_keeps_the_frame_budget_and_draws_each_key_at_once() {
    let mut screen = CountingScreen::default();
    let mut terminal = Terminal::new(TestBackend::new(40, 5)).unwrap();
    let (tx, mut rx) = mpsc::channel(64);
    let producer = tokio::spawn(async move {
        // A server message every millisecond and a key every 50 ms, for two seconds.
        for ms in 0..2000 {
            tx.send(Msg::Tick(Utc::now())).await.unwrap();
            if ms % 50 == 25 {
                tx.send(key('j')).await.unwrap();
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        tx.send(key('q')).await.unwrap();
    });
    event_loop(&mut screen, &mut terminal, &mut rx, |_| {}, FRAME)
        .await
        .unwrap();
    producer.await.unwrap();
    assert_eq!(screen.key_waits.len(), 40);
    assert!(
        screen.key_waits.iter().all(|w| w.is_zero()),
        "a key waited for a frame: {:?}",
        screen.key_waits
    );
    // Keys drawn at once spend the budget the flood would have used: still one frame
    // per 16 ms, not one per 16 ms plus one per key.
    assert!(
        screen.draws <= 2000 / 16 + BURST as usize + 1,
        "{} frames in two seconds of flood and 40 keys",
        screen.draws
    );
}

/// Draws a first frame, sends `msg` 2 ms later (inside the frame interval), quits 20 ms
/// after that; returns how long after `msg` was sent the next frame was drawn.
async fn delay_until_drawn(msg: Msg) -> Duration {
    let mut screen = CountingScreen::default();
    let mut terminal = Terminal::new(TestBackend::new(40, 5)).unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let producer = tokio::spawn(async move {
        tx.send(Msg::Tick(Utc::now())).await.unwrap();
        tokio::time::sleep(Duration::from_millis(2)).await;
        let sent = Instant::now();
        tx.send(msg).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        tx.send(key('q')).await.unwrap();
        sent
    });
    event_loop(&mut screen, &mut terminal, &mut rx, |_| {}, FRAME)
        .await
        .unwrap();
    let sent = producer.await.unwrap();
    assert_eq!(screen.drawn_at.len(), 2, "{:?}", screen.drawn_at);
    screen.drawn_at[1] - sent
}

fn answer(id: u64) -> Msg {
    Msg::ActionDone {
        request_id: id,
        result: Ok(()),
    }
}

#[tokio::test(start_paused = true)]
async fn input_and_answers_are_drawn_without_waiting_for_the_frame_slot() {
    assert_eq!(delay_until_drawn(key('j')).await, Duration::ZERO);
    assert_eq!(delay_until_drawn(answer(1)).await, Duration::ZERO);
}

/// Sends each message after its delay (from the previous one) and quits 50 ms after the
/// last; returns how long after being sent each frame was drawn, one per message.
async fn delays_of_frames(script: Vec<(Duration, Msg)>) -> Vec<Duration> {
    let mut screen = CountingScreen::default();
    let mut terminal = Terminal::new(TestBackend::new(40, 5)).unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let producer = tokio::spawn(async move {
        let mut sent = Vec::new();
        for (delay, msg) in script {
            tokio::time::sleep(delay).await;
            sent.push(Instant::now());
            tx.send(msg).await.unwrap();
            // Lets the loop take this message alone, as a real stream would deliver it.
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        tx.send(key('q')).await.unwrap();
        sent
    });
    event_loop(&mut screen, &mut terminal, &mut rx, |_| {}, FRAME)
        .await
        .unwrap();
    let sent = producer.await.unwrap();
    assert_eq!(screen.drawn_at.len(), sent.len(), "{:?}", screen.drawn_at);
    sent.iter()
        .zip(&screen.drawn_at)
        .map(|(s, d)| *d - *s)
        .collect()
}

#[tokio::test(start_paused = true)]
async fn an_actions_own_events_are_drawn_as_they_arrive() {
    let ms = Duration::from_millis;
    // Enter, the answer 3 ms later, then the stream's proof of life and the decision's
    // event: before the budget, the answer's frame made the event wait a whole frame.
    let delays = delays_of_frames(vec![
        (ms(100), key('x')),
        (ms(3), answer(1)),
        (ms(1), Msg::Tick(Utc::now())),
        (Duration::from_micros(300), Msg::Tick(Utc::now())),
    ])
    .await;
    assert_eq!(delays, vec![Duration::ZERO; 4]);
}

#[tokio::test(start_paused = true)]
async fn server_changes_wait_for_the_frame_slot_once_the_burst_is_spent() {
    let ms = Duration::from_millis;
    let mut script = vec![(ms(100), Msg::Tick(Utc::now()))];
    for _ in 0..BURST {
        script.push((ms(1), Msg::Tick(Utc::now())));
    }
    let delays = delays_of_frames(script).await;
    // The burst is drawn at once; the next change waits for the slot one interval after
    // the last frame of the burst, which was sent 1 ms before it.
    let mut want = vec![Duration::ZERO; BURST as usize];
    want.push(FRAME - ms(1));
    assert_eq!(delays, want);
}

#[tokio::test(start_paused = true)]
async fn nothing_changed_nothing_drawn() {
    let mut screen = CountingScreen::default();
    let mut terminal = Terminal::new(TestBackend::new(40, 5)).unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let producer = tokio::spawn(async move {
        for _ in 0..10 {
            tx.send(Msg::Alive(Utc::now())).await.unwrap();
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        // Dropping the sender ends the loop.
    });
    event_loop(&mut screen, &mut terminal, &mut rx, |_| {}, FRAME)
        .await
        .unwrap();
    producer.await.unwrap();
    assert_eq!(screen.updates, 10);
    assert_eq!(screen.draws, 1, "idle messages must not redraw");
    assert!(
        terminal
            .backend()
            .buffer()
            .content()
            .iter()
            .map(|c| c.symbol())
            .collect::<String>()
            .contains("updates 1")
    );
}

#[tokio::test(start_paused = true)]
async fn effects_run_in_order_and_quit_stops_the_loop() {
    let mut screen = CountingScreen::default();
    let mut terminal = Terminal::new(TestBackend::new(40, 5)).unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    tx.send(key('s')).await.unwrap();
    tx.send(key('q')).await.unwrap();
    tx.send(key('s')).await.unwrap();
    let mut sent = Vec::new();
    event_loop(
        &mut screen,
        &mut terminal,
        &mut rx,
        |e| match e {
            Effect::Send(r) => sent.push(r.id),
            other => panic!("unexpected effect {other:?}"),
        },
        FRAME,
    )
    .await
    .unwrap();
    assert_eq!(sent, vec![1, 2], "nothing after quit runs");
    assert_eq!(screen.updates, 2);
}

#[tokio::test(start_paused = true)]
async fn host_requests_reach_the_terminal_and_a_context_switch_ends_the_loop() {
    let mut screen = CountingScreen::default();
    let mut terminal = Terminal::new(TestBackend::new(40, 5)).unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    tx.send(key('b')).await.unwrap();
    tx.send(key('c')).await.unwrap();
    tx.send(key('b')).await.unwrap();
    let mut done = Vec::new();
    let exit = event_loop_with_host(
        &mut screen,
        &mut terminal,
        &mut rx,
        |_| {},
        |r| done.push(r.clone()),
        FRAME,
    )
    .await
    .unwrap();
    assert_eq!(exit, Exit::SwitchContext("prod".into()));
    assert_eq!(
        done,
        vec![
            HostRequest::Bell,
            HostRequest::SetTitle("fleetdeck · 1".into())
        ],
        "nothing after the switch runs"
    );
    assert_eq!(screen.updates, 2);
}
