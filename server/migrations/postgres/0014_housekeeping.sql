-- Rows that would otherwise stay forever. `last_failed_at` is when an email last gave a wrong password, so that
-- emails quiet for a week are forgotten (failures for emails that exist nowhere included); rows from before this
-- column are forgotten first. Expired console sessions are removed when a new one is made, by their expiry.
ALTER TABLE sign_in_failures ADD COLUMN last_failed_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX sign_in_failures_last_failed ON sign_in_failures (last_failed_at);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
