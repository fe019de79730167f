-- Presence totals per UTC hour and per UTC day, per tag and per gateway: what the overview
-- reads instead of every session of its window (docs/presence.md, "The overview's
-- accelerator"). An accelerator only: an hour counts only while it is listed in
-- presence_totals_hours and not in presence_totals_dirty; every other part of a window is
-- read from the sessions, so no answer depends on these tables being up to date.
--
-- A session [s, e] is a member of a segment [a, b) when e >= a AND s < b. Per segment and key:
-- sessions_started (members with s in [a, b)), sessions_carried_in (members with s < a),
-- dwell_us (the members' overlap with [a, b), exact microseconds), first_started_at (least s
-- of the members) and last_ended_at (greatest e of the members that end inside: e < b; later
-- ends move with ingest, unmarked, and are read from the sessions at the window's end).

CREATE TABLE presence_hour_totals (
    hour                timestamptz NOT NULL,
    kind                text NOT NULL CHECK (kind IN ('tag', 'device')),
    key_id              bigint NOT NULL,
    sessions_started    integer NOT NULL,
    sessions_carried_in integer NOT NULL,
    dwell_us            bigint NOT NULL,
    first_started_at    timestamptz NOT NULL,
    last_ended_at       timestamptz,
    PRIMARY KEY (hour, kind, key_id)
);

-- Built from the 24 hour rows of a UTC day once all of them are materialized (in the same
-- transaction as any change to them); read only while none of them is dirty.
CREATE TABLE presence_day_totals (
    day                 timestamptz NOT NULL,
    kind                text NOT NULL CHECK (kind IN ('tag', 'device')),
    key_id              bigint NOT NULL,
    sessions_started    integer NOT NULL,
    sessions_carried_in integer NOT NULL,
    dwell_us            bigint NOT NULL,
    first_started_at    timestamptz NOT NULL,
    last_ended_at       timestamptz,
    PRIMARY KEY (day, kind, key_id)
);

-- The hours materialized, and the hours whose sessions changed since: marks added by the
-- triggers below, one per statement and hour; the refresh deletes exactly the marks it read
-- (a mark added meanwhile stays). Only added and deleted by id, never updated: marking takes
-- no row lock another writer could wait for, so it never waits nor deadlocks.
CREATE TABLE presence_totals_hours (
    hour         timestamptz PRIMARY KEY,
    refreshed_at timestamptz NOT NULL
);
CREATE TABLE presence_totals_dirty (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hour      timestamptz NOT NULL,
    marked_at timestamptz NOT NULL
);
CREATE INDEX presence_totals_dirty_hour ON presence_totals_dirty (hour);

-- Dirty marking. Only ranges starting more than 5 minutes before the statement are marked:
-- the refresh materializes hours that ended 10 minutes before its time at the latest, so a
-- range starting later touches no materialized hour. The usual ingest batch (new sessions,
-- sessions extended at their end) starts within that margin and marks nothing: its cost is a
-- scan of the statement's transition table. A range [lo, hi] touches the hours from lo's
-- hour up to hi (a session ending exactly on an hour is a member of that hour). No JIT: the
-- planner cannot tell how many hours generate_series gives, overestimates, and would spend
-- 200 ms compiling a statement that runs in a few milliseconds.

CREATE FUNCTION presence_totals_mark_inserted() RETURNS trigger
LANGUAGE plpgsql SET jit = off AS $$
DECLARE
    cutoff timestamptz := statement_timestamp() - interval '5 minutes';
    marked timestamptz := clock_timestamp();
BEGIN
    INSERT INTO presence_totals_dirty (hour, marked_at)
    SELECT DISTINCT g, marked
    FROM changed c
    CROSS JOIN LATERAL generate_series(
        date_trunc('hour', c.started_at, 'UTC'), c.ended_at, interval '1 hour') g
    WHERE c.started_at < cutoff;
    RETURN NULL;
END
$$;

-- UPDATE: OLD and NEW joined by id. A session keeping its tag, gateway and start changed
-- between its old and its new end only (nothing, if its end stayed: counters, RSSI); any
-- other change moved it whole (both ranges). Every range starts at or after the old or the
-- new start, so only rows with a start before the cutoff can mark anything: they are picked
-- first (none, for the usual ingest batch, whose sessions are recent), and only they are
-- joined, by hash (a nested loop over two transition tables of 5,000 rows each, which the
-- planner chose for lack of statistics, tripled PostgreSQL's cost of an ingest batch).
CREATE FUNCTION presence_totals_mark_updated() RETURNS trigger
LANGUAGE plpgsql SET jit = off SET enable_mergejoin = off SET enable_nestloop = off AS $$
DECLARE
    cutoff timestamptz := statement_timestamp() - interval '5 minutes';
    marked timestamptz := clock_timestamp();
BEGIN
    IF NOT EXISTS (SELECT FROM old_rows WHERE started_at < cutoff)
       AND NOT EXISTS (SELECT FROM new_rows WHERE started_at < cutoff) THEN
        RETURN NULL;
    END IF;
    INSERT INTO presence_totals_dirty (hour, marked_at)
    SELECT DISTINCT g, marked
    FROM (
        SELECT o.started_at AS os, o.ended_at AS oe, n.started_at AS ns, n.ended_at AS ne,
               (o.tag_id, o.device_id, o.started_at) = (n.tag_id, n.device_id, n.started_at)
                   AS same
        FROM old_rows o
        JOIN new_rows n ON n.id = o.id
        WHERE o.started_at < cutoff OR n.started_at < cutoff
    ) p
    CROSS JOIN LATERAL (
        VALUES (CASE WHEN p.same AND p.oe <> p.ne THEN least(p.oe, p.ne) END,
                greatest(p.oe, p.ne)),
               (CASE WHEN NOT p.same THEN p.os END, p.oe),
               (CASE WHEN NOT p.same THEN p.ns END, p.ne)
    ) r(lo, hi)
    CROSS JOIN LATERAL generate_series(
        date_trunc('hour', r.lo, 'UTC'), r.hi, interval '1 hour') g
    WHERE r.lo < cutoff;
    RETURN NULL;
END
$$;

-- PostgreSQL allows transition tables on single-event triggers only: one trigger per event.
CREATE TRIGGER presence_totals_inserted AFTER INSERT ON presence_sessions
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION presence_totals_mark_inserted();
CREATE TRIGGER presence_totals_deleted AFTER DELETE ON presence_sessions
    REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION presence_totals_mark_inserted();
CREATE TRIGGER presence_totals_updated AFTER UPDATE ON presence_sessions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION presence_totals_mark_updated();
