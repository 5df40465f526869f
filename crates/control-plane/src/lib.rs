//! The fleetdeck control plane: HTTP routes, the store, workflows, policy, executors and
//! the demo fleet. It knows no screen; it speaks only the contract in `fleetdeck_api`.

pub mod auth;
pub mod config;
pub mod demo;
pub mod error;
pub mod executor;
pub mod http;
pub mod server;
pub mod store;
pub mod tls;
pub mod workflow;

pub use error::DomainError;
