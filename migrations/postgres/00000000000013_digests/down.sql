DROP INDEX subscriber_topics_cadence;
DROP TABLE digests;
ALTER TABLE subscriber_topics DROP COLUMN cadence;
