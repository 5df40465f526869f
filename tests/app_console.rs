//! What the console says and asks of the terminal about itself, through the real App
//! against a real control plane: `:mouse` captures and releases the mouse and says so;
//! a context switch that failed is reported in the footer of the console that came back,
//! from its first frame until the notice's time is up.

mod app_harness;
mod common;

use chrono::Utc;
use common::Fixture;
use crossterm::event::KeyCode;
use fleetdeck_console::app::Session;
use fleetdeck_console::message::{HostRequest, Msg};

use app_harness::Harness;

fn command(h: &mut Harness, line: &str) {
    h.key(KeyCode::Char(':'));
    h.type_text(line);
    h.enter();
}

#[tokio::test]
async fn mouse_command_toggles_capture_and_says_so() {
    let fx = Fixture::start().await;
    let session = Session {
        mouse: true,
        ..Session::default()
    };
    let mut h = Harness::with_session(fx.client("abe"), session, |_| {}).await;
    assert!(h.app.take_host_requests().is_empty());

    command(&mut h, "mouse");
    assert_eq!(
        h.app.take_host_requests(),
        vec![HostRequest::MouseCapture(false)]
    );
    assert!(
        h.text()
            .contains("mouse released: the terminal selects text; :mouse on"),
        "{}",
        h.screen(160, 48)
    );

    // Asking for what is already in force changes nothing on the terminal.
    command(&mut h, "mouse off");
    assert!(h.app.take_host_requests().is_empty());
    assert!(h.text().contains("mouse released"), "{}", h.screen(160, 48));

    command(&mut h, "mouse on");
    assert_eq!(
        h.app.take_host_requests(),
        vec![HostRequest::MouseCapture(true)]
    );
    assert!(
        h.text()
            .contains("mouse captured: clicks and wheel work here; :mouse off"),
        "{}",
        h.screen(160, 48)
    );
    command(&mut h, "mouse");
    assert_eq!(
        h.app.take_host_requests(),
        vec![HostRequest::MouseCapture(false)]
    );

    // Anything else is refused with the choices, and nothing is asked of the terminal.
    command(&mut h, "mouse maybe");
    assert!(h.app.take_host_requests().is_empty());
    assert!(
        h.text()
            .contains(":mouse maybe: unknown mouse setting 'maybe'"),
        "{}",
        h.screen(160, 48)
    );
}

#[tokio::test]
async fn mouse_command_completes_its_settings() {
    let fx = Fixture::start().await;
    let mut h = Harness::new(fx.client("abe")).await;
    h.key(KeyCode::Char(':'));
    h.type_text("mou");
    h.tab();
    h.type_text(" o");
    h.tab();
    assert!(h.text().contains(":mouse off"), "{}", h.screen(160, 48));
}

#[tokio::test]
async fn a_failed_switch_is_in_the_footer_of_the_console_that_came_back() {
    let fx = Fixture::start().await;
    let why =
        "could not switch to context broken: token command 'false': it failed; still on staging";
    let mut h = Harness::with_session(fx.client("abe"), Session::default(), |app| {
        app.report_refused(why.into())
    })
    .await;
    // On the first frame, before the clock has moved.
    assert!(h.text().contains(why), "{}", h.screen(160, 48));
    // It counts from the console's first tick, so it stays its full time...
    let first = Utc::now();
    h.app
        .update(Msg::Tick(first + chrono::Duration::seconds(7)));
    assert!(h.text().contains(why), "{}", h.screen(160, 48));
    // ...and then gives the footer back to the key hints.
    h.app
        .update(Msg::Tick(first + chrono::Duration::seconds(20)));
    assert!(
        !h.text().contains("could not switch"),
        "{}",
        h.screen(160, 48)
    );
}
