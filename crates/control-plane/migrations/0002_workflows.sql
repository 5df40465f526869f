-- Fleet inventory, patch campaigns and restore drills (owned by the workflow engine).
-- Times are RFC 3339 UTC text with a fixed width (microseconds, `Z`) so they sort as text.

CREATE TABLE databases (
    id          TEXT PRIMARY KEY NOT NULL,
    -- The whole `fleetdeck_api::Database` as JSON: the wire type is the schema, and
    -- fields added to it need no migration.
    doc         TEXT NOT NULL,
    ring        INTEGER NOT NULL,
    environment TEXT NOT NULL,
    tier        INTEGER NOT NULL,
    version     INTEGER NOT NULL
);
CREATE INDEX databases_ring ON databases (ring, id);

CREATE TABLE campaigns (
    id              TEXT PRIMARY KEY NOT NULL,
    -- Creation order; ids are `cmp-<num>`.
    num             INTEGER NOT NULL UNIQUE,
    title           TEXT NOT NULL,
    target_version  TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    state           TEXT NOT NULL,
    paused_reason   TEXT,
    waiting_for     TEXT,
    gate            TEXT NOT NULL,   -- GateSettings as JSON
    current_ring    INTEGER,
    rollback        TEXT,            -- RollbackStatus as JSON
    version         INTEGER NOT NULL
);
CREATE INDEX campaigns_state ON campaigns (state);

CREATE TABLE campaign_rings (
    campaign_id   TEXT NOT NULL REFERENCES campaigns (id),
    idx           INTEGER NOT NULL,  -- position in the campaign's ring list
    ring          INTEGER NOT NULL,  -- the fleet's patch ring number
    state         TEXT NOT NULL,
    contains_prod INTEGER NOT NULL,
    gate_state    TEXT NOT NULL,
    failures      INTEGER NOT NULL,
    bake_until    TEXT,
    gate_reason   TEXT,
    approval_id   TEXT,
    started_at    TEXT,
    finished_at   TEXT,
    PRIMARY KEY (campaign_id, idx)
);

CREATE TABLE campaign_targets (
    campaign_id   TEXT NOT NULL REFERENCES campaigns (id),
    idx           INTEGER NOT NULL,  -- ring position (campaign_rings.idx)
    position      INTEGER NOT NULL,  -- dispatch order within the ring (replicas first)
    database_id   TEXT NOT NULL,
    primary_id    TEXT,              -- the target's primary, when it is a replica
    state         TEXT NOT NULL,
    from_version  TEXT NOT NULL,
    to_version    TEXT NOT NULL,
    attempts      INTEGER NOT NULL,
    -- Set (and committed) before the executor's patch call: from then on the target is
    -- never patched again by this campaign, only verified or reverted.
    patch_started INTEGER NOT NULL DEFAULT 0,
    started_at    TEXT,
    finished_at   TEXT,
    message       TEXT,
    approval_id   TEXT,
    PRIMARY KEY (campaign_id, database_id)
);
CREATE INDEX campaign_targets_order ON campaign_targets (campaign_id, idx, position);

CREATE TABLE drills (
    id              TEXT PRIMARY KEY NOT NULL,
    database_id     TEXT NOT NULL,
    state           TEXT NOT NULL,
    requested_by    TEXT NOT NULL,
    started_at      TEXT NOT NULL,
    finished_at     TEXT,
    backup_id       TEXT,
    recovery_point  TEXT,
    restore_seconds REAL,
    checksum_ok     INTEGER,
    output          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX drills_database ON drills (database_id, started_at);
CREATE INDEX drills_state ON drills (state);
