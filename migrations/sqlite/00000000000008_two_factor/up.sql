-- Two-step verification (TOTP, RFC 6238) for admin panel accounts. The shared secret is stored
-- encrypted with a key derived from the site's secret key (a copy of the database alone does not
-- give it away); the pending one is a secret being set up, not yet confirmed by a code. The last
-- time step a code was accepted for is kept so a code is never accepted twice.
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_pending_secret TEXT;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
ALTER TABLE users ADD COLUMN totp_enabled_at TIMESTAMP;

-- One-time recovery codes, for a lost phone; only their SHA-256 is stored.
CREATE TABLE recovery_codes (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at TIMESTAMP,
    PRIMARY KEY (user_id, code_hash)
);
