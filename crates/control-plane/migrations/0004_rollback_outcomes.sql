-- What a rollback did to each target, beside the patch result it found (so a reverted
-- ring still shows which patches had failed), and what resuming a paused campaign will
-- do (a paused campaign waits for no approval: it waits for a resume).
ALTER TABLE campaign_targets ADD COLUMN rollback_patch_state TEXT;
ALTER TABLE campaign_targets ADD COLUMN rollback_outcome TEXT;
ALTER TABLE campaigns ADD COLUMN on_resume TEXT;
