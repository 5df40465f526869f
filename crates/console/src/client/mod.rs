//! The console's HTTP client: reads (whoami, snapshot, a database, events) and the
//! mutating requests of [`ActionRequest`], plus the live event stream ([`stream`]).
//!
//! Every failure becomes an [`ActionError`] with words for the user: a refusal carries
//! the server's problem details, anything else says what went wrong on the way
//! (unreachable, timed out, an answer that is not the contract). The bearer token lives
//! only inside [`Client`], whose `Debug` never prints it.

mod backoff;
mod campaigns;
mod snapshot;
pub mod stream;
pub mod tls;

use std::time::Duration;

use fleetdeck_api::text::sanitize_line;
use fleetdeck_api::{
    Approval, Campaign, Database, DatabaseDetail, EventsPage, Evidence, Problem, Seq, Snapshot,
    WhoAmI, headers,
};
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url, header};
use serde::de::DeserializeOwned;

use crate::message::{ActionError, ActionRequest};

pub use backoff::Backoff;
pub use stream::{StreamOptions, spawn_event_stream};

/// Timeouts of one client. The defaults suit a control plane on the same continent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing a TCP (and TLS) connection.
    pub connect: Duration,
    /// A whole request/response of the JSON API, body included.
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(3),
            request: Duration::from_secs(10),
        }
    }
}

/// A signed-in connection to one control plane. Cheap to clone: clones share the
/// connection pool.
#[derive(Clone)]
pub struct Client {
    base: Url,
    token: Token,
    http: reqwest::Client,
    /// No total timeout: the event stream is open for hours. Silence is detected by
    /// the stream's own idle timeout instead.
    stream_http: reqwest::Client,
    timeouts: Timeouts,
    /// Largest JSON answer read; a bigger one is refused, so a broken or hostile server
    /// cannot grow the console's memory.
    max_response_bytes: usize,
}

/// The default for [`Client::with_max_response_bytes`]: the snapshot of the largest
/// demo fleet (100k databases, evidence without drill output) is about 150 MB of JSON.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;
/// Most bytes of an error answer read: problem details are a few lines.
const MAX_PROBLEM_BYTES: usize = 64 * 1024;

/// The bearer token; deliberately without a printing `Debug`.
#[derive(Clone)]
struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("token", &self.token)
            .field("timeouts", &self.timeouts)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish_non_exhaustive()
    }
}

/// Why a [`Client`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientSetupError {
    #[error("'{0}' is not a server URL: {1}")]
    BadUrl(String, String),
    #[error("server URL '{0}' must start with http:// or https://")]
    BadScheme(String),
    #[error("the token is empty")]
    EmptyToken,
    #[error("the token contains characters that cannot go in an HTTP header")]
    BadToken,
    #[error("cannot set up HTTP: {0}")]
    Http(String),
}

impl Client {
    pub fn new(base_url: &str, token: &str) -> Result<Client, ClientSetupError> {
        Client::with_timeouts(base_url, token, Timeouts::default())
    }

    pub fn with_timeouts(
        base_url: &str,
        token: &str,
        timeouts: Timeouts,
    ) -> Result<Client, ClientSetupError> {
        Client::build(base_url, token, timeouts, &[])
    }

