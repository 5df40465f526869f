//! The fleetdeck control plane: HTTP routes, the store, workflows, policy, executors and
//! the demo fleet. It knows no screen; it speaks only the contract in `fleetdeck_api`.

pub mod error;

pub use error::DomainError;
