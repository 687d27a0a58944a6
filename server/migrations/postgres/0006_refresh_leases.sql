-- One refresh at a time per instance across every Tether node: a node refreshes an instance's OAuth tokens only
-- while it holds the instance's lease. A lease that outlives its node expires and can be taken over.
CREATE TABLE refresh_leases (
    instance_id BIGINT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
