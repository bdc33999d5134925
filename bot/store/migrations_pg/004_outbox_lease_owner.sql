-- PostgreSQL twin of migrations/004_outbox_lease_owner.sql.
-- Who holds an outbox lease (host:pid:nonce of the delivering process), so that a process
-- started after a crash takes back the leases of the dead one at once instead of waiting
-- for them to expire.
ALTER TABLE outbox ADD COLUMN lease_owner TEXT;
