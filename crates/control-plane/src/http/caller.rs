//! Who is calling: the bearer token, hashed and looked up in the token table.

use std::collections::HashMap;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use fleetdeck_api::{Role, WhoAmI};

use super::AppState;
use super::problem::ApiError;
use crate::auth::{TokenEntry, hash_token};

/// Token hash → identity.
pub struct TokenTable(HashMap<String, WhoAmI>);

impl TokenTable {
    pub fn new(entries: Vec<TokenEntry>) -> TokenTable {
        TokenTable(
            entries
                .into_iter()
                .map(|e| {
                    let who = WhoAmI {
                        user: e.user,
                        roles: e.roles,
                    };
                    (e.sha256_hex.to_ascii_lowercase(), who)
                })
                .collect(),
        )
    }

    fn lookup(&self, token: &str) -> Option<&WhoAmI> {
        self.0.get(&hash_token(token))
    }
}

/// What a caller wants to do, for the role check.
#[derive(Debug, Clone, Copy)]
pub enum Permission {
    /// Pause, resume, roll back, start drills and campaigns.
    Operate,
    /// Approve and reject.
    Decide,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller(pub WhoAmI);

impl Caller {
    pub fn user(&self) -> &str {
        &self.0.user
    }

    /// Refuses with 403 unless the caller's roles allow `p`.
    pub fn require(&self, p: Permission) -> Result<(), ApiError> {
        let (allowed, needed) = match p {
            Permission::Operate => (self.0.can_operate(), "operator or admin"),
            Permission::Decide => (self.0.can_approve(), "approver or admin"),
        };
        if allowed {
            return Ok(());
        }
        let roles: Vec<&str> = self.0.roles.iter().map(|r| r.as_str()).collect();
        Err(ApiError::forbidden(format!(
            "{} has role {}; this action needs {needed}",
            self.0.user,
            roles.join(", ")
        )))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("send 'Authorization: Bearer <token>'"))?;
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                let (scheme, rest) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header must be 'Bearer <token>'")
            })?;
        let who = state
            .tokens()
            .lookup(token)
            .ok_or_else(|| ApiError::unauthorized("unknown token"))?;
        if who.roles.iter().all(|r| *r == Role::Unknown) {
            return Err(ApiError::forbidden(format!(
                "{} has no known role",
                who.user
            )));
        }
        Ok(Caller(who.clone()))
    }
}
