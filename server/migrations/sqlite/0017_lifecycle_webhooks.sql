-- Lifecycle webhooks: the endpoints an organization registers to hear when its connections are made, break or
-- heal. The signature key is in the vault; events is the JSON list of event types the endpoint takes.
CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY,
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    signature_vault_id INTEGER NOT NULL,
    events TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX webhook_endpoints_organization ON webhook_endpoints (organization_id, created_at);

-- One lifecycle event for one endpoint, queued and delivered as events are: status is PENDING (due at
-- next_attempt_at), NOTIFIED or FAILED; body is the exact JSON every attempt sends. Rows outlive the instance
-- they tell of, so that instance.deleted is delivered too.
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    instance_id INTEGER,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    lease_until INTEGER NOT NULL DEFAULT 0,
    last_response_code INTEGER,
    last_error TEXT,
    last_headers TEXT,
    delivered_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at);
