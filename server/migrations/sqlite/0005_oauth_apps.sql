-- An organization's own OAuth app per element: the client id, the vault entry of its secret, and the callback URL.
-- With one saved, authorization URLs and new instances may leave out apiKey and apiSecret.
CREATE TABLE oauth_apps (
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    element_id INTEGER NOT NULL,
    client_id TEXT NOT NULL,
    secret_vault_id INTEGER NOT NULL,
    callback_url TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (organization_id, element_id)
);
