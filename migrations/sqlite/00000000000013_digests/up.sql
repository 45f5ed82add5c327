-- Update digests. Each topic a subscriber chose is sent as it happens (`immediate`, what
-- every subscription did before), or gathered into a daily or a weekly digest.
ALTER TABLE subscriber_topics ADD COLUMN cadence TEXT NOT NULL DEFAULT 'immediate'
    CHECK (cadence IN ('immediate', 'daily', 'weekly'));
-- One row per digest period and cadence: the events it covers are those with ids in
-- (after_event, upto_event]; the next period starts where this one ended, so no change is
-- told twice or lost whatever the clocks or the number of nodes. The unique period makes a
-- digest exactly once per period.
CREATE TABLE digests (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    cadence TEXT NOT NULL CHECK (cadence IN ('daily', 'weekly')),
    -- The local date of the sending moment, e.g. 2026-12-07.
    period TEXT NOT NULL,
    after_event BIGINT NOT NULL,
    upto_event BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX digests_period ON digests (cadence, period);
CREATE INDEX subscriber_topics_cadence ON subscriber_topics (cadence, subscriber_id);
