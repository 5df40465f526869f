//! RFC 9457 problem details: every error answer carries its cause.

use serde::{Deserialize, Serialize};

pub const CONTENT_TYPE: &str = "application/problem+json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// A URI reference naming the problem type; `about:blank` when only the status says.
    #[serde(rename = "type", default = "about_blank")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[serde(default)]
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// On a 412: the version the thing has now (an extension member), so a client can
    /// wait until its own copy has caught up before it asks again, rather than resend
    /// a version already refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_version: Option<u64>,
}

fn about_blank() -> String {
    "about:blank".into()
}

impl Problem {
    pub fn new(status: u16, title: impl Into<String>, detail: impl Into<String>) -> Problem {
        Problem {
            kind: about_blank(),
            title: title.into(),
            status,
            detail: detail.into(),
            instance: None,
            current_version: None,
        }
    }

    pub fn with_type(mut self, kind: impl Into<String>) -> Problem {
        self.kind = kind.into();
        self
    }

    pub fn with_current_version(mut self, version: u64) -> Problem {
        self.current_version = Some(version);
        self
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.detail.is_empty() {
            write!(f, "{} ({})", self.title, self.status)
        } else {
            write!(f, "{} ({}): {}", self.title, self.status, self.detail)
        }
    }
}

impl std::error::Error for Problem {}
