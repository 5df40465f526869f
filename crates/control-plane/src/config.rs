//! The control-plane config file (TOML): the declared fleet and the executor settings.
