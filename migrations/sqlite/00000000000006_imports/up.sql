-- Imports from other systems (WordPress, Coppermine, Piwigo) remember what each source item
-- became, keyed by the source's own ids: a second run, or a run resumed after a crash, finds
-- what is already there instead of doubling it. Written in the same transaction as the item.
CREATE TABLE import_items (
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    source_id TEXT NOT NULL,
    target_id BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (source, kind, source_id)
);

-- Old addresses answered with a permanent redirect before the 404 page: imported sites' URLs
-- and the ones an admin adds. A target is an item (followed to its current address when the
-- request comes) or a fixed path.
CREATE TABLE redirects (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    old_path TEXT NOT NULL UNIQUE,
    target_kind TEXT NOT NULL CHECK (target_kind IN ('post', 'category', 'tag', 'album', 'photo',
        'photo_file', 'gallery_category', 'video', 'path')),
    target_id BIGINT,
    target_path TEXT,
    source TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    CHECK ((target_kind = 'path') = (target_path IS NOT NULL)),
    CHECK ((target_kind = 'path') = (target_id IS NULL))
);

-- A photo's own title and alternative text (imported media carry both).
ALTER TABLE photos ADD COLUMN title TEXT NOT NULL DEFAULT '';
ALTER TABLE photos ADD COLUMN alt_text TEXT NOT NULL DEFAULT '';
