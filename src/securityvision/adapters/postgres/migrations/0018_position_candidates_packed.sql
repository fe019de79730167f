-- A position's candidates (the gateways that heard its tag lately: gateway, smoothed RSSI,
-- last heard) are the tracker's state, rewritten for every tag of every ingest batch and read
-- only by the tracker. As three arrays they cost the worker an array of each per tag to
-- send and PostgreSQL three arrays to build; one bytea of 24 bytes per candidate, in gateway
-- order, costs neither: int8 gateway id, float8 smoothed RSSI, int8 microseconds since
-- 2000-01-01 UTC (what int8send, float8send and timestamptz_send give), all big-endian.
ALTER TABLE tag_positions ADD COLUMN candidates bytea NOT NULL DEFAULT ''::bytea;
UPDATE tag_positions p SET candidates = coalesce((
    SELECT string_agg(int8send(u.device_id) || float8send(u.rssi) || timestamptz_send(u.seen_at),
                      ''::bytea ORDER BY u.i)
    FROM unnest(p.candidate_device_ids, p.candidate_rssi, p.candidate_seen_at)
         WITH ORDINALITY AS u(device_id, rssi, seen_at, i)
), ''::bytea);
ALTER TABLE tag_positions
    DROP COLUMN candidate_device_ids,
    DROP COLUMN candidate_rssi,
    DROP COLUMN candidate_seen_at;
