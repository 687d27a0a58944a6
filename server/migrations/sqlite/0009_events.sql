-- Events: each polling instance's schedule, the object versions its poller has seen, providers' webhook payloads
-- as received, and the delivery queue, which is also the event log.
--
-- polled_until is when the last successful poll started: the next poll asks for changes since then. A poll's
-- events, its seen versions and its new polled_until are written in one transaction, so a poll either happened or
-- did not, whatever dies. lease_until lets one node poll an instance, or deliver an event, at a time.
CREATE TABLE pollers (
    instance_id INTEGER PRIMARY KEY REFERENCES instances (id) ON DELETE CASCADE,
    interval_millis INTEGER NOT NULL,
    next_poll_at INTEGER NOT NULL,
    polled_until INTEGER NOT NULL,
    lease_holder TEXT,
    lease_until INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX pollers_due ON pollers (next_poll_at);

CREATE TABLE polled_objects (
    instance_id INTEGER NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    version TEXT NOT NULL,
    PRIMARY KEY (instance_id, object_type, object_id)
);

CREATE TABLE webhook_receipts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id INTEGER NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    payload TEXT NOT NULL,
    received_at INTEGER NOT NULL
);

-- status is PENDING (due at next_attempt_at), NOTIFIED, FAILED or QUEUED (held while the instance's deliveries
-- are paused). body is the exact JSON delivered, so every retry sends the same bytes.
CREATE TABLE events (
    id TEXT PRIMARY KEY,
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    instance_id INTEGER NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    element_key TEXT NOT NULL,
    source TEXT NOT NULL,
    event_type TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    changed_at INTEGER NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    lease_until INTEGER NOT NULL DEFAULT 0,
    last_response_code INTEGER,
    last_error TEXT,
    delivered_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX events_due ON events (status, next_attempt_at);
CREATE INDEX events_instance ON events (instance_id, created_at);
CREATE INDEX events_organization ON events (organization_id, created_at);

-- Set when an event ran out of retries or its receiver answered 410; later events wait as QUEUED until a
-- redelivery clears it.
ALTER TABLE instances ADD COLUMN deliveries_paused INTEGER NOT NULL DEFAULT 0;
