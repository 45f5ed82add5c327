-- Full-text search over what readers can see (SQLite FTS5). The rowid encodes the item:
-- item_id * 8 + kind (1 post, 2 album, 3 photo, 4 video), so a write replaces its row by key.
-- Only published items are indexed; cms-core's `search` module keeps it in step on every write.
CREATE VIRTUAL TABLE search_fts USING fts5(
    title,
    body,
    slug UNINDEXED,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
