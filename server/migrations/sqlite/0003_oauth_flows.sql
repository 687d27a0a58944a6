-- Pending OAuth authorization flows, from the authorization URL to the code exchange; they expire after 10 minutes.
-- The client secret is kept as a digest (only compared), the PKCE verifier and parameters encrypted.
CREATE TABLE oauth_flows (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    element_id INTEGER NOT NULL,
    state_hash TEXT NOT NULL,
    client_id TEXT NOT NULL,
    client_secret_hash TEXT NOT NULL,
    callback_url TEXT NOT NULL,
    pkce INTEGER NOT NULL,
    sealed BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX oauth_flows_state ON oauth_flows (organization_id, state_hash);
