-- Running as a service: one row a readiness probe writes (the store is writable), and
-- the claims of scheduled job periods (each period runs on exactly one process/replica).
-- (Replay protection is the replay_guard table of migration 006.)
CREATE TABLE store_health (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at TEXT NOT NULL
);

CREATE TABLE job_periods (
    job TEXT NOT NULL,
    period TEXT NOT NULL,            -- the scheduled fire time it stands for (ISO-8601)
    owner TEXT NOT NULL,             -- host:pid:nonce of the process that runs it
    claimed_at TEXT NOT NULL,
    PRIMARY KEY (job, period)
);
