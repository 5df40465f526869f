//! Planning and starting campaigns: `POST /v1/campaigns/plan` (a read: no key) and
//! `POST /v1/campaigns` (an action under the caller's Idempotency-Key), both answering
//! with their JSON body, which the plan and apply commands show.

use fleetdeck_api::{Campaign, CampaignPlan, CreateCampaign, headers};
use reqwest::Method;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::{Capped, Client, read_capped, refusal};
use crate::message::ActionError;

impl Client {
    /// `POST /v1/campaigns/plan`: what creating `req` would do now.
    pub async fn plan_campaign(&self, req: &CreateCampaign) -> Result<CampaignPlan, ActionError> {
        self.post_json("/v1/campaigns/plan", req, None).await
    }

    /// `POST /v1/campaigns` under `key`: the campaign started (or, for a key already
    /// used with this body, the one it started then).
    pub async fn create_campaign(
        &self,
        req: &CreateCampaign,
        key: Uuid,
    ) -> Result<Campaign, ActionError> {
        self.post_json("/v1/campaigns", req, Some(key)).await
    }

    async fn post_json<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &CreateCampaign,
        key: Option<Uuid>,
    ) -> Result<T, ActionError> {
        let what = format!("POST {path}");
        let mut builder = self.request(Method::POST, path).json(body);
        if let Some(key) = key {
            builder = builder.header(headers::IDEMPOTENCY_KEY, key.to_string());
        }
        let response = builder
            .send()
            .await
            .map_err(|e| self.transport_error(&what, &e))?;
        if !response.status().is_success() {
            return Err(refusal(&what, response).await);
        }
        let bytes = match read_capped(response, self.max_response_bytes).await {
            Ok(bytes) => bytes,
            Err(Capped::Transport(e)) => return Err(self.transport_error(&what, &e)),
            Err(Capped::TooLarge) => {
                return Err(ActionError::Transport(format!(
                    "{what}: the server's answer is larger than {} bytes; refused",
                    self.max_response_bytes
                )));
            }
        };
        serde_json::from_slice(&bytes).map_err(|e| {
            ActionError::Transport(format!(
                "{what}: the server's answer is not what this console understands: {e}"
            ))
        })
    }
}
