//! Bounds every request respects; the server enforces them, the console checks them
//! before sending so a user sees the limit instead of a refusal.

/// Largest request body the server reads, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Longest reason or comment, in characters.
pub const MAX_REASON_CHARS: usize = 2000;
/// Longest campaign title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Most events one `GET /v1/events` returns.
pub const MAX_EVENTS_PAGE: usize = 5000;
/// Events included in a snapshot.
pub const SNAPSHOT_EVENTS: usize = 500;
