-- Whether an instance's proxied calls are recorded with their headers (secrets masked) and bodies.
ALTER TABLE instances ADD COLUMN trace_logging INTEGER NOT NULL DEFAULT 0;

-- One proxied call through an instance: when, what, how it ended and how long it took. trace is NULL unless
-- the instance had trace logging on: then it is the JSON of the masked headers and the first bytes of each body.
-- Rows are removed by age and by count per instance; they outlive nothing they point to (deleted with the
-- instance).
CREATE TABLE call_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id INTEGER NOT NULL,
    instance_id INTEGER NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    status INTEGER NOT NULL,
    duration_micros INTEGER NOT NULL,
    request_bytes INTEGER NOT NULL,
    response_bytes INTEGER NOT NULL,
    refreshed INTEGER NOT NULL,
    request_id TEXT,
    trace TEXT
);
CREATE INDEX call_logs_instance ON call_logs (instance_id, id);
CREATE INDEX call_logs_at ON call_logs (at);
CREATE INDEX call_logs_traced ON call_logs (at) WHERE trace IS NOT NULL;
