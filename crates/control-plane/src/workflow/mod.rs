//! Workflows: patch campaigns ring by ring behind health gates and approvals, rollback in
//! four stages, and restore drills kept fresh by a scheduler.

pub mod plan;
