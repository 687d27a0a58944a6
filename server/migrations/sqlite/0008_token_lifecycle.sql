-- The token lifecycle's schedule and its notices.
--
-- access_token_expires_at mirrors the configuration's oauth.user.token.expires_at, and refreshable says whether it
-- holds a refresh token, so that the refresher finds its work through indexes; refresh_retry_at is when the next
-- attempt after a transient failure is due; notified_state is the last state the organization was told of (ok,
-- disabled or invalid), so that each change is announced once, by one node.
ALTER TABLE instances ADD COLUMN access_token_expires_at INTEGER;
ALTER TABLE instances ADD COLUMN refresh_retry_at INTEGER;
ALTER TABLE instances ADD COLUMN refreshable INTEGER NOT NULL DEFAULT 0;
UPDATE instances SET refreshable = 1 WHERE configuration LIKE '%"oauth.user.refresh_token"%';
ALTER TABLE instances ADD COLUMN notified_state TEXT NOT NULL DEFAULT 'ok';
CREATE INDEX instances_access_token_expiry ON instances (access_token_expires_at);
CREATE INDEX instances_refresh_retry ON instances (refresh_retry_at);

-- The outbox: every notice is written here first, then mailed by whichever node claims it. Without SMTP it stays
-- here, and the console shows it. A notice keeps no link to its instance's row, so it outlives a deletion.
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    instance_id INTEGER,
    kind TEXT NOT NULL,
    recipients TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    sent_at INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    next_attempt_at INTEGER NOT NULL,
    claimed_until INTEGER
);
CREATE INDEX notifications_organization ON notifications (organization_id, id);
CREATE INDEX notifications_due ON notifications (sent_at, next_attempt_at);

-- Cluster-wide schedules, such as the nightly refresh sweep: the node that moves next_run_at forward runs it.
CREATE TABLE schedules (
    name TEXT PRIMARY KEY,
    next_run_at INTEGER NOT NULL
);
