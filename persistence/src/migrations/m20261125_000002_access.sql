-- Identity and access: administrators mark actors verified; funding streams have managing
-- actors (a funder token is only valid for an actor that manages at least one stream).

ALTER TABLE actor ADD COLUMN verified {bool} NOT NULL DEFAULT FALSE;

CREATE TABLE stream_manager (
    stream_id  {uuid}      NOT NULL CONSTRAINT fk_manager_stream REFERENCES funding_stream (id),
    actor_id   {uuid}      NOT NULL CONSTRAINT fk_manager_actor REFERENCES actor (id),
    created_at {timestamp} NOT NULL,
    PRIMARY KEY (stream_id, actor_id)
);
CREATE INDEX ix_manager_actor ON stream_manager (actor_id);
