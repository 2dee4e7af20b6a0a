-- PostgreSQL only (SQLite runs none of this file): trigram indexes behind the substring filters,
-- `nameContains` on actors and `titleContains` on partnerships (`LIKE '%x%'` on the folded
-- columns), which no B-tree can serve. Without them a filter that matches little walked the
-- name or title index and tested every row until the page was full: 20 and 47 ms at scale 10
-- for a string that matches nothing, 0.1 ms with them. The planner still walks the ordering
-- index when the string matches much (the first page fills at once).
--
-- pg_trgm ships with PostgreSQL and is a trusted extension (PostgreSQL 13 and later): a role
-- that may create objects in the database may create it, as on managed services. Where the
-- role may not, the migration warns and goes on without the indexes rather than keeping the
-- service from starting; the filters then answer as before, only slower.
DO $$ BEGIN CREATE EXTENSION IF NOT EXISTS pg_trgm; EXCEPTION WHEN insufficient_privilege THEN RAISE WARNING 'the extension pg_trgm cannot be created by this role: nameContains and titleContains will scan instead of using trigram indexes'; END $$;

DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN CREATE INDEX ix_actor_name_trgm ON actor USING gin (name_folded gin_trgm_ops); CREATE INDEX ix_partnership_title_trgm ON partnership USING gin (title_folded gin_trgm_ops); END IF; END $$;
