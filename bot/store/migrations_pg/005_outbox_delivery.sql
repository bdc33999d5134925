-- Delivery that never loses and never starves (issue 9, 11):
--  lane              interactive (cards, replies, DMs, updates) before bulk (alerts, digests)
--  next_attempt_at   a message is claimed only once due; backoff moves it later
--  post_started_at   a chat.postMessage was sent and its answer not seen: before posting
--                    again, look for it in the channel's history (message metadata)
--  failure           why a message ended without delivery: 'permanent' (kept, Retry) or
--                    'gone' (the recipient left Slack); status is then 'failed'
--  failed_at, notified_at  when it ended, and when admins were told (once)
ALTER TABLE outbox ADD COLUMN lane TEXT NOT NULL DEFAULT 'interactive';
ALTER TABLE outbox ADD COLUMN next_attempt_at TEXT;
ALTER TABLE outbox ADD COLUMN post_started_at TEXT;
ALTER TABLE outbox ADD COLUMN failure TEXT;
ALTER TABLE outbox ADD COLUMN failed_at TEXT;
ALTER TABLE outbox ADD COLUMN notified_at TEXT;
UPDATE outbox SET lane = 'bulk' WHERE target = 'channel';
UPDATE outbox SET next_attempt_at = created_at WHERE next_attempt_at IS NULL;
CREATE INDEX outbox_due ON outbox(status, lane, next_attempt_at, id);
CREATE INDEX outbox_failed ON outbox(status, failed_at) WHERE status = 'failed';
