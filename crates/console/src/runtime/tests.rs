//! The loop's promises, checked with a counting screen on ratatui's `TestBackend` and
//! tokio's paused clock: coalesced frames, input drawn at once, no frame when idle, quit,
//! effects in order.

use std::time::Duration;

use chrono::Utc;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::widgets::Paragraph;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{Exit, Screen, event_loop, event_loop_with_host};
use crate::message::{Action, ActionRequest, Effect, HostRequest, Msg};

#[derive(Default)]
struct CountingScreen {
    dirty: bool,
    updates: usize,
    draws: usize,
    drawn_at: Vec<Instant>,
    host: Vec<HostRequest>,
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
        self.drawn_at.push(Instant::now());
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
    assert!(
        (30..=63).contains(&screen.draws),
        "{} frames in one second of constant change",
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

#[tokio::test(start_paused = true)]
async fn input_and_answers_are_drawn_without_waiting_for_the_frame_slot() {
    assert_eq!(delay_until_drawn(key('j')).await, Duration::ZERO);
    let answer = Msg::ActionDone {
        request_id: 1,
        result: Ok(()),
    };
    assert_eq!(delay_until_drawn(answer).await, Duration::ZERO);
    // Anything else keeps the frame pacing: drawn at the next slot, 16 ms after the first.
    assert_eq!(
        delay_until_drawn(Msg::Tick(Utc::now())).await,
        FRAME - Duration::from_millis(2)
    );
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
