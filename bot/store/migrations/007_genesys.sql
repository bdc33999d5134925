-- Genesys Cloud provisioning state of each assignment (SPEC 8): the Genesys user id the
-- seat was provisioned to, and where provisioning stands:
--   pending | provisioned | waiting_user | refused | unmapped | removed | remove_refused
-- NULL: never queued (ledger-only mode, or a seat from before Genesys was set).
ALTER TABLE assignments ADD COLUMN genesys_user_id TEXT;
ALTER TABLE assignments ADD COLUMN genesys_state TEXT;
ALTER TABLE assignments ADD COLUMN genesys_detail TEXT;
ALTER TABLE assignments ADD COLUMN genesys_at TEXT;
CREATE INDEX assignments_genesys_state ON assignments(genesys_state)
    WHERE genesys_state IS NOT NULL;
