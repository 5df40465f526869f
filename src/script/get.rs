//! `fleetdeck get fleet|campaigns|evidence|approvals|events`.

use fleetdeck_api::{Event, Seq, limits};
use fleetdeck_console::client::{StreamOptions, spawn_event_stream};
use fleetdeck_console::message::{ConnState, Msg};
use tokio::sync::mpsc;

use super::{Conn, failure, print_json, table};
use crate::cli_script::{GetArgs, Output, Resource};
use crate::failure::Failure;

/// Events printed by `get events` without `--after`.
const RECENT_EVENTS: u64 = 100;

pub async fn run(conn: &Conn, args: &GetArgs) -> Result<(), Failure> {
    let json = args.output.output == Output::Json;
    if args.what != Resource::Events && (args.follow || args.after.is_some()) {
        return Err(Failure::usage("--after and --follow are for `get events`"));
    }
    if args.what != Resource::Campaign && args.id.is_some() {
        return Err(Failure::usage("an id is for `get campaign ID`"));
    }
    let c = &conn.client;
    macro_rules! list {
        ($what:literal, $call:expr, $table:path) => {{
            let items = $call
                .await
                .map_err(|e| failure(concat!("get ", $what), &e))?;
            if json {
                print_json(&items)
            } else {
                print!("{}", $table(&items).render());
                Ok(())
            }
        }};
    }
    match args.what {
        Resource::Fleet => list!("fleet", c.databases(), table::fleet),
        Resource::Campaigns => list!("campaigns", c.campaigns(), table::campaigns),
        Resource::Campaign => super::campaign::run(conn, args.id.as_deref(), json).await,
        Resource::Evidence => list!("evidence", c.evidence(), table::evidence),
        Resource::Approvals => list!(
            "approvals",
            c.approvals(args.state.as_str()),
            table::approvals
        ),
        Resource::Events => events(conn, args.after, args.follow, json).await,
    }
}

/// Every event after `after` (or the most recent ones), then, with `follow`, the live
/// stream until interrupted. JSON is one event per line.
async fn events(conn: &Conn, after: Option<Seq>, follow: bool, json: bool) -> Result<(), Failure> {
    let c = &conn.client;
    let what = "get events";
    let after = match after {
        Some(seq) => seq,
        None => {
            let probe = c.events_after(0, 1).await.map_err(|e| failure(what, &e))?;
            probe.last_seq.saturating_sub(RECENT_EVENTS)
        }
    };
    let mut last = after;
    let mut shown = Vec::new();
    loop {
        let page = c
            .events_after(last, limits::MAX_EVENTS_PAGE)
            .await
            .map_err(|e| failure(what, &e))?;
        let Some(newest) = page.events.last() else {
            break;
        };
        last = newest.seq;
        shown.extend(page.events);
    }
    if json {
        for e in &shown {
            print_json(e)?;
        }
    } else if !shown.is_empty() || !follow {
        print!("{}", table::events(&shown).render());
    }
    if follow {
        follow_events(conn, last, json, shown.is_empty()).await?;
    }
    Ok(())
}

async fn follow_events(conn: &Conn, after: Seq, json: bool, header: bool) -> Result<(), Failure> {
    let (tx, mut rx) = mpsc::channel(1024);
    let task = spawn_event_stream(conn.client.clone(), after, tx, StreamOptions::default());
    let mut header = header && !json;
    let mut print = |e: &Event| -> Result<(), Failure> {
        if json {
            return print_json(e);
        }
        if header {
            println!("{}", table::follow_line(None));
            header = false;
        }
        println!("{}", table::follow_line(Some(e)));
        Ok(())
    };
    let ended = loop {
        tokio::select! {
            msg = rx.recv() => match msg {
                Some(Msg::Server(e)) => print(&e)?,
                Some(Msg::Connection(ConnState::Disconnected { reason, retry_in, .. })) => {
                    eprintln!(
                        "fleetdeck: event stream lost ({}); retrying in {:.1} s",
                        fleetdeck_api::text::sanitize_line(&reason),
                        retry_in.as_secs_f32()
                    );
                }
                Some(Msg::Loaded { snapshot, .. }) => {
                    eprintln!(
                        "fleetdeck: the server's history restarted; following from event {}",
                        snapshot.last_seq
                    );
                }
                Some(_) => {}
                None => break Err(Failure::runtime("get events: the event stream ended")),
            },
            _ = tokio::signal::ctrl_c() => break Ok(()),
        }
    };
    task.abort();
    ended
}
