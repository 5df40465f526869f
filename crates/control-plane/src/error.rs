//! Why a domain operation was refused. The HTTP layer maps each variant to its status
//! and a problem detail; the detail text is written for the person who sent the request.

use fleetdeck_api::Problem;

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// 400: the request is malformed or misses a required field.
    #[error("{0}")]
    Invalid(String),
    /// 403: the caller's role or policy (four eyes) forbids it.
    #[error("{0}")]
    Forbidden(String),
    /// 404: the thing does not exist.
    #[error("{0}")]
    NotFound(String),
    /// 409: the action makes no sense in the current state.
    #[error("{0}")]
    Conflict(String),
    /// 412: `If-Match` named a version that is no longer current.
    #[error(
        "{what} has changed since you saw it: you saw version {seen}, it is now version {current}"
    )]
    PreconditionFailed {
        what: String,
        seen: u64,
        current: u64,
    },
    /// 412: the plan a create pinned with `plan_hash` is no longer the plan; the detail
    /// lists what changed.
    #[error("{0}")]
    PlanChanged(String),
    /// 422: the request is well formed but cannot be accepted (idempotency key reuse).
    #[error("{0}")]
    Unprocessable(String),
    /// 500: the store failed; the detail names the operation, never secrets.
    #[error("internal error: {0}")]
    Internal(String),
}

impl DomainError {
    pub fn status(&self) -> u16 {
        match self {
            DomainError::Invalid(_) => 400,
            DomainError::Forbidden(_) => 403,
            DomainError::NotFound(_) => 404,
            DomainError::Conflict(_) => 409,
            DomainError::PreconditionFailed { .. } | DomainError::PlanChanged(_) => 412,
            DomainError::Unprocessable(_) => 422,
            DomainError::Internal(_) => 500,
        }
    }

    pub fn title(&self) -> &'static str {
        match self {
            DomainError::Invalid(_) => "Bad request",
            DomainError::Forbidden(_) => "Forbidden",
            DomainError::NotFound(_) => "Not found",
            DomainError::Conflict(_) => "Conflict",
            DomainError::PreconditionFailed { .. } | DomainError::PlanChanged(_) => {
                "Precondition failed"
            }
            DomainError::Unprocessable(_) => "Unprocessable request",
            DomainError::Internal(_) => "Internal error",
        }
    }

    pub fn to_problem(&self) -> Problem {
        let p = Problem::new(self.status(), self.title(), self.to_string());
        match self {
            DomainError::PreconditionFailed { current, .. } => p.with_current_version(*current),
            _ => p,
        }
    }
}

impl From<sqlx::Error> for DomainError {
    fn from(e: sqlx::Error) -> Self {
        DomainError::Internal(format!("store: {e}"))
    }
}

impl From<serde_json::Error> for DomainError {
    fn from(e: serde_json::Error) -> Self {
        DomainError::Internal(format!("stored json: {e}"))
    }
}
