-- What an instance's health is made of: when its tokens were last refreshed, the last failure and when it
-- happened, and how many refreshes have failed in a row.
ALTER TABLE instances ADD COLUMN last_refreshed_at BIGINT;
ALTER TABLE instances ADD COLUMN last_error TEXT;
ALTER TABLE instances ADD COLUMN last_error_at BIGINT;
ALTER TABLE instances ADD COLUMN refresh_failures BIGINT NOT NULL DEFAULT 0;
