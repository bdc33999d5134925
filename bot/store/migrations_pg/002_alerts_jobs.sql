-- PostgreSQL twin of migrations/002_alerts_jobs.sql.
-- Scheduled jobs: alert state (open or resolved), last runs, inactivity asks.

-- One row per channel alert. The key (job:kind:subject:period) is also the outbox key of
-- the alert's message, so a key is raised and posted once, across restarts and processes.
-- An alert is open until the situation behind it clears (resolved_at set); its message
-- is then updated in place.
CREATE TABLE alerts (
    key TEXT PRIMARY KEY,
    job TEXT NOT NULL,
    kind TEXT NOT NULL,              -- e.g. over, grace-ending, nearly-full, reminder, summary
    subject TEXT NOT NULL,           -- e.g. pool:premium/agent, trial, inactive
    period TEXT NOT NULL,            -- e.g. the overage start, the trial start, the day
    summary TEXT NOT NULL,           -- one plain line for App Home and the CLI
    opened_at TEXT NOT NULL,
    resolved_at TEXT,
    resolution TEXT
);
CREATE INDEX alerts_open ON alerts(job, kind, subject) WHERE resolved_at IS NULL;
CREATE INDEX alerts_opened ON alerts(job, opened_at);

-- When each job last ran (as of which instant), for `jobs list` and for catching up
-- on periods missed while the bot was down.
CREATE TABLE job_runs (
    name TEXT PRIMARY KEY,
    first_seen_at TEXT,
    last_run_at TEXT,
    last_attempt_at TEXT,
    last_status TEXT,
    last_count BIGINT
);

-- When the holder was last asked by DM whether they still need the seat: asked once per
-- inactive spell (a later activity or the end of a snooze starts a new spell).
ALTER TABLE assignments ADD COLUMN inactive_asked_at TEXT;

-- The inactive scan orders by last activity (else assignment time): index that expression.
CREATE INDEX assignments_activity ON assignments((COALESCE(last_active_at, assigned_at)))
    WHERE status = 'active';

-- Buttons on a delivered message find their outbox row (and its data) by channel and ts.
CREATE INDEX outbox_delivered ON outbox(delivered_channel, delivered_ts);
