//! `[health]`: how the control plane polls the fleet's health between campaigns.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::{Problem, at};

/// How every database's health is polled.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthPolicy {
    /// Each database is checked about this often.
    pub interval: Duration,
    /// At most this many checks run at once.
    pub max_concurrent: usize,
    /// A check that has not answered after this long counts as the server down.
    pub timeout: Duration,
    /// Each check is moved by up to this fraction of the interval, either way, so a
    /// big fleet is not polled in lock-step.
    pub jitter: f64,
}

impl Default for HealthPolicy {
    fn default() -> Self {
        HealthPolicy {
            interval: Duration::from_secs(30),
            max_concurrent: 16,
            timeout: Duration::from_secs(10),
            jitter: 0.1,
        }
    }
}

impl HealthPolicy {
    /// A reading older than this is no longer the database's health: it is unknown
    /// since it was taken.
    pub fn stale_after(&self) -> Duration {
        self.interval * 3
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHealth {
    interval_seconds: Option<Spanned<u64>>,
    max_concurrent: Option<Spanned<u64>>,
    timeout_seconds: Option<Spanned<u64>>,
    jitter_percent: Option<Spanned<u64>>,
}

impl RawHealth {
    pub(super) fn check(&self) -> Result<HealthPolicy, Problem> {
        let d = HealthPolicy::default();
        let within =
            |v: &Option<Spanned<u64>>, name: &str, min: u64, max: u64, default: u64| match v {
                Some(s) if !(min..=max).contains(s.get_ref()) => {
                    Err(at(s, format!("{name} must be between {min} and {max}")))
                }
                Some(s) => Ok(*s.get_ref()),
                None => Ok(default),
            };
        let interval = within(
            &self.interval_seconds,
            "interval_seconds",
            1,
            24 * 3600,
            d.interval.as_secs(),
        )?;
        let timeout = within(
            &self.timeout_seconds,
            "timeout_seconds",
            1,
            3600,
            d.timeout.as_secs().min(interval),
        )?;
        if timeout > interval
            && let Some(t) = &self.timeout_seconds
        {
            return Err(at(
                t,
                "timeout_seconds must not be longer than interval_seconds",
            ));
        }
        Ok(HealthPolicy {
            interval: Duration::from_secs(interval),
            max_concurrent: within(
                &self.max_concurrent,
                "max_concurrent",
                1,
                1024,
                d.max_concurrent as u64,
            )? as usize,
            timeout: Duration::from_secs(timeout),
            jitter: within(
                &self.jitter_percent,
                "jitter_percent",
                0,
                50,
                (d.jitter * 100.0) as u64,
            )? as f64
                / 100.0,
        })
    }
}
