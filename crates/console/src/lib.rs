//! The fleetdeck console: state, update, rendering, input, themes, keymaps and the HTTP
//! client. It knows the control plane only through `fleetdeck_api`.
//!
//! Data flows one way: terminal input and server traffic become [`Msg`]s;
//! [`App::update`] changes state and returns [`Effect`]s (HTTP calls) for the runtime to
//! run; drawing is a pure function of state.

pub mod app;
pub mod client;
pub mod keymap;
pub mod message;
pub mod runtime;
pub mod theme;
pub mod ui;

pub use app::{App, AppConfig, Session};
pub use message::{Action, ActionRequest, ConnState, Effect, HostRequest, Msg};
