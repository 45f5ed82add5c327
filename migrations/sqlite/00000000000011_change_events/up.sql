-- The change stream: one row per reader-visible change (a post published, photos added to a
-- published album, a category renamed, ...), appended by the service layer in the transaction
-- that makes the change. Ids only grow and are never reused, so `id` is a cursor.
CREATE TABLE change_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    kind TEXT NOT NULL,
    item_type TEXT NOT NULL,
    item_id BIGINT NOT NULL,
    actor TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',
    quiet BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX change_events_item ON change_events (item_type, item_id);
CREATE INDEX change_events_created ON change_events (created_at);
