//! The demo: a generated fleet and the plans that keep a demo control plane busy.

pub mod fleet;

pub use fleet::{DemoFleet, generate};