    /// Checks the URL and token and builds both HTTP clients; `extra_roots` are trusted
    /// for HTTPS besides the system's (see [`tls`]).
    fn build(
        base_url: &str,
        token: &str,
        timeouts: Timeouts,
        extra_roots: &[reqwest::Certificate],
    ) -> Result<Client, ClientSetupError> {
        let trimmed = base_url.trim().trim_end_matches('/');
        let base = Url::parse(trimmed)
            .map_err(|e| ClientSetupError::BadUrl(trimmed.to_string(), e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(ClientSetupError::BadScheme(trimmed.to_string()));
        }
        let token = token.trim();
        if token.is_empty() {
            return Err(ClientSetupError::EmptyToken);
        }
        if header::HeaderValue::from_str(&format!("Bearer {token}")).is_err() {
            return Err(ClientSetupError::BadToken);
        }
        let user_agent = concat!("fleetdeck-console/", env!("CARGO_PKG_VERSION"));
        let local_plain = base.scheme() == "http" && is_loopback(&base);
        let builder = || {
            let builder = reqwest::Client::builder()
                .user_agent(user_agent)
                .connect_timeout(timeouts.connect);
            // A plain-HTTP control plane on this machine (the embedded demo's) needs no
            // trust store: loading the system's, hundreds of certificates, was 8-14 ms of
            // every start. A remote one keeps it, for a redirect to HTTPS.
            if local_plain {
                builder.tls_certs_only([])
            } else {
                builder.tls_certs_merge(extra_roots.iter().cloned())
            }
        };
        let http = builder()
            .timeout(timeouts.request)
            .build()
            .map_err(|e| ClientSetupError::Http(e.to_string()))?;
        let stream_http = builder()
            .build()
            .map_err(|e| ClientSetupError::Http(e.to_string()))?;
        Ok(Client {
            base,
            token: Token(token.to_string()),
            http,
            stream_http,
            timeouts,
            max_response_bytes: MAX_RESPONSE_BYTES,
        })
    }

    /// The same client with another cap on JSON answers (tests use a small one).
    pub fn with_max_response_bytes(mut self, bytes: usize) -> Client {
        self.max_response_bytes = bytes;
        self
    }

    /// The server's base URL, for the header and messages.
    pub fn base_url(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    fn url(&self, path_and_query: &str) -> String {
        format!("{}{}", self.base_url(), path_and_query)
    }

    fn request(&self, method: Method, path_and_query: &str) -> RequestBuilder {
        self.http
            .request(method, self.url(path_and_query))
            .bearer_auth(&self.token.0)
    }

    pub async fn whoami(&self) -> Result<WhoAmI, ActionError> {
        self.get_json("/v1/whoami").await
    }

    pub async fn snapshot(&self) -> Result<Snapshot, ActionError> {
        self.get_decoded("/v1/snapshot", snapshot::decode).await
    }

    pub async fn database(&self, id: &str) -> Result<DatabaseDetail, ActionError> {
        self.get_json(&format!("/v1/databases/{}", encode_segment(id)))
            .await
    }

    /// `GET /v1/databases`: the fleet inventory.
    pub async fn databases(&self) -> Result<Vec<Database>, ActionError> {
        self.get_json("/v1/databases").await
    }

    /// `GET /v1/campaigns`: every campaign with its rings and targets.
    pub async fn campaigns(&self) -> Result<Vec<Campaign>, ActionError> {
        self.get_json("/v1/campaigns").await
    }

    /// `GET /v1/campaigns/{id}`.
    pub async fn campaign(&self, id: &str) -> Result<Campaign, ActionError> {
        self.get_json(&format!("/v1/campaigns/{}", encode_segment(id)))
            .await
    }

    /// `GET /v1/evidence`: restore-drill evidence for every database.
    pub async fn evidence(&self) -> Result<Vec<Evidence>, ActionError> {
        self.get_json("/v1/evidence").await
    }

    /// `GET /v1/approvals?state=STATE` (pending, approved, rejected, expired or all).
    pub async fn approvals(&self, state: &str) -> Result<Vec<Approval>, ActionError> {
        self.get_json(&format!("/v1/approvals?state={}", encode_segment(state)))
            .await
    }

    /// `GET /v1/events?after=SEQ&limit=N`: events after `after`, oldest first.
    pub async fn events_after(&self, after: Seq, limit: usize) -> Result<EventsPage, ActionError> {
        self.get_json(&format!("/v1/events?after={after}&limit={limit}"))
            .await
    }

    /// Sends one mutating request exactly as the app described it.
    pub async fn send(&self, req: &ActionRequest) -> Result<(), ActionError> {
        let path = action_path(&req.action);
        let mut builder = self
            .request(Method::POST, &path)
            .header(headers::IDEMPOTENCY_KEY, req.idempotency_key.to_string())
            .json(&req.action.body());
        if let Some(version) = req.if_match {
            builder = builder.header(headers::IF_MATCH, fleetdeck_api::etag(version));
        }
        let what = format!("{} ({})", req.action.verb(), path);
        let response = builder
            .send()
            .await
            .map_err(|e| self.transport_error(&what, &e))?;
        let status = response.status();
        if status.is_success() {
            tracing::info!(action = req.action.verb(), %path, %status, "action accepted");
            return Ok(());
        }
        let err = refusal(&what, response).await;
        tracing::warn!(action = req.action.verb(), %path, %status, error = %sanitize_line(&err.to_string()), "action refused");
        Err(err)
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ActionError> {
        self.get_decoded(path, |bytes| serde_json::from_slice(bytes))
            .await
    }

    /// `GET path`, its body decoded by `decode`.
    async fn get_decoded<T>(
        &self,
        path: &str,
        decode: impl FnOnce(&[u8]) -> Result<T, serde_json::Error>,
    ) -> Result<T, ActionError> {
        let started = std::time::Instant::now();
        let bytes = self.get_bytes(path).await?;
        let read = started.elapsed();
        let value = decode(&bytes).map_err(|e| {
            ActionError::Transport(format!(
                "GET {path}: the server's answer is not what this console understands: {e}"
            ))
        })?;
        tracing::debug!(
            %path,
            bytes = bytes.len(),
            read_ms = read.as_millis(),
            decode_ms = (started.elapsed() - read).as_millis(),
            "answer read"
        );
        Ok(value)
    }

    /// The body of a successful `GET path`, at most [`Client::with_max_response_bytes`].
    async fn get_bytes(&self, path: &str) -> Result<Vec<u8>, ActionError> {
        let what = format!("GET {path}");
        let response = self
            .request(Method::GET, path)
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
                tracing::warn!(%path, cap = self.max_response_bytes, "oversized answer refused");
                return Err(ActionError::Transport(format!(
                    "{what}: the server's answer is larger than {} bytes; refused",
                    self.max_response_bytes
                )));
            }
        };
        Ok(bytes)
    }

    /// Words for a request that got no usable answer. Never includes the token (reqwest
    /// errors name the URL, which carries none).
    fn transport_error(&self, what: &str, e: &reqwest::Error) -> ActionError {
        ActionError::Transport(describe_transport(
            what,
            self.base_url(),
            e,
            self.timeouts.request,
        ))
    }
}

/// `reqwest` errors chain their causes; the innermost is usually the useful one
/// ("Connection refused").
pub(crate) fn describe_transport(
    what: &str,
    base: &str,
    e: &reqwest::Error,
    timeout: Duration,
) -> String {
    if e.is_timeout() {
        return format!(
            "{what}: no answer from {base} within {} s (timed out)",
            timeout.as_secs_f32()
        );
    }
    let mut cause = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    if e.is_connect() {
        format!("{what}: cannot reach {base}: {cause}")
    } else {
        format!("{what}: connection to {base} failed: {cause}")
    }
}

/// Turns a non-2xx answer into an error: the problem details when the server sent
/// them, otherwise a transport error naming the status.
async fn refusal(what: &str, response: Response) -> ActionError {
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.starts_with(fleetdeck_api::problem::CONTENT_TYPE) || v.starts_with("application/json")
        });
    // An error answer is read only as far as a problem detail can reach; a cut-off
    // body simply fails to parse and is shown as an excerpt.
    let body = match read_capped(response, MAX_PROBLEM_BYTES).await {
        Ok(body) => body,
        Err(Capped::TooLarge) => b"(an error answer too large to show)".to_vec(),
        Err(Capped::Transport(_)) => Vec::new(),
    };
    if is_problem && let Ok(problem) = serde_json::from_slice::<Problem>(&body) {
        return ActionError::Refused(problem);
    }
    ActionError::Transport(format!(
        "{what}: the server answered {}{}",
        describe_status(status),
        body_excerpt(&body)
    ))
}

