-- The refresher's work list in one index: the moment each refreshable instance is next due (its retry, or else
-- its access token's expiry), over enabled, valid, refreshable instances only. The refresher walks it in order and
-- stops at its batch size, where it used to read and sort every such instance on each pass. It replaces the two
-- single-column indexes, which only that query used.
DROP INDEX instances_access_token_expiry;
DROP INDEX instances_refresh_retry;
CREATE INDEX instances_refresh_due ON instances ((COALESCE(refresh_retry_at, access_token_expires_at))) WHERE disabled = 0 AND valid = 1 AND refreshable = 1;
