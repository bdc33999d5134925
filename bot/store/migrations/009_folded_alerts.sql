-- `limits` folds a burst of troubled pools into one summary message (SPEC 7): each pool
-- keeps its own alert row, and message_key names the outbox message that shows it (NULL:
-- the alert's own key, as before). Resolving a folded alert updates its line in place.
ALTER TABLE alerts ADD COLUMN message_key TEXT;
CREATE INDEX alerts_message ON alerts(message_key) WHERE message_key IS NOT NULL;
