//! The fleetdeck wire contract (HTTP API v1).
//!
//! Both halves of fleetdeck depend on this crate and on nothing of each other: the
//! console knows the control plane only through these types, the control plane knows no
//! screen. Fields may be added; they are never silently renamed. Every enum that the
//! server may grow carries an `Unknown` fallback so an older console keeps working.

pub mod approval;
pub mod campaign;
pub mod event;
pub mod fleet;
pub mod limits;
pub mod plan;
pub mod problem;
pub mod requests;
pub mod snapshot;
pub mod text;

pub use approval::*;
pub use campaign::*;
pub use event::*;
pub use fleet::*;
pub use plan::*;
pub use problem::Problem;
pub use requests::*;
pub use snapshot::*;

/// Header names used by the contract.
pub mod headers {
    pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
    pub const IF_MATCH: &str = "If-Match";
    pub const ETAG: &str = "ETag";
    pub const LAST_EVENT_ID: &str = "Last-Event-ID";
}

/// Formats a version as the ETag / If-Match value (`"7"`).
pub fn etag(version: u64) -> String {
    format!("\"{version}\"")
}

/// Parses an If-Match / ETag value (`"7"`, `W/"7"` or `7`) into a version.
pub fn parse_etag(value: &str) -> Option<u64> {
    let v = value.trim();
    let v = v.strip_prefix("W/").unwrap_or(v);
    v.trim_matches('"').parse().ok()
}

/// Sequence number of an event; contiguous, starting at 1.
pub type Seq = u64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etag_round_trips() {
        assert_eq!(parse_etag(&etag(42)), Some(42));
        assert_eq!(parse_etag("W/\"3\""), Some(3));
        assert_eq!(parse_etag("nope"), None);
    }
}
