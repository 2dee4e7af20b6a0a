-- The API never hard-deletes: an actor is archived, a stream manager's mandate ends. Both
-- keep their rows, and the change is audited like any other.

ALTER TABLE actor ADD COLUMN archived_at {timestamp};
ALTER TABLE stream_manager ADD COLUMN ended_at {timestamp};
CREATE INDEX ix_actor_archived ON actor (archived_at);
