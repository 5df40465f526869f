-- Core tables: the event log (execution log and audit trail), idempotency records and
-- approvals. Times are RFC 3339 UTC text with a fixed width (microseconds, `Z`) so that
-- text comparison orders them correctly.

-- `seq` is assigned inside the writing transaction as the previous maximum + 1; writers
-- are serialised (BEGIN IMMEDIATE), so sequence numbers are contiguous and commit in order.
CREATE TABLE events (
    seq            INTEGER PRIMARY KEY,
    at             TEXT    NOT NULL,
    actor          TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    level          TEXT    NOT NULL,
    campaign_id    TEXT,
    database_id    TEXT,
    approval_id    TEXT,
    drill_id       TEXT,
    ring           INTEGER,
    message        TEXT    NOT NULL,
    correlation_id TEXT,
    change_json    TEXT
);
CREATE INDEX events_by_campaign ON events (campaign_id, seq);
CREATE INDEX events_by_database ON events (database_id, seq);

-- One row per Idempotency-Key, written in the same transaction as the effect it records.
CREATE TABLE idempotency (
    key         TEXT    PRIMARY KEY,
    user_name   TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    status      INTEGER NOT NULL,
    body        TEXT    NOT NULL,
    created_at  TEXT    NOT NULL
);
CREATE INDEX idempotency_by_age ON idempotency (created_at);

CREATE TABLE approvals (
    id                 TEXT    PRIMARY KEY,
    num                INTEGER NOT NULL UNIQUE,
    kind               TEXT    NOT NULL,
    state              TEXT    NOT NULL,
    subject            TEXT    NOT NULL,
    campaign_id        TEXT,
    database_id        TEXT,
    ring               INTEGER,
    requested_by       TEXT    NOT NULL,
    reason             TEXT    NOT NULL,
    blast_radius_json  TEXT    NOT NULL,
    findings_json      TEXT    NOT NULL,
    approvals_required INTEGER NOT NULL,
    created_at         TEXT    NOT NULL,
    expires_at         TEXT    NOT NULL,
    decided_at         TEXT,
    version            INTEGER NOT NULL
);
CREATE INDEX approvals_by_state ON approvals (state, expires_at);
CREATE INDEX approvals_by_campaign ON approvals (campaign_id);

CREATE TABLE approval_decisions (
    approval_id TEXT NOT NULL REFERENCES approvals (id),
    approver    TEXT NOT NULL,
    verdict     TEXT NOT NULL,
    comment     TEXT,
    at          TEXT NOT NULL,
    PRIMARY KEY (approval_id, approver)
);
