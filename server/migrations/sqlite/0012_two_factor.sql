-- Two-factor sign-in: each user's method and confirmed phone, the TOTP secret (a vault entry, so key rotation
-- re-encrypts it), recovery code hashes, and the pending codes of half-done sign-ins and enrolments.
-- Text messages wait in the notifications outbox on their own channel, so the mailer never mails them.

ALTER TABLE users ADD COLUMN two_factor TEXT;
ALTER TABLE users ADD COLUMN phone_confirmed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN totp_vault_id INTEGER;
-- The last TOTP time step accepted, so one code never works twice.
ALTER TABLE users ADD COLUMN totp_last_step INTEGER;

CREATE TABLE recovery_codes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

-- purpose: 'sign_in' (token_hash names it, from the half-done sign-in's cookie), or 'enrol' (one per user).
-- sealed_secret holds, sealed by the vault, a TOTP enrolment's new secret or the code a text message carried;
-- phone is the number that message went to.
CREATE TABLE two_factor_challenges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    method TEXT NOT NULL,
    sealed_secret BLOB,
    phone TEXT,
    wrong_codes INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX two_factor_challenges_user ON two_factor_challenges (user_id, purpose);

ALTER TABLE notifications ADD COLUMN channel TEXT NOT NULL DEFAULT 'email';
