-- An instance's story: each thing that happened to it (created, edited, refreshed, a refresh failed, disabled,
-- enabled, invalid, recovered, re-authenticated), when, by whom (an audit-style actor), and a detail such as the
-- provider's message or the new token's expiry. Kept to the newest entries per instance; deleted with it.
CREATE TABLE instance_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id INTEGER NOT NULL,
    instance_id INTEGER NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX instance_history_instance ON instance_history (instance_id, id);
