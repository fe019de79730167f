-- The transactional outbox: messages to the outside world (MQTT publications now; outbound
-- webhooks and Chatwoot later), inserted in the transaction of the change that caused them
-- and deleted by the relay once delivered. What is in the table is what is still to send.
CREATE TABLE outbox (
    id              bigserial PRIMARY KEY,
    channel         text NOT NULL,              -- the relay that delivers it: mqtt, webhook, ...
    destination     text NOT NULL,              -- MQTT topic, subscription, ...: order holds per destination
    payload         bytea NOT NULL,             -- the exact bytes to send
    options         jsonb NOT NULL DEFAULT '{}', -- delivery options (MQTT qos, retain); never secrets
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text                        -- why the last attempt failed; never secrets
);

-- The relay reads a channel's messages in id order ...
CREATE INDEX outbox_channel_order ON outbox (channel, id);
-- ... holding back the destinations that have a message waiting for a retry.
CREATE INDEX outbox_channel_retry ON outbox (channel, next_attempt_at);
