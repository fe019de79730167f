-- Publishing to cam-bus: what was last queued as each camera's retained /info, and each
-- camera's uplink (the lease the backend holds, and the stream state cam-bus reports).

-- No foreign key: the row outlives its camera until the camera's tombstone is queued, which
-- the deletion does in its own transaction (a row left behind by a camera deleted some other
-- way is cleared when another camera claims its device level).
CREATE TABLE camera_info_publications (
    device_id      bigint PRIMARY KEY,
    device_segment text NOT NULL,          -- the camera's topic level: cam-bus's device_id
    topic          text NOT NULL,          -- where its /info is retained
    digest         text NOT NULL,          -- of the document (never of a password)
    published_at   timestamptz NOT NULL DEFAULT now(),
    -- cam-bus tells cameras apart by the device level alone.
    CONSTRAINT camera_info_publications_segment_key UNIQUE (device_segment)
);

CREATE TABLE camera_uplinks (
    device_id      bigint PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    -- The lease: where the requests went (…/camera/<device>/uplink), what was sent (no
    -- secret is ever part of it), its TTL and times.
    topics         text,
    request        jsonb,
    ttl_seconds    integer CHECK (ttl_seconds > 0),
    started_at     timestamptz,
    expires_at     timestamptz,
    stopped_at     timestamptz,
    stop_reason    varchar(16) CHECK (stop_reason IN ('requested', 'expired')),
    -- The stream state: cam-bus's last …/uplink/status.
    state          varchar(64),
    state_at       timestamptz,
    state_error    text,
    exit_code      integer,
    container_name varchar(255),
    central_path   text
);
-- The expiry looks for leases running past their time.
CREATE INDEX camera_uplinks_running ON camera_uplinks (expires_at) WHERE stopped_at IS NULL;
