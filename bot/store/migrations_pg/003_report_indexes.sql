-- PostgreSQL twin of migrations/003_report_indexes.sql.
-- Reports and the forecast read the seats taken and given back in a recent window
-- (the last 30 days): index both instants so that read does not scan every assignment.

CREATE INDEX assignments_assigned_at ON assignments(assigned_at);
CREATE INDEX assignments_revoked_at ON assignments(revoked_at) WHERE revoked_at IS NOT NULL;
