-- Signed Slack requests already accepted (their X-Slack-Signature), and Events API
-- event ids already taken, each until it may be forgotten: a signature only while Slack's
-- 5-minute timestamp window could still accept it, an event id while Slack may retry it.
-- Kept in the store, not in memory, so a replay is refused across restarts (and replicas).
CREATE TABLE replay_guard (
    key TEXT PRIMARY KEY,            -- 'sig:<signature>' or 'event:<event_id>'
    expires_at TEXT NOT NULL         -- UTC ISO-8601; rows past it are pruned
);
CREATE INDEX replay_guard_expires ON replay_guard(expires_at);
