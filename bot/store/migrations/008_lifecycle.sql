-- Seat lifecycle and approval policy (SPEC 9, 10): change and offboarding requests,
-- time-bound seats, the finance stage, escalation, and department quotas.

-- What a request asks: a new seat, a change of a held seat, or an offboarding.
ALTER TABLE requests ADD COLUMN kind TEXT NOT NULL DEFAULT 'new';
-- The held seat a change or offboarding is about.
ALTER TABLE requests ADD COLUMN assignment_id INTEGER;
-- The last day of a time-bound seat (YYYY-MM-DD).
ALTER TABLE requests ADD COLUMN until_date TEXT;
-- The approval stage a pending request waits in: 'admin' (NULL) or 'finance'.
ALTER TABLE requests ADD COLUMN stage TEXT;
ALTER TABLE requests ADD COLUMN stage_approved_by TEXT;
ALTER TABLE requests ADD COLUMN stage_approved_at TEXT;
-- When the approvers of its current stage were DMed about it (once per stage).
ALTER TABLE requests ADD COLUMN escalated_stage TEXT;
CREATE INDEX requests_assignment ON requests(assignment_id, status);

-- The last day a time-bound seat is held (YYYY-MM-DD); NULL: no end.
ALTER TABLE assignments ADD COLUMN ends_on TEXT;
CREATE INDEX assignments_ends_on ON assignments(ends_on) WHERE status = 'active';

-- Department allocations inside a pool.
CREATE TABLE quotas (
    id INTEGER PRIMARY KEY,
    department TEXT NOT NULL,
    edition TEXT NOT NULL,
    item TEXT NOT NULL,              -- a seat type or a module
    seats INTEGER NOT NULL CHECK (seats >= 0),
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (department, edition, item)
);
