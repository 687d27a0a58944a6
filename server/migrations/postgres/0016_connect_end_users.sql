-- The end user an instance was connected for, through a connect session; empty for other instances.
ALTER TABLE instances ADD COLUMN end_user_id TEXT;
ALTER TABLE instances ADD COLUMN end_user_email TEXT;
ALTER TABLE instances ADD COLUMN end_user_display_name TEXT;
CREATE INDEX instances_end_user ON instances (organization_id, end_user_id);

-- What went wrong on a session's last attempt, shown on its page until the next attempt: a reason the team's
-- page can act on (declined, refused, unavailable) and the end user's message. A session being completed reads
-- `completing`, so that two attempts cannot both make an instance.
ALTER TABLE connect_sessions ADD COLUMN last_error TEXT;
ALTER TABLE connect_sessions ADD COLUMN last_error_reason TEXT;

-- A connect session's provider redirect carries no caller: its flow is found by its state alone.
CREATE INDEX oauth_flows_state_only ON oauth_flows (state_hash);
