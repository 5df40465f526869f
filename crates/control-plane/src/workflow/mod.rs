//! Workflows: patch campaigns ring by ring behind health gates and approvals, rollback in
//! four stages, and restore drills kept fresh by a scheduler.
//!
//! The HTTP layer calls the actions ([`create_campaign`], [`pause`], [`resume`],
//! [`rollback`], [`start_drill`]) inside its own transaction; the [`Engine`] wakes on the
//! commit and does the rest. Everything the engine does is committed step by step, so a
//! restarted engine continues where the last one stopped.

mod actions;
mod bake;
pub mod demo;
mod engine;
mod gates;
mod health;
mod logs;
pub mod plan;
mod record;
mod rollback;
mod runner;
mod scheduler;
mod target;

pub use actions::{create_campaign, pause, resume, rollback, start_drill};
pub use demo::DemoSettings;
pub use engine::{Engine, EngineSettings};
