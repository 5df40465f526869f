//! Running the app's effects: each in its own task, each answering with a [`Msg`].

use tokio::sync::mpsc;

use crate::client::Client;
use crate::message::{Effect, Msg};

/// Performs one effect and returns the app's answer; `None` for effects that have no
/// answer ([`Effect::Quit`] is the loop's business, not the network's).
pub async fn execute(client: &Client, effect: Effect) -> Option<Msg> {
    match effect {
        Effect::Send(request) => {
            let result = client.send(&request).await;
            Some(Msg::ActionDone {
                request_id: request.id,
                result,
            })
        }
        Effect::LoadDatabase(id) => Some(Msg::DatabaseLoaded(
            client.database(&id).await.map(Box::new),
        )),
        Effect::Quit => None,
    }
}

/// Spawns effects and posts their answers on the loop's channel.
#[derive(Debug, Clone)]
pub struct EffectRunner {
    client: Client,
    tx: mpsc::Sender<Msg>,
}

impl EffectRunner {
    pub fn new(client: Client, tx: mpsc::Sender<Msg>) -> EffectRunner {
        EffectRunner { client, tx }
    }

    pub fn run(&self, effect: Effect) {
        let client = self.client.clone();
        let tx = self.tx.clone();
        tokio::spawn(async move {
            if let Some(answer) = execute(&client, effect).await {
                // The loop may have ended while the request was out; nobody to tell.
                let _ = tx.send(answer).await;
            }
        });
    }
}
