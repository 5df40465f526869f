//! The demo: a generated fleet, the plans that keep a demo control plane busy, and
//! how a demo server starts them.

pub mod fleet;
pub mod start;

pub use fleet::{DemoFleet, generate};
