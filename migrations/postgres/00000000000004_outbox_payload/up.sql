-- Per-message data that cannot be derived at send time (a confirmation link's one-time token),
-- cleared once the message is sent.
ALTER TABLE email_outbox ADD COLUMN payload TEXT NOT NULL DEFAULT '{}';
