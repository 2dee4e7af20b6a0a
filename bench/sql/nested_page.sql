-- The minimal SQL for query (a) (bench/queries/nested_page.json), as an ideal server would send
-- it with the statements of persistence/src/pagination.rs: the page of 50 partnerships (51 rows
-- read to know whether a next page exists), the first 10 (+1) current members and
-- allocations of each of the 50 partnerships ranked in one statement each, then the actors (their id, kind, name and country, all the page shows: the
-- server reads actors' briefs, see api/src/graphql/actor.rs) and funding streams those rows name. bench/load.sh passes the ids of the same data as :pids,
-- :aids and :sids (uuid array literals) and runs this with pgbench -M prepared.
SELECT id, title, title_folded, description, kind, governance_levels, themes_key, start_date, end_date, status, version, created_at, updated_at FROM partnership ORDER BY created_at DESC, id DESC LIMIT 51;
SELECT * FROM (SELECT membership.*, ROW_NUMBER() OVER (PARTITION BY membership.partnership_id ORDER BY membership.id) AS rn FROM membership WHERE membership.partnership_id = ANY (CAST(:pids AS uuid[])) AND membership.left_on IS NULL) AS ranked WHERE rn <= 11;
SELECT * FROM (SELECT allocation.*, ROW_NUMBER() OVER (PARTITION BY allocation.partnership_id ORDER BY allocation.id) AS rn FROM allocation WHERE allocation.partnership_id = ANY (CAST(:pids AS uuid[]))) AS ranked WHERE rn <= 11;
SELECT id, kind, name, country FROM actor WHERE id = ANY (CAST(:aids AS uuid[]));
SELECT id, code, name, legal_basis, period_start, period_end, category_required, created_at FROM funding_stream WHERE id = ANY (CAST(:sids AS uuid[]));
