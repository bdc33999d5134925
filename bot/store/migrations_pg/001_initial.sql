-- PostgreSQL twin of migrations/001_initial.sql (same tables, columns and indexes).
-- Pools, assignments, requests, audit log, the outbox, and the trial setting.
-- Times are UTC ISO-8601 text ("2026-11-30T20:10:00+00:00"), which sorts as time.

CREATE TABLE pools (
    id BIGSERIAL PRIMARY KEY,
    edition TEXT NOT NULL,
    item TEXT NOT NULL,              -- a seat type or a module
    kind TEXT NOT NULL CHECK (kind IN ('seat', 'module')),
    purchased BIGINT NOT NULL CHECK (purchased >= 0),
    price_cents BIGINT,             -- monthly price per seat; NULL = catalog default
    updated_at TEXT NOT NULL,
    UNIQUE (edition, item)
);

-- Each period a pool spent over its purchased seats; the open one (ended_at NULL)
-- is the current overage and its started_at starts the grace period.
CREATE TABLE overage_periods (
    id BIGSERIAL PRIMARY KEY,
    pool_id BIGINT NOT NULL REFERENCES pools(id),
    started_at TEXT NOT NULL,
    ended_at TEXT,
    peak_overage BIGINT NOT NULL
);
CREATE UNIQUE INDEX overage_open ON overage_periods(pool_id) WHERE ended_at IS NULL;

CREATE TABLE requests (
    id BIGSERIAL PRIMARY KEY,
    requester_id TEXT NOT NULL,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    slack_user_id TEXT,
    seat_type TEXT NOT NULL,
    edition TEXT NOT NULL,
    modules TEXT NOT NULL DEFAULT '',   -- comma-separated
    department TEXT,
    start_date TEXT,
    reason TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'approved', 'denied', 'cancelled', 'expired')),
    created_at TEXT NOT NULL,
    decided_at TEXT,
    decided_by TEXT,
    decision_reason TEXT,
    card_channel TEXT,
    card_ts TEXT,
    nudged_at TEXT
);
CREATE INDEX requests_status ON requests(status, created_at);
CREATE INDEX requests_requester ON requests(requester_id, id);
CREATE INDEX requests_card ON requests(card_channel, card_ts);
CREATE INDEX requests_email ON requests(email, status);

CREATE TABLE assignments (
    id BIGSERIAL PRIMARY KEY,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    slack_user_id TEXT,
    edition TEXT NOT NULL,
    seat_type TEXT NOT NULL,
    department TEXT,
    license_group TEXT,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
    assigned_at TEXT NOT NULL,
    revoked_at TEXT,
    last_active_at TEXT,
    snoozed_until TEXT,
    request_id BIGINT REFERENCES requests(id)
);
-- One active seat per person: the email is the identity.
CREATE UNIQUE INDEX assignments_one_active ON assignments(email) WHERE status = 'active';
CREATE INDEX assignments_pool ON assignments(edition, seat_type) WHERE status = 'active';
CREATE INDEX assignments_slack ON assignments(slack_user_id) WHERE status = 'active';

CREATE TABLE assignment_modules (
    assignment_id BIGINT NOT NULL REFERENCES assignments(id),
    module TEXT NOT NULL,
    PRIMARY KEY (assignment_id, module)
);
CREATE INDEX assignment_modules_module ON assignment_modules(module);

CREATE TABLE audit (
    id BIGSERIAL PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,             -- a Slack user id, or "licensebot", or "cli"
    action TEXT NOT NULL,            -- e.g. request.approved, pool.set, assignment.revoked
    subject TEXT NOT NULL,           -- e.g. request:12, pool:premium/agent, email
    before TEXT,                     -- JSON
    after TEXT                       -- JSON
);
CREATE INDEX audit_subject ON audit(subject, id);
CREATE INDEX audit_at ON audit(at);

-- Messages to deliver to Slack. Written in the transaction of the change that causes
-- them, delivered after: a Slack failure delays a message, never loses it.
CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    key TEXT UNIQUE,                 -- idempotency key (job, subject, period) when set
    target TEXT NOT NULL,            -- card | thread | dm | channel
    template TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}', -- JSON for the template
    request_id BIGINT REFERENCES requests(id),
    channel TEXT,
    user_id TEXT,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    lease_until TEXT,
    created_at TEXT NOT NULL,
    delivered_at TEXT,
    delivered_channel TEXT,
    delivered_ts TEXT
);
CREATE INDEX outbox_pending ON outbox(status, id);

CREATE TABLE trial (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    start_date TEXT NOT NULL,
    converted_at TEXT,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
