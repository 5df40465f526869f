-- The change a campaign carries out (ticket, pull request), as given at creation.
ALTER TABLE campaigns ADD COLUMN change_ref TEXT;
