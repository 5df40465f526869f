-- What a restore drill proved (fleetdeck_api::DrillProof): the proof's small fields as
-- one JSON object, and its checks, which fleet-wide evidence leaves out, as a JSON
-- array beside it. Older drills keep both NULL and read back without a proof.
ALTER TABLE drills ADD COLUMN proof TEXT;
ALTER TABLE drills ADD COLUMN checks TEXT;
