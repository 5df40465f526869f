-- The campaign version at which its state (or its pause reason) last changed. A resume
-- is guarded by it rather than by the version, which also counts every target step:
-- a paused campaign's in-flight targets finish and move the version, yet the pause the
-- operator saw is still the pause they resume (see workflow/actions.rs). Existing
-- campaigns start at their current version, the cautious choice.
ALTER TABLE campaigns ADD COLUMN state_version INTEGER NOT NULL DEFAULT 0;
UPDATE campaigns SET state_version = version;
