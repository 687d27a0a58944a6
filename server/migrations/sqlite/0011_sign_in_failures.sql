-- Wrong passwords in a row per sign-in email (known or not, so the answer never tells which), and the lockout
-- they earned: after enough failures the email is locked until `locked_until`, for longer after each lockout.
CREATE TABLE sign_in_failures (
    email TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    lockouts INTEGER NOT NULL,
    locked_until BIGINT
);
