-- The audit trail: one append-only event per change, written in the transaction of the
-- change, chained by SHA-256 (each event's hash covers the previous event's hash and its own
-- canonical content), so rewriting history shows.

CREATE TABLE audit_event (
    seq          BIGINT        NOT NULL PRIMARY KEY,
    occurred_at  VARCHAR(40)   NOT NULL,
    subject      TEXT          NOT NULL,
    role         VARCHAR(16)   NOT NULL,
    actor_id     TEXT,
    request_id   TEXT          NOT NULL,
    operation    TEXT          NOT NULL,
    entity_type  VARCHAR(40)   NOT NULL,
    entity_id    VARCHAR(64)   NOT NULL,
    before_json  TEXT,
    after_json   TEXT,
    prev_hash    CHAR(64)      NOT NULL,
    hash         CHAR(64)      NOT NULL
);
CREATE INDEX ix_audit_entity ON audit_event (entity_id, seq);
CREATE INDEX ix_audit_subject ON audit_event (subject, seq);
