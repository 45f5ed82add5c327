-- Full-text search over what readers can see (PostgreSQL). doc_id encodes the item:
-- item_id * 8 + kind (1 post, 2 album, 3 photo, 4 video), as the SQLite rowid does.
-- Only published items are indexed; cms-core's `search` module keeps it in step on every write.
CREATE TABLE search_documents (
    doc_id BIGINT PRIMARY KEY,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    slug TEXT NOT NULL,
    tsv TSVECTOR GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', body), 'B')
    ) STORED
);
CREATE INDEX search_documents_tsv ON search_documents USING GIN (tsv);
