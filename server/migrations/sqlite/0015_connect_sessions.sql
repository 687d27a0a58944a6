-- Connect sessions: one end user's link to the hosted connect page. The token is kept only as its digest. An
-- empty element list allows every element the organization can connect. `status` is open, completed or ended;
-- an open session past `expires_at` reads as expired.
CREATE TABLE connect_sessions (
    id TEXT PRIMARY KEY,
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    -- Who made the session: the instance it connects is made under this account and user.
    account_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    token_digest TEXT NOT NULL UNIQUE,
    end_user_id TEXT NOT NULL,
    end_user_email TEXT,
    end_user_display_name TEXT,
    elements TEXT NOT NULL,
    tags TEXT NOT NULL,
    instance_id INTEGER,
    redirect_url TEXT,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX connect_sessions_organization ON connect_sessions (organization_id, created_at);

-- The redirect URLs an organization allows its connect sessions to name, matched exactly.
CREATE TABLE connect_redirect_urls (
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    PRIMARY KEY (organization_id, url)
);
