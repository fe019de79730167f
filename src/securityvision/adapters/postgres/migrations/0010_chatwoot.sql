-- Chatwoot (docs/chatwoot.md). The conversation of an incident is already
-- incidents.chatwoot_conversation_id (0008); the webhook looks incidents up by it, and
-- agents up by users.chatwoot_agent_id.
CREATE INDEX incidents_chatwoot_conversation ON incidents (chatwoot_conversation_id)
    WHERE chatwoot_conversation_id IS NOT NULL;
CREATE INDEX users_chatwoot_agent ON users (chatwoot_agent_id)
    WHERE chatwoot_agent_id IS NOT NULL;

-- Webhook deliveries already handled, by X-Chatwoot-Delivery, recorded in the transaction
-- of their effects: a replay changes nothing, and a delivery whose handling failed is
-- handled again when Chatwoot retries it. Kept a week (a signed delivery is refused after
-- 5 minutes anyway).
CREATE TABLE chatwoot_webhook_deliveries (
    delivery_id text PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX chatwoot_webhook_deliveries_age ON chatwoot_webhook_deliveries (received_at);

-- Chatwoot messages already on an incident's timeline, by Chatwoot's message id: the
-- message_updated events Chatwoot sends for a message it already announced (and a message
-- announced again under a new delivery id) add nothing twice.
CREATE TABLE chatwoot_inbound_messages (
    chatwoot_message_id bigint PRIMARY KEY,
    incident_id         bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    received_at         timestamptz NOT NULL DEFAULT now()
);
