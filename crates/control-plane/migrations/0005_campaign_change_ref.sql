-- The change a campaign carries out (ticket, pull request), as given at creation.
ALTER TABLE campaigns ADD COLUMN change_ref TEXT;

-- A plan's estimate reads the newest finished targets.
CREATE INDEX campaign_targets_done ON campaign_targets (finished_at) WHERE state = 'done';
