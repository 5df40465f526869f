//! Request bodies: strict JSON and bounded text.

use fleetdeck_api::limits::MAX_REASON_CHARS;
use serde::de::DeserializeOwned;

use super::problem::ApiError;

/// Parses a JSON body; an empty body is `{}` when `empty_ok`. Unknown fields, wrong
/// types and syntax errors are 400 with serde's description (which names the field).
pub fn json<T: DeserializeOwned>(bytes: &[u8], empty_ok: bool) -> Result<T, ApiError> {
    let bytes = if bytes.iter().all(u8::is_ascii_whitespace) {
        if !empty_ok {
            return Err(ApiError::bad_request("this request needs a JSON body"));
        }
        &b"{}"[..]
    } else {
        bytes
    };
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request(format!(
            "invalid JSON body: {}",
            fleetdeck_api::text::sanitize_line(&e.to_string())
        ))
    })
}

/// Checks a reason or comment: present when `required`, not blank, within the limit.
/// Returns it trimmed, or `None` when absent and optional.
pub fn text_field(
    name: &str,
    value: Option<&str>,
    required: bool,
) -> Result<Option<String>, ApiError> {
    let value = value.map(str::trim).filter(|v| !v.is_empty());
    match value {
        None if required => Err(ApiError::bad_request(format!("'{name}' is required"))),
        None => Ok(None),
        Some(v) if v.chars().count() > MAX_REASON_CHARS => Err(ApiError::bad_request(format!(
            "'{name}' is {} characters; the limit is {MAX_REASON_CHARS}",
            v.chars().count()
        ))),
        Some(v) => Ok(Some(v.to_string())),
    }
}
