-- Idempotent creates: a client that retries a create with the same key gets the first result.
-- The key is written in the transaction of the create, so a key exists exactly when its
-- record does; the primary key makes a concurrent retry lose its transaction, not duplicate.

CREATE TABLE idempotency_key (
    subject      TEXT         NOT NULL,
    key          VARCHAR(200) NOT NULL,
    operation    TEXT         NOT NULL,
    input_hash   CHAR(64)     NOT NULL,
    entity_type  VARCHAR(40)  NOT NULL,
    entity_id    VARCHAR(64)  NOT NULL,
    created_at   VARCHAR(40)  NOT NULL,
    CONSTRAINT pk_idempotency_key PRIMARY KEY (subject, key)
);
