-- Extending a session at ingest is an update of its ended_at. While ended_at itself was
-- indexed (0012) no such update could stay on its page (HOT): every extension wrote a new
-- entry into each of the table's seven indexes, most of PostgreSQL's work at ingest on a
-- site where tags stay near the same gateways (bench/ingest_batches.py --neighbours 3:
-- 118 ms of PostgreSQL's CPU per batch of 5,000 extensions before, 42 ms after). The index
-- now holds the UTC hour the session ends in, which changes at most once an hour per session,
-- so the other extensions are HOT. A window's sessions are still found by their end:
-- "ended_at >= :from" implies "ended_hour >= presence_hour(:from)", which the index serves.

-- The UTC hour of a moment (date_bin does not depend on the connection's TimeZone, unlike
-- date_trunc); a SQL function, so the planner inlines it.
CREATE FUNCTION presence_hour(at timestamptz) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN date_bin(interval '1 hour', at, timestamptz '2000-01-01 00:00:00+00');

ALTER TABLE presence_sessions
    ADD COLUMN ended_hour timestamptz NOT NULL GENERATED ALWAYS AS (presence_hour(ended_at))
    STORED;
DROP INDEX presence_sessions_end;
CREATE INDEX presence_sessions_end_hour ON presence_sessions (ended_hour);