/// Whether `url` names this machine by a loopback address or `localhost`.
fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Why a body was not read whole.
enum Capped {
    TooLarge,
    Transport(reqwest::Error),
}

/// Reads a body of at most `cap` bytes, chunk by chunk; a declared or actual length
/// past the cap stops the read there, so memory never grows beyond it.
async fn read_capped(mut response: Response, cap: usize) -> Result<Vec<u8>, Capped> {
    if response.content_length().is_some_and(|n| n > cap as u64) {
        return Err(Capped::TooLarge);
    }
    // A declared length (within the cap) is room made once: a snapshot is megabytes,
    // and growing by doubling copies it several times over.
    let declared = response.content_length().map_or(0, |n| n as usize);
    let mut body = Vec::with_capacity(declared);
    while let Some(chunk) = response.chunk().await.map_err(Capped::Transport)? {
        if body.len() + chunk.len() > cap {
            return Err(Capped::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn describe_status(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

fn body_excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    let mut excerpt: String = sanitize_line(text).chars().take(200).collect();
    if text.chars().count() > 200 {
        excerpt.push('…');
    }
    format!(": {excerpt}")
}

/// The action's path with its id percent-encoded, so an id from the server can never
/// reach another path.
fn action_path(action: &crate::message::Action) -> String {
    use crate::message::Action;
    match action {
        Action::Approve { approval_id, .. } => {
            format!("/v1/approvals/{}/approve", encode_segment(approval_id))
        }
        Action::Reject { approval_id, .. } => {
            format!("/v1/approvals/{}/reject", encode_segment(approval_id))
        }
        Action::Pause { campaign_id, .. } => {
            format!("/v1/campaigns/{}/pause", encode_segment(campaign_id))
        }
        Action::Resume { campaign_id, .. } => {
            format!("/v1/campaigns/{}/resume", encode_segment(campaign_id))
        }
        Action::Rollback { campaign_id, .. } => {
            format!("/v1/campaigns/{}/rollback", encode_segment(campaign_id))
        }
        Action::Drill { database_id } => {
            format!("/v1/databases/{}/drills", encode_segment(database_id))
        }
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Action;

    #[test]
    fn debug_never_prints_the_token() {
        let c = Client::new("http://127.0.0.1:1", "s3cr3t-token-value").unwrap();
        let printed = format!("{c:?}");
        assert!(!printed.contains("s3cr3t"), "{printed}");
        assert!(printed.contains("redacted"));
    }

    #[test]
    fn bad_urls_and_tokens_are_refused_with_a_cause() {
        assert!(matches!(
            Client::new("ftp://x", "t"),
            Err(ClientSetupError::BadScheme(_))
        ));
        assert!(matches!(
            Client::new("not a url", "t"),
            Err(ClientSetupError::BadUrl(..))
        ));
        assert_eq!(
            Client::new("http://x", "  ").unwrap_err(),
            ClientSetupError::EmptyToken
        );
        assert_eq!(
            Client::new("http://x", "a\nb").unwrap_err(),
            ClientSetupError::BadToken
        );
    }

    #[test]
    fn base_url_loses_its_trailing_slash() {
        let c = Client::new("http://127.0.0.1:7300/", "t").unwrap();
        assert_eq!(c.base_url(), "http://127.0.0.1:7300");
        assert_eq!(c.url("/v1/whoami"), "http://127.0.0.1:7300/v1/whoami");
    }

    #[test]
    fn only_this_machine_by_address_or_name_is_loopback() {
        let loopback = |u: &str| is_loopback(&Url::parse(u).unwrap());
        assert!(loopback("http://127.0.0.1:7300"));
        assert!(loopback("http://127.1.2.3"));
        assert!(loopback("http://[::1]:7300"));
        assert!(loopback("http://LocalHost:1"));
        assert!(!loopback("http://10.0.0.1"));
        assert!(!loopback("http://localhost.example.com"));
        assert!(!loopback("http://[::2]"));
    }

    #[test]
    fn ids_cannot_escape_their_path_segment() {
        let a = Action::Pause {
            campaign_id: "../../v1/x?y".into(),
            reason: "r".into(),
        };
        assert_eq!(action_path(&a), "/v1/campaigns/..%2F..%2Fv1%2Fx%3Fy/pause");
        let plain = Action::Approve {
            approval_id: "apr-12".into(),
            comment: None,
        };
        assert_eq!(action_path(&plain), plain.path());
    }

    #[test]
    fn body_excerpts_are_short_and_inert() {
        assert_eq!(body_excerpt(b""), "");
        assert_eq!(
            body_excerpt(b"bad \x1b[2J gateway"),
            ": bad \u{FFFD} gateway"
        );
        let long = "x".repeat(500);
        assert_eq!(body_excerpt(long.as_bytes()).chars().count(), 2 + 200 + 1);
    }
}
