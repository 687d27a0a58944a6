-- Elements: the built-in catalog (organization_id 0) and each organization's custom elements, as JSON definitions.
-- Rows keep their ids across restarts, so element ids stay stable for API clients.
CREATE TABLE elements (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id INTEGER NOT NULL DEFAULT 0,
    key TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (organization_id, key)
);
