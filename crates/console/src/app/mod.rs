//! placeholder; the app module is being built.
pub struct App;
