-- Element instances: one account's authenticated connection to one provider.
-- The instance token is found by its digest; the token itself and every secret configuration value are vault
-- entries, so key rotation re-encrypts them. Plain configuration, tags and objects are JSON.
CREATE TABLE instances (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    element_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    token_vault_id INTEGER NOT NULL,
    secrets_vault_id INTEGER NOT NULL,
    configuration TEXT NOT NULL,
    tags TEXT NOT NULL,
    objects TEXT NOT NULL,
    valid INTEGER NOT NULL DEFAULT 1,
    disabled INTEGER NOT NULL DEFAULT 0,
    external_authentication TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX instances_organization ON instances (organization_id, element_id);
