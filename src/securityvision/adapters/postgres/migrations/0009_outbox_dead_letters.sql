-- Dead letters: a message its destination refused for good (an HTTP 4xx other than 408/429,
-- say) stays in the outbox, marked, for the operators to see, instead of being retried for
-- ever or silently dropped. The relay never attempts it again, and it holds nothing back.
ALTER TABLE outbox ADD COLUMN dead_at timestamptz;

-- The backlog counts dead letters apart; they are few, so a partial index finds them.
CREATE INDEX outbox_dead ON outbox (channel) WHERE dead_at IS NOT NULL;
