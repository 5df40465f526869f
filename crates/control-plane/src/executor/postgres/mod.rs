pub mod drill;
