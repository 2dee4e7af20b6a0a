-- Optimistic concurrency: every mutable record carries a version, raised by each change. An
-- update that names the version it read fails as a conflict when the record moved on.

ALTER TABLE actor ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE partnership ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE membership ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE allocation ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE programme ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE ceiling_rule ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
