-- The actors a list shows by default are those not archived, by name then id. With an index
-- on archived_at alone SQLite took every live actor from it and sorted them all for each
-- page; this one gives them in order (persistence/tests/plans.rs reads the plans).

DROP INDEX ix_actor_archived;
CREATE INDEX ix_actor_live_name ON actor (archived_at, name_folded, id);
